"""Publishing products to channels, as plain rules (issue 15): what a publish request may name,
which product fields OmniStock owns on a connection, what one product looks like on its way to a
channel, when a push the channel asked to retry may go again, and the job's tally. No SQL, no
gRPC: channels.publishing applies these, channels.publish_clients and mapping translate.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from channels.domain import validate_sku
from channels.price_domain import ChannelPrice
from omnistock_common.errors import FieldViolation, InvalidArgument

# What OmniStock may own of a product on a channel. On an update the connector writes only the
# owned ones, so a merchant who keeps channel-specific titles on one channel leaves "title" out
# there. A create always sends everything (the channel needs a whole product).
OWNED_FIELDS = ("title", "description", "status", "images", "options", "variants", "prices")
# One publish request: enough for a catalogue page in the dashboard, small enough for one job.
MAX_PUBLISH_ITEMS = 1000
# A push the channel asked to retry (rate limit, 5xx) waits 2, 4, 8 ... seconds, at most this.
RETRY_CAP = timedelta(minutes=5)
STATUSES = ("active", "draft", "archived")


def validate_owned_fields(fields: Sequence[str]) -> tuple[str, ...]:
    """The owned fields in OWNED_FIELDS' order; an unknown name is refused, never dropped, and so
    is none at all (the connector contract reads an empty list as "all")."""
    if not fields:
        raise InvalidArgument(
            "OmniStock must own at least one field",
            violations=[FieldViolation("owned_fields", f"one or more of {', '.join(OWNED_FIELDS)}")],
        )
    unknown = [name for name in fields if name not in OWNED_FIELDS]
    if unknown:
        raise InvalidArgument(
            "unknown product fields",
            violations=[
                FieldViolation(
                    f"owned_fields[{list(fields).index(name)}]", f"one of {', '.join(OWNED_FIELDS)}"
                )
                for name in unknown
            ],
        )
    wanted = set(fields)
    return tuple(name for name in OWNED_FIELDS if name in wanted)


def owned_fields_from_json(text: str | None) -> tuple[str, ...]:
    """The stored column: NULL means OmniStock owns every field."""
    if not text:
        return OWNED_FIELDS
    return tuple(name for name in json.loads(text) if name in OWNED_FIELDS)


def owned_fields_json(fields: Sequence[str]) -> str | None:
    return None if tuple(fields) == OWNED_FIELDS else json.dumps(list(fields))


@dataclass(frozen=True)
class PublishRequest:
    """What `POST /channels/{id}/listings/publish` names: SKUs (their products are published whole)
    and product ids."""

    skus: tuple[str, ...] = ()
    product_ids: tuple[str, ...] = ()

    @classmethod
    def checked(cls, skus: Sequence[str], product_ids: Sequence[str]) -> PublishRequest:
        violations: list[FieldViolation] = []
        if not skus and not product_ids:
            violations.append(FieldViolation("skus", "name SKUs or product_ids to publish"))
        if len(skus) + len(product_ids) > MAX_PUBLISH_ITEMS:
            violations.append(
                FieldViolation("skus", f"at most {MAX_PUBLISH_ITEMS} SKUs and products together")
            )
        for index, sku in enumerate(skus):
            try:
                validate_sku(sku, f"skus[{index}]")
            except InvalidArgument as exc:
                violations.extend(exc.violations)
        for index, product_id in enumerate(product_ids):
            if not _is_uuid(product_id):
                violations.append(FieldViolation(f"product_ids[{index}]", "a product id (lower-case UUID)"))
        if violations:
            raise InvalidArgument("invalid publish request", violations=violations)
        return cls(tuple(dict.fromkeys(skus)), tuple(dict.fromkeys(product_ids)))

    def to_json(self) -> str:
        return json.dumps({"skus": list(self.skus), "product_ids": list(self.product_ids)})

    @classmethod
    def from_json(cls, text: str) -> PublishRequest:
        data = json.loads(text or "{}")
        return cls(tuple(data.get("skus", ())), tuple(data.get("product_ids", ())))


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value  # the catalog's canonical lower-case form
    except ValueError:
        return False


@dataclass(frozen=True)
class VariantView:
    """One variant as OmniStock publishes it; `price` is the connection's channel price (None
    when pricing has none: the channel then keeps or defaults its own)."""

    sku: str
    barcode: str = ""
    options: tuple[tuple[str, str], ...] = ()
    weight_grams: int | None = None
    price: ChannelPrice | None = None


@dataclass(frozen=True)
class ProductView:
    """One catalog product at one version, as a channel will be asked to show it."""

    product_id: str
    title: str
    description: str
    status: str
    version: int
    variants: tuple[VariantView, ...]
    image_urls: tuple[str, ...] = ()

    @property
    def skus(self) -> tuple[str, ...]:
        return tuple(v.sku for v in self.variants)

    def with_prices(self, prices: Mapping[str, ChannelPrice]) -> ProductView:
        variants = tuple(
            VariantView(v.sku, v.barcode, v.options, v.weight_grams, prices.get(v.sku, v.price))
            for v in self.variants
        )
        return ProductView(
            self.product_id,
            self.title,
            self.description,
            self.status,
            self.version,
            variants,
            self.image_urls,
        )


@dataclass(frozen=True)
class ProductListing:
    """A product published (or being published) to one connection."""

    tenant_id: str
    connection_id: str
    product_id: str
    external_id: str
    variant_ids: Mapping[str, str]
    wanted_version: int
    published_version: int | None
    removed: bool
    pending: bool
    attempts: int
    last_error: str
    error_version: int | None

    @property
    def state(self) -> str:
        """What the API shows: pending | published | error | archived."""
        if self.pending:
            return "pending"
        if self.last_error and self.error_version is not None and self.error_version >= self.wanted_version:
            return "error"
        return "archived" if self.removed else "published"


@dataclass(frozen=True)
class ProductOutcome:
    """The channel's answer for one product (mapping.product_outcomes)."""

    product_id: str
    outcome: str  # applied | rejected | retry
    message: str = ""
    external_id: str = ""
    # SKU -> (the channel's variant id, the remote ids a listing maps the SKU by)
    variants: Mapping[str, tuple[str, Mapping[str, str]]] = field(default_factory=dict)


def retry_delay(attempts: int) -> timedelta:
    """2 s, 4 s, 8 s ... after the first, second, third retry of a product, at most RETRY_CAP."""
    return min(timedelta(seconds=2 ** max(1, min(attempts, 20))), RETRY_CAP)


@dataclass
class PublishTally:
    """A publish job's result: every product it was asked for lands in exactly one list."""

    published: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    waiting: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)

    def add_outcomes(self, outcomes: Iterable[tuple[str, str, str]]) -> None:
        """(product_id, outcome applied|rejected|retry, message) from one push."""
        for product_id, outcome, message in outcomes:
            if outcome == "applied":
                self.published.append(product_id)
            elif outcome == "rejected":
                self.rejected[product_id] = message
            else:
                self.waiting.append(product_id)

    def to_json(self) -> str:
        return json.dumps(
            {
                "published": self.published,
                "rejected": self.rejected,
                "waiting": self.waiting,
                "not_found": self.not_found,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> PublishTally:
        data = json.loads(text or "{}")
        return cls(
            list(data.get("published", [])),
            dict(data.get("rejected", {})),
            list(data.get("waiting", [])),
            list(data.get("not_found", [])),
        )

    def summary(self) -> str:
        return (
            f"published {len(self.published)}; rejected {len(self.rejected)}; "
            f"{len(self.waiting)} waiting to retry; {len(self.not_found)} not in the catalog"
        )
