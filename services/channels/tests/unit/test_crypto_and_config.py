"""Credential encryption (AES-256-GCM, key ring, AAD binding, rotation) and key configuration."""

from __future__ import annotations

import base64
import logging

import pytest

from channels.config import load_settings, parse_keys, warn_about_dev_secrets
from channels.crypto import CredentialsCorrupt, KeyRing
from channels.domain import Credentials
from omnistock_common.config import ConfigError

OLD = ("2025", b"o" * 32)
NEW = ("2026", b"n" * 32)
SECRET = b'{"secrets":{"access_token":"shpat_live_secret"}}'


def test_roundtrip_uses_a_fresh_nonce_and_hides_the_plaintext() -> None:
    ring = KeyRing([NEW])
    first = ring.encrypt(SECRET, tenant_id="t1", connection_id="c1")
    second = ring.encrypt(SECRET, tenant_id="t1", connection_id="c1")
    assert first != second
    assert b"shpat_live_secret" not in first
    assert ring.decrypt(first, tenant_id="t1", connection_id="c1") == SECRET
    assert ring.key_id_of(first) == "2026"


@pytest.mark.parametrize(("tenant", "connection"), [("t2", "c1"), ("t1", "c2")])
def test_a_ciphertext_moved_to_another_row_does_not_decrypt(tenant: str, connection: str) -> None:
    ring = KeyRing([NEW])
    blob = ring.encrypt(SECRET, tenant_id="t1", connection_id="c1")
    with pytest.raises(CredentialsCorrupt, match="another connection"):
        ring.decrypt(blob, tenant_id=tenant, connection_id=connection)


def test_tampering_anywhere_is_detected() -> None:
    ring = KeyRing([NEW])
    blob = bytearray(ring.encrypt(SECRET, tenant_id="t1", connection_id="c1"))
    for index in (len(blob) - 1, len(blob) // 2):
        broken = bytearray(blob)
        broken[index] ^= 0x01
        with pytest.raises(CredentialsCorrupt):
            ring.decrypt(bytes(broken), tenant_id="t1", connection_id="c1")
    with pytest.raises(CredentialsCorrupt, match="format"):
        ring.decrypt(b"\x09" + bytes(blob[1:]), tenant_id="t1", connection_id="c1")
    with pytest.raises(CredentialsCorrupt, match="truncated"):
        ring.decrypt(bytes(blob[:10]), tenant_id="t1", connection_id="c1")


def test_rotation_keeps_old_ciphertexts_readable_and_reencrypts_under_the_new_key() -> None:
    before = KeyRing([OLD])
    blob = before.encrypt(SECRET, tenant_id="t1", connection_id="c1")
    after = KeyRing([NEW, OLD])
    assert after.decrypt(blob, tenant_id="t1", connection_id="c1") == SECRET
    assert after.needs_rotation(blob)
    rotated = after.reencrypt(blob, tenant_id="t1", connection_id="c1")
    assert after.key_id_of(rotated) == "2026" and not after.needs_rotation(rotated)
    assert KeyRing([NEW]).decrypt(rotated, tenant_id="t1", connection_id="c1") == SECRET
    with pytest.raises(CredentialsCorrupt, match="not in CREDENTIALS_KEYS"):
        KeyRing([NEW]).decrypt(blob, tenant_id="t1", connection_id="c1")


def test_key_ring_rejects_short_keys() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        KeyRing([("k", b"short")])


def test_keys_config_parses_and_validates() -> None:
    raw = f"new:{base64.b64encode(NEW[1]).decode()}, old:{base64.b64encode(OLD[1]).decode()}"
    assert parse_keys(raw) == (("new", NEW[1]), ("old", OLD[1]))
    with pytest.raises(ValueError, match="32 bytes"):
        parse_keys("k:" + base64.b64encode(b"x" * 16).decode())
    with pytest.raises(ValueError, match="twice"):
        parse_keys(f"a:{base64.b64encode(NEW[1]).decode()},a:{base64.b64encode(OLD[1]).decode()}")
    with pytest.raises(ConfigError, match="CREDENTIALS_KEYS"):
        load_settings({"CREDENTIALS_KEYS": "nokey"})
    with pytest.raises(ConfigError, match="OAUTH_STATE_SECRET"):
        load_settings({"OAUTH_STATE_SECRET": "short"})


def test_dev_defaults_work_but_warn_loudly(caplog: pytest.LogCaptureFixture) -> None:
    settings = load_settings({})
    assert settings.uses_dev_credentials_key and settings.uses_dev_state_secret
    assert settings.oauth_redirect_uri == "http://127.0.0.1:8080/api/v1/channels/oauth/callback"
    assert settings.connector_addrs == {
        "shopify": "127.0.0.1:50061",
        "woocommerce": "127.0.0.1:50062",
        "ebay": "127.0.0.1:50066",
    }
    with caplog.at_level(logging.WARNING):
        warn_about_dev_secrets(settings)
    assert "CREDENTIALS_KEYS is not set" in caplog.text and "OAUTH_STATE_SECRET is not set" in caplog.text
    configured = load_settings(
        {"CREDENTIALS_KEYS": f"k:{base64.b64encode(NEW[1]).decode()}", "OAUTH_STATE_SECRET": "s" * 40}
    )
    assert not configured.uses_dev_credentials_key and not configured.uses_dev_state_secret


def test_credentials_never_show_secrets_when_printed_or_logged(caplog: pytest.LogCaptureFixture) -> None:
    creds = Credentials(secrets={"access_token": "shpat_live_secret", "refresh_token": "shprt_secret"})
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("using %s / %r", creds, creds)
    assert "shpat_live_secret" not in caplog.text and "shprt_secret" not in caplog.text
    assert "access_token" in caplog.text  # the names are fine, the values are not
    assert Credentials.from_bytes(creds.to_bytes()) == creds
