"""gRPC adapter of the orders service: mapping in, one use case, mapping out. Errors are domain
errors raised below; the shared interceptor turns them into statuses."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from omnistock.common.v1 import common_pb2
from omnistock.orders.v1 import orders_service_pb2 as pb
from omnistock.orders.v1 import orders_service_pb2_grpc as pb_grpc
from omnistock_common.context import call_context
from orders import mapping, service
from orders.domain import Policy
from orders.repository import UnitOfWork
from orders.service import StockPort


class OrdersServicer(pb_grpc.OrdersServiceServicer):
    def __init__(self, uow: UnitOfWork, stock: StockPort, policy: Policy) -> None:
        self.uow = uow
        self.stock = stock
        self.policy = policy

    def ListOrders(
        self, request: pb.ListOrdersRequest, context: grpc.ServicerContext
    ) -> pb.ListOrdersResponse:
        orders, cursor = service.list_orders(
            self.uow,
            call_context(context),
            mapping.filter_in(request.filter),
            request.page.limit,
            request.page.cursor,
        )
        return pb.ListOrdersResponse(
            orders=[mapping.order_out(o) for o in orders], page=common_pb2.PageResponse(next_cursor=cursor)
        )

    def GetOrder(self, request: pb.GetOrderRequest, context: grpc.ServicerContext) -> pb.GetOrderResponse:
        order = service.get_order(self.uow, call_context(context), request.order_id)
        return pb.GetOrderResponse(order=mapping.order_out(order))

    def CreateOrder(
        self, request: pb.CreateOrderRequest, context: grpc.ServicerContext
    ) -> pb.CreateOrderResponse:
        command = mapping.new_order_in(request)
        order = service.create_manual_order(self.uow, self.stock, call_context(context), command, self.policy)
        return pb.CreateOrderResponse(order=mapping.order_out(order))

    def FulfillOrder(
        self, request: pb.FulfillOrderRequest, context: grpc.ServicerContext
    ) -> pb.FulfillOrderResponse:
        order, fulfillment = service.fulfill_order(
            self.uow, self.stock, call_context(context), mapping.fulfill_in(request)
        )
        return pb.FulfillOrderResponse(
            order=mapping.order_out(order), fulfillment=mapping.fulfillment_out(fulfillment)
        )

    def CancelOrder(
        self, request: pb.CancelOrderRequest, context: grpc.ServicerContext
    ) -> pb.CancelOrderResponse:
        order = service.cancel_order(self.uow, self.stock, call_context(context), mapping.cancel_in(request))
        return pb.CancelOrderResponse(order=mapping.order_out(order))

    def ReturnOrderItems(
        self, request: pb.ReturnOrderItemsRequest, context: grpc.ServicerContext
    ) -> pb.ReturnOrderItemsResponse:
        order = service.return_items(self.uow, self.stock, call_context(context), mapping.return_in(request))
        return pb.ReturnOrderItemsResponse(order=mapping.order_out(order))

    def ResolveDuplicate(
        self, request: pb.ResolveDuplicateRequest, context: grpc.ServicerContext
    ) -> pb.ResolveDuplicateResponse:
        order = service.resolve_duplicate(
            self.uow, self.stock, call_context(context), request.order_id, request.decision.strip().lower()
        )
        return pb.ResolveDuplicateResponse(order=mapping.order_out(order))

    def ExportOrders(
        self, request: pb.ExportOrdersRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.ExportOrdersResponse]:
        for page in service.export_orders(self.uow, call_context(context), mapping.filter_in(request.filter)):
            yield pb.ExportOrdersResponse(orders=[mapping.order_out(o) for o in page])

    def GetRevenueByChannel(
        self, request: pb.GetRevenueByChannelRequest, context: grpc.ServicerContext
    ) -> pb.GetRevenueByChannelResponse:
        span, rows = service.channel_revenue(
            self.uow, call_context(context), request.range.from_date, request.range.to_date
        )
        return pb.GetRevenueByChannelResponse(
            range=mapping.day_range_out(span), channels=[mapping.channel_revenue_out(r) for r in rows]
        )

    def GetBestSellers(
        self, request: pb.GetBestSellersRequest, context: grpc.ServicerContext
    ) -> pb.GetBestSellersResponse:
        span, rows = service.best_sellers(
            self.uow,
            call_context(context),
            request.channel,
            request.range.from_date,
            request.range.to_date,
            request.limit,
        )
        return pb.GetBestSellersResponse(
            range=mapping.day_range_out(span), best_sellers=[mapping.best_seller_out(r) for r in rows]
        )

    def GetConversionByChannel(
        self, request: pb.GetConversionByChannelRequest, context: grpc.ServicerContext
    ) -> pb.GetConversionByChannelResponse:
        span, rows = service.channel_conversion(
            self.uow, call_context(context), request.range.from_date, request.range.to_date
        )
        return pb.GetConversionByChannelResponse(
            range=mapping.day_range_out(span), channels=[mapping.channel_conversion_out(r) for r in rows]
        )

    def ImportChannelSessions(
        self, request: pb.ImportChannelSessionsRequest, context: grpc.ServicerContext
    ) -> pb.ImportChannelSessionsResponse:
        rows = [(d.day, d.channel, d.sessions) for d in request.days]
        return pb.ImportChannelSessionsResponse(
            stored=service.import_sessions(self.uow, call_context(context), rows)
        )

    def GetSalesOverTime(
        self, request: pb.GetSalesOverTimeRequest, context: grpc.ServicerContext
    ) -> pb.GetSalesOverTimeResponse:
        span, rows = service.daily_sales(
            self.uow, call_context(context), request.channel, request.range.from_date, request.range.to_date
        )
        return pb.GetSalesOverTimeResponse(
            range=mapping.day_range_out(span), days=[mapping.daily_sales_out(r) for r in rows]
        )
