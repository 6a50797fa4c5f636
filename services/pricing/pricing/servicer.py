"""gRPC adapter of the pricing service: mapping in, one use case, mapping out. Errors are domain
errors raised below; the shared interceptor turns them into statuses."""

from __future__ import annotations

import grpc

from omnistock.common.v1 import common_pb2
from omnistock.pricing.v1 import pricing_service_pb2 as pb
from omnistock.pricing.v1 import pricing_service_pb2_grpc as pb_grpc
from omnistock_common.context import call_context
from pricing import mapping, service
from pricing.service import PricingDeps

Ctx = grpc.ServicerContext


class PricingServicer(pb_grpc.PricingServiceServicer):
    def __init__(self, deps: PricingDeps) -> None:
        self.deps = deps

    def ListPrices(self, request: pb.ListPricesRequest, context: Ctx) -> pb.ListPricesResponse:
        prices, cursor = service.list_prices(
            self.deps,
            call_context(context),
            request.sku,
            request.connection_id,
            request.page.limit,
            request.page.cursor,
        )
        return pb.ListPricesResponse(
            prices=[mapping.price_out(p) for p in prices], page=common_pb2.PageResponse(next_cursor=cursor)
        )

    def SetPrice(self, request: pb.SetPriceRequest, context: Ctx) -> pb.SetPriceResponse:
        listed = service.set_price(
            self.deps,
            call_context(context),
            request.sku,
            request.connection_id,
            mapping.money_in(request, "price"),
            mapping.money_in(request, "compare_at_price"),
            request.reason,
        )
        return pb.SetPriceResponse(price=mapping.price_out(listed))

    def GetPriceHistory(self, request: pb.GetPriceHistoryRequest, context: Ctx) -> pb.GetPriceHistoryResponse:
        changes, cursor = service.price_history(
            self.deps, call_context(context), request.sku, request.page.limit, request.page.cursor
        )
        return pb.GetPriceHistoryResponse(
            changes=[mapping.change_out(c) for c in changes], page=common_pb2.PageResponse(next_cursor=cursor)
        )

    def PreviewBulkChange(
        self, request: pb.PreviewBulkChangeRequest, context: Ctx
    ) -> pb.PreviewBulkChangeResponse:
        result = service.preview_change(
            self.deps,
            call_context(context),
            mapping.filter_in(request.filter),
            mapping.bulk_change_in(request.change),
            mapping.rounding_in(request.rounding),
            request.reason,
        )
        return pb.PreviewBulkChangeResponse(
            preview_id=result.preview_id,
            count=result.count,
            items=[mapping.item_out(i) for i in result.items],
        )

    def ApplyBulkChange(self, request: pb.ApplyBulkChangeRequest, context: Ctx) -> pb.ApplyBulkChangeResponse:
        count = service.apply_change(self.deps, call_context(context), request.preview_id)
        return pb.ApplyBulkChangeResponse(count=count)

    def GetFxRates(self, request: pb.GetFxRatesRequest, context: Ctx) -> pb.GetFxRatesResponse:
        view = service.get_fx_rates(self.deps, call_context(context))
        return pb.GetFxRatesResponse(
            base=view.base,
            rates=[mapping.rate_out(r) for r in view.rates],
            threshold_percent=view.threshold_percent,
        )

    def SetFxRates(self, request: pb.SetFxRatesRequest, context: Ctx) -> pb.SetFxRatesResponse:
        view = service.set_fx_rates(
            self.deps, call_context(context), request.base, dict(request.rates), request.threshold_percent
        )
        return pb.SetFxRatesResponse(
            base=view.base,
            rates=[mapping.rate_out(r) for r in view.rates],
            repriced=view.repriced,
            threshold_percent=view.threshold_percent,
        )

    def ImportFxRates(self, request: pb.ImportFxRatesRequest, context: Ctx) -> pb.ImportFxRatesResponse:
        view = service.import_fx_rates(
            self.deps, call_context(context), request.base, request.csv, request.threshold_percent
        )
        return pb.ImportFxRatesResponse(
            base=view.base,
            rates=[mapping.rate_out(r) for r in view.rates],
            repriced=view.repriced,
            threshold_percent=view.threshold_percent,
        )

    def SetConnectionPricing(
        self, request: pb.SetConnectionPricingRequest, context: Ctx
    ) -> pb.SetConnectionPricingResponse:
        settings = service.set_connection_pricing(
            self.deps, call_context(context), mapping.connection_in(request.pricing)
        )
        return pb.SetConnectionPricingResponse(pricing=mapping.connection_out(settings))

    def GetConnectionPricing(
        self, request: pb.GetConnectionPricingRequest, context: Ctx
    ) -> pb.GetConnectionPricingResponse:
        settings = service.get_connection_pricing(self.deps, call_context(context), request.connection_id)
        return pb.GetConnectionPricingResponse(pricing=mapping.connection_out(settings))

    def SetPriceSchedule(
        self, request: pb.SetPriceScheduleRequest, context: Ctx
    ) -> pb.SetPriceScheduleResponse:
        settings = service.set_price_schedule(
            self.deps, call_context(context), request.connection_id, request.cron, request.timezone
        )
        return pb.SetPriceScheduleResponse(pricing=mapping.connection_out(settings))

    def CreateTimedSale(self, request: pb.CreateTimedSaleRequest, context: Ctx) -> pb.CreateTimedSaleResponse:
        sale = service.create_sale(
            self.deps,
            call_context(context),
            request.sku,
            request.connection_id,
            mapping.money_in(request, "sale_price"),
            mapping.time_in(request, "starts_at"),
            mapping.time_in(request, "ends_at"),
            request.idempotency_key,
        )
        return pb.CreateTimedSaleResponse(sale=mapping.sale_out(sale))

    def ListTimedSales(self, request: pb.ListTimedSalesRequest, context: Ctx) -> pb.ListTimedSalesResponse:
        sales, cursor = service.list_sales(
            self.deps,
            call_context(context),
            request.sku,
            request.connection_id,
            request.page.limit,
            request.page.cursor,
        )
        return pb.ListTimedSalesResponse(
            sales=[mapping.sale_out(s) for s in sales], page=common_pb2.PageResponse(next_cursor=cursor)
        )
