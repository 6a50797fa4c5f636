"""Catalog domain: products, variants, their rules and the list cursor. Pure Python, no I/O.

Validation returns every problem at once as FieldViolations whose `field` is a path into the
request (`variants[1].price.currency`), so a caller can point at the exact input to fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from urllib.parse import urlsplit

from catalog.fields import (
    MAX_BARCODE_LENGTH,
    MAX_DESCRIPTION_LENGTH,
    MAX_IMAGE_URL_LENGTH,
    MAX_IMAGE_URLS,
    MAX_OPTIONS,
    MAX_SKU_LENGTH,
    MAX_TITLE_LENGTH,
    MAX_WEIGHT_GRAMS,
    PRODUCT_NAMES,
    VARIANT_NAMES,
)
from omnistock_common import paging
from omnistock_common.errors import Aborted, AlreadyExists, FieldViolation, InvalidArgument, NotFound
from omnistock_common.identifiers import identifier_problem
from omnistock_common.money import is_supported_currency

MAX_OPTION_TEXT_LENGTH = 255
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500

# Fields a FieldMask / an upsert may name, in proto spelling (declared in catalog/fields.py).
VARIANT_FIELDS: frozenset[str] = frozenset(VARIANT_NAMES)
PRODUCT_FIELDS: frozenset[str] = frozenset(PRODUCT_NAMES)


class ProductStatus(StrEnum):
    ACTIVE = "active"
    DRAFT = "draft"
    ARCHIVED = "archived"


@dataclass(frozen=True)
class Money:
    amount_minor: int
    currency: str


@dataclass(frozen=True)
class Option:
    name: str
    value: str


@dataclass(frozen=True)
class VariantSpec:
    """What a caller wants a variant to look like (before it has an id)."""

    sku: str
    price: Money | None
    cost: Money | None = None
    barcode: str | None = None
    options: tuple[Option, ...] = ()
    weight_grams: int | None = None


@dataclass(frozen=True)
class Variant:
    id: str
    product_id: str
    sku: str
    price: Money
    cost: Money | None
    barcode: str | None
    options: tuple[Option, ...]
    weight_grams: int | None
    position: int
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Product:
    """A product; `variants` is empty when only the product row was loaded."""

    id: str
    title: str
    description: str
    status: ProductStatus
    # Keyword-only: declared among the product's own fields, after the positional ones in __init__.
    image_urls: tuple[str, ...] = field(default=(), kw_only=True)
    version: int
    created_at: datetime
    updated_at: datetime
    variants: tuple[Variant, ...] = ()


@dataclass(frozen=True)
class NewProduct:
    title: str
    description: str
    status: ProductStatus | None
    image_urls: tuple[str, ...] = field(default=(), kw_only=True)
    variants: tuple[VariantSpec, ...]


@dataclass(frozen=True)
class ProductPatch:
    """Fields named by an update mask; values of other fields are ignored."""

    paths: frozenset[str]
    title: str = ""
    description: str = ""
    status: ProductStatus | None = None
    image_urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class VariantPatch:
    paths: frozenset[str]
    spec: VariantSpec


@dataclass(frozen=True)
class ListFilter:
    query: str = ""
    status: ProductStatus | None = None
    sku_prefix: str = ""
    updated_since: datetime | None = None


@dataclass(frozen=True)
class Cursor:
    """The last sort key of a page: products are listed by (created_at, id)."""

    created_at: datetime
    id: str


@dataclass(frozen=True)
class Page:
    products: list[Product]
    next_cursor: str


class DuplicateSku(AlreadyExists):
    """A SKU already belongs to another variant of the tenant (unique per tenant)."""


class ConcurrentModification(Aborted):
    """A row changed between our read and our conditional write; retrying after a re-read is safe."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def product_not_found() -> NotFound:
    # One message for missing and for another tenant's product: they must be indistinguishable.
    return NotFound("product not found")


def variant_not_found() -> NotFound:
    return NotFound("variant not found")


