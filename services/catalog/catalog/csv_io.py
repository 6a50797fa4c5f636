"""Product CSV: streaming parse + per-row validation on import, row formatting on export.

Import never holds the file: bytes are decoded incrementally, cut into physical lines and fed
to the csv module (which joins the lines of a quoted multi-line field), one record at a time.
Only the set of SKUs seen so far is kept, to report a SKU repeated later in the file, and at most
MAX_REPORTED_ERRORS row errors (the rest are counted): a file of 200,000 bad rows must not build a
report of tens of megabytes.

Export neutralises spreadsheet formulas (omnistock_common.spreadsheet, shared with the gateway's
order export): a cell starting with =, +, -, @, tab or CR is written with a leading single quote.
Import removes exactly that quote again, so an exported file still re-imports as all `unchanged`.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from catalog.domain import (
    Money,
    Option,
    Product,
    ProductStatus,
    RowError,
    UpsertItem,
    Variant,
    VariantSpec,
    validate_title,
    validate_variant,
)
from catalog.fields import OPTION_COLUMNS, STATUS, TITLE, VARIANT_CSV_COLUMNS, csv_fields
from omnistock_common.errors import FieldViolation, InvalidArgument
from omnistock_common.identifiers import IdentifierError, clean_identifier
from omnistock_common.money import MoneyError, from_minor, is_supported_currency, to_minor
from omnistock_common.spreadsheet import neutralise_formula, unneutralise_formula

# Export header, from the field declaration (catalog/fields.py) plus the initial-stock columns;
# import finds columns by name, so their order in a file does not matter.
COLUMNS: tuple[str, ...] = (
    *TITLE.csv_columns,
    *VARIANT_CSV_COLUMNS,
    *STATUS.csv_columns,
    "quantity",
    "location",
)
REQUIRED_COLUMNS = ("product_title", "sku", "price")
DEFAULT_CURRENCY = "USD"
EXPORT_CHUNK_BYTES = 64 * 1024
# A physical line longer than this is not a product row; refusing it bounds memory.
MAX_LINE_CHARS = 1024 * 1024
# At most 19 digits (2**63 - 1 has 19): int() of a longer string may raise instead of failing the row.
_QUANTITY = re.compile(r"[0-9]{1,19}")
# Digits capped so int() never meets a huge string; the domain checks the weight's range.
_WEIGHT = re.compile(r"-?[0-9]{1,12}")
_MAX_QUANTITY = 2**63 - 1
# Undecodable bytes become lone surrogates (surrogateescape), which valid UTF-8 never yields.
_UNDECODABLE = re.compile("[\udc80-\udcff]")

# Row errors kept for the report; beyond this they are only counted (CappedErrors.omitted).
MAX_REPORTED_ERRORS = 1000

# Records a problem of the current row: fail(column, message).
Fail = Callable[[str, str], None]


@dataclass(frozen=True)
class ImportRow:
    """A valid data row: the variant to upsert and, optionally, its initial stock."""

    row: int
    item: UpsertItem
    quantity: int | None
    location: str


@dataclass(frozen=True)
class Header:
    index: dict[str, int]
    width: int
    # Variant fields this file carries: an absent column leaves existing variants alone.
    fields: frozenset[str]


def decode_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """Decode UTF-8 (BOM tolerated) incrementally and yield lines with their line ending."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="surrogateescape")
    pending = ""
    for chunk in chunks:
        pending += decoder.decode(chunk)
        start = 0
        while (end := pending.find("\n", start)) >= 0:
            yield pending[start : end + 1]
            start = end + 1
        pending = pending[start:]
        if len(pending) > MAX_LINE_CHARS:
            raise InvalidArgument(
                f"a line of the file is longer than {MAX_LINE_CHARS} characters",
                violations=[FieldViolation("chunk", "line too long; is this a CSV file?")],
            )
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending


