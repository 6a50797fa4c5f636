"""Meta webhooks (pure): the subscription challenge, the signature and the envelope.

https://developers.facebook.com/docs/graph-api/webhooks/getting-started (CHANNELS.md 3.4):
verification is a GET with hub.mode=subscribe, hub.verify_token, hub.challenge (answer the
challenge as the body when the token matches, else 403); events are POSTs of
{object, entry: [{id, time, changes: [{field, value}]}]} signed with
X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>.
Meta sends no delivery id: the delivery id here is the SHA-256 of the raw body (a redelivery of
the same body is the same delivery). No commerce-order webhook field could be verified, so every
delivery is WebhookKind.OTHER and orders come from polling.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any

from meta_connector.protocol.values import ParsedWebhook, WebhookKind
from omnistock_common.egress import safe_code

SIGNATURE_HEADER = "x-hub-signature-256"


def signature(secret: str, raw: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def verify_signature(headers: Mapping[str, str], raw: bytes, secrets: Sequence[str]) -> bool:
    received = headers.get(SIGNATURE_HEADER, "").strip()
    if not received.startswith("sha256="):
        return False
    return any(
        hmac.compare_digest(signature(secret, raw).encode(), received.lower().encode())
        for secret in secrets
        if secret
    )


def webhook_problem(headers: Mapping[str, str], raw: bytes, secrets: Sequence[str]) -> str | None:
    """Why a delivery is refused (signature first, then shape), or None."""
    if not verify_signature(headers, raw, secrets):
        return "the X-Hub-Signature-256 does not verify"
    try:
        body = json.loads(raw)
    except ValueError:
        return "the body is not JSON"
    if not isinstance(body, Mapping) or not isinstance(body.get("entry"), list):
        return "the body is not a Meta webhook envelope {object, entry: [...]}"
    return None


def parsed_webhook(raw: bytes) -> ParsedWebhook:
    body: Any = json.loads(raw)
    fields: list[str] = []
    for entry in body.get("entry") or []:
        for change in (entry.get("changes") or []) if isinstance(entry, Mapping) else []:
            if isinstance(change, Mapping) and change.get("field"):
                name = safe_code(str(change["field"]))
                if name not in fields:
                    fields.append(name)
    topic = safe_code(str(body.get("object") or "unknown"))
    if fields:
        topic = f"{topic}/{','.join(fields)}"
    return ParsedWebhook(
        delivery_id=hashlib.sha256(raw).hexdigest(), topic=topic[:255], kind=WebhookKind.OTHER
    )


def challenge_answer(query: Mapping[str, str], verify_token: str) -> str | None:
    """hub.challenge when the GET is a subscribe with our verify token, else None."""
    if query.get("hub.mode") != "subscribe" or not verify_token:
        return None
    given = query.get("hub.verify_token", "")
    if not hmac.compare_digest(given.encode(), verify_token.encode()):
        return None
    challenge = query.get("hub.challenge", "")
    return challenge if challenge and len(challenge) <= 256 else None
