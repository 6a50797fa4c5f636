"""A fake OrdersService for the gateway's orders routes, served by the real gRPC bootstrap on
127.0.0.1:0 (so domain errors cross the wire as real statuses with google.rpc details and the
internal token is verified), with just enough behaviour to exercise the gateway: per-tenant orders,
idempotency keys (a key reused for another request is INVALID_ARGUMENT IDEMPOTENCY_KEY_REUSED),
partial fulfilment, cancel refused once shipped, returns, duplicate decisions, filtered paging and
a paged export stream. It records every request and the caller's context.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from omnistock.common.v1 import common_pb2
from omnistock.inventory.v1 import inventory_service_pb2 as inventory_pb
from omnistock.orders.v1 import orders_service_pb2 as pb
from omnistock.orders.v1 import orders_service_pb2_grpc as pb_grpc
from omnistock_common.context import CallContext, call_context
from omnistock_common.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from omnistock_common.grpc_server import RunningServer, build_server

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["OrdersService"].full_name
READ_ONLY = frozenset(f"/{SERVICE_NAME}/{name}" for name in ("ListOrders", "GetOrder", "ExportOrders"))
EXPORT_PAGE = 500


def money(minor: int, currency: str) -> common_pb2.Money:
    return common_pb2.Money(amount_minor=minor, currency=currency)


def now() -> Timestamp:
    stamp = Timestamp()
    stamp.GetCurrentTime()
    return stamp


@dataclass
class FakeOrders(pb_grpc.OrdersServiceServicer):
    orders: dict[str, dict[str, pb.Order]] = field(default_factory=dict)
    requests: list[tuple[str, Any]] = field(default_factory=list)
    contexts: list[CallContext] = field(default_factory=list)
    # (tenant, rpc, key) -> (the request it was first used for, the response given)
    keys: dict[tuple[str, str, str], tuple[bytes, Any]] = field(default_factory=dict)
    # Set by a test: the export stream fails after this many pages (0: before the first one).
    export_fails_after: int | None = None
    # Set by a test: ExportOrders streams these (tenant ignored) instead of the stored orders.
    export_source: Callable[[], Iterator[pb.Order]] | None = None

    # ------------------------------------------------------------------ helpers for tests
    def add(self, tenant: str, order: pb.Order) -> pb.Order:
        order.id = order.id or str(uuid.uuid4())
        order.version = order.version or 1
        self.orders.setdefault(tenant, {})[order.id] = order
        return order

    def last(self, rpc: str) -> Any:
        return [request for name, request in self.requests if name == rpc][-1]

    def count(self, rpc: str) -> int:
        return sum(1 for name, _ in self.requests if name == rpc)

    # ------------------------------------------------------------------ plumbing
    def _tenant(self, rpc: str, request: Any, context: grpc.ServicerContext) -> str:
        self.requests.append((rpc, request))
        self.contexts.append(call_context(context))
        return self.contexts[-1].tenant_id

    def _find(self, tenant: str, order_id: str) -> pb.Order:
        order = self.orders.get(tenant, {}).get(order_id)
        if order is None:
            raise NotFound("order not found")
        return order

    def _idempotent(self, tenant: str, rpc: str, request: Any, work: Callable[[], Any]) -> Any:
        key = getattr(request, "idempotency_key", "")
        if not key:
            return work()
        fingerprint = request.SerializeToString(deterministic=True)
        first = self.keys.get((tenant, rpc, key))
        if first is not None:
            if first[0] != fingerprint:
                raise InvalidArgument(
                    "this Idempotency-Key was used for a different request", reason="IDEMPOTENCY_KEY_REUSED"
                )
            return first[1]
        response = work()
        self.keys[(tenant, rpc, key)] = (fingerprint, response)
        return response

    @staticmethod
    def _matches(order: pb.Order, f: pb.OrderFilter) -> bool:
        text = f.query.lower()
        return (
            (not f.channel or f.channel in (order.source.lower(), order.connection_id))
            and (not f.statuses or order.status in f.statuses)
            and all(flag in order.flags for flag in f.flags)
            and (
                not text
                or text in order.customer_email.lower()
                or text in order.external_name.lower()
                or any(text in line.sku.lower() for line in order.lines)
            )
        )

    # ------------------------------------------------------------------ reads
    def ListOrders(self, request: pb.ListOrdersRequest, context: grpc.ServicerContext) -> Any:
        tenant = self._tenant("ListOrders", request, context)
        matching = [o for o in self.orders.get(tenant, {}).values() if self._matches(o, request.filter)]
        start = int(request.page.cursor or 0)
        limit = request.page.limit or 50
        more = start + limit < len(matching)
        page = [self._listed(o) for o in matching[start : start + limit]]
        return pb.ListOrdersResponse(orders=page, page={"next_cursor": str(start + limit) if more else ""})

    @staticmethod
    def _listed(order: pb.Order) -> pb.Order:
        listed = pb.Order()
        listed.CopyFrom(order)
        del listed.raw_versions[:]  # only GetOrder carries them
        return listed

    def GetOrder(self, request: pb.GetOrderRequest, context: grpc.ServicerContext) -> Any:
        tenant = self._tenant("GetOrder", request, context)
        return pb.GetOrderResponse(order=self._find(tenant, request.order_id))

    def ExportOrders(self, request: pb.ExportOrdersRequest, context: grpc.ServicerContext) -> Any:
        tenant = self._tenant("ExportOrders", request, context)
        if self.export_source is not None:
            source: Iterator[pb.Order] = self.export_source()
        else:
            source = (o for o in self.orders.get(tenant, {}).values() if self._matches(o, request.filter))
        page: list[pb.Order] = []
        pages = 0
        for order in source:
            page.append(order)
            if len(page) == EXPORT_PAGE:
                if self.export_fails_after == pages:
                    raise Unavailable("orders database went away")
                yield pb.ExportOrdersResponse(orders=page)
                pages += 1
                page = []
        if self.export_fails_after == pages:
            raise Unavailable("orders database went away")
        if page:
            yield pb.ExportOrdersResponse(orders=page)

    # ------------------------------------------------------------------ writes
    def CreateOrder(self, request: pb.CreateOrderRequest, context: grpc.ServicerContext) -> Any:
        tenant = self._tenant("CreateOrder", request, context)

        def create() -> pb.CreateOrderResponse:
            currency = request.currency
            subtotal = sum(line.unit_price.amount_minor * line.quantity for line in request.lines)
            tax = sum(line.tax.amount_minor for line in request.lines)
            order = pb.Order(
                source="MANUAL",
                external_name=request.external_name,
                customer_email=request.customer_email,
                customer_name=request.customer_name,
                shipping_address=request.shipping_address if request.HasField("shipping_address") else None,
                status=request.status or pb.ORDER_STATUS_PENDING,
                lines=[
                    pb.OrderLine(
                        id=str(uuid.uuid4()),
                        sku=line.sku,
                        title=line.title,
                        quantity=line.quantity,
                        unit_price=line.unit_price,
                        discount=line.discount if line.HasField("discount") else None,
                        tax=line.tax if line.HasField("tax") else None,
                        quantity_reserved=line.quantity,
                        sku_known=True,
                    )
                    for line in request.lines
                ],
                totals=pb.Totals(
                    subtotal=money(subtotal, currency),
                    shipping=money(request.shipping.amount_minor, currency),
                    tax=money(tax, currency),
                    total=money(subtotal + tax + request.shipping.amount_minor, currency),
                ),
                created_at=now(),
                updated_at=now(),
                history=[
                    pb.StatusChange(to_status=request.status or pb.ORDER_STATUS_PENDING, actor="merchant")
                ],
            )
            return pb.CreateOrderResponse(order=self.add(tenant, order))

        return self._idempotent(tenant, "CreateOrder", request, create)

    def FulfillOrder(self, request: pb.FulfillOrderRequest, context: grpc.ServicerContext) -> Any:
        tenant = self._tenant("FulfillOrder", request, context)

        def fulfil() -> pb.FulfillOrderResponse:
            order = self._find(tenant, request.order_id)
            if order.status == pb.ORDER_STATUS_CANCELLED:
                raise FailedPrecondition("the order is cancelled", reason="ORDER_CANCELLED")
            by_id = {line.id: line for line in order.lines}
            by_sku = {line.sku: line for line in order.lines}
            wanted = [
                (by_id.get(ref.line_id) if ref.line_id else by_sku.get(ref.sku), ref.quantity)
                for ref in request.lines
            ] or [(line, line.quantity - line.quantity_shipped) for line in order.lines]
            short = [(line, qty) for line, qty in wanted if line is not None and qty > line.quantity_reserved]
            if short:
                detail = inventory_pb.InsufficientStock(
                    lines=[
                        inventory_pb.ShortLine(sku=line.sku, requested=qty, available=line.quantity_reserved)
                        for line, qty in short
                    ]
                )
                raise FailedPrecondition(
                    "not enough stock held", reason="INSUFFICIENT_STOCK", details=[detail]
                )
            shipped = []
            for line, qty in wanted:
                if line is None:
                    raise InvalidArgument("no such line on the order")
                line.quantity_shipped += qty
                line.quantity_reserved -= qty
                shipped.append(pb.FulfillmentLine(line_id=line.id, sku=line.sku, quantity=qty))
            done = all(line.quantity_shipped >= line.quantity for line in order.lines)
            order.status = pb.ORDER_STATUS_SHIPPED if done else pb.ORDER_STATUS_PARTIALLY_SHIPPED
            fulfillment = order.fulfillments.add(
                id=str(uuid.uuid4()),
                carrier=request.carrier,
                tracking_number=request.tracking_number,
                tracking_url=request.tracking_url,
                lines=shipped,
                sync_state=pb.FULFILLMENT_SYNC_STATE_PENDING,
                created_at=now(),
            )
            order.version += 1
            return pb.FulfillOrderResponse(order=order, fulfillment=fulfillment)

        return self._idempotent(tenant, "FulfillOrder", request, fulfil)

    def CancelOrder(self, request: pb.CancelOrderRequest, context: grpc.ServicerContext) -> Any:
        tenant = self._tenant("CancelOrder", request, context)

        def cancel() -> pb.CancelOrderResponse:
            order = self._find(tenant, request.order_id)
            if any(line.quantity_shipped for line in order.lines):
                raise FailedPrecondition("part of the order has shipped", reason="ALREADY_SHIPPED")
            order.history.add(
                from_status=order.status, to_status=pb.ORDER_STATUS_CANCELLED, reason=request.reason
            )
            order.status = pb.ORDER_STATUS_CANCELLED
            for line in order.lines:
                line.quantity_reserved = 0
            order.version += 1
            return pb.CancelOrderResponse(order=order)

        return self._idempotent(tenant, "CancelOrder", request, cancel)

    def ReturnOrderItems(self, request: pb.ReturnOrderItemsRequest, context: grpc.ServicerContext) -> Any:
        tenant = self._tenant("ReturnOrderItems", request, context)

        def take_back() -> pb.ReturnOrderItemsResponse:
            order = self._find(tenant, request.order_id)
            for ref in request.lines:
                line = next(x for x in order.lines if ref.line_id in ("", x.id) and ref.sku in ("", x.sku))
                line.quantity_returned += ref.quantity
            order.version += 1
            return pb.ReturnOrderItemsResponse(order=order)

        return self._idempotent(tenant, "ReturnOrderItems", request, take_back)

    def ResolveDuplicate(self, request: pb.ResolveDuplicateRequest, context: grpc.ServicerContext) -> Any:
        tenant = self._tenant("ResolveDuplicate", request, context)
        order = self._find(tenant, request.order_id)
        flags = [flag for flag in order.flags if flag != pb.ORDER_FLAG_POSSIBLE_DUPLICATE]
        del order.flags[:]
        order.flags.extend(flags)
        if request.decision == "cancel":
            order.status = pb.ORDER_STATUS_CANCELLED
        order.version += 1
        return pb.ResolveDuplicateResponse(order=order)


@pytest.fixture
def fake_orders() -> Iterator[tuple[FakeOrders, RunningServer]]:
    servicer = FakeOrders()
    running = build_server(
        [lambda server: pb_grpc.add_OrdersServiceServicer_to_server(servicer, server)],
        [SERVICE_NAME],
        "127.0.0.1:0",
        max_workers=4,
        read_only_methods=READ_ONLY,
    )
    yield servicer, running
    running.server.stop(None).wait()


@pytest.fixture
def orders(fake_orders: tuple[FakeOrders, RunningServer]) -> FakeOrders:
    return fake_orders[0]


@pytest.fixture
def orders_app(app_factory: Any, sqlite_url: str, fake_orders: tuple[FakeOrders, RunningServer]) -> Any:
    return app_factory(sqlite_url, orders_addr=f"127.0.0.1:{fake_orders[1].port}")


@pytest.fixture
def client(orders_app: Any) -> Any:
    return orders_app.test_client()


@pytest.fixture
def owner(client: Any, helpers: Any) -> Any:
    return helpers.register(client, "Acme", "owner@acme.test")
