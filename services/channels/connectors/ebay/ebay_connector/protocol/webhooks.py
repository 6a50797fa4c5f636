"""eBay's marketplace account deletion notifications: the endpoint challenge and the signed POST.

Sources: https://developer.ebay.com/marketplace-account-deletion (challenge: hex SHA-256 of
challengeCode + verificationToken + endpoint, answered as JSON {"challengeResponse": ...}; the
notification payload {metadata{topic, schemaVersion, deprecated}, notification{notificationId,
eventDate, publishDate, publishAttemptCount, data{username, userId, eiasToken}}}); eBay's SDK
eBay/event-notification-nodejs-sdk lib/validator.js and lib/constants.js: X-EBAY-SIGNATURE is
base64 JSON {alg, kid, signature, digest}; the key comes from getPublicKey
(GET /commerce/notification/v1/public_key/{kid} → {algorithm, digest, key}) as a PEM whose
header/footer lack line breaks; the signature is base64 DER ECDSA with SHA-1 ("ssl3-sha1"). The
SDK verifies over JSON.stringify(message) (compact JSON); we verify over the raw bytes and, failing
that, over the compact form of the same JSON (what eBay signed when its sender and our receiver
serialise alike).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from ebay_connector.protocol.values import ParsedWebhook, WebhookKind
from omnistock_common.egress import safe_text

SIGNATURE_HEADER = "x-ebay-signature"
ACCOUNT_DELETION_TOPIC = "MARKETPLACE_ACCOUNT_DELETION"
PEM_START = "-----BEGIN PUBLIC KEY-----"
PEM_END = "-----END PUBLIC KEY-----"


def challenge_response(challenge_code: str, verification_token: str, endpoint_url: str) -> str:
    """hex(SHA-256(challengeCode + verificationToken + endpoint)), in that order."""
    digest = hashlib.sha256()
    digest.update(challenge_code.encode())
    digest.update(verification_token.encode())
    digest.update(endpoint_url.encode())
    return digest.hexdigest()


def challenge_body(challenge_code: str, verification_token: str, endpoint_url: str) -> bytes:
    answer = challenge_response(challenge_code, verification_token, endpoint_url)
    return json.dumps({"challengeResponse": answer}).encode()


@dataclass(frozen=True)
class SignatureHeader:
    alg: str
    kid: str
    signature: bytes
    digest: str


def parse_signature_header(value: str) -> SignatureHeader | None:
    """The decoded X-EBAY-SIGNATURE, or None when it is not eBay's base64 JSON."""
    try:
        decoded = json.loads(base64.b64decode(value.strip(), validate=True))
        signature = base64.b64decode(str(decoded.get("signature") or ""), validate=True)
    except (ValueError, binascii.Error, AttributeError, TypeError):
        return None
    kid = str(decoded.get("kid") or "")
    if not kid or not signature or len(kid) > 200:
        return None
    return SignatureHeader(
        alg=str(decoded.get("alg") or ""),
        kid=kid,
        signature=signature,
        digest=str(decoded.get("digest") or ""),
    )


def pem_of(key: str) -> bytes:
    """getPublicKey's `key` as a PEM the parser accepts (eBay sends header, body and footer on one line)."""
    body = key.replace(PEM_START, "").replace(PEM_END, "").strip()
    body = "".join(body.split())
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return ("\n".join([PEM_START, *lines, PEM_END]) + "\n").encode()


def signed_forms(raw: bytes) -> list[bytes]:
    """The bytes a valid signature may cover: the raw body, then its compact JSON form."""
    forms = [raw]
    try:
        compact = json.dumps(json.loads(raw), separators=(",", ":"), ensure_ascii=False).encode()
    except (ValueError, UnicodeDecodeError):
        return forms
    if compact != raw:
        forms.append(compact)
    return forms


def payload_problem(raw: bytes) -> str:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return "body is not JSON"
    if not isinstance(body, Mapping):
        return "body is not a JSON object"
    metadata, notification = body.get("metadata"), body.get("notification")
    if not isinstance(metadata, Mapping) or not isinstance(notification, Mapping):
        return "metadata and notification are required"
    if not notification.get("notificationId"):
        return "notification.notificationId is required"
    if metadata.get("topic") != ACCOUNT_DELETION_TOPIC:
        return "unsupported topic"
    return ""


def parsed_notification(raw: bytes) -> ParsedWebhook:
    body: Any = json.loads(raw)
    return ParsedWebhook(
        delivery_id=safe_text(str(body["notification"]["notificationId"]), 128),
        topic=ACCOUNT_DELETION_TOPIC,
        kind=WebhookKind.OTHER,
    )


def verify_signature(key: str, signature: bytes, raw: bytes) -> bool:
    """ECDSA (SHA-1, as eBay's SDK verifies) with getPublicKey's key over the raw body or its
    compact JSON form; False for a bad key or signature (never raises)."""
    try:
        public = load_pem_public_key(pem_of(key))
    except (ValueError, UnsupportedAlgorithm):
        return False
    if not isinstance(public, ec.EllipticCurvePublicKey):
        return False
    for form in signed_forms(raw):
        try:
            public.verify(signature, form, ec.ECDSA(hashes.SHA1()))
            return True
        except InvalidSignature:
            continue
    return False
