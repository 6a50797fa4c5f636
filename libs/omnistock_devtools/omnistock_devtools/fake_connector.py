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
        return cpb.DescribeResponse(channel_type=self.channel_type, max_inventory_batch=100)

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