def parse_header(record: list[str]) -> Header:
    """Column positions by (case-insensitive) name; a missing required column fails the import."""
    index: dict[str, int] = {}
    problems = []
    for position, raw in enumerate(record):
        name = raw.strip().lower()
        if not name:
            continue
        if name in index:
            problems.append(FieldViolation("header", f"column {name!r} appears twice"))
        index.setdefault(name, position)
    missing = [name for name in REQUIRED_COLUMNS if name not in index]
    if missing:
        problems.append(FieldViolation("header", f"missing required column(s): {', '.join(missing)}"))
    if problems:
        raise InvalidArgument(
            "the CSV header is invalid: " + "; ".join(p.message for p in problems), violations=problems
        )
    return Header(index, len(record), csv_fields(set(index)))


def _column_for(field_path: str, option_columns: list[int]) -> str:
    """The CSV column a domain field path (e.g. `options[1].value`) came from."""
    if field_path.startswith("options["):
        item = int(field_path[len("options[") : field_path.index("]")])
        part = "value" if field_path.endswith(".value") else "name"
        return f"option{option_columns[item]}_{part}"
    if field_path.endswith(".currency"):
        return "currency"
    return field_path.split(".", 1)[0].split("[", 1)[0]


def parse_record(
    row: int, record: list[str], header: Header, default_currency: str
) -> ImportRow | list[RowError]:
    """Validate one data record; every problem of the row is reported, each naming its column."""
    errors: list[RowError] = []

    def cell(name: str) -> str:
        position = header.index.get(name)
        if position is None or position >= len(record):
            return ""
        return unneutralise_formula(record[position].strip())

    def fail(column: str, message: str) -> None:
        errors.append(RowError(row, column, message))

    for name, position in header.index.items():
        if position < len(record) and _UNDECODABLE.search(record[position]):
            fail(name, "not valid UTF-8 text")
    if errors:
        return errors
    if any(value.strip() for value in record[header.width :]):
        fail("", f"the row has {len(record)} fields, more than the header's {header.width}")

    title = cell("product_title")
    currency = (cell("currency") or default_currency).upper()
    price = _money(cell("price"), currency, "price", fail, required=True)
    cost = _money(cell("cost"), currency, "cost", fail, required=False)
    options: list[Option] = []
    option_columns: list[int] = []
    for n in (1, 2, 3):
        name, value = cell(f"option{n}_name"), cell(f"option{n}_value")
        if name and not value:
            fail(f"option{n}_value", f"option {name!r} has no value")
        elif value and not name:
            fail(f"option{n}_name", f"value {value!r} has no option name")
        elif name:
            options.append(Option(name, value))
            option_columns.append(n)
    status: ProductStatus | None = None
    if raw_status := cell("status"):
        try:
            status = ProductStatus(raw_status.lower())
        except ValueError:
            fail("status", f"status {raw_status!r} is not one of active, draft, archived")
    quantity: int | None = None
    if raw_quantity := cell("quantity"):
        if _QUANTITY.fullmatch(raw_quantity) and int(raw_quantity) <= _MAX_QUANTITY:
            quantity = int(raw_quantity)
        else:
            fail("quantity", f"quantity {raw_quantity!r} is not a whole number >= 0")
    location = cell("location")
    if location and not raw_quantity:
        fail("location", "location given without a quantity")
    weight_grams: int | None = None
    if raw_weight := cell("weight_grams"):
        if _WEIGHT.fullmatch(raw_weight):
            weight_grams = int(raw_weight)
        else:
            fail("weight_grams", f"weight_grams {raw_weight!r} is not a whole number of grams")

    spec = VariantSpec(
        sku=_nfc(cell("sku")),
        price=price,
        cost=cost,
        barcode=cell("barcode") or None,
        options=tuple(options),
        weight_grams=weight_grams,
    )
    for violation in validate_title(title, "product_title"):
        fail(violation.field, violation.message)
    for violation in validate_variant(spec, "", header.fields | {"sku"}):
        if violation.field in {"price", "cost"} or violation.field.endswith(".currency"):
            continue  # money problems were reported with the cell's own wording above
        fail(_column_for(violation.field, option_columns), violation.message)
    if errors:
        return errors
    return ImportRow(row, UpsertItem(title, status, spec, header.fields), quantity, location)


