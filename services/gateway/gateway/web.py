"""The dashboard (web/, a Vite build in web/dist) served by the gateway at `/`.

- `/` and every client-side route (`/login`, `/anything` not claimed by another route) answer
  index.html with `Cache-Control: no-cache`, so a new build is picked up on the next load; a
  client-side route only to a browser's navigation (an Accept header naming `text/html`): any
  other client (curl, an API client, a scanner) keeps the problem+json 404 of an unknown path;
- `/assets/<hashed name>` are immutable (Vite puts a content hash in each name);
- `/api/...` is never answered here: an unknown API path stays a problem+json 404 and a wrong
  method on an API path stays a 405;
- without a build, `/` explains how to make one (503), instead of a 500.

The pages may load only their own files and call only this origin (Content-Security-Policy,
like /api/v1/docs's): no CDN, no inline script.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, Response, current_app, request, send_from_directory
from werkzeug.exceptions import NotFound
from werkzeug.routing import PathConverter

# A year, and never revalidated: the file name changes whenever the content does.
IMMUTABLE = "public, max-age=31536000, immutable"
# Always revalidated (ETag / Last-Modified): index.html names the current hashed assets.
REVALIDATE = "no-cache"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
_CONFIG_KEY = "OMNISTOCK_WEB_DIST"

bp = Blueprint("web", __name__)


class ClientRoute(PathConverter):
    """Any path except the API's (and Flask's /static): those keep their own 404 and 405."""

    regex = r"(?!api(?:/|$))(?!static(?:/|$))[^/].*?"


def install(app: Flask, dist_dir: str | Path) -> None:
    """Serve `dist_dir` (web/dist) at `/`; call after the API's blueprints are registered."""
    app.config[_CONFIG_KEY] = Path(dist_dir)
    app.url_map.converters["client"] = ClientRoute
    app.register_blueprint(bp)


def _dist() -> Path:
    return Path(current_app.config[_CONFIG_KEY])


def _secure(response: Response, cache_control: str) -> Response:
    response.headers["Cache-Control"] = cache_control
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def _index() -> Response:
    dist = _dist()
    if not (dist / "index.html").is_file():
        return _not_built(dist)
    response = send_from_directory(dist, "index.html", mimetype="text/html", max_age=0)
    return _secure(response, REVALIDATE)


def _not_built(dist: Path) -> Response:
    html = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>OmniStock: dashboard not built"
        "</title></head><body><h1>The dashboard is not built</h1>"
        f"<p>This gateway serves the web dashboard from <code>{dist}</code>, which has no index.html.</p>"
        "<p>Build it from the repository root with <code>make web</code> (or <code>cd web &amp;&amp; npm ci "
        "&amp;&amp; npm run build</code>); <code>make run</code> does it for you.</p>"
        "<p>The API works meanwhile: <a href='/api/v1/docs'>/api/v1/docs</a>.</p></body></html>"
    )
    response = Response(html, status=503, mimetype="text/html")
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
def index() -> Response:
    """The dashboard's entry page."""
    return _index()


@bp.get("/assets/<path:filename>")
def asset(filename: str) -> Response:
    """A hashed build file; send_from_directory refuses paths outside assets/ (404)."""
    response = send_from_directory(_dist() / "assets", filename, max_age=31536000)
    return _secure(response, IMMUTABLE)


@bp.get("/<client:path>")
def client_route(path: str) -> Response:
    """A file at the top of the build (favicon...) or else a client-side route: index.html."""
    dist = _dist()
    # Dotfiles (the build's .built stamp) are not served.
    if "/" not in path and not path.startswith(".") and path != "index.html" and (dist / path).is_file():
        return _secure(send_from_directory(dist, path, max_age=0), REVALIDATE)
    if path.startswith("assets/") or "text/html" not in request.headers.get("Accept", ""):
        raise NotFound()
    return _index()
