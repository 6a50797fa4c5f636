"""`omnistock`: a small command-line client for the gateway's REST API (docs/api.md).

It exists so merchants and operators can move catalogue files in and out without writing
HTTP code: `import-products` uploads a CSV, `export-products` downloads one, `login` prints a
token for scripts (`export OMNISTOCK_TOKEN=$(omnistock login)`).

Catalogue files can be hundreds of megabytes, so uploads and downloads are streamed: the
upload body is produced 64 KiB at a time from the open file and the download is written as it
arrives. Memory stays flat whatever the file size.

Exit codes: 0 success, 1 the import finished but some rows were rejected, 2 the request
itself failed (HTTP error, network error, bad credentials); click's usage errors are also 2.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

import click
import httpx
from tqdm import tqdm

API_PREFIX = "/api/v1"
DEFAULT_API_URL = "http://127.0.0.1:8080"
# httpx's multipart encoder asks for this many bytes per read; we also cap reads at it so the
# body is never buffered in bigger pieces, whoever the caller is.
CHUNK_SIZE = 64 * 1024
# A large import may be accepted asynchronously (202 + job id); poll it at this pace.
JOB_POLL_SECONDS = 1.0
EXIT_ROW_ERRORS = 1
EXIT_REQUEST_FAILED = 2


class RequestFailed(click.ClickException):
    """A request to the gateway failed; rendered as one line on stderr, exit code 2."""

    exit_code = EXIT_REQUEST_FAILED


class ProgressReader:
    """A read-only binary file wrapper that reports every chunk read to a callback.

    httpx's multipart encoder streams any object with `read()`: it calls `read(CHUNK_SIZE)`
    until it gets b"" and sends each chunk as it goes. Wrapping the file (rather than building
    the multipart body ourselves) keeps httpx responsible for the framing and the
    Content-Length, which it computes from `fileno()` without reading the file. The wrapper
    deliberately has no `seek`, so httpx never rewinds it behind the progress bar's back.
    """

    def __init__(self, raw: BinaryIO, on_bytes: Callable[[int], object]) -> None:
        self._raw = raw
        self._on_bytes = on_bytes
        self.bytes_read = 0
        self.largest_read = 0

    @property
    def name(self) -> str:
        return str(getattr(self._raw, "name", "upload"))

    def fileno(self) -> int:
        """Lets httpx learn the size with fstat, so the request has a Content-Length."""
        return self._raw.fileno()

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0 or size > CHUNK_SIZE:
            size = CHUNK_SIZE
        chunk = self._raw.read(size)
        if chunk:
            self.bytes_read += len(chunk)
            self.largest_read = max(self.largest_read, len(chunk))
            self._on_bytes(len(chunk))
        return chunk


@dataclass(frozen=True)
class Config:
    """Resolved global options, shared by every sub-command through the click context."""

    api_url: str
    token: str | None
    email: str | None
    password: str | None
    timeout: float

    def url(self, path: str) -> str:
        return self.api_url.rstrip("/") + API_PREFIX + path


def problem_message(response: httpx.Response) -> str:
    """One line describing a failed response, from its problem+json body when it has one."""
    prefix = f"HTTP {response.status_code}"
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return f"{prefix}: {text[:200]}" if text else prefix
    if not isinstance(body, dict):
        return prefix
    parts = [str(body[key]) for key in ("title", "detail") if body.get(key)]
    for violation in body.get("errors") or []:
        if isinstance(violation, dict):
            parts.append(f"{violation.get('field', '?')}: {violation.get('message', '')}")
    return f"{prefix}: " + " - ".join(parts) if parts else prefix


def fail(response: httpx.Response) -> NoReturn:
    # Streamed responses have not read their body yet; problem bodies are small.
    response.read()
    raise RequestFailed(problem_message(response))


def make_client(config: Config) -> httpx.Client:
    """A client with connect/read timeouts; the read timeout covers slow server-side imports."""
    return httpx.Client(timeout=httpx.Timeout(config.timeout, connect=10.0))


def login(client: httpx.Client, config: Config) -> str:
    """Exchange email + password for an access token (POST /auth/login)."""
    if not config.email or not config.password:
        raise click.UsageError(
            "set OMNISTOCK_TOKEN, or give --email/--password (or OMNISTOCK_EMAIL/OMNISTOCK_PASSWORD)"
        )
    response = client.post(
        config.url("/auth/login"), json={"email": config.email, "password": config.password}
    )
    if response.status_code != 200:
        fail(response)
    token = response.json().get("access_token")
    if not isinstance(token, str) or not token:
        raise RequestFailed("login response has no access_token")
    return token


def auth_headers(client: httpx.Client, config: Config) -> dict[str, str]:
    """Bearer header from OMNISTOCK_TOKEN, or from a fresh login when only credentials are given."""
    token = config.token or login(client, config)
    return {"Authorization": f"Bearer {token}"}


def wait_for_job(
    client: httpx.Client, config: Config, headers: dict[str, str], job_id: str
) -> dict[str, Any]:
    """Poll GET /jobs/{id} until the import job reports its result (the API's 202 path).

    A finished job is recognised by carrying the import report (`created` ...), either at the
    top level or under `result`; a `status` of failed/error ends the wait with exit code 2.
    """
    while True:
        response = client.get(config.url(f"/jobs/{job_id}"), headers=headers)
        if response.status_code != 200:
            fail(response)
        job = response.json()
        result = job.get("result") if isinstance(job.get("result"), dict) else job
        if "created" in result:
            return result
        status = str(job.get("status", "")).lower()
        if status in {"failed", "error", "cancelled"}:
            raise RequestFailed(
                f"import job {job_id} {status}: {job.get('error') or job.get('detail') or ''}"
            )
        time.sleep(JOB_POLL_SECONDS)


def print_report(report: dict[str, Any]) -> int:
    """Print counts and each rejected row; return the exit code (1 when rows were rejected)."""
    click.echo(
        f"created: {report.get('created', 0)}, updated: {report.get('updated', 0)}, "
        f"unchanged: {report.get('unchanged', 0)}"
    )
    errors = report.get("errors") or []
    for error in errors:
        click.echo(
            f"row {error.get('row', '?')}, column {error.get('column', '?')}: {error.get('message', '')}"
        )
    if errors:
        click.echo(f"{len(errors)} row error(s)", err=True)
        return EXIT_ROW_ERRORS
    return 0


@click.group()
@click.option(
    "--api-url",
    envvar="OMNISTOCK_API_URL",
    default=DEFAULT_API_URL,
    show_default=True,
    help="Gateway base URL (env OMNISTOCK_API_URL).",
)
@click.option("--token", envvar="OMNISTOCK_TOKEN", default=None, help="Access token (env OMNISTOCK_TOKEN).")
@click.option("--email", envvar="OMNISTOCK_EMAIL", default=None, help="Login email (env OMNISTOCK_EMAIL).")
@click.option(
    "--password", envvar="OMNISTOCK_PASSWORD", default=None, help="Login password (env OMNISTOCK_PASSWORD)."
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=300.0,
    show_default=True,
    help="Seconds to wait for the server to answer (large imports take a while).",
)
@click.pass_context
def cli(
    ctx: click.Context,
    api_url: str,
    token: str | None,
    email: str | None,
    password: str | None,
    timeout: float,
) -> None:
    """OmniStock command-line client for the gateway REST API."""
    ctx.obj = Config(api_url=api_url, token=token or None, email=email, password=password, timeout=timeout)


@cli.command("login")
@click.pass_obj
def login_command(config: Config) -> None:
    """Print an access token, e.g. `export OMNISTOCK_TOKEN=$(omnistock login)`."""
    # Always a fresh login: an OMNISTOCK_TOKEN already in the environment is not what is wanted.
    config = replace(config, token=None)
    if config.email and not config.password:
        config = replace(config, password=click.prompt("Password", hide_input=True, err=True))
    try:
        with make_client(config) as client:
            click.echo(login(client, config))
    except httpx.HTTPError as exc:
        raise RequestFailed(f"cannot reach {config.api_url}: {exc}") from exc


@cli.command("import-products")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@click.option(
    "--default-currency",
    default=None,
    metavar="CODE",
    help="ISO 4217 currency for rows whose currency column is empty (e.g. USD).",
)
@click.pass_obj
def import_products(config: Config, file: Path, default_currency: str | None) -> None:
    """Upload a product CSV (streamed) and print the import report."""
    size = file.stat().st_size
    params = {"default_currency": default_currency.upper()} if default_currency else {}
    try:
        with make_client(config) as client:
            headers = auth_headers(client, config)
            # tqdm disables itself when stderr is not a terminal, so pipelines stay clean.
            with (
                file.open("rb") as raw,
                tqdm(
                    total=size, unit="B", unit_scale=True, unit_divisor=1024, desc=file.name, disable=None
                ) as bar,
            ):
                reader = ProgressReader(raw, bar.update)
                response = client.post(
                    config.url("/products/import"),
                    headers=headers,
                    params=params,
                    files={"file": (file.name, reader, "text/csv")},
                )
            if response.status_code == 202:
                report = wait_for_job(client, config, headers, str(response.json()["job_id"]))
            elif response.status_code == 200:
                report = response.json()
            else:
                fail(response)
    except httpx.HTTPError as exc:
        raise RequestFailed(f"request to {config.api_url} failed: {exc}") from exc
    code = print_report(report)
    if code:
        sys.exit(code)


def iter_export(client: httpx.Client, config: Config, headers: dict[str, str]) -> Iterator[bytes]:
    """Yield the export body as it arrives; fail before the first byte on an error status."""
    with client.stream(
        "GET", config.url("/products/export"), params={"format": "csv"}, headers=headers
    ) as response:
        if response.status_code != 200:
            fail(response)
        yield from response.iter_bytes(CHUNK_SIZE)


@cli.command("export-products")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write the CSV here instead of stdout.",
)
@click.pass_obj
def export_products(config: Config, output: Path | None) -> None:
    """Download the catalogue as CSV (streamed), to a file or stdout.

    A file is written under a temporary name and renamed at the end, so an interrupted
    download never leaves a truncated CSV that looks complete.
    """
    try:
        with make_client(config) as client:
            headers = auth_headers(client, config)
            if output is None:
                sink = sys.stdout.buffer
                for chunk in iter_export(client, config, headers):
                    sink.write(chunk)
                sink.flush()
                return
            partial = output.with_name(output.name + ".partial")
            try:
                with partial.open("wb") as sink:
                    for chunk in iter_export(client, config, headers):
                        sink.write(chunk)
                os.replace(partial, output)
            finally:
                partial.unlink(missing_ok=True)
    except httpx.HTTPError as exc:
        raise RequestFailed(f"request to {config.api_url} failed: {exc}") from exc
    click.echo(f"wrote {output}", err=True)


def main() -> None:
    """Console-script entry point (`omnistock`, declared in pyproject.toml)."""
    cli(prog_name="omnistock")


if __name__ == "__main__":
    main()
