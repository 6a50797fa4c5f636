"""Gateway API tests: the Flask test client over the real gateway DB and Redis.

The catalog is an in-process fake CatalogService served by the real gRPC bootstrap (so domain
errors cross the wire as real statuses with google.rpc details), bound to 127.0.0.1:0. It records
the requests and metadata it receives so tests can assert what the gateway forwarded.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from flask import Flask
from flask.testing import FlaskClient
from google.protobuf.timestamp_pb2 import Timestamp

from catalog.server import READ_ONLY_METHODS
from gateway.app import create_app
from gateway.config import Settings
from omnistock.catalog.v1 import catalog_service_pb2 as pb
from omnistock.catalog.v1 import catalog_service_pb2_grpc
from omnistock.channels.v1 import channels_service_pb2 as channels_pb
from omnistock.channels.v1 import channels_service_pb2_grpc
from omnistock_common.context import CallContext, call_context, metadata_dict
from omnistock_common.errors import Aborted, AlreadyExists, FieldViolation, InvalidArgument, NotFound
from omnistock_common.grpc_server import RunningServer, build_server
from omnistock_devtools.migrated import migrate

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["CatalogService"].full_name
CHANNELS_SERVICE_NAME = channels_pb.DESCRIPTOR.services_by_name["ChannelsService"].full_name


@dataclass
class FakeCatalog(catalog_service_pb2_grpc.CatalogServiceServicer):
    """Products per tenant, in memory; just enough behaviour to exercise the gateway."""

    products: dict[str, dict[str, pb.Product]] = field(default_factory=dict)
    requests: list[tuple[str, Any]] = field(default_factory=list)
    metadata: list[dict[str, str]] = field(default_factory=list)
    # The verified caller of each call (from the internal token the gateway signed).
    contexts: list[CallContext] = field(default_factory=list)
    import_messages: list[tuple[str, int]] = field(default_factory=list)
    import_bytes: bytearray = field(default_factory=bytearray)
    export_chunks: list[bytes] = field(default_factory=lambda: [b"product_title,sku\n", b"Tee,TEE-1\n"])
    # Seconds the import waits after each chunk, so a test sees it read the file over time.
    import_delay_seconds: float = 0.0

    def _record(self, name: str, request: Any, context: grpc.ServicerContext) -> str:
        self.requests.append((name, request))
        self.metadata.append(metadata_dict(context.invocation_metadata()))
        self.contexts.append(call_context(context))
        return self.contexts[-1].tenant_id

    def last(self, name: str) -> Any:
        return [req for rpc, req in self.requests if rpc == name][-1]

    def _find_product(self, tenant: str, product_id: str) -> pb.Product:
        product = self.products.get(tenant, {}).get(product_id)
        if product is None:
            raise NotFound("product not found")
        return product

    def _find_variant(self, tenant: str, variant_id: str) -> tuple[pb.Product, pb.Variant]:
        for product in self.products.get(tenant, {}).values():
            for variant in product.variants:
                if variant.id == variant_id:
                    return product, variant
        raise NotFound("variant not found")

    @staticmethod
    def _now() -> Timestamp:
        ts = Timestamp()
        ts.GetCurrentTime()
        return ts

    def _variant(self, product_id: str, data: pb.VariantInput) -> pb.Variant:
        variant = pb.Variant(
            id=str(uuid.uuid4()),
            product_id=product_id,
            sku=data.sku,
            price=data.price,
            options=data.options,
            version=1,
            created_at=self._now(),
            updated_at=self._now(),
        )
        if data.HasField("cost"):
            variant.cost.CopyFrom(data.cost)
        if data.HasField("barcode"):
            variant.barcode = data.barcode
        if data.HasField("weight_grams"):
            variant.weight_grams = data.weight_grams
        return variant

    def CreateProduct(self, request: pb.CreateProductRequest, context: grpc.ServicerContext) -> Any:
        tenant = self._record("CreateProduct", request, context)
        if request.title == "boom":
            raise RuntimeError("secret internal detail: db password is hunter2")
        if request.title == "invalid":
            raise InvalidArgument(
                "bad product", violations=[FieldViolation("variants[0].sku", "SKU must not contain spaces")]
            )
        existing = {v.sku for p in self.products.get(tenant, {}).values() for v in p.variants}
        for variant in request.variants:
            if variant.sku in existing:
                raise AlreadyExists(f"SKU {variant.sku} exists", reason="SKU_TAKEN")
            existing.add(variant.sku)
        product_id = str(uuid.uuid4())
        product = pb.Product(
            id=product_id,
            title=request.title,
            description=request.description,
            status=request.status or pb.PRODUCT_STATUS_ACTIVE,
            image_urls=request.image_urls,
            variants=[self._variant(product_id, v) for v in request.variants],
            version=1,
            created_at=self._now(),
            updated_at=self._now(),
        )
        self.products.setdefault(tenant, {})[product_id] = product
        return pb.CreateProductResponse(product=product)

    def GetProduct(self, request: pb.GetProductRequest, context: grpc.ServicerContext) -> Any:
        tenant = self._record("GetProduct", request, context)
        return pb.GetProductResponse(product=self._find_product(tenant, request.product_id))

    def UpdateProduct(self, request: pb.UpdateProductRequest, context: grpc.ServicerContext) -> Any:
        tenant = self._record("UpdateProduct", request, context)
        product = self._find_product(tenant, request.product_id)
        if request.expected_version and request.expected_version != product.version:
            raise Aborted("product changed", reason="VERSION_MISMATCH")
        for path in request.update_mask.paths:
            if path == "image_urls":
                product.image_urls[:] = request.product.image_urls
            else:
                setattr(product, path, getattr(request.product, path))
        product.version += 1
        return pb.UpdateProductResponse(product=product)

    def DeleteProduct(self, request: pb.DeleteProductRequest, context: grpc.ServicerContext) -> Any:
        tenant = self._record("DeleteProduct", request, context)
        product = self._find_product(tenant, request.product_id)
        if request.expected_version and request.expected_version != product.version:
            raise Aborted("product changed", reason="VERSION_MISMATCH")
        del self.products[tenant][request.product_id]
        return pb.DeleteProductResponse()

    def ListProducts(self, request: pb.ListProductsRequest, context: grpc.ServicerContext) -> Any:
        tenant = self._record("ListProducts", request, context)
        items = [
            p
            for p in self.products.get(tenant, {}).values()
            if not request.sku_prefix or any(v.sku.startswith(request.sku_prefix) for v in p.variants)
        ]
        start = int(request.page.cursor or 0)
        limit = request.page.limit or 50
        page = items[start : start + limit]
        more = start + limit < len(items)
        return pb.ListProductsResponse(
            products=page, page={"next_cursor": str(start + limit) if more else ""}
        )

    def CountProducts(self, request: pb.CountProductsRequest, context: grpc.ServicerContext) -> Any:
        tenant = self._record("CountProducts", request, context)
        matching = [
            p
            for p in self.products.get(tenant, {}).values()
            if not request.sku_prefix or any(v.sku.startswith(request.sku_prefix) for v in p.variants)
        ]
        return pb.CountProductsResponse(count=len(matching))

    def AddVariant(self, request: pb.AddVariantRequest, context: grpc.ServicerContext) -> Any:
        tenant = self._record("AddVariant", request, context)
        product = self._find_product(tenant, request.product_id)
        variant = self._variant(product.id, request.variant)
        product.variants.append(variant)
        return pb.AddVariantResponse(variant=variant)

    def UpdateVariant(self, request: pb.UpdateVariantRequest, context: grpc.ServicerContext) -> Any:
        tenant = self._record("UpdateVariant", request, context)
        _, variant = self._find_variant(tenant, request.variant_id)
        if request.expected_version and request.expected_version != variant.version:
            raise Aborted("variant changed", reason="VERSION_MISMATCH")
        for path in request.update_mask.paths:
            if path == "options":
                del variant.options[:]
                variant.options.extend(request.variant.options)
            elif path in {"price", "cost", "barcode", "weight_grams"} and not request.variant.HasField(path):
                variant.ClearField(path)
            elif path in {"price", "cost"}:
                getattr(variant, path).CopyFrom(getattr(request.variant, path))
            else:
                setattr(variant, path, getattr(request.variant, path))
        variant.version += 1
        return pb.UpdateVariantResponse(variant=variant)

    def DeleteVariant(self, request: pb.DeleteVariantRequest, context: grpc.ServicerContext) -> Any:
        tenant = self._record("DeleteVariant", request, context)
        product, variant = self._find_variant(tenant, request.variant_id)
        product.variants.remove(variant)
        return pb.DeleteVariantResponse()

    def ImportProducts(self, request_iterator: Iterator[pb.ImportProductsRequest], context: Any) -> Any:
        self.metadata.append(metadata_dict(context.invocation_metadata()))
        self.contexts.append(call_context(context))
        for message in request_iterator:
            kind = message.WhichOneof("payload")
            if kind == "options":
                self.import_messages.append(("options:" + message.options.default_currency, 0))
            else:
                self.import_messages.append(("chunk", len(message.chunk)))
                self.import_bytes.extend(message.chunk)
                time.sleep(self.import_delay_seconds)
        header, *lines = bytes(self.import_bytes).decode().splitlines() or [""]
        if "sku" not in header.split(","):
            raise InvalidArgument(
                "the CSV header is invalid: missing required column(s): sku",
                violations=[FieldViolation("header", "missing required column(s): sku")],
            )
        errors = [
            pb.ImportRowError(row=index + 2, column="price", message="not a decimal amount")
            for index, line in enumerate(lines)
            if "BAD" in line
        ]
        return pb.ImportProductsResponse(
            created=len(lines) - len(errors), updated=0, unchanged=0, errors=errors, rows=len(lines)
        )

    def GetVariantsBySku(self, request: pb.GetVariantsBySkuRequest, context: grpc.ServicerContext) -> Any:
        tenant = self._record("GetVariantsBySku", request, context)
        known = {v.sku: v for p in self.products.get(tenant, {}).values() for v in p.variants}
        return pb.GetVariantsBySkuResponse(
            variants=[known[s] for s in request.skus if s in known],
            missing_skus=[s for s in request.skus if s not in known],
        )

    def ExportProducts(self, request: pb.ExportProductsRequest, context: grpc.ServicerContext) -> Any:
        self._record("ExportProducts", request, context)
        for chunk in self.export_chunks:
            yield pb.ExportProductsResponse(chunk=chunk)


@pytest.fixture
def fake_catalog() -> Iterator[tuple[FakeCatalog, RunningServer]]:
    servicer = FakeCatalog()
    running = build_server(
        [lambda server: catalog_service_pb2_grpc.add_CatalogServiceServicer_to_server(servicer, server)],
        [SERVICE_NAME],
        "127.0.0.1:0",
        max_workers=4,
        read_only_methods=READ_ONLY_METHODS,
    )
    yield servicer, running
    running.server.stop(None).wait()


@dataclass
class FakeChannels(channels_service_pb2_grpc.ChannelsServiceServicer):
    """Connection ids per tenant: what the inventory routes ask the channels service about."""

    connections: dict[str, set[str]] = field(default_factory=dict)

    def GetConnection(self, request: channels_pb.GetConnectionRequest, context: grpc.ServicerContext) -> Any:
        tenant = call_context(context).tenant_id
        if request.connection_id not in self.connections.get(tenant, set()):
            raise NotFound("connection not found")
        return channels_pb.GetConnectionResponse(
            connection=channels_pb.Connection(id=request.connection_id, type="shopify")
        )

    def ListConnections(
        self, request: channels_pb.ListConnectionsRequest, context: grpc.ServicerContext
    ) -> Any:
        tenant = call_context(context).tenant_id
        return channels_pb.ListConnectionsResponse(
            connections=[
                channels_pb.Connection(id=cid, type="shopify", name=cid)
                for cid in sorted(self.connections.get(tenant, set()))
            ]
        )


@pytest.fixture
def fake_channels() -> Iterator[tuple[FakeChannels, RunningServer]]:
    servicer = FakeChannels()
    running = build_server(
        [lambda server: channels_service_pb2_grpc.add_ChannelsServiceServicer_to_server(servicer, server)],
        [CHANNELS_SERVICE_NAME],
        "127.0.0.1:0",
        max_workers=2,
    )
    yield servicer, running
    running.server.stop(None).wait()


def make_settings(database_url: str, redis_url: str, catalog_port: int, **overrides: Any) -> Settings:
    addr = f"127.0.0.1:{catalog_port}"
    values: dict[str, Any] = {
        "database_url": database_url,
        "redis_url": redis_url,
        "jwt_secret": "test-secret-" + "x" * 40,
        "catalog_addr": addr,
        "backends": {"catalog": addr},
        # Cheap argon2 parameters: the tests exercise the flow, not the KDF's cost.
        "argon2_time_cost": 1,
        "argon2_memory_kib": 1024,
        "argon2_parallelism": 1,
        "grpc_timeout_seconds": 5.0,
    }
    values.update(overrides)
    return Settings(**values)


AppFactory = Callable[..., Flask]


@pytest.fixture
def app_factory(
    redis_url: str,
    fake_catalog: tuple[FakeCatalog, RunningServer],
    fake_channels: tuple[FakeChannels, RunningServer],
) -> Iterator[AppFactory]:
    """Builds gateway apps over a migrated database; every app's resources are closed after."""
    apps: list[Flask] = []

    def make(database_url: str, **overrides: Any) -> Flask:
        migrate("gateway", database_url)
        overrides.setdefault("channels_addr", f"127.0.0.1:{fake_channels[1].port}")
        app = create_app(make_settings(database_url, redis_url, fake_catalog[1].port, **overrides))
        app.config["TESTING"] = True
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["omnistock"].close()


