"""What every use case of the channels service is handed: ChannelsDeps (its collaborators, one
frozen value built by the composition root), OAuthConfig, and the page/limit/cursor helpers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from channels.catalog_import_domain import ExistingVariant, VariantWrite
from channels.connector_calls import ConnectionCaller
from channels.connector_clients import ConnectorRegistry
from channels.crypto import KeyRing
from channels.domain import ChannelType
from channels.price_domain import ChannelPrice
from channels.publish_domain import ProductView
from channels.repository import UnitOfWork
from omnistock_common import paging
from omnistock_common.context import CallContext
from omnistock_common.egress import EgressPolicy
from omnistock_common.errors import FieldViolation, InvalidArgument

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class CatalogPort(Protocol):
    def all_skus(self, ctx: CallContext) -> list[str]: ...


class ImportTargets(Protocol):
    """Where the onboarding import writes (channels.catalog_import): the catalog and inventory."""

    def existing(self, ctx: CallContext, skus: Sequence[str]) -> dict[str, ExistingVariant]: ...

    def upsert(self, ctx: CallContext, writes: Sequence[VariantWrite]) -> list[str]:
        """One error per refused write ("SKU: reason"); empty when all were taken."""
        ...

    def set_quantities(
        self,
        ctx: CallContext,
        quantities: Mapping[str, int],
        *,
        note: str,
        reference: str,
        idempotency_key: str,
    ) -> tuple[int, list[str]]:
        """Set on-hand quantities (reason IMPORTED); (lines applied, "SKU: reason" refusals)."""
        ...


class PublishSources(Protocol):
    """What publishing (channels.publishing) reads: the catalog's products and pricing's channel
    prices."""

    def products(self, ctx: CallContext, product_ids: Sequence[str]) -> dict[str, ProductView | None]:
        """Each product at its current version; None for one the catalog does not have."""
        ...

    def products_of_skus(self, ctx: CallContext, skus: Sequence[str]) -> dict[str, str]: ...

    def channel_prices(
        self, ctx: CallContext, connection_id: str, skus: Sequence[str]
    ) -> dict[str, ChannelPrice]: ...


class SetNxRedis(Protocol):
    def set(self, name: str, value: str, *, nx: bool = ..., ex: int | None = ...) -> object: ...


@dataclass(frozen=True)
class OAuthConfig:
    state_secret: bytes
    default_redirect_uri: str
    state_ttl: timedelta = timedelta(minutes=10)


def utcnow() -> datetime:
    return datetime.now(UTC)


def encode_cursor(value: str) -> str:
    return paging.encode_cursor([value])


def decode_cursor(cursor: str) -> str | None:
    if not cursor:
        return None
    key = paging.decode_cursor(cursor, arity=1)
    if key is not None and isinstance(key[0], str):
        return key[0]
    raise InvalidArgument(
        "invalid cursor", violations=[FieldViolation("page.cursor", "not a cursor we issued")]
    )


def page_limit(raw: int, field_name: str = "page.limit") -> int:
    if raw < 0 or raw > MAX_LIMIT:
        raise InvalidArgument("invalid limit", violations=[FieldViolation(field_name, f"0..{MAX_LIMIT}")])
    return raw or DEFAULT_LIMIT


def channel_label(kind: ChannelType) -> str:
    return kind.display_name


@dataclass(frozen=True)
class ChannelsDeps:
    """The collaborators of the channels use cases (module functions taking it first). One value
    serves every thread: nothing else is kept."""

    uow: UnitOfWork
    keyring: KeyRing
    connectors: ConnectorRegistry
    caller: ConnectionCaller
    redis: SetNxRedis
    oauth: OAuthConfig
    catalog: CatalogPort | None = None
    clock: Callable[[], datetime] = utcnow
    # Where tenant-typed URLs (the notification webhook) may point: CHANNEL_ALLOWED_HOSTS,
    # else https:443 on public addresses (omnistock_common.egress).
    egress: EgressPolicy = field(default_factory=EgressPolicy)
    # The catalog and inventory the onboarding import writes to (the worker's; None elsewhere).
    imports: ImportTargets | None = None
    # What publishing reads: catalog products and pricing's channel prices
    # (channels.publishing.PublishSources; the worker's, None elsewhere).
    publish: PublishSources | None = None