def _money(raw: str, currency: str, column: str, fail: Fail, *, required: bool) -> Money | None:
    if not raw:
        if required:
            fail(column, f"{column} is required")
        return None
    if not is_supported_currency(currency):
        fail("currency", f"unsupported currency {currency!r}")
        return None
    try:
        amount = to_minor(raw, currency)
    except MoneyError as exc:
        fail(column, f"invalid {column}: {exc}")
        return None
    if amount < 0:
        fail(column, f"{column} must not be negative")
        return None
    return Money(amount, currency)


def _nfc(value: str) -> str:
    """NFC form of an identifier; one with refused characters is left for validate_sku to report."""
    try:
        return clean_identifier(value)
    except IdentifierError:
        return value


class CappedErrors(list[RowError]):
    """A row-error list that keeps the first `cap` errors and counts the others in `omitted`."""

    def __init__(self, cap: int = MAX_REPORTED_ERRORS) -> None:
        super().__init__()
        self.cap = cap
        self.omitted = 0

    def append(self, error: RowError) -> None:
        if len(self) < self.cap:
            super().append(error)
        else:
            self.omitted += 1

    def extend(self, errors: Iterable[RowError]) -> None:
        for error in errors:
            self.append(error)


class CsvImport:
    """Iterates a streamed product CSV as ImportRow or the row's list of RowErrors.

    The header is read on the first `next()`, so a bad header fails before anything is written.
    """

    def __init__(self, chunks: Iterable[bytes], default_currency: str = "") -> None:
        self._records = csv.reader(decode_lines(chunks), strict=True)
        self._default_currency = (default_currency or DEFAULT_CURRENCY).upper()
        self._first_row_of_sku: dict[str, int] = {}
        self.rows = 0
        if not is_supported_currency(self._default_currency):
            raise InvalidArgument(
                f"unsupported default currency {self._default_currency!r}",
                violations=[FieldViolation("options.default_currency", "not a supported ISO 4217 code")],
            )

    def __iter__(self) -> Iterator[ImportRow | list[RowError]]:
        row = 0
        header: Header | None = None
        while True:
            row += 1
            try:
                record = next(self._records)
            except StopIteration:
                break
            except csv.Error as exc:
                if header is None:
                    raise InvalidArgument(f"the CSV header cannot be read: {exc}") from None
                self.rows += 1
                yield [RowError(row, "", f"malformed CSV: {exc}")]
                continue
            if not any(value.strip() for value in record):
                continue  # blank line: a spreadsheet shows an empty row, nothing to import
            if header is None:
                header = parse_header(record)
                continue
            self.rows += 1
            yield self._with_duplicate_check(row, record, header)
        if header is None:
            raise InvalidArgument(
                "the file is empty", violations=[FieldViolation("header", "a header row is required")]
            )

    def _with_duplicate_check(
        self, row: int, record: list[str], header: Header
    ) -> ImportRow | list[RowError]:
        parsed = parse_record(row, record, header, self._default_currency)
        position = header.index["sku"]
        sku = record[position].strip() if position < len(record) else ""
        if not sku:
            return parsed
        first = self._first_row_of_sku.setdefault(sku, row)
        if first == row:
            return parsed
        duplicate = RowError(row, "sku", f"SKU {sku!r} already appears on row {first}")
        return [duplicate, *(parsed if isinstance(parsed, list) else [])]


def variant_row(product: Product, variant: Variant) -> list[str]:
    """One export row, formatted exactly as the importer reads it back."""
    currency = variant.price.currency
    options: list[str] = []
    for option in variant.options:
        options += [option.name, option.value]
    options += [""] * (len(OPTION_COLUMNS) - len(options))
    row = [
        product.title,
        variant.sku,
        from_minor(variant.price.amount_minor, currency),
        currency,
        "" if variant.cost is None else from_minor(variant.cost.amount_minor, currency),
        variant.barcode or "",
        *options,
        "" if variant.weight_grams is None else str(variant.weight_grams),
        product.status.value,
        "",
        "",
    ]
    return [neutralise_formula(value) for value in row]


def export_chunks(products: Iterable[Product], chunk_bytes: int = EXPORT_CHUNK_BYTES) -> Iterator[bytes]:
    """The catalog as UTF-8 CSV, in chunks of about `chunk_bytes`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for product in products:
        for variant in product.variants:
            writer.writerow(variant_row(product, variant))
            if buffer.tell() >= chunk_bytes:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")