@pytest.fixture
def catalog(fake_catalog: tuple[FakeCatalog, RunningServer]) -> FakeCatalog:
    return fake_catalog[0]


@pytest.fixture
def channels(fake_channels: tuple[FakeChannels, RunningServer]) -> FakeChannels:
    return fake_channels[0]


@dataclass
class Session:
    """A registered tenant owner plus helpers to act as them."""

    client: FlaskClient
    tenant_id: str
    user_id: str
    email: str
    access_token: str
    refresh_token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def register(client: FlaskClient, tenant: str, email: str, password: str = "correct-horse") -> Session:
    response = client.post(
        "/api/v1/auth/register", json={"tenant_name": tenant, "email": email, "password": password}
    )
    assert response.status_code == 201, response.json
    body = response.json
    return Session(
        client=client,
        tenant_id=body["tenant_id"],
        user_id=body["user"]["id"],
        email=body["user"]["email"],
        access_token=body["access_token"],
        refresh_token=body["refresh_token"],
    )


def login(client: FlaskClient, email: str, password: str = "correct-horse") -> dict[str, Any]:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.json
    return response.json


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def helpers() -> Any:
    """The module-level helpers, for test files (importlib mode cannot import conftest)."""

    class Helpers:
        register = staticmethod(register)
        login = staticmethod(login)
        bearer = staticmethod(bearer)

    return Helpers


@pytest.fixture
def unused_port() -> int:
    """A port nothing listens on (bound then released), for "backend is down" cases."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