def path(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def check_version(expected: int, actual: int, what: str) -> None:
    """expected_version > 0 makes a write conditional on nobody having changed the object since."""
    if expected > 0 and expected != actual:
        raise Aborted(f"{what} is at version {actual}, not {expected}; re-read it and retry")


def validate_sku(sku: str, field_path: str) -> list[FieldViolation]:
    if not sku:
        return [FieldViolation(field_path, "SKU is required")]
    if len(sku) > MAX_SKU_LENGTH:
        return [FieldViolation(field_path, f"SKU is longer than {MAX_SKU_LENGTH} characters")]
    if any(ch.isspace() for ch in sku):
        return [FieldViolation(field_path, "SKU must not contain whitespace")]
    if problem := identifier_problem(sku):
        return [FieldViolation(field_path, f"SKU {problem}")]
    return []


def validate_title(title: str, field_path: str) -> list[FieldViolation]:
    if not title.strip():
        return [FieldViolation(field_path, "title is required")]
    if len(title) > MAX_TITLE_LENGTH:
        return [FieldViolation(field_path, f"title is longer than {MAX_TITLE_LENGTH} characters")]
    return []


def validate_description(description: str, field_path: str) -> list[FieldViolation]:
    if len(description) > MAX_DESCRIPTION_LENGTH:
        return [FieldViolation(field_path, f"description is longer than {MAX_DESCRIPTION_LENGTH} characters")]
    return []


def validate_image_urls(urls: Sequence[str], field_path: str) -> list[FieldViolation]:
    """Absolute http(s) URLs the channels can fetch: at most MAX_IMAGE_URLS, each at most
    MAX_IMAGE_URL_LENGTH characters, no credentials in them (they are handed to every channel),
    no repeats."""
    if len(urls) > MAX_IMAGE_URLS:
        return [FieldViolation(field_path, f"at most {MAX_IMAGE_URLS} image URLs per product")]
    problems = []
    seen: dict[str, int] = {}
    for i, url in enumerate(urls):
        item = f"{field_path}[{i}]"
        if problem := _image_url_problem(url):
            problems.append(FieldViolation(item, problem))
        elif url in seen:
            problems.append(FieldViolation(item, f"repeats {field_path}[{seen[url]}]"))
        else:
            seen[url] = i
    return problems


def _image_url_problem(url: str) -> str | None:
    if len(url) > MAX_IMAGE_URL_LENGTH:
        return f"URL is longer than {MAX_IMAGE_URL_LENGTH} characters"
    if not url.isprintable() or any(ch.isspace() for ch in url):
        return "URL must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "not a valid URL"
    if parts.scheme.lower() not in ("http", "https") or not host:
        return "must be an absolute http or https URL"
    if parts.username is not None or parts.password is not None:
        return "URL must not contain a user name or password"
    return None


def validate_money(money: Money | None, field_path: str, *, required: bool) -> list[FieldViolation]:
    if money is None:
        return [FieldViolation(field_path, "is required")] if required else []
    problems = []
    if not is_supported_currency(money.currency):
        problems.append(
            FieldViolation(path(field_path, "currency"), f"unsupported currency {money.currency!r}")
        )
    if money.amount_minor < 0:
        problems.append(FieldViolation(path(field_path, "amount_minor"), "must not be negative"))
    return problems


def validate_options(options: Sequence[Option], field_path: str) -> list[FieldViolation]:
    problems = []
    if len(options) > MAX_OPTIONS:
        problems.append(FieldViolation(field_path, f"at most {MAX_OPTIONS} options per variant"))
    seen: dict[str, int] = {}
    for i, option in enumerate(options):
        item = f"{field_path}[{i}]"
        if not option.name.strip():
            problems.append(FieldViolation(path(item, "name"), "option name is required"))
        elif len(option.name) > MAX_OPTION_TEXT_LENGTH:
            problems.append(FieldViolation(path(item, "name"), "option name is too long"))
        elif (key := option.name.strip().casefold()) in seen:
            problems.append(
                FieldViolation(
                    path(item, "name"), f"option {option.name!r} repeats {field_path}[{seen[key]}]"
                )
            )
        else:
            seen[key] = i
        if not option.value.strip():
            problems.append(FieldViolation(path(item, "value"), "option value is required"))
        elif len(option.value) > MAX_OPTION_TEXT_LENGTH:
            problems.append(FieldViolation(path(item, "value"), "option value is too long"))
    return problems


def validate_variant(
    spec: VariantSpec, prefix: str, fields: Iterable[str] = VARIANT_FIELDS
) -> list[FieldViolation]:
    """Every rule of a variant, restricted to `fields` (an update only checks what it changes)."""
    fields = frozenset(fields)
    problems: list[FieldViolation] = []
    if "sku" in fields:
        problems += validate_sku(spec.sku, path(prefix, "sku"))
    if "price" in fields:
        problems += validate_money(spec.price, path(prefix, "price"), required=True)
    if "cost" in fields:
        problems += validate_money(spec.cost, path(prefix, "cost"), required=False)
        # The CSV has one currency column for price and cost, so they must agree to round-trip.
        if (
            spec.cost is not None
            and spec.price is not None
            and "price" in fields
            and spec.cost.currency != spec.price.currency
        ):
            problems.append(
                FieldViolation(path(prefix, "cost.currency"), "cost must be in the price's currency")
            )
    if "barcode" in fields and spec.barcode is not None and len(spec.barcode) > MAX_BARCODE_LENGTH:
        problems.append(
            FieldViolation(path(prefix, "barcode"), f"barcode is longer than {MAX_BARCODE_LENGTH} characters")
        )
    if "options" in fields:
        problems += validate_options(spec.options, path(prefix, "options"))
    if "weight_grams" in fields and spec.weight_grams is not None:
        if spec.weight_grams < 0:
            problems.append(FieldViolation(path(prefix, "weight_grams"), "must not be negative"))
        elif spec.weight_grams > MAX_WEIGHT_GRAMS:
            problems.append(
                FieldViolation(path(prefix, "weight_grams"), f"must be at most {MAX_WEIGHT_GRAMS} grams")
            )
    return problems


def merged_violations(variant: Variant, prefix: str) -> list[FieldViolation]:
    """Rules across fields, checked on the result of a partial update."""
    if variant.cost is not None and variant.cost.currency != variant.price.currency:
        return [FieldViolation(path(prefix, "cost.currency"), "cost must be in the price's currency")]
    return []


def normalize_spec(spec: VariantSpec) -> VariantSpec:
    """An empty barcode means no barcode, so '' and unset never count as a change."""
    return replace(spec, barcode=spec.barcode or None)


def duplicate_sku_violations(skus: Sequence[str], field_format: str) -> list[FieldViolation]:
    """A SKU given twice in one request: the later one is the error."""
    first: dict[str, int] = {}
    problems = []
    for i, sku in enumerate(skus):
        if sku in first:
            problems.append(
                FieldViolation(
                    field_format.format(i), f"SKU {sku!r} repeats {field_format.format(first[sku])}"
                )
            )
        elif sku:
            first[sku] = i
    return problems


def validate_new_product(cmd: NewProduct) -> None:
    problems = validate_title(cmd.title, "title") + validate_description(cmd.description, "description")
    problems += validate_image_urls(cmd.image_urls, "image_urls")
    if not cmd.variants:
        problems.append(FieldViolation("variants", "a product needs at least one variant"))
    for i, spec in enumerate(cmd.variants):
        problems += validate_variant(spec, f"variants[{i}]")
    problems += duplicate_sku_violations([v.sku for v in cmd.variants], "variants[{}].sku")
    raise_if_problems(problems)


def validate_product_patch(patch: ProductPatch) -> None:
    unknown = sorted(patch.paths - PRODUCT_FIELDS)
    problems = [FieldViolation("update_mask", f"unknown field {name!r}") for name in unknown]
    if not patch.paths:
        problems.append(
            FieldViolation("update_mask", "name at least one of title, description, status, image_urls")
        )
    if "title" in patch.paths:
        problems += validate_title(patch.title, "product.title")
    if "description" in patch.paths:
        problems += validate_description(patch.description, "product.description")
    if "image_urls" in patch.paths:
        problems += validate_image_urls(patch.image_urls, "product.image_urls")
    if "status" in patch.paths and patch.status is None:
        problems.append(FieldViolation("product.status", "status must be active, draft or archived"))
    raise_if_problems(problems)


def validate_variant_patch(patch: VariantPatch) -> None:
    unknown = sorted(patch.paths - VARIANT_FIELDS)
    problems = [FieldViolation("update_mask", f"unknown field {name!r}") for name in unknown]
    if not patch.paths:
        problems.append(FieldViolation("update_mask", "name at least one variant field"))
    problems += validate_variant(patch.spec, "variant", patch.paths & VARIANT_FIELDS)
    raise_if_problems(problems)


def raise_if_problems(problems: list[FieldViolation]) -> None:
    if problems:
        raise InvalidArgument(
            "invalid request: " + "; ".join(f"{p.field}: {p.message}" for p in problems[:5]),
            violations=problems,
        )


def new_variant(spec: VariantSpec, *, id: str, product_id: str, position: int, now: datetime) -> Variant:
    assert spec.price is not None, "validated specs always carry a price"
    return Variant(
        id=id,
        product_id=product_id,
        sku=spec.sku,
        price=spec.price,
        cost=spec.cost,
        barcode=spec.barcode or None,
        options=tuple(spec.options),
        weight_grams=spec.weight_grams,
        position=position,
        version=1,
        created_at=now,
        updated_at=now,
    )


def variant_changes(variant: Variant, spec: VariantSpec, fields: Iterable[str]) -> dict[str, object]:
    """The subset of `fields` whose value in `spec` differs from the variant's."""
    spec = normalize_spec(spec)
    changes: dict[str, object] = {}
    for name in fields:
        wanted = tuple(spec.options) if name == "options" else getattr(spec, name)
        if wanted != getattr(variant, name):
            changes[name] = wanted
    return changes


def apply_variant_changes(variant: Variant, changes: dict[str, object], now: datetime) -> Variant:
    if not changes:
        return variant
    return replace(variant, **changes, version=variant.version + 1, updated_at=now)  # type: ignore[arg-type]


def product_changes(product: Product, patch: ProductPatch) -> dict[str, object]:
    changes: dict[str, object] = {}
    for name in patch.paths:
        wanted = getattr(patch, name)
        if wanted != getattr(product, name):
            changes[name] = wanted
    return changes


def bump_product(product: Product, now: datetime, **changes: object) -> Product:
    """Any change of the product or of one of its variants makes a new product version."""
    return replace(product, **changes, version=product.version + 1, updated_at=now)  # type: ignore[arg-type]


def page_size(limit: int) -> int:
    if limit == 0:
        return DEFAULT_PAGE_SIZE
    if limit < 0 or limit > MAX_PAGE_SIZE:
        raise InvalidArgument(
            f"limit must be between 1 and {MAX_PAGE_SIZE}",
            violations=[FieldViolation("page.limit", f"must be between 1 and {MAX_PAGE_SIZE} (0 = 50)")],
        )
    return limit


def encode_cursor(cursor: Cursor) -> str:
    return paging.encode_cursor([cursor.created_at.astimezone(UTC).isoformat(), cursor.id])


def decode_cursor(token: str) -> Cursor | None:
    """The empty token is the first page; anything unreadable is the caller's mistake."""
    if not token:
        return None
    try:
        key = paging.decode_cursor(token, arity=2)
        if key is None:
            raise ValueError("not a cursor")
        created, id_ = key
        created_at = datetime.fromisoformat(created)
        if not isinstance(id_, str) or created_at.tzinfo is None:
            raise ValueError("bad cursor shape")
    except (ValueError, TypeError):
        raise InvalidArgument(
            "invalid page cursor", violations=[FieldViolation("page.cursor", "not a cursor from this API")]
        ) from None
    return Cursor(created_at.astimezone(UTC), id_)


@dataclass(frozen=True)
class UpsertItem:
    """One variant keyed by SKU; `fields` are the variant fields to apply to an existing SKU."""

    product_title: str
    product_status: ProductStatus | None
    spec: VariantSpec
    fields: frozenset[str] = VARIANT_FIELDS


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    FAILED = "failed"


@dataclass(frozen=True)
class UpsertResult:
    index: int
    sku: str
    outcome: Outcome
    product_id: str = ""
    variant_id: str = ""
    field: str = ""
    message: str = ""


def validate_upsert_item(item: UpsertItem) -> list[FieldViolation]:
    problems = validate_title(item.product_title, "product_title")
    return problems + validate_variant(item.spec, "variant", item.fields | {"sku", "price"})


@dataclass(frozen=True)
class RowError:
    """A problem of one CSV row; `row` numbers rows like a spreadsheet (header = 1)."""

    row: int
    column: str
    message: str


@dataclass
class ImportCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
