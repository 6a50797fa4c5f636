"""Orders as export rows: one row per order line, the order's columns repeated on each.

An order without lines still gets one row (its line columns empty), so every order of the filter
appears in the file. Amounts are decimal strings with the currency's own decimals (the
`currency` column names it), times RFC 3339 in UTC, lists (flags, duplicates, tracking numbers)
joined with "; ". COLUMNS is the documented order of the columns (docs/api.md "Orders").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from google.protobuf.timestamp_pb2 import Timestamp

from gateway.mapping.orders import flag_names, status_name
from gateway.tabular import Cell, Column, Kind
from omnistock.common.v1 import common_pb2
from omnistock.orders.v1 import orders_service_pb2 as pb
from omnistock_common.money import from_minor
from omnistock_common.timestamps import from_timestamp

LIST_SEPARATOR = "; "
TEXT, INT, AMOUNT, BOOL = Kind.TEXT, Kind.INTEGER, Kind.AMOUNT, Kind.BOOLEAN

COLUMNS: tuple[Column, ...] = (
    Column("order_id", TEXT, "OmniStock's order id"),
    Column("order_name", TEXT, "the channel's order name, e.g. #1042"),
    Column("source", TEXT, "SHOPIFY, WOOCOMMERCE, ... or MANUAL"),
    Column("connection_id", TEXT, "the channel connection (empty for manual orders)"),
    Column("external_id", TEXT, "the channel's order id"),
    Column("status", TEXT, "unified status"),
    Column("channel_status", TEXT, "the channel's own status fields, key=value"),
    Column("flags", TEXT, "possible_duplicate, oversold, unmapped_sku"),
    Column("duplicate_of", TEXT, "ids of the orders this one may duplicate"),
    Column("created_at", TEXT, "RFC 3339, UTC"),
    Column("updated_at", TEXT, "RFC 3339, UTC"),
    Column("customer_email", TEXT),
    Column("customer_name", TEXT),
    Column("currency", TEXT, "ISO 4217 code of every amount on the row"),
    Column("order_subtotal", AMOUNT),
    Column("order_discount", AMOUNT),
    Column("order_shipping", AMOUNT),
    Column("order_tax", AMOUNT),
    Column("order_total", AMOUNT),
    Column("ship_to_name", TEXT),
    Column("ship_to_company", TEXT),
    Column("ship_to_line1", TEXT),
    Column("ship_to_line2", TEXT),
    Column("ship_to_city", TEXT),
    Column("ship_to_region", TEXT),
    Column("ship_to_postal_code", TEXT),
    Column("ship_to_country", TEXT, "ISO 3166-1 alpha-2"),
    Column("ship_to_phone", TEXT),
    Column("tracking_numbers", TEXT, "of every fulfilment so far"),
    Column("line_number", INT, "1, 2, ... within the order"),
    Column("line_id", TEXT),
    Column("sku", TEXT),
    Column("title", TEXT),
    Column("quantity", INT),
    Column("unit_price", AMOUNT),
    Column("line_discount", AMOUNT, "for the whole line"),
    Column("line_tax", AMOUNT, "for the whole line"),
    Column("quantity_shipped", INT),
    Column("quantity_returned", INT),
    Column("quantity_reserved", INT, "units held in inventory"),
    Column("sku_known", BOOL, "false: the SKU is not in OmniStock"),
)
_EMPTY_LINE: tuple[Cell, ...] = (None,) * 12


def amount(money: common_pb2.Money) -> str | None:
    """The exact decimal string, or an empty cell for a Money that was never set."""
    return from_minor(money.amount_minor, money.currency) if money.currency else None


def _time(stamp: Timestamp) -> str | None:
    moment = from_timestamp(stamp)
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _order_cells(order: pb.Order) -> tuple[Cell, ...]:
    totals, address = order.totals, order.shipping_address
    return (
        order.id,
        order.external_name,
        order.source,
        order.connection_id,
        order.external_id,
        status_name(order.status),
        LIST_SEPARATOR.join(f"{key}={value}" for key, value in sorted(order.channel_status.items())),
        LIST_SEPARATOR.join(flag_names(order.flags)),
        LIST_SEPARATOR.join(order.duplicate_of),
        _time(order.created_at),
        _time(order.updated_at),
        order.customer_email,
        order.customer_name,
        totals.total.currency or next((line.unit_price.currency for line in order.lines), ""),
        amount(totals.subtotal),
        amount(totals.discount),
        amount(totals.shipping),
        amount(totals.tax),
        amount(totals.total),
        address.name,
        address.company,
        address.line1,
        address.line2,
        address.city,
        address.region,
        address.postal_code,
        address.country_code,
        address.phone,
        LIST_SEPARATOR.join(f.tracking_number for f in order.fulfillments if f.tracking_number),
    )


def _line_cells(number: int, line: pb.OrderLine) -> tuple[Cell, ...]:
    return (
        number,
        line.id,
        line.sku,
        line.title,
        line.quantity,
        amount(line.unit_price),
        amount(line.discount),
        amount(line.tax),
        line.quantity_shipped,
        line.quantity_returned,
        line.quantity_reserved,
        line.sku_known,
    )


def order_rows(order: pb.Order) -> Iterator[tuple[Cell, ...]]:
    head = _order_cells(order)
    if not order.lines:
        yield head + _EMPTY_LINE
        return
    for number, line in enumerate(order.lines, 1):
        yield head + _line_cells(number, line)


def export_rows(messages: Iterable[pb.ExportOrdersResponse]) -> Iterator[tuple[Cell, ...]]:
    """The rows of every order of an ExportOrders stream, one message (page) at a time."""
    for message in messages:
        for order in message.orders:
            yield from order_rows(order)
