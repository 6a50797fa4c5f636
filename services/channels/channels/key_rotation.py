"""Key rotation: re-encrypt every connection's credentials under the current key (channels.cli)."""

from __future__ import annotations

from dataclasses import dataclass

from channels.crypto import KeyRing
from channels.repository import UnitOfWork


@dataclass(frozen=True)
class RotationReport:
    rotated: int
    already_current: int
    skipped_changed: int


def rotate_credentials(uow: UnitOfWork, keyring: KeyRing, *, batch: int = 200) -> RotationReport:
    """Re-encrypt every connection's credentials under the current key (CREDENTIALS_KEYS[0]).

    Safe while servers run: each row is rewritten with a conditional UPDATE on its
    credentials_version, so a concurrent token refresh (already under the current key) wins.
    """
    rotated = current = skipped = 0
    after = ""
    while True:
        with uow.transaction() as repo:
            rows = repo.credential_rows_any_tenant(after, batch)
        if not rows:
            return RotationReport(rotated, current, skipped)
        for connection_id, tenant_id, version, blob in rows:
            after = connection_id
            if not keyring.needs_rotation(blob):
                current += 1
                continue
            new_blob = keyring.reencrypt(blob, tenant_id=tenant_id, connection_id=connection_id)
            if uow.run(
                lambda repo, cid=connection_id, v=version, b=new_blob: repo.reencrypt_credentials(
                    cid, expected_version=v, blob=b
                )
            ):
                rotated += 1
            else:
                skipped += 1
