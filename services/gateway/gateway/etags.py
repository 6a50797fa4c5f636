"""Weak ETags over a JSON reply and 304 Not Modified on a matching If-None-Match (RFC 9110 13.1.2).

Why: the dashboard polls its lists every few seconds when live updates are not available
(docs/decisions/0012-live-updates.md); a poll whose answer did not change then costs a hash and
an empty 304 instead of the whole document over the wire. The backend call is still made: the tag
is a hash of the body, not a version the gateway could know beforehand. Weak, because the same
data could be serialized differently by another gateway build.

Applied once, by the route wrapper (gateway.api), to every operation declared `conditional=True`.
"""

from __future__ import annotations

import hashlib

from flask import Response


def weak_etag(body: bytes) -> str:
    """`W/"<first 32 hex digits of SHA-256>"`: 128 bits, short enough for every request line."""
    return 'W/"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def none_match(header: str | None, etag: str) -> bool:
    """True when If-None-Match names `etag` (weak comparison) or is `*`: the client has it."""
    if header is None:
        return False
    if header.strip() == "*":
        return True
    wanted = _opaque(etag)
    return any(_opaque(tag) == wanted for tag in header.split(",") if tag.strip())


def conditional(response: Response, if_none_match: str | None) -> Response:
    """A 200 JSON reply with its weak ETag, or an empty 304 with the same ETag when the client's
    If-None-Match already names it. Anything else (errors, streams) is returned untouched."""
    if response.status_code != 200 or response.is_streamed or response.mimetype != "application/json":
        return response
    tag = weak_etag(response.get_data())
    if none_match(if_none_match, tag):
        not_modified = Response(status=304)
        not_modified.headers["ETag"] = tag
        return not_modified
    response.headers["ETag"] = tag
    return response
