"""`python -m gateway.seed_demo`: create the demo tenant and owner if they do not exist yet.

Idempotent, so `make run` can call it every time. The credentials are public by design: this
is a local demo login, printed for the developer, never a production account.
"""

from __future__ import annotations

from datetime import timedelta

from gateway.auth import Passwords, TokenCodec
from gateway.config import Settings, load_settings
from gateway.repository import SqlUnitOfWork
from gateway.service import GatewayDeps, TokenVersions, sessions
from omnistock_common.config import run_entrypoint
from omnistock_common.db import make_engine
from omnistock_common.errors import AlreadyExists

DEMO_TENANT = "Demo Store"
DEMO_EMAIL = "demo@omnistock.local"
DEMO_PASSWORD = "omnistock-demo"


class _NoLimits:
    """Seeding never logs in, so it needs no Redis."""

    def attempt(self, key: str, limit: int, window_seconds: int) -> int:
        return 0

    def reset(self, key: str) -> None:
        return None

    def revoke(self, jti: str, ttl_seconds: int) -> None:
        return None

    def is_revoked(self, jti: str) -> bool:
        return False


def seed(settings: Settings) -> bool:
    """True when the demo account was created now, False when it already existed."""
    engine = make_engine(settings.database_url)
    try:
        uow = SqlUnitOfWork(engine)
        if uow.run(lambda tx: tx.users.get_by_email(DEMO_EMAIL)) is not None:
            return False
        identity = GatewayDeps(
            uow=uow,
            passwords=Passwords(
                settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
            ),
            tokens=TokenCodec(settings.jwt_secret, settings.access_token_ttl_seconds),
            limiter=_NoLimits(),  # type: ignore[arg-type]  # register never records a failure
            denylist=_NoLimits(),
            versions=TokenVersions(uow),
            refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
        )
        try:
            sessions.register(identity, DEMO_TENANT, DEMO_EMAIL, DEMO_PASSWORD)
        except AlreadyExists:
            return False
        return True
    finally:
        engine.dispose()


def main() -> int:
    created = seed(load_settings())
    state = "created" if created else "already present"
    print(f"demo tenant {DEMO_TENANT!r} {state}: log in as {DEMO_EMAIL} / {DEMO_PASSWORD}")
    return 0


if __name__ == "__main__":
    run_entrypoint(main)
