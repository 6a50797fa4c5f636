"""A scriptable in-memory ConnectorService, shared by the channels and gateway test suites.

It speaks the real contract over real gRPC (served with omnistock_common's build_server, so
errors cross the wire as statuses with google.rpc ErrorInfo), and records every call so tests can
assert, for instance, that N concurrent callers caused exactly ONE RefreshCredentials.
It is a test double: nothing in the running service imports it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from omnistock.connector.v1 import connector_service_pb2 as cpb
from omnistock.connector.v1 import connector_service_pb2_grpc as cpb_grpc
from omnistock_common.errors import Code, DomainError, FailedPrecondition, InvalidArgument, Unauthenticated
from omnistock_common.grpc_server import RunningServer, build_server
from omnistock_connector_kit.connector_base import READ_ONLY_METHODS
from omnistock_connector_kit.endpoints import with_api_base_url

GOOD_KEY = "ck_good_0123456789"
GOOD_SECRET = "cs_good_secret_9876543210"
WEBHOOK_SECRET = "whsec_fake_0123456789abcdef"
GOOD_HMAC = "valid-callback-hmac"
SIGNATURE_HEADER = "x-fake-signature"
DELIVERY_HEADER = "x-fake-delivery-id"
TOPIC_HEADER = "x-fake-topic"
# The verify token the fake's endpoint check expects (as Meta's hub.verify_token).
VERIFY_TOKEN = "fake-verify-token"


def sign_body(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _ts(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def _failure(message: str, code: Code) -> DomainError:
    """An error with any status code a test wants the connector to answer with."""
    return type(f"Fake{code.name.title()}", (DomainError,), {"code": code})(message)


@dataclass
class FakeConnector(cpb_grpc.ConnectorServiceServicer):
    channel_type: str = "woocommerce"
    # The access token the "channel" currently accepts; others get ACCESS_TOKEN_EXPIRED.
    valid_access_token: str = "at-1"
    valid_refresh_token: str = "rt-1"
    token_lifetime: timedelta = timedelta(hours=1)
    revoked: bool = False
    refresh_fails: bool = False
    # Seconds RefreshCredentials takes, so concurrent callers really overlap.
    refresh_delay: float = 0.2
    # Status codes the next PushInventory calls fail with, in order.
    push_failures: list[grpc.StatusCode] = field(default_factory=list)
    remote_products: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    page_size: int = 2
    calls: Counter[str] = field(default_factory=Counter)
    tokens_seen: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    refresh_generation: int = 1
    # Publishing: the channel's products by external id, every ProductUpsert received (in order)
    # and the external ids archived. A product whose title is blank (when written) is REJECTED.
    max_product_batch: int = 50
    published: dict[str, cpb.CatalogProduct] = field(default_factory=dict)
    upserts: list[cpb.ProductUpsert] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    next_publish_id: int = 1
    # The quotas PushInventory reports (connector.v1 `limits`), as eBay reports its revision budget.
    push_limits: dict[str, str] = field(default_factory=dict)
    # The endpoint URL of every endpoint check answered.
    challenge_endpoints: list[str] = field(default_factory=list)

    def _count(self, name: str) -> None:
        with self.lock:
            self.calls[name] += 1

    def expire_access_token(self) -> None:
        """The channel stops accepting the current token (it is refreshable, not revoked)."""
        with self.lock:
            self.valid_access_token = f"at-expired-{self.refresh_generation}"

    def _check_token(self, conn: cpb.ConnectionContext) -> None:
        secrets = conn.credentials.secrets
        if self.revoked:
            raise Unauthenticated("the merchant revoked this app", reason="CREDENTIALS_REVOKED")
        if "consumer_key" in secrets:
            if secrets["consumer_key"] != GOOD_KEY or secrets.get("consumer_secret") != GOOD_SECRET:
                raise Unauthenticated("consumer key is invalid", reason="CREDENTIALS_REVOKED")
            return
        token = secrets.get("access_token", "")
        with self.lock:
            self.tokens_seen.append(token)
            valid = token == self.valid_access_token
        if not valid:
            raise Unauthenticated("access token expired", reason="ACCESS_TOKEN_EXPIRED")

    def Describe(self, request: cpb.DescribeRequest, context: grpc.ServicerContext) -> cpb.DescribeResponse:
        return cpb.DescribeResponse(
            channel_type=self.channel_type, max_inventory_batch=100, max_product_batch=self.max_product_batch
        )

    def ValidateCredentials(
        self, request: cpb.ValidateCredentialsRequest, context: grpc.ServicerContext
    ) -> cpb.ValidateCredentialsResponse:
        self._count("ValidateCredentials")
        self._check_token(request.connection)
        return cpb.ValidateCredentialsResponse(account_name="Fake Store", settings={"currency": "USD"})

    def BuildAuthorizationUrl(
        self, request: cpb.BuildAuthorizationUrlRequest, context: grpc.ServicerContext
    ) -> cpb.BuildAuthorizationUrlResponse:
        self._count("BuildAuthorizationUrl")
        shop = request.connection.settings.get("shop_domain", "")
        if not shop:
            raise InvalidArgument("settings.shop_domain is required")
        # The one rule (omnistock_connector_kit.endpoints): api_base_url moves scheme, host, port.
        base = with_api_base_url(f"https://{shop}", request.connection.settings.get("api_base_url", ""))
        query = urlencode(
            {"client_id": "fake-client", "state": request.state, "redirect_uri": request.redirect_uri}
        )
        return cpb.BuildAuthorizationUrlResponse(authorization_url=f"{base}/admin/oauth/authorize?{query}")

    def ExchangeCode(
        self, request: cpb.ExchangeCodeRequest, context: grpc.ServicerContext
    ) -> cpb.ExchangeCodeResponse:
        self._count("ExchangeCode")
        if request.callback_params.get("hmac") != GOOD_HMAC:
            raise Unauthenticated("callback HMAC does not verify", reason="BAD_SIGNATURE")
        if request.callback_params.get("code") != "good-code":
            raise FailedPrecondition("the authorization code is invalid or used")
        now = datetime.now(UTC)
        return cpb.ExchangeCodeResponse(
            credentials=cpb.Credentials(
                secrets={"access_token": self.valid_access_token, "refresh_token": self.valid_refresh_token},
                access_token_expires_at=_ts(now + self.token_lifetime),
                scopes=["write_inventory"],
            ),
            settings={"location_id": "gid://shopify/Location/1"},
        )

    def RefreshCredentials(
        self, request: cpb.RefreshCredentialsRequest, context: grpc.ServicerContext
    ) -> cpb.RefreshCredentialsResponse:
        self._count("RefreshCredentials")
        time.sleep(self.refresh_delay)
        if self.refresh_fails or self.revoked:
            raise Unauthenticated("invalid_grant: refresh token revoked", reason="CREDENTIALS_REVOKED")
        if request.connection.credentials.secrets.get("refresh_token") != self.valid_refresh_token:
            raise Unauthenticated("invalid_grant: refresh token already used", reason="CREDENTIALS_REVOKED")
        with self.lock:
            self.refresh_generation += 1
            self.valid_access_token = f"at-{self.refresh_generation}"
            self.valid_refresh_token = f"rt-{self.refresh_generation}"
            access, refresh = self.valid_access_token, self.valid_refresh_token
        return cpb.RefreshCredentialsResponse(
            credentials=cpb.Credentials(
                secrets={"access_token": access, "refresh_token": refresh},
                access_token_expires_at=_ts(datetime.now(UTC) + self.token_lifetime),
            )
        )

    def PushInventory(
        self, request: cpb.PushInventoryRequest, context: grpc.ServicerContext
    ) -> cpb.PushInventoryResponse:
        self._count("PushInventory")
        self._check_token(request.connection)
        with self.lock:
            failure = self.push_failures.pop(0) if self.push_failures else None
        if failure is not None:
            raise _failure(f"channel answered {failure.name}", Code[failure.name])
        return cpb.PushInventoryResponse(
            results=[cpb.ItemResult(sku=i.sku, outcome=cpb.ITEM_OUTCOME_APPLIED) for i in request.items],
            calls=1,
            limits=self.push_limits,
        )

    def ListRemoteProducts(
        self, request: cpb.ListRemoteProductsRequest, context: grpc.ServicerContext
    ) -> cpb.ListRemoteProductsResponse:
        self._count("ListRemoteProducts")
        self._check_token(request.connection)
        start = int(request.cursor or 0)
        page = self.remote_products[start : start + self.page_size]
        more = start + self.page_size < len(self.remote_products)
        return cpb.ListRemoteProductsResponse(
            products=[cpb.RemoteProduct(sku=sku, remote=cpb.RemoteIds(ids=ids)) for sku, ids in page],
            next_cursor=str(start + self.page_size) if more else "",
        )

    def UpsertProducts(
        self, request: cpb.UpsertProductsRequest, context: grpc.ServicerContext
    ) -> cpb.UpsertProductsResponse:
        self._count("UpsertProducts")
        self._check_token(request.connection)
        with self.lock:
            self.upserts.extend(request.products)
            results = [self._upsert(item) for item in request.products]
        return cpb.UpsertProductsResponse(results=results, calls=len(results))

    def _upsert(self, item: cpb.ProductUpsert) -> cpb.ProductResult:
        """One product as a channel would take it (lock held): owned fields only on update."""
        wanted = item.product
        owned = set(item.owned_fields)
        create = not wanted.external_id
        current = cpb.CatalogProduct() if create else self.published.get(wanted.external_id)
        if current is None:
            return cpb.ProductResult(
                product_id=item.product_id,
                outcome=cpb.ITEM_OUTCOME_REJECTED,
                message="Product does not exist",
                external_id=wanted.external_id,
            )
        if (create or not owned or "title" in owned) and not wanted.title.strip():
            return cpb.ProductResult(
                product_id=item.product_id, outcome=cpb.ITEM_OUTCOME_REJECTED, message="Title can't be blank"
            )
        if create:
            current.external_id = f"fake-product-{self.next_publish_id}"
            self.next_publish_id += 1
        for name, attribute in (
            ("title", "title"),
            ("description", "description"),
            ("status", "status"),
            ("vendor", "vendor"),
        ):
            if create or not owned or name in owned:
                setattr(current, attribute, getattr(wanted, attribute))
        for name, attribute in (("tags", "tags"), ("images", "image_urls")):
            if create or not owned or name in owned:
                getattr(current, attribute)[:] = list(getattr(wanted, attribute))
        published = []
        for variant in wanted.variants:
            mine = next(
                (
                    v
                    for v in current.variants
                    if (variant.external_id and v.external_id == variant.external_id)
                    or (variant.sku and v.sku == variant.sku)
                ),
                None,
            )
            if mine is None:
                if not (create or not owned or "variants" in owned):
                    continue
                mine = current.variants.add(
                    sku=variant.sku, external_id=f"fake-variant-{self.next_publish_id}"
                )
                self.next_publish_id += 1
                mine.remote.ids.update({"product_id": current.external_id, "variant_id": mine.external_id})
            if create or not owned or "prices" in owned:
                mine.price.CopyFrom(variant.price)
            if create or not owned or "options" in owned:
                del mine.options[:]
                mine.options.extend(variant.options)
            published.append(
                cpb.PublishedVariant(sku=mine.sku, external_id=mine.external_id, remote=mine.remote)
            )
        self.published[current.external_id] = current
        return cpb.ProductResult(
            product_id=item.product_id,
            outcome=cpb.ITEM_OUTCOME_APPLIED,
            external_id=current.external_id,
            variants=published,
        )

    def ArchiveProducts(
        self, request: cpb.ArchiveProductsRequest, context: grpc.ServicerContext
    ) -> cpb.ArchiveProductsResponse:
        self._count("ArchiveProducts")
        self._check_token(request.connection)
        results = []
        with self.lock:
            for ref in request.products:
                product = self.published.get(ref.external_id)
                if product is None:
                    results.append(
                        cpb.ProductResult(
                            product_id=ref.product_id,
                            outcome=cpb.ITEM_OUTCOME_REJECTED,
                            message="Product does not exist",
                            external_id=ref.external_id,
                        )
                    )
                    continue
                product.status = "archived"
                self.archived.append(ref.external_id)
                results.append(
                    cpb.ProductResult(
                        product_id=ref.product_id,
                        outcome=cpb.ITEM_OUTCOME_APPLIED,
                        external_id=ref.external_id,
                    )
                )
        return cpb.ArchiveProductsResponse(results=results, calls=len(results))

    def ParseWebhook(
        self, request: cpb.ParseWebhookRequest, context: grpc.ServicerContext
    ) -> cpb.ParseWebhookResponse:
        self._count("ParseWebhook")
        body = request.raw_body
        if body.startswith(b"webhook_id="):
            return cpb.ParseWebhookResponse(kind=cpb.WEBHOOK_KIND_PING, topic="ping")
        secret = request.connection.credentials.secrets.get("webhook_secret", WEBHOOK_SECRET)
        given = request.headers.get(SIGNATURE_HEADER, "")
        if not hmac.compare_digest(given.encode(), sign_body(body, secret).encode()):
            raise Unauthenticated("webhook signature does not match", reason="BAD_SIGNATURE")
        topic = request.headers.get(TOPIC_HEADER, "order.created")
        kind = cpb.WEBHOOK_KIND_APP_UNINSTALLED if topic == "app/uninstalled" else cpb.WEBHOOK_KIND_ORDER
        return cpb.ParseWebhookResponse(
            delivery_id=request.headers.get(DELIVERY_HEADER, ""), topic=topic, kind=kind
        )

    def AnswerWebhookChallenge(
        self, request: cpb.AnswerWebhookChallengeRequest, context: grpc.ServicerContext
    ) -> cpb.AnswerWebhookChallengeResponse:
        """Meta's check: hub.verify_token must match; the answer echoes hub.challenge."""
        self._count("AnswerWebhookChallenge")
        query = request.query
        if query.get("hub.mode") != "subscribe" or not hmac.compare_digest(
            query.get("hub.verify_token", "").encode(), VERIFY_TOKEN.encode()
        ):
            raise _failure("verify token does not match", Code.PERMISSION_DENIED)
        self.challenge_endpoints.append(request.endpoint_url)
        return cpb.AnswerWebhookChallengeResponse(
            content_type="text/plain", body=query.get("hub.challenge", "").encode()
        )


def serve_fake(connector: FakeConnector) -> RunningServer:
    """Serve `connector` on 127.0.0.1:<free port>; stop with running.server.stop(None)."""
    name = cpb.DESCRIPTOR.services_by_name["ConnectorService"].full_name
    return build_server(
        [lambda server: cpb_grpc.add_ConnectorServiceServicer_to_server(connector, server)],
        [name],
        "127.0.0.1:0",
        max_workers=16,
        read_only_methods=READ_ONLY_METHODS,
    )
