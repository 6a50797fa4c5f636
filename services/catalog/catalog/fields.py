"""The one declaration of the catalog's product and variant fields. Pure: no I/O, no generated code.

A field is named the same in the domain, the protobuf messages, FieldMask paths and the REST
schema; what differs per layer (CSV columns, table columns) is declared here too. Lists of
fields elsewhere are derived from this module (domain field sets and limits, the proto mapping's
optional fields, the repository's columns, the CSV columns) or checked against it by
services/catalog/tests/unit/test_fields.py (the dataclasses, the protobuf messages, the table,
the CSV round trip, and the gateway's REST schema, which lives in another deployable).
Adding a variant field: declare it here, then follow the failures of that test.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    TEXT = "text"
    MONEY = "money"
    OPTIONS = "options"
    INTEGER = "integer"
    STATUS = "status"
    URLS = "urls"


@dataclass(frozen=True)
class FieldSpec:
    """One field: `name` in domain/proto/REST, the CSV and table columns that carry it, its bounds.

    A field that is not `required` may be absent, and cleared by an update (null in REST).
    """

    name: str
    kind: Kind
    required: bool
    csv_columns: tuple[str, ...]
    db_columns: tuple[str, ...]
    max_length: int | None = None
    min_value: int | None = None
    max_value: int | None = None


MAX_SKU_LENGTH = 64
MAX_BARCODE_LENGTH = 64
MAX_TITLE_LENGTH = 255
MAX_DESCRIPTION_LENGTH = 20_000
# Up to 10 tonnes; well inside the int32 of the protobuf field and the INTEGER column.
MAX_WEIGHT_GRAMS = 10_000_000
MAX_OPTIONS = 3
# Per product, and per URL (the length browsers and the channels' APIs reliably take).
MAX_IMAGE_URLS = 20
MAX_IMAGE_URL_LENGTH = 2048
OPTION_COLUMNS = tuple(f"option{n}_{part}" for n in range(1, MAX_OPTIONS + 1) for part in ("name", "value"))

SKU = FieldSpec("sku", Kind.TEXT, True, ("sku",), ("sku",), max_length=MAX_SKU_LENGTH)
# Cost shares the price's currency: one currency column in the CSV and in the table.
PRICE = FieldSpec("price", Kind.MONEY, True, ("price", "currency"), ("price_minor", "currency"))
COST = FieldSpec("cost", Kind.MONEY, False, ("cost",), ("cost_minor",))
BARCODE = FieldSpec("barcode", Kind.TEXT, False, ("barcode",), ("barcode",), max_length=MAX_BARCODE_LENGTH)
OPTIONS = FieldSpec("options", Kind.OPTIONS, False, OPTION_COLUMNS, ("options",))
WEIGHT_GRAMS = FieldSpec(
    "weight_grams",
    Kind.INTEGER,
    False,
    ("weight_grams",),
    ("weight_grams",),
    min_value=0,
    max_value=MAX_WEIGHT_GRAMS,
)
VARIANT: tuple[FieldSpec, ...] = (SKU, PRICE, COST, BARCODE, OPTIONS, WEIGHT_GRAMS)

TITLE = FieldSpec("title", Kind.TEXT, True, ("product_title",), ("title",), max_length=MAX_TITLE_LENGTH)
DESCRIPTION = FieldSpec(
    "description", Kind.TEXT, False, (), ("description",), max_length=MAX_DESCRIPTION_LENGTH
)
STATUS = FieldSpec("status", Kind.STATUS, False, ("status",), ("status",))
# Absolute http(s) URLs in display order; not in the CSV (one row per variant has no place for them).
IMAGE_URLS = FieldSpec("image_urls", Kind.URLS, False, (), ("image_urls",), max_length=MAX_IMAGE_URL_LENGTH)
PRODUCT: tuple[FieldSpec, ...] = (TITLE, DESCRIPTION, STATUS, IMAGE_URLS)

VARIANT_NAMES: tuple[str, ...] = tuple(f.name for f in VARIANT)
PRODUCT_NAMES: tuple[str, ...] = tuple(f.name for f in PRODUCT)
# Variant fields a caller may leave out or clear (REST `null`, an empty CSV cell).
CLEARABLE_VARIANT_NAMES: frozenset[str] = frozenset(f.name for f in VARIANT if not f.required)
VARIANT_DB_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys(c for f in VARIANT for c in f.db_columns))
VARIANT_CSV_COLUMNS: tuple[str, ...] = tuple(c for f in VARIANT for c in f.csv_columns)


def csv_fields(columns: frozenset[str] | set[str]) -> frozenset[str]:
    """Variant fields a CSV with these columns carries: required ones always, others by column."""
    return frozenset(f.name for f in VARIANT if f.required or columns.intersection(f.csv_columns))
