"""Orders REST models ↔ the orders protobufs: request messages built, replies converted.

Enum names cross here (unified status upper case, flags and fulfilment sync states lower case),
filters become one OrderFilter for the list and the export alike, Money goes through the shared
helpers (decimal strings with the currency's own decimals), and an unset message (an order without
a shipping address, a Money the channel never gave) becomes JSON null, never zeros.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway import orders_schemas as s
from gateway.mapping import money_from_pb, money_to_pb, next_cursor, page_request
from gateway.schemas import MoneyIn, MoneyOut
from omnistock.common.v1 import common_pb2
from omnistock.orders.v1 import orders_service_pb2 as pb
from omnistock_common.addresses import address_fields
from omnistock_common.timestamps import from_timestamp, to_timestamp

STATUS_TO_PB: dict[str, int] = {
    name: pb.OrderStatus.Value(f"ORDER_STATUS_{name}") for name in s.StatusName.__args__
}
STATUS_FROM_PB: dict[int, str] = {value: name for name, value in STATUS_TO_PB.items()}
FLAG_TO_PB: dict[str, int] = {
    name: pb.OrderFlag.Value(f"ORDER_FLAG_{name.upper()}") for name in s.FlagName.__args__
}
FLAG_FROM_PB: dict[int, str] = {value: name for name, value in FLAG_TO_PB.items()}
SYNC_STATE_FROM_PB: dict[int, str] = {
    pb.FulfillmentSyncState.Value(f"FULFILLMENT_SYNC_STATE_{name.upper()}"): name
    for name in s.SyncStateName.__args__
}


# ------------------------------------------------------------------------------ JSON → pb
def order_filter(query: s.OrderFilterQuery) -> pb.OrderFilter:
    """No value of a filter means no filtering on it (an empty list matches every status)."""
    out = pb.OrderFilter(
        channel=query.channel or "",
        statuses=[STATUS_TO_PB[name] for name in dict.fromkeys(query.status)],
        query=query.q or "",
        flags=[FLAG_TO_PB[name] for name in dict.fromkeys(query.flag)],
    )
    if query.from_ is not None:
        out.created_from.CopyFrom(to_timestamp(query.from_))
    if query.to is not None:
        out.created_to.CopyFrom(to_timestamp(query.to))
    return out


def list_request(query: s.OrderListQuery) -> pb.ListOrdersRequest:
    return pb.ListOrdersRequest(filter=order_filter(query), page=page_request(query.limit, query.cursor))


def export_request(query: s.OrderExportQuery) -> pb.ExportOrdersRequest:
    return pb.ExportOrdersRequest(filter=order_filter(query))


def _optional_money(money: MoneyIn | None) -> common_pb2.Money | None:
    return money_to_pb(money) if money is not None else None


def address_to_pb(address: s.AddressIn) -> pb.Address:
    return pb.Address(**address.model_dump())


def create_request(body: s.OrderCreateIn, idempotency_key: str) -> pb.CreateOrderRequest:
    request = pb.CreateOrderRequest(
        customer_email=body.customer_email,
        customer_name=body.customer_name,
        lines=[
            pb.NewOrderLine(
                sku=line.sku,
                quantity=line.quantity,
                unit_price=money_to_pb(line.unit_price),
                discount=_optional_money(line.discount),
                tax=_optional_money(line.tax),
                title=line.title,
            )
            for line in body.lines
        ],
        currency=body.order_currency,
        shipping=_optional_money(body.shipping),
        status=STATUS_TO_PB[body.status],  # type: ignore[arg-type]
        external_name=body.external_name,
        idempotency_key=idempotency_key,
    )
    if body.shipping_address is not None:
        request.shipping_address.CopyFrom(address_to_pb(body.shipping_address))
    return request


def _line_ref(line: s.LineRefIn) -> pb.FulfillmentLine:
    return pb.FulfillmentLine(line_id=line.line_id or "", sku=line.sku or "", quantity=line.quantity)


def fulfill_request(order_id: str, body: s.FulfillIn, idempotency_key: str) -> pb.FulfillOrderRequest:
    """No lines: every unshipped unit (the orders service decides which those are)."""
    return pb.FulfillOrderRequest(
        order_id=order_id,
        carrier=body.carrier,
        tracking_number=body.tracking_number,
        tracking_url=body.tracking_url or "",
        lines=[_line_ref(line) for line in body.lines],
        idempotency_key=idempotency_key,
    )


def cancel_request(order_id: str, body: s.CancelIn, idempotency_key: str) -> pb.CancelOrderRequest:
    return pb.CancelOrderRequest(order_id=order_id, reason=body.reason, idempotency_key=idempotency_key)


def return_request(order_id: str, body: s.ReturnIn, idempotency_key: str) -> pb.ReturnOrderItemsRequest:
    return pb.ReturnOrderItemsRequest(
        order_id=order_id,
        lines=[
            pb.ReturnLine(
                line_id=line.line_id or "", sku=line.sku or "", quantity=line.quantity, restock=line.restock
            )
            for line in body.lines
        ],
        reason=body.reason,
        idempotency_key=idempotency_key,
    )


def duplicate_request(order_id: str, body: s.DuplicateDecisionIn) -> pb.ResolveDuplicateRequest:
    return pb.ResolveDuplicateRequest(order_id=order_id, decision=body.decision)


# ------------------------------------------------------------------------------ pb → JSON
def money_out(money: common_pb2.Money) -> MoneyOut | None:
    """null for a Money that was never set (no currency); otherwise the exact decimal string."""
    return money_from_pb(money) if money.currency else None


def status_name(status: int) -> str:
    """The unified status name. The orders service always sets one; an unset value reads PENDING
    (the status every order starts in) rather than failing a whole page."""
    return STATUS_FROM_PB.get(status, "PENDING")


def flag_names(flags: Iterable[int]) -> list[str]:
    """Flag names; a flag this gateway does not know yet is left out rather than failing the order."""
    return [FLAG_FROM_PB[flag] for flag in flags if flag in FLAG_FROM_PB]


def address_out(order: pb.Order) -> s.AddressOut | None:
    if not order.HasField("shipping_address"):
        return None
    a = order.shipping_address
    return s.AddressOut(**address_fields(a))


def line_out(line: pb.OrderLine) -> s.OrderLineOut:
    return s.OrderLineOut(
        id=line.id,
        external_line_id=line.external_line_id,
        sku=line.sku,
        title=line.title,
        quantity=line.quantity,
        unit_price=money_out(line.unit_price),
        discount=money_out(line.discount),
        tax=money_out(line.tax),
        quantity_shipped=line.quantity_shipped,
        quantity_returned=line.quantity_returned,
        quantity_reserved=line.quantity_reserved,
        sku_known=line.sku_known,
    )


def totals_out(totals: pb.Totals) -> s.TotalsOut:
    return s.TotalsOut(
        subtotal=money_out(totals.subtotal),
        discount=money_out(totals.discount),
        shipping=money_out(totals.shipping),
        tax=money_out(totals.tax),
        total=money_out(totals.total),
    )


def fulfillment_out(f: pb.Fulfillment) -> s.FulfillmentOut:
    return s.FulfillmentOut(
        id=f.id,
        carrier=f.carrier,
        tracking_number=f.tracking_number,
        tracking_url=f.tracking_url,
        lines=[s.FulfillmentLineOut(line_id=x.line_id, sku=x.sku, quantity=x.quantity) for x in f.lines],
        sync_state=SYNC_STATE_FROM_PB.get(f.sync_state, "pending"),  # type: ignore[arg-type]
        external_fulfillment_id=f.external_fulfillment_id,
        sync_message=f.sync_message,
        created_at=from_timestamp(f.created_at),
    )


def _order_fields(order: pb.Order) -> dict[str, object]:
    return {
        "id": order.id,
        "source": order.source,
        "connection_id": order.connection_id,
        "external_id": order.external_id,
        "external_name": order.external_name,
        "customer_email": order.customer_email,
        "customer_name": order.customer_name,
        "status": status_name(order.status),
        "channel_status": dict(sorted(order.channel_status.items())),
        "total": money_out(order.totals.total),
        "totals": totals_out(order.totals),
        "lines": [line_out(line) for line in order.lines],
        "flags": flag_names(order.flags),
        "duplicate_of": list(order.duplicate_of),
        "created_at": from_timestamp(order.created_at),
        "updated_at": from_timestamp(order.updated_at),
        "shipping_address": address_out(order),
        "fulfillments": [fulfillment_out(f) for f in order.fulfillments],
        "version": order.version,
    }


def order_out(order: pb.Order) -> s.OrderOut:
    return s.OrderOut.model_validate(_order_fields(order))


def status_change_out(change: pb.StatusChange) -> s.StatusChangeOut:
    return s.StatusChangeOut.model_validate(
        {
            "from_status": STATUS_FROM_PB.get(change.from_status),
            "to_status": status_name(change.to_status),
            "at": from_timestamp(change.at),
            "actor": change.actor,
            "reason": change.reason,
        }
    )


def raw_version_out(raw: pb.RawVersion) -> s.RawVersionOut:
    return s.RawVersionOut(
        channel_updated_at=from_timestamp(raw.channel_updated_at),
        received_at=from_timestamp(raw.received_at),
        via=raw.via,
        payload_json=raw.payload_json,
    )


def order_detail_out(order: pb.Order) -> s.OrderDetailOut:
    return s.OrderDetailOut.model_validate(
        {
            **_order_fields(order),
            "channel_updated_at": from_timestamp(order.channel_updated_at),
            "history": [status_change_out(change) for change in order.history],
            "raw_versions": [raw_version_out(raw) for raw in order.raw_versions],
        }
    )


def order_page(reply: pb.ListOrdersResponse) -> s.OrderPage:
    return s.OrderPage(items=[order_out(o) for o in reply.orders], next_cursor=next_cursor(reply.page))


def fulfillment_result_out(reply: pb.FulfillOrderResponse) -> s.FulfillmentResultOut:
    return s.FulfillmentResultOut(
        order=order_detail_out(reply.order), fulfillment=fulfillment_out(reply.fulfillment)
    )
