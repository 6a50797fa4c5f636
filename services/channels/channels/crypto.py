"""Credential encryption at rest: AES-256-GCM with a keyring, bound to the row it belongs to.

Ciphertext layout (bytes):  0x01 | len(kid) | kid (utf-8) | 12-byte nonce | GCM ciphertext+tag

- The key id travels in the ciphertext, so after a rotation (new key first in CREDENTIALS_KEYS,
  old key kept behind it) every old ciphertext still decrypts; `KeyRing.needs_rotation` tells
  which rows `rotate` should re-encrypt under the current key.
- The associated data is the header plus tenant_id and connection_id: a ciphertext copied into
  another row (or another tenant) fails authentication instead of decrypting there.
- GCM is authenticated: a flipped bit anywhere fails with CredentialsCorrupt, never garbage.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_VERSION = 1
NONCE_BYTES = 12


class CredentialsCorrupt(Exception):
    """The ciphertext is malformed, was moved to another row, or its key is unknown.

    The message never contains key material or plaintext.
    """


def _associated_data(header: bytes, tenant_id: str, connection_id: str) -> bytes:
    return header + b"\x00" + tenant_id.encode() + b"\x00" + connection_id.encode()


class KeyRing:
    """Named AES-256 keys; the first one encrypts, any one decrypts (by the id in the ciphertext)."""

    def __init__(self, keys: Sequence[tuple[str, bytes]]) -> None:
        if not keys:
            raise ValueError("a key ring needs at least one key")
        for kid, key in keys:
            if len(key) != 32:
                raise ValueError(f"key {kid!r} must be 32 bytes (AES-256)")
            if not kid or len(kid.encode()) > 255:
                raise ValueError("key ids must be 1..255 bytes")
        self._keys = {kid: AESGCM(key) for kid, key in keys}
        self.current_kid = keys[0][0]

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def encrypt(self, plaintext: bytes, *, tenant_id: str, connection_id: str) -> bytes:
        kid = self.current_kid.encode()
        header = bytes([FORMAT_VERSION, len(kid)]) + kid
        nonce = os.urandom(NONCE_BYTES)
        aad = _associated_data(header, tenant_id, connection_id)
        return header + nonce + self._keys[self.current_kid].encrypt(nonce, plaintext, aad)

    def decrypt(self, blob: bytes, *, tenant_id: str, connection_id: str) -> bytes:
        kid, header, body = self._split(blob)
        cipher = self._keys.get(kid)
        if cipher is None:
            raise CredentialsCorrupt(
                f"credentials were encrypted with key id {kid!r}, which is not in CREDENTIALS_KEYS"
            )
        nonce, sealed = body[:NONCE_BYTES], body[NONCE_BYTES:]
        try:
            return cipher.decrypt(nonce, sealed, _associated_data(header, tenant_id, connection_id))
        except InvalidTag:
            raise CredentialsCorrupt(
                "credentials failed authentication (tampered, or copied from another connection)"
            ) from None

    def key_id_of(self, blob: bytes) -> str:
        return self._split(blob)[0]

    def needs_rotation(self, blob: bytes) -> bool:
        return self.key_id_of(blob) != self.current_kid

    def reencrypt(self, blob: bytes, *, tenant_id: str, connection_id: str) -> bytes:
        """The same plaintext under the current key (a fresh nonce every time)."""
        plaintext = self.decrypt(blob, tenant_id=tenant_id, connection_id=connection_id)
        return self.encrypt(plaintext, tenant_id=tenant_id, connection_id=connection_id)

    @staticmethod
    def _split(blob: bytes) -> tuple[str, bytes, bytes]:
        if len(blob) < 2 or blob[0] != FORMAT_VERSION:
            raise CredentialsCorrupt("unknown credentials ciphertext format")
        kid_len = blob[1]
        header_len = 2 + kid_len
        if len(blob) < header_len + NONCE_BYTES + 16:
            raise CredentialsCorrupt("truncated credentials ciphertext")
        try:
            kid = blob[2:header_len].decode()
        except UnicodeDecodeError:
            raise CredentialsCorrupt("malformed key id in credentials ciphertext") from None
        return kid, blob[:header_len], blob[header_len:]
