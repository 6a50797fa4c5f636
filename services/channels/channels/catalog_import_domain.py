"""The onboarding import's rules (issue 15), pure: what a page of the channel's catalogue becomes in
OmniStock, given what OmniStock already has and the merchant's choices.

- A variant whose SKU OmniStock does not have is created (catalog), its quantity set in
  inventory (reason IMPORTED) and its listing mapped.
- A variant whose SKU OmniStock has is a *collision* on every field whose values differ
  (title, price, barcode, options, weight_grams); per field the merchant's choice (per SKU, else
  the default, else OmniStock's) says which value stays. Its stock is OmniStock's (the ledger is
  OmniStock's truth; the sync engine reconciles it with the channel): no quantity is set. Its
  listing is mapped.
- A variant without a SKU is skipped, or given `generated_sku` (deterministic: the same
  connection and variant always get the same SKU, so a second run or a resumed one finds it).
Running a plan twice changes nothing the second time: every SKU then exists with the chosen
values, so nothing is created, updated or adjusted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from channels.domain import is_clean_identifier

MAX_REPORTED = 1000
# The catalog's bounds on a product's image URLs (catalog.fields: MAX_IMAGE_URLS and
# MAX_IMAGE_URL_LENGTH); it refuses the whole write otherwise, so the import keeps what fits.
MAX_IMAGE_URLS = 20
MAX_IMAGE_URL_LENGTH = 2048
FIELDS = ("title", "price", "barcode", "options", "weight_grams")


class Choice(StrEnum):
    OMNISTOCK = "omnistock"
    CHANNEL = "channel"


class WithoutSkuRule(StrEnum):
    GENERATE = "generate"
    SKIP = "skip"


@dataclass(frozen=True)
class Money:
    amount_minor: int
    currency: str

    def text(self) -> str:
        return f"{self.amount_minor} {self.currency}"


@dataclass(frozen=True)
class RemoteVariant:
    external_id: str
    ids: Mapping[str, str]
    sku: str
    title: str = ""
    barcode: str = ""
    options: tuple[tuple[str, str], ...] = ()
    price: Money | None = None
    weight_grams: int | None = None
    # Sum over the channel's locations; None when the channel does not track it.
    quantity: int | None = None


@dataclass(frozen=True)
class RemoteProduct:
    external_id: str
    title: str
    description: str = ""
    status: str = ""
    variants: tuple[RemoteVariant, ...] = ()
    # In the channel's order, only those the catalog accepts (importable_image_urls).
    image_urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExistingVariant:
    """What OmniStock's catalog has for a SKU (GetVariantsBySku, plus its product's title)."""

    sku: str
    product_title: str
    price: Money | None
    barcode: str
    options: tuple[tuple[str, str], ...]
    weight_grams: int | None


@dataclass(frozen=True)
class ImportPolicy:
    default: Choice = Choice.OMNISTOCK
    # sku -> field -> choice
    resolutions: Mapping[str, Mapping[str, Choice]] = field(default_factory=dict)
    without_sku: WithoutSkuRule = WithoutSkuRule.SKIP

    def choice(self, sku: str, field_name: str) -> Choice:
        return self.resolutions.get(sku, {}).get(field_name, self.default)


@dataclass(frozen=True)
class Collision:
    sku: str
    field: str
    omnistock_value: str
    channel_value: str


@dataclass(frozen=True)
class NoSku:
    product_external_id: str
    variant_external_id: str
    title: str
    generated_sku: str


@dataclass(frozen=True)
class VariantWrite:
    """One catalog upsert (BulkUpsertVariants item): the values the SKU ends up with."""

    sku: str
    product_title: str
    product_status: str
    price: Money | None
    barcode: str
    options: tuple[tuple[str, str], ...]
    weight_grams: int | None
    # The channel's product description and image URLs, given with creates only: they fill a
    # product the import creates (never one OmniStock had).
    description: str = ""
    image_urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class PagePlan:
    creates: list[VariantWrite]
    updates: list[VariantWrite]
    unchanged: int
    skipped: int
    collisions: list[Collision]
    without_sku: list[NoSku]
    # sku -> quantity to set (created variants the channel tracks stock for)
    quantities: dict[str, int]
    # (sku, external ids) for the listing mappings
    listings: list[tuple[str, dict[str, str]]]
    products: int
    variants: int


def importable_image_urls(urls: Sequence[str]) -> tuple[str, ...]:
    """The channel's image URLs the catalog takes (absolute http(s), no credentials, no spaces,
    at most MAX_IMAGE_URL_LENGTH characters, no repeats), the first MAX_IMAGE_URLS of them. The
    others are left out rather than failing the product's import."""
    kept: list[str] = []
    for url in urls:
        url = url.strip()
        if len(url) > MAX_IMAGE_URL_LENGTH or not url.isprintable() or any(c.isspace() for c in url):
            continue
        try:
            parts = urlsplit(url)
            ok = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
            ok = ok and parts.username is None and parts.password is None
        except ValueError:
            ok = False
        if ok and url not in kept:
            kept.append(url)
    return tuple(kept[:MAX_IMAGE_URLS])


