"""Conversions between the generated protobuf messages (and the event payloads that carry them)
and the domain: with servicer.py, server.py and inventory_client.py the only modules that import
generated code."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format

from omnistock.common.v1 import common_pb2
from omnistock.connector.v1 import connector_service_pb2 as connector_pb
from omnistock.orders.v1 import orders_service_pb2 as pb
from omnistock_common.addresses import address_fields
from omnistock_common.errors import FieldViolation, InvalidArgument
from omnistock_common.timestamps import from_timestamp, to_optional_timestamp
from orders.domain import (
    ActionSynced,
    Address,
    CancelCommand,
    ChannelOrderVersion,
    FulfillCommand,
    Fulfillment,
    IncomingLine,
    LineRequest,
    NewOrderCommand,
    Order,
    OrderFilter,
    OrderFlag,
    OrderStatus,
    ReturnCommand,
    StockState,
    SyncState,
    Totals,
)
from orders.domain.sales import BestSeller, ChannelConversion, ChannelRevenue, DailySales, DateRange

timestamp = to_optional_timestamp

# --------------------------------------------------------------------------- enums


def status_out(status: OrderStatus) -> int:
    return pb.OrderStatus.Value(f"ORDER_STATUS_{status.value}")


def status_in(value: int) -> OrderStatus | None:
    """A (orders or connector) OrderStatus number; None for UNSPECIFIED or an unknown number."""
    try:
        name = pb.OrderStatus.Name(value).removeprefix("ORDER_STATUS_")
    except ValueError:
        return None
    return OrderStatus(name) if name in OrderStatus.__members__ else None


def flag_out(flag: OrderFlag) -> int:
    return pb.OrderFlag.Value(f"ORDER_FLAG_{flag.value.upper()}")


def flag_in(value: int) -> OrderFlag | None:
    name = (
        pb.OrderFlag.Name(value).removeprefix("ORDER_FLAG_").lower() if value in pb.OrderFlag.values() else ""
    )
    return OrderFlag(name) if name in OrderFlag._value2member_map_ else None


def sync_state_out(state: SyncState | None) -> int:
    return pb.FulfillmentSyncState.Value(f"FULFILLMENT_SYNC_STATE_{state.value}") if state else 0


def money(amount: int, currency: str) -> common_pb2.Money:
    return common_pb2.Money(amount_minor=amount, currency=currency)


# --------------------------------------------------------------------------- orders out


def address_out(address: Address) -> pb.Address:
    return pb.Address(**vars(address))


def fulfillment_out(f: Fulfillment) -> pb.Fulfillment:
    return pb.Fulfillment(
        id=f.id,
        carrier=f.carrier,
        tracking_number=f.tracking_number,
        tracking_url=f.tracking_url,
        lines=[pb.FulfillmentLine(line_id=x.line_id, sku=x.sku, quantity=x.quantity) for x in f.lines],
        sync_state=sync_state_out(f.sync_state),
        external_fulfillment_id=f.external_fulfillment_id,
        sync_message=f.sync_message,
        created_at=timestamp(f.created_at),
    )


def order_out(order: Order) -> pb.Order:
    currency = order.currency
    totals = order.totals
    return pb.Order(
        id=order.id,
        source=order.source,
        connection_id=order.connection_id,
        external_id=order.external_id,
        external_name=order.external_name,
        customer_email=order.customer_email,
        customer_name=order.customer_name,
        shipping_address=address_out(order.shipping_address),
        lines=[
            pb.OrderLine(
                id=line.id,
                external_line_id=line.external_line_id,
                sku=line.sku,
                title=line.title,
                quantity=line.quantity,
                unit_price=money(line.unit_price, currency),
                discount=money(line.discount, currency),
                tax=money(line.tax, currency),
                quantity_shipped=line.quantity_shipped,
                quantity_returned=line.quantity_returned,
                quantity_reserved=line.quantity_reserved,
                sku_known=line.sku_known,
            )
            for line in order.lines
        ],
        totals=pb.Totals(
            subtotal=money(totals.subtotal, currency),
            discount=money(totals.discount, currency),
            shipping=money(totals.shipping, currency),
            tax=money(totals.tax, currency),
            total=money(totals.total, currency),
        ),
        status=status_out(order.status),
        channel_status=order.channel_status,
        flags=sorted(flag_out(flag) for flag in order.flags),
        duplicate_of=order.duplicate_of,
        created_at=timestamp(order.created_at),
        updated_at=timestamp(order.updated_at),
        channel_updated_at=timestamp(order.channel_updated_at),
        history=[
            pb.StatusChange(
                from_status=status_out(c.from_status) if c.from_status else 0,
                to_status=status_out(c.to_status),
                at=timestamp(c.at),
                actor=c.actor,
                reason=c.reason,
            )
            for c in order.history
        ],
        fulfillments=[fulfillment_out(f) for f in order.fulfillments],
        raw_versions=[
            pb.RawVersion(
                channel_updated_at=timestamp(v.channel_updated_at),
                received_at=timestamp(v.received_at),
                via=v.via,
                payload_json=v.payload_json,
            )
            for v in order.raw_versions
        ],
        reservation_id=order.reservation_id,
        version=order.version,
        cancel_sync_state=sync_state_out(order.cancel_sync_state),
        cancel_sync_message=order.cancel_sync_message,
        stock_pending=order.stock_state is StockState.PENDING,
        stock_error=order.stock_error,
    )


# --------------------------------------------------------------------------- requests in


def filter_in(flt: pb.OrderFilter) -> OrderFilter:
    return OrderFilter(
        channel=flt.channel.strip(),
        statuses=tuple(s for s in (status_in(v) for v in flt.statuses) if s is not None),
        created_from=from_timestamp(flt.created_from),
        created_to=from_timestamp(flt.created_to),
        query=flt.query,
        flags=tuple(f for f in (flag_in(v) for v in flt.flags) if f is not None),
    )


def _address_in(address: pb.Address | connector_pb.OrderAddress) -> Address:
    return Address(**address_fields(address))


def new_order_in(request: pb.CreateOrderRequest) -> NewOrderCommand:
    currencies: list[tuple[str, str]] = []

    def amount(field: str, value: common_pb2.Money, present: bool) -> int:
        if present:
            currencies.append((field, value.currency))
        return value.amount_minor

    lines = []
    for i, line in enumerate(request.lines):
        lines.append(
            IncomingLine(
                sku=line.sku,
                quantity=line.quantity,
                title=line.title,
                unit_price=amount(f"lines[{i}].unit_price", line.unit_price, line.HasField("unit_price")),
                discount=amount(f"lines[{i}].discount", line.discount, line.HasField("discount")),
                tax=amount(f"lines[{i}].tax", line.tax, line.HasField("tax")),
            )
        )
    return NewOrderCommand(
        lines=tuple(lines),
        currency=request.currency,
        customer_email=request.customer_email.strip(),
        customer_name=request.customer_name,
        shipping_address=_address_in(request.shipping_address),
        shipping=amount("shipping", request.shipping, request.HasField("shipping")),
        status=status_in(request.status) if request.status else None,
        external_name=request.external_name,
        idempotency_key=request.idempotency_key,
        money_currencies=tuple(currencies),
    )


def _line_requests(lines: Iterable[Any], restock: bool = False) -> tuple[LineRequest, ...]:
    return tuple(
        LineRequest(line.line_id, line.sku, line.quantity, line.restock if restock else True)
        for line in lines
    )


def fulfill_in(request: pb.FulfillOrderRequest) -> FulfillCommand:
    return FulfillCommand(
        order_id=request.order_id,
        carrier=request.carrier,
        tracking_number=request.tracking_number,
        tracking_url=request.tracking_url,
        lines=_line_requests(request.lines),
        idempotency_key=request.idempotency_key,
    )


def cancel_in(request: pb.CancelOrderRequest) -> CancelCommand:
    return CancelCommand(request.order_id, request.reason, request.idempotency_key)


def return_in(request: pb.ReturnOrderItemsRequest) -> ReturnCommand:
    return ReturnCommand(
        order_id=request.order_id,
        lines=_line_requests(request.lines, restock=True),
        reason=request.reason,
        idempotency_key=request.idempotency_key,
    )


# --------------------------------------------------------------------------- events in


def _bad_event(field: str, message: str) -> InvalidArgument:
    return InvalidArgument(f"invalid event: {field} {message}", violations=[FieldViolation(field, message)])


def _time_in(value: Any, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise _bad_event(field, "is not an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def channel_order_in(payload: Mapping[str, Any]) -> ChannelOrderVersion:
    """A `channels.order_received` payload: connection_id, channel_type, via, received_at and
    `order`, a connector.v1.ChannelOrder as proto JSON (preserving_proto_field_name)."""
    connection_id = str(payload.get("connection_id") or "")
    if not connection_id:
        raise _bad_event("connection_id", "is required")
    message = connector_pb.ChannelOrder()
    try:
        json_format.ParseDict(payload.get("order") or {}, message, ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise _bad_event("order", f"is not a ChannelOrder ({exc})") from None
    if not message.external_id or len(message.external_id) > 128:
        raise _bad_event("order.external_id", "is required (at most 128 characters)")
    if len(connection_id) > 64:
        raise _bad_event("connection_id", "is longer than 64 characters")
    currency = message.total.currency or next(
        (x.unit_price.currency for x in message.lines if x.unit_price.currency), ""
    )
    raw = message.raw_json or json_format.MessageToJson(
        message, preserving_proto_field_name=True, indent=None
    )
    return ChannelOrderVersion(
        connection_id=connection_id,
        source=str(payload.get("channel_type") or "").upper()[:16],
        external_id=message.external_id,
        via=str(payload.get("via") or "poll")[:16],
        received_at=_time_in(payload.get("received_at") or datetime.now(UTC).isoformat(), "received_at"),
        status=status_in(message.status),
        lines=tuple(
            IncomingLine(
                sku=line.sku[:256],  # a longer one is not a usable SKU anyway (flagged unmapped)
                quantity=line.quantity,
                title=line.title,
                external_line_id=line.external_line_id[:128],
                unit_price=line.unit_price.amount_minor,
                discount=line.discount.amount_minor,
                tax=line.tax.amount_minor,
                quantity_fulfilled=max(0, min(line.quantity_fulfilled, line.quantity)),
            )
            for line in message.lines
        ),
        currency=currency[:3],
        totals=Totals(
            subtotal=message.subtotal.amount_minor,
            discount=message.discount_total.amount_minor,
            shipping=message.shipping_total.amount_minor,
            tax=message.tax_total.amount_minor,
            total=message.total.amount_minor,
        ),
        updated_at=from_timestamp(message.updated_at),
        created_at=from_timestamp(message.created_at),
        external_name=message.external_name,
        customer_email=message.customer_email,
        customer_name=message.customer_name,
        shipping_address=_address_in(message.shipping_address),
        channel_status=tuple(sorted(message.channel_status.items())),
        raw_json=raw,
    )


def channel_order_payload(
    order: connector_pb.ChannelOrder, connection_id: str, channel_type: str, via: str, received_at: datetime
) -> dict[str, Any]:
    """The `channels.order_received` payload for an order (what the channels side publishes;
    tests and tools build events with it)."""
    return {
        "connection_id": connection_id,
        "channel_type": channel_type,
        "via": via,
        "received_at": received_at.isoformat(),
        "order": json.loads(json_format.MessageToJson(order, preserving_proto_field_name=True)),
    }


def action_synced_in(payload: Mapping[str, Any]) -> ActionSynced:
    """A `channels.order_action_synced` payload."""
    order_id = str(payload.get("order_id") or "")
    if not order_id:
        raise _bad_event("order_id", "is required")
    return ActionSynced(
        order_id=order_id,
        action=str(payload.get("action") or ""),
        outcome=str(payload.get("outcome") or ""),
        fulfillment_id=str(payload.get("fulfillment_id") or ""),
        external_id=str(payload.get("external_id") or ""),
        message=str(payload.get("message") or ""),
    )


# --------------------------------------------------------------------------- analytics


def day_range_out(span: DateRange) -> pb.DayRange:
    return pb.DayRange(from_date=span.first.isoformat(), to_date=span.last.isoformat())


def channel_revenue_out(row: ChannelRevenue) -> pb.ChannelRevenue:
    return pb.ChannelRevenue(
        channel=row.channel,
        revenue=money(row.revenue, row.currency),
        orders=row.orders,
        units=row.units,
        share_ppm=row.share_ppm,
    )


def best_seller_out(row: BestSeller) -> pb.BestSeller:
    return pb.BestSeller(
        sku=row.sku, units=row.units, revenue=money(row.revenue, row.currency), orders=row.orders
    )


def channel_conversion_out(row: ChannelConversion) -> pb.ChannelConversion:
    """Unknown sessions stay unset (proto3 optional), so callers see "n/a", not 0."""
    return pb.ChannelConversion(
        channel=row.channel, orders=row.orders, sessions=row.sessions, conversion_ppm=row.conversion_ppm
    )


def daily_sales_out(row: DailySales) -> pb.DailySales:
    return pb.DailySales(
        day=row.day.isoformat(), revenue=money(row.revenue, row.currency), orders=row.orders, units=row.units
    )
