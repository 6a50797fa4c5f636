"""Request signing and webhook verification (CHANNELS.md 4.1 and 4.5).

Request sign, as EcomPHP/tiktokshop-php src/Client.php `prepareSignature` implements the docs'
algorithm (https://partner.tiktokshop.com/doc/page/274638): the query parameters except `sign`
and `access_token` sorted by key and concatenated as key+value, prefixed by the request path,
then the body exactly as sent (unless multipart), wrapped in app_secret on both sides;
HMAC-SHA256 keyed with app_secret, lowercase hex.

Webhook signature, as EcomPHP src/Webhook.php `verify`: the `Authorization` header is
hex(HMAC-SHA256(app_secret, app_key + raw body)).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

UNSIGNED_PARAMS = frozenset({"sign", "access_token"})


def sign(path: str, query: Mapping[str, str], body: bytes, app_secret: str) -> str:
    """The `sign` query parameter of one request; `body` is the bytes sent (b"" for none)."""
    text = path + "".join(f"{k}{query[k]}" for k in sorted(query) if k not in UNSIGNED_PARAMS)
    payload = app_secret.encode() + text.encode() + body + app_secret.encode()
    return hmac.new(app_secret.encode(), payload, hashlib.sha256).hexdigest()


def webhook_signature(app_key: str, app_secret: str, raw_body: bytes) -> str:
    return hmac.new(app_secret.encode(), app_key.encode() + raw_body, hashlib.sha256).hexdigest()


def webhook_signature_valid(
    header: str, *, app_key: str, app_secrets: tuple[str, ...], raw_body: bytes
) -> bool:
    """Constant-time comparison against every accepted secret (a rotation keeps the old one)."""
    given = header.strip().lower().encode()
    return any(
        hmac.compare_digest(given, webhook_signature(app_key, secret, raw_body).encode())
        for secret in app_secrets
        if secret
    )