def generated_sku(connection_id: str, variant_external_id: str) -> str:
    """IMP-<12 hex>: stable per (connection, channel variant), valid as an OmniStock SKU."""
    digest = hashlib.sha256(f"{connection_id}\n{variant_external_id}".encode()).hexdigest()
    return f"IMP-{digest[:12].upper()}"


def page_skus(connection_id: str, products: Sequence[RemoteProduct], policy: ImportPolicy) -> list[str]:
    """The SKUs a page would write (generated ones included): what to look up in the catalog."""
    out = []
    for product in products:
        for variant in product.variants:
            if variant.sku:
                out.append(variant.sku)
            elif policy.without_sku is WithoutSkuRule.GENERATE:
                out.append(generated_sku(connection_id, variant.external_id or product.external_id))
    return out


def status_of(channel_status: str) -> str:
    """The channel's product status in catalog words: active, draft or archived (Meta's catalog
    item visibility: `staging` and `hidden` items, and eBay's UNPUBLISHED offers, are not on sale,
    so they come in as drafts; TikTok's FAILED is an audit refusal (a draft to fix),
    SELLER_DEACTIVATED what archiving makes, PLATFORM_DEACTIVATED/FREEZE/DELETED off sale by
    TikTok: archived)."""
    word = channel_status.strip().lower()
    if word in ("draft", "pending", "private", "staging", "hidden", "failed", "unpublished"):
        return "draft"
    if word in ("archived", "trash", "seller_deactivated", "platform_deactivated", "freeze", "deleted"):
        return "archived"
    return "active"


def _options_text(options: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"{name}={value}" for name, value in options)


def _values(variant: RemoteVariant, product: RemoteProduct) -> dict[str, Any]:
    return {
        "title": product.title,
        "price": variant.price,
        "barcode": variant.barcode,
        "options": tuple(variant.options),
        "weight_grams": variant.weight_grams,
    }


def _existing_values(existing: ExistingVariant) -> dict[str, Any]:
    return {
        "title": existing.product_title,
        "price": existing.price,
        "barcode": existing.barcode,
        "options": tuple(existing.options),
        "weight_grams": existing.weight_grams,
    }


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Money):
        return value.text()
    if isinstance(value, tuple):
        return _options_text(value)
    return str(value)


def collisions(sku: str, channel: Mapping[str, Any], omnistock: Mapping[str, Any]) -> list[Collision]:
    """Every field the channel has a value for that differs from OmniStock's."""
    out = []
    for name in FIELDS:
        theirs, ours = channel[name], omnistock[name]
        if theirs in (None, "", ()) or theirs == ours:
            continue
        out.append(Collision(sku, name, _text(ours), _text(theirs)))
    return out


def plan_page(
    connection_id: str,
    products: Sequence[RemoteProduct],
    existing: Mapping[str, ExistingVariant],
    policy: ImportPolicy,
    seen: set[str] | None = None,
) -> PagePlan:
    """What one page of the channel's catalogue does (see the module docstring). `seen`: SKUs
    already planned by earlier pages of this import (a SKU twice on a channel is taken once)."""
    seen = set() if seen is None else seen
    creates: list[VariantWrite] = []
    updates: list[VariantWrite] = []
    found: list[Collision] = []
    no_sku: list[NoSku] = []
    quantities: dict[str, int] = {}
    listings: list[tuple[str, dict[str, str]]] = []
    unchanged = skipped = variants = 0
    for product in products:
        for variant in product.variants:
            variants += 1
            sku = variant.sku
            if not sku:
                generated = generated_sku(connection_id, variant.external_id or product.external_id)
                no_sku.append(
                    NoSku(product.external_id, variant.external_id, variant.title or product.title, generated)
                )
                if policy.without_sku is WithoutSkuRule.SKIP:
                    skipped += 1
                    continue
                sku = generated
            if not is_clean_identifier(sku) or sku in seen:
                skipped += 1
                continue
            seen.add(sku)
            listings.append((sku, {k: v for k, v in variant.ids.items() if v}))
            channel = _values(variant, product)
            have = existing.get(sku)
            status = status_of(product.status)
            if have is None:
                write = _write(sku, channel, status)
                creates.append(replace(write, description=product.description, image_urls=product.image_urls))
                # A new SKU has nothing on hand: setting 0 would be an empty ledger row.
                if variant.quantity is not None and variant.quantity > 0:
                    quantities[sku] = variant.quantity
                continue
            ours = _existing_values(have)
            clash = collisions(sku, channel, ours)
            found.extend(clash)
            chosen = dict(ours)
            for c in clash:
                if policy.choice(sku, c.field) is Choice.CHANNEL:
                    chosen[c.field] = channel[c.field]
            if chosen == ours:
                unchanged += 1
            else:
                # An existing product keeps its status: "" leaves it alone.
                updates.append(_write(sku, chosen, ""))
    return PagePlan(
        creates,
        updates,
        unchanged,
        skipped,
        found,
        no_sku,
        quantities,
        listings,
        len(products),
        variants,
    )


