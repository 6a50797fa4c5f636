"""The connector servicer template: what every connector's gRPC servicer shares.

A connector's servicer subclasses `ConnectorServicerBase` (or `ApiKeyConnectorServicer` for a
channel without OAuth), declares its `ChannelDescription`, and implements one short method per
RPC: proto request → its client/protocol functions → proto response. Everything else is here or
in the collaborators it is given:

- `Describe` answers from the class's `description`;
- `self.clients.open(connection)` (the connector's client.py `ClientFactory`, built on
  clients.ChannelHttpFactory) gives the channel client of one call, with channel failures already
  translated into the contract's errors;
- errors are omnistock_common DomainErrors; the shared server interceptor maps them to statuses;
- OAuth credentials come from oauth.credentials_from_grant; webhook refusals from `webhook_refused`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import grpc

from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock.connector.v1 import connector_service_pb2_grpc as pb_grpc
from omnistock_common.errors import FailedPrecondition, Unauthenticated
from omnistock_connector_kit.clients import ClientFactory

__all__ = [
    "ALL_CAPABILITIES",
    "WEBHOOK_SIGNATURE_INVALID",
    "ApiKeyConnectorServicer",
    "ChannelDescription",
    "ConnectorServicerBase",
    "lowercase_headers",
    "webhook_refused",
]

# ErrorInfo reason of every refused webhook delivery (UNAUTHENTICATED).
WEBHOOK_SIGNATURE_INVALID = "WEBHOOK_SIGNATURE_INVALID"

ClientT = TypeVar("ClientT")

# Every capability of connector.v1 (Describe.capabilities), for a channel that has them all.
ALL_CAPABILITIES: tuple[int, ...] = (
    pb.CAPABILITY_INVENTORY,
    pb.CAPABILITY_PRICES,
    pb.CAPABILITY_ORDERS,
    pb.CAPABILITY_FULFILLMENT,
    pb.CAPABILITY_WEBHOOKS,
    pb.CAPABILITY_CATALOG,
)


@dataclass(frozen=True)
class ChannelDescription:
    """What Describe answers: the channel, how it authenticates, what it can do, batch limits."""

    channel_type: str
    auth_kind: int  # pb.AUTH_KIND_*
    capabilities: tuple[int, ...]  # pb.CAPABILITY_*
    max_inventory_batch: int
    max_price_batch: int
    api_version: str
    # Most products one UpsertProducts call takes (0: the connector does not publish).
    max_product_batch: int = 0

    def to_proto(self) -> pb.DescribeResponse:
        return pb.DescribeResponse(
            channel_type=self.channel_type,
            auth_kind=self.auth_kind,  # type: ignore[arg-type]
            capabilities=self.capabilities,  # type: ignore[arg-type]
            max_inventory_batch=self.max_inventory_batch,
            max_price_batch=self.max_price_batch,
            api_version=self.api_version,
            max_product_batch=self.max_product_batch,
        )


def webhook_refused(message: str) -> Unauthenticated:
    """One status for every webhook refusal: the channels service answers them all alike."""
    return Unauthenticated(message, reason=WEBHOOK_SIGNATURE_INVALID)


def lowercase_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A webhook's headers with lower-case names (HTTP header names are case-insensitive)."""
    return {k.lower(): v for k, v in headers.items()}


class ConnectorServicerBase(pb_grpc.ConnectorServiceServicer, Generic[ClientT]):
    """omnistock.connector.v1.ConnectorService, minus the channel: subclasses set `description`
    and implement the RPCs; `clients` opens the channel client of one call."""

    description: ClassVar[ChannelDescription]

    def __init__(self, clients: ClientFactory[ClientT]) -> None:
        self.clients = clients

    def Describe(self, request: pb.DescribeRequest, context: grpc.ServicerContext) -> pb.DescribeResponse:
        return self.description.to_proto()

    def AnswerWebhookChallenge(
        self, request: pb.AnswerWebhookChallengeRequest, context: grpc.ServicerContext
    ) -> pb.AnswerWebhookChallengeResponse:
        """Most channels never check an endpoint with a GET (Shopify, WooCommerce, TikTok); a
        channel that does (Meta, eBay) overrides this."""
        raise FailedPrecondition(
            f"{self.description.channel_type} sends no webhook subscription challenge",
            reason="NO_WEBHOOK_CHALLENGE",
        )


class ApiKeyConnectorServicer(ConnectorServicerBase[ClientT]):
    """A channel authenticated by API keys: the OAuth RPCs are FAILED_PRECONDITION."""

    no_oauth_message: ClassVar[str] = "this channel uses API keys, not OAuth: use ValidateCredentials"
    no_refresh_message: ClassVar[str] = "this channel's API keys never expire: there is nothing to refresh"

    def BuildAuthorizationUrl(self, request: Any, context: grpc.ServicerContext) -> Any:
        raise FailedPrecondition(self.no_oauth_message)

    def ExchangeCode(self, request: Any, context: grpc.ServicerContext) -> Any:
        raise FailedPrecondition(self.no_oauth_message)

    def RefreshCredentials(self, request: Any, context: grpc.ServicerContext) -> Any:
        raise FailedPrecondition(self.no_refresh_message)
