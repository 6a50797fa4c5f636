"""The `omnistock` CLI against an in-process stand-in for the gateway.

The stub implements only login, products/import and products/export as API.md describes them,
so these tests pin the CLI's side of the contract (multipart field name, auth header, report
rendering, exit codes) independently of the real gateway. The server is a real HTTP server on
127.0.0.1:0, so the upload really goes over a socket in chunks.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask, Response, jsonify, request
from werkzeug.serving import make_server

from omnistock_cli.main import CHUNK_SIZE, ProgressReader, cli

TOKEN = "test-access-token"
EMAIL = "owner@example.com"
PASSWORD = "correct horse"
EXPORT_CSV = b"product_title,sku,price,currency\nMug,MUG-1,9.99,USD\nCup,CUP-1,4.50,USD\n"


@dataclass
class Received:
    """What the stub saw of the last import, for assertions."""

    sha256: str = ""
    size: int = 0
    filename: str = ""
    content_length: int | None = None
    transfer_encoding: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    imports: int = 0


def problem(status: int, title: str, detail: str) -> Response:
    response = jsonify({"type": "about:blank", "title": title, "status": status, "detail": detail})
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def make_stub(received: Received) -> Flask:
    """A minimal gateway: report = one `created` per row, an error for each row without a SKU."""
    app = Flask("gateway-stub")

    def authorized() -> bool:
        return request.headers.get("Authorization") == f"Bearer {TOKEN}"

    @app.post("/api/v1/auth/login")
    def login() -> Any:
        body = request.get_json()
        if body != {"email": EMAIL, "password": PASSWORD}:
            return problem(401, "Unauthorized", "wrong email or password")
        return jsonify(access_token=TOKEN, refresh_token="r", token_type="Bearer", expires_in=900)

    @app.post("/api/v1/products/import")
    def import_products() -> Any:
        if not authorized():
            return problem(401, "Unauthorized", "missing or invalid token")
        upload = request.files.get("file")
        if upload is None:
            return problem(400, "Bad Request", "multipart field 'file' is required")
        received.imports += 1
        received.filename = upload.filename or ""
        received.content_length = request.content_length
        received.transfer_encoding = request.headers.get("Transfer-Encoding")
        received.params = dict(request.args)
        digest = hashlib.sha256()
        size = 0
        created = 0
        errors = []
        text = io.TextIOWrapper(upload.stream, encoding="utf-8", newline="")
        line = 0
        # Hash and parse in one pass over the spooled upload, never loading it whole.
        for raw_line in text:
            encoded = raw_line.encode("utf-8")
            digest.update(encoded)
            size += len(encoded)
            line += 1
            if line == 1:
                continue
            record = next(csv.reader([raw_line]))
            if len(record) < 2 or not record[1]:
                errors.append({"row": line, "column": "sku", "message": "is required"})
            else:
                created += 1
        received.sha256 = digest.hexdigest()
        received.size = size
        return jsonify(created=created, updated=0, unchanged=0, errors=errors)

    @app.get("/api/v1/products/export")
    def export_products() -> Any:
        if not authorized():
            return problem(401, "Unauthorized", "missing or invalid token")
        if request.args.get("format") != "csv":
            return problem(400, "Bad Request", "format must be csv")

        def body() -> Iterator[bytes]:
            # Several small chunks, like the real streaming export.
            yield from io.BytesIO(EXPORT_CSV)

        return Response(body(), mimetype="text/csv")

    return app


@dataclass
class Stub:
    url: str
    received: Received


@pytest.fixture
def stub() -> Iterator[Stub]:
    received = Received()
    server = make_server("127.0.0.1", 0, make_stub(received), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="gateway-stub", daemon=True)
    thread.start()
    try:
        yield Stub(url=f"http://127.0.0.1:{server.server_port}", received=received)
    finally:
        server.shutdown()
        thread.join()


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    # The developer's own environment must not leak into the tests.
    for name in ("OMNISTOCK_API_URL", "OMNISTOCK_TOKEN", "OMNISTOCK_EMAIL", "OMNISTOCK_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["product_title", "sku", "price", "currency"])
        writer.writerows(rows)
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_SIZE), b""):
            digest.update(chunk)
    return digest.hexdigest()


def test_import_with_token_uploads_the_file_intact_and_prints_the_report(
    stub: Stub, runner: CliRunner, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "products.csv", [["Mug", "MUG-1", "9.99", "USD"], ["Cup", "CUP-1", "4.5", ""]]
    )

    result = runner.invoke(
        cli,
        ["--api-url", stub.url, "import-products", str(path), "--default-currency", "usd"],
        env={"OMNISTOCK_TOKEN": TOKEN},
    )

    assert result.exit_code == 0, result.output
    assert "created: 2, updated: 0, unchanged: 0" in result.stdout
    assert stub.received.sha256 == sha256_of(path)
    assert stub.received.size == path.stat().st_size
    assert stub.received.filename == "products.csv"
    assert stub.received.params == {"default_currency": "USD"}


def test_import_reports_row_errors_and_exits_1(stub: Stub, runner: CliRunner, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "bad.csv",
        [["Mug", "MUG-1", "9.99", "USD"], ["Cup", "", "4.5", "USD"], ["Pot", "", "1", "USD"]],
    )

    result = runner.invoke(cli, ["--api-url", stub.url, "--token", TOKEN, "import-products", str(path)])

    assert result.exit_code == 1, result.output
    assert "created: 1, updated: 0, unchanged: 0" in result.stdout
    assert "row 3, column sku: is required" in result.stdout
    assert "row 4, column sku: is required" in result.stdout


def test_import_logs_in_with_email_and_password_from_env(
    stub: Stub, runner: CliRunner, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "p.csv", [["Mug", "MUG-1", "9.99", "USD"]])

    result = runner.invoke(
        cli,
        ["import-products", str(path)],
        env={"OMNISTOCK_API_URL": stub.url, "OMNISTOCK_EMAIL": EMAIL, "OMNISTOCK_PASSWORD": PASSWORD},
    )

    assert result.exit_code == 0, result.output
    assert stub.received.imports == 1


def test_bad_token_prints_problem_title_and_detail_and_exits_2(
    stub: Stub, runner: CliRunner, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "p.csv", [["Mug", "MUG-1", "9.99", "USD"]])

    result = runner.invoke(cli, ["--api-url", stub.url, "--token", "nope", "import-products", str(path)])

    assert result.exit_code == 2
    assert "HTTP 401: Unauthorized - missing or invalid token" in result.stderr
    assert stub.received.imports == 0


def test_wrong_password_exits_2_with_problem_detail(stub: Stub, runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["--api-url", stub.url, "--email", EMAIL, "--password", "wrong", "login"])

    assert result.exit_code == 2
    assert "wrong email or password" in result.stderr


def test_unreachable_gateway_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", [["Mug", "MUG-1", "9.99", "USD"]])
    # Port 9 (discard) on loopback is closed in any test environment: connection refused.
    result = runner.invoke(
        cli, ["--api-url", "http://127.0.0.1:9", "--token", TOKEN, "import-products", str(path)]
    )

    assert result.exit_code == 2
    assert "request to http://127.0.0.1:9 failed" in result.stderr


def test_missing_credentials_is_a_usage_error(stub: Stub, runner: CliRunner, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", [["Mug", "MUG-1", "9.99", "USD"]])

    result = runner.invoke(cli, ["--api-url", stub.url, "import-products", str(path)])

    assert result.exit_code == 2
    assert "OMNISTOCK_TOKEN" in result.stderr
    assert stub.received.imports == 0


def test_login_prints_the_access_token(stub: Stub, runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--api-url", stub.url, "--email", EMAIL, "login"], input=PASSWORD + "\n")

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == TOKEN


def test_export_to_stdout(stub: Stub, runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--api-url", stub.url, "--token", TOKEN, "export-products"])

    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == EXPORT_CSV


def test_export_to_file_leaves_no_partial_file(stub: Stub, runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"

    result = runner.invoke(
        cli, ["--api-url", stub.url, "--token", TOKEN, "export-products", "-o", str(target)]
    )

    assert result.exit_code == 0, result.output
    assert target.read_bytes() == EXPORT_CSV
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_export_failure_does_not_create_the_output_file(
    stub: Stub, runner: CliRunner, tmp_path: Path
) -> None:
    target = tmp_path / "out.csv"

    result = runner.invoke(
        cli, ["--api-url", stub.url, "--token", "bad", "export-products", "-o", str(target)]
    )

    assert result.exit_code == 2
    assert list(tmp_path.iterdir()) == []


def write_big_csv(path: Path, at_least: int) -> Path:
    row = "Product with a fairly long title number {n},SKU-{n:08d},19.99,USD\n"
    with path.open("w", encoding="utf-8") as handle:
        handle.write("product_title,sku,price,currency\n")
        n = 0
        while handle.tell() < at_least:
            handle.write("".join(row.format(n=n + i) for i in range(1000)))
            n += 1000
    return path


def run_cli_measuring_rss(args: list[str], tmp_path: Path) -> tuple[int, int]:
    """Run `omnistock` in a child process; return (exit code, peak RSS in bytes) of that child."""
    with (tmp_path / "child.out").open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "omnistock_cli.main", *args], stdout=out, stderr=subprocess.STDOUT
        )
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss * 1024  # Linux reports KiB


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss units are Linux-specific")
def test_large_upload_keeps_client_memory_flat(stub: Stub, tmp_path: Path) -> None:
    """A 40 MiB upload costs the client about as much memory as a tiny one.

    Measured in a child process so only the CLI's memory counts (the stub server lives in this
    process). A client that read the file into memory would grow by at least the file size.
    """
    small = write_csv(tmp_path / "small.csv", [["Mug", "MUG-1", "9.99", "USD"]])
    big = write_big_csv(tmp_path / "big.csv", 40 * 1024 * 1024)
    common = ["--api-url", stub.url, "--token", TOKEN, "import-products"]

    small_code, small_rss = run_cli_measuring_rss([*common, str(small)], tmp_path)
    big_code, big_rss = run_cli_measuring_rss([*common, str(big)], tmp_path)

    assert (small_code, big_code) == (0, 0), (tmp_path / "child.out").read_text()
    assert stub.received.sha256 == sha256_of(big)
    growth = big_rss - small_rss
    assert growth < 12 * 1024 * 1024, (
        f"client RSS grew by {growth} bytes for a {big.stat().st_size}-byte file"
    )


def test_upload_has_a_content_length_not_chunked_encoding(
    stub: Stub, runner: CliRunner, tmp_path: Path
) -> None:
    """httpx learns the size from fstat, so proxies and gunicorn see a plain Content-Length."""
    path = write_big_csv(tmp_path / "mid.csv", 1024 * 1024)

    result = runner.invoke(cli, ["--api-url", stub.url, "--token", TOKEN, "import-products", str(path)])

    assert result.exit_code == 0, result.output
    assert stub.received.sha256 == sha256_of(path)
    assert stub.received.transfer_encoding is None
    assert stub.received.content_length is not None
    assert stub.received.content_length > path.stat().st_size


def test_progress_reader_reports_every_byte_and_caps_reads(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(range(256)) * 1000)  # 256,000 bytes: four chunks
    seen: list[int] = []

    with path.open("rb") as raw:
        reader = ProgressReader(raw, seen.append)
        chunks = list(iter(lambda: reader.read(10 * CHUNK_SIZE), b""))

    assert b"".join(chunks) == path.read_bytes()
    assert sum(seen) == reader.bytes_read == 256_000
    assert reader.largest_read == CHUNK_SIZE
    assert len(seen) == 4
    assert not hasattr(reader, "seek")