def _write(sku: str, values: Mapping[str, Any], status: str) -> VariantWrite:
    return VariantWrite(
        sku=sku,
        product_title=str(values["title"] or sku),
        product_status=status,
        price=values["price"],
        barcode=str(values["barcode"] or ""),
        options=tuple(values["options"]),
        weight_grams=values["weight_grams"],
    )


# ----------------------------------------------------------------------------- job state
@dataclass
class ImportTally:
    """What an import did (or would do) so far; stored with the job's cursor after every page, so
    a resumed job goes on from there. Its JSON is the job's result when it succeeds."""

    dry_run: bool = False
    products: int = 0
    variants: int = 0
    to_create: int = 0
    to_update: int = 0
    unchanged: int = 0
    skipped: int = 0
    mapped: int = 0
    quantities_set: int = 0
    collisions: list[dict[str, str]] = field(default_factory=list)
    without_sku: list[dict[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, plan: PagePlan, *, mapped: int, quantities_set: int, errors: Sequence[str]) -> None:
        self.products += plan.products
        self.variants += plan.variants
        self.to_create += len(plan.creates)
        self.to_update += len(plan.updates)
        self.unchanged += plan.unchanged
        self.skipped += plan.skipped + len(errors)
        self.mapped += mapped
        self.quantities_set += quantities_set
        room = MAX_REPORTED - len(self.collisions)
        self.collisions.extend(asdict(c) for c in plan.collisions[: max(0, room)])
        room = MAX_REPORTED - len(self.without_sku)
        self.without_sku.extend(asdict(n) for n in plan.without_sku[: max(0, room)])
        self.errors.extend(list(errors)[: max(0, MAX_REPORTED - len(self.errors))])

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ImportTally:
        data = json.loads(text) if text else {}
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class ImportParams:
    dry_run: bool
    policy: ImportPolicy

    def to_json(self) -> str:
        return json.dumps(
            {
                "dry_run": self.dry_run,
                "default": self.policy.default.value,
                "resolutions": {
                    sku: {f: c.value for f, c in sorted(fields.items())}
                    for sku, fields in sorted(self.policy.resolutions.items())
                },
                "without_sku": self.policy.without_sku.value,
            },
            separators=(",", ":"),
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> ImportParams:
        data = json.loads(text or "{}")
        return cls(
            bool(data.get("dry_run")),
            ImportPolicy(
                Choice(data.get("default", "omnistock")),
                {
                    sku: {f: Choice(c) for f, c in fields.items()}
                    for sku, fields in (data.get("resolutions") or {}).items()
                },
                WithoutSkuRule(data.get("without_sku", "skip")),
            ),
        )


@dataclass
class Checkpoint:
    """Where a running import is: the channel cursor of the next page, how many pages are done,
    the SKUs planned so far and the tally. Stored in the job row with each page's writes."""

    cursor: str = ""
    pages: int = 0
    finished: bool = False
    seen: list[str] = field(default_factory=list)
    tally: ImportTally = field(default_factory=ImportTally)
    # {page number: SKUs it creates}, written before that page's writes, cleared after them.
    pending: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "cursor": self.cursor,
                "pages": self.pages,
                "finished": self.finished,
                "seen": self.seen,
                "tally": asdict(self.tally),
                "pending": self.pending,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> Checkpoint:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(
            str(data.get("cursor") or ""),
            int(data.get("pages") or 0),
            bool(data.get("finished")),
            list(data.get("seen") or []),
            ImportTally(**data.get("tally") or {}),
            {str(k): list(v) for k, v in (data.get("pending") or {}).items()},
        )
