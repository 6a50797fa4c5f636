"""gRPC adapter of CatalogService: proto -> domain command -> use case -> proto. No logic here."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from catalog import mapping, service
from catalog.service import StockPort, UnitOfWork
from omnistock.catalog.v1 import catalog_service_pb2 as pb
from omnistock.catalog.v1 import catalog_service_pb2_grpc as pb_grpc
from omnistock_common.context import call_context


class CatalogServicer(pb_grpc.CatalogServiceServicer):
    """One unit of work shared by all calls (it keeps no state between transactions); errors
    are DomainErrors mapped by the interceptor."""

    def __init__(self, uow: UnitOfWork, stock: StockPort) -> None:
        self._uow = uow
        self._stock = stock

    def CreateProduct(
        self, request: pb.CreateProductRequest, context: grpc.ServicerContext
    ) -> pb.CreateProductResponse:
        tenant = call_context(context).tenant_id
        product = service.create_product(self._uow, tenant, mapping.new_product(request))
        return pb.CreateProductResponse(product=mapping.product_to_proto(product))

    def GetProduct(
        self, request: pb.GetProductRequest, context: grpc.ServicerContext
    ) -> pb.GetProductResponse:
        product = service.get_product(self._uow, call_context(context).tenant_id, request.product_id)
        return pb.GetProductResponse(product=mapping.product_to_proto(product))

    def UpdateProduct(
        self, request: pb.UpdateProductRequest, context: grpc.ServicerContext
    ) -> pb.UpdateProductResponse:
        tenant = call_context(context).tenant_id
        patch = mapping.product_patch(request)
        product = service.update_product(
            self._uow, tenant, request.product_id, patch, request.expected_version
        )
        return pb.UpdateProductResponse(product=mapping.product_to_proto(product))

    def DeleteProduct(
        self, request: pb.DeleteProductRequest, context: grpc.ServicerContext
    ) -> pb.DeleteProductResponse:
        tenant = call_context(context).tenant_id
        service.delete_product(self._uow, tenant, request.product_id, request.expected_version)
        return pb.DeleteProductResponse()

    def ListProducts(
        self, request: pb.ListProductsRequest, context: grpc.ServicerContext
    ) -> pb.ListProductsResponse:
        tenant = call_context(context).tenant_id
        filters = mapping.list_filter(request)
        page = service.list_products(self._uow, tenant, filters, request.page.limit, request.page.cursor)
        return mapping.page_to_proto(page)

    def CountProducts(
        self, request: pb.CountProductsRequest, context: grpc.ServicerContext
    ) -> pb.CountProductsResponse:
        tenant = call_context(context).tenant_id
        return pb.CountProductsResponse(
            count=service.count_products(self._uow, tenant, mapping.list_filter(request))
        )

    def AddVariant(
        self, request: pb.AddVariantRequest, context: grpc.ServicerContext
    ) -> pb.AddVariantResponse:
        tenant = call_context(context).tenant_id
        spec = mapping.spec_from_proto(request.variant)
        variant = service.add_variant(self._uow, tenant, request.product_id, spec)
        return pb.AddVariantResponse(variant=mapping.variant_to_proto(variant))

    def UpdateVariant(
        self, request: pb.UpdateVariantRequest, context: grpc.ServicerContext
    ) -> pb.UpdateVariantResponse:
        tenant = call_context(context).tenant_id
        patch = mapping.variant_patch(request)
        variant = service.update_variant(
            self._uow, tenant, request.variant_id, patch, request.expected_version
        )
        return pb.UpdateVariantResponse(variant=mapping.variant_to_proto(variant))

    def DeleteVariant(
        self, request: pb.DeleteVariantRequest, context: grpc.ServicerContext
    ) -> pb.DeleteVariantResponse:
        tenant = call_context(context).tenant_id
        service.delete_variant(self._uow, tenant, request.variant_id, request.expected_version)
        return pb.DeleteVariantResponse()

    def GetVariantsBySku(
        self, request: pb.GetVariantsBySkuRequest, context: grpc.ServicerContext
    ) -> pb.GetVariantsBySkuResponse:
        found, missing = service.get_variants_by_sku(self._uow, call_context(context).tenant_id, request.skus)
        return pb.GetVariantsBySkuResponse(
            variants=[mapping.variant_to_proto(v) for v in found], missing_skus=missing
        )

    def BulkUpsertVariants(
        self, request: pb.BulkUpsertVariantsRequest, context: grpc.ServicerContext
    ) -> pb.BulkUpsertVariantsResponse:
        tenant = call_context(context).tenant_id
        results = service.bulk_upsert_variants(self._uow, tenant, mapping.upsert_items(request))
        return mapping.upsert_results_to_proto(results)

    def ImportProducts(
        self, request_iterator: Iterator[pb.ImportProductsRequest], context: grpc.ServicerContext
    ) -> pb.ImportProductsResponse:
        options, chunks = mapping.import_stream(request_iterator)
        counts = service.import_products(self._uow, self._stock, call_context(context), options, chunks)
        return mapping.import_report_to_proto(counts)

    def ExportProducts(
        self, request: pb.ExportProductsRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.ExportProductsResponse]:
        status = mapping.status_from_proto(request.status, "status")
        for chunk in service.export_products(self._uow, call_context(context).tenant_id, status):
            yield pb.ExportProductsResponse(chunk=chunk)
