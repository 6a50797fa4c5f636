"""Proto <-> domain conversions of the channels service: its own API (channels.v1, for the
servicer) and its connector calls (connector.v1, for the use cases).

The template rule: generated protobuf code is touched only here, in servicer.py / server.py (the
gRPC edge and composition root) and in the outbound gRPC adapters (connector_clients.py,
sync/inventory_source.py, catalog_client.py). The servicer reads requests and builds responses
with the `*_in` / `*_out` functions below, so each RPC is mapping in, one service call, mapping
out. Use-case modules (connection setup, listing mapping, webhook intake, the sync
engine/flusher/in-flight/reconcile jobs) get every request message and every enum decision from
this module, so they build no protobuf messages.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format
from google.protobuf.timestamp_pb2 import Timestamp

from channels import catalog_import_domain as imp
from channels.domain import (
    AutoMapResult,
    ChallengeAnswer,
    ChannelType,
    Connection,
    ConnectionStatus,
    Listing,
    SyncLogEntry,
    SyncScope,
    WebhookReceipt,
    is_clean_identifier,
    remote_ids,
)
from channels.job_domain import Job, JobStatus, SyncJobResult
from channels.price_domain import ChannelPrice, Money
from channels.publish_domain import PublishTally
from omnistock.channels.v1 import channels_service_pb2 as pb
from omnistock.common.v1 import common_pb2
from omnistock.connector.v1 import connector_service_pb2 as cpb
from omnistock_common.egress import safe_text as clean_text
from omnistock_common.errors import FieldViolation, InvalidArgument
from omnistock_common.timestamps import to_optional_timestamp

# Connector messages pass through use-case code opaquely; the aliases keep their hints honest.
ConnectionContext = cpb.ConnectionContext
ChannelOrder = cpb.ChannelOrder
PushInventoryResponse = cpb.PushInventoryResponse

_WEBHOOK_KINDS = {
    cpb.WEBHOOK_KIND_ORDER: "order",
    cpb.WEBHOOK_KIND_PRODUCT: "product",
    cpb.WEBHOOK_KIND_INVENTORY: "inventory",
    cpb.WEBHOOK_KIND_APP_UNINSTALLED: "app_uninstalled",
    cpb.WEBHOOK_KIND_OTHER: "other",
}
_ITEM_OUTCOMES = {
    cpb.ITEM_OUTCOME_APPLIED: "applied",
    cpb.ITEM_OUTCOME_RETRY: "retry",
    cpb.ITEM_OUTCOME_REJECTED: "rejected",
}
_CANCELLED_STATUSES = {cpb.ORDER_STATUS_CANCELLED, cpb.ORDER_STATUS_REFUNDED}
_CONNECTION_STATUSES = {
    ConnectionStatus.CONNECTED: pb.CONNECTION_STATUS_CONNECTED,
    ConnectionStatus.DEGRADED: pb.CONNECTION_STATUS_DEGRADED,
    ConnectionStatus.ERROR: pb.CONNECTION_STATUS_ERROR,
    ConnectionStatus.DISCONNECTED: pb.CONNECTION_STATUS_DISCONNECTED,
}
_SYNC_SCOPES = {
    pb.SYNC_SCOPE_INVENTORY: SyncScope.INVENTORY,
    pb.SYNC_SCOPE_PRICES: SyncScope.PRICES,
    pb.SYNC_SCOPE_ORDERS: SyncScope.ORDERS,
    pb.SYNC_SCOPE_CATALOG: SyncScope.CATALOG,
    pb.SYNC_SCOPE_ALL: SyncScope.ALL,
    pb.SYNC_SCOPE_UNSPECIFIED: SyncScope.ALL,
}
_SYNC_SCOPES_OUT = {
    scope: number for number, scope in _SYNC_SCOPES.items() if number != pb.SYNC_SCOPE_UNSPECIFIED
}
_JOB_STATUSES = {
    JobStatus.QUEUED: pb.JOB_STATUS_QUEUED,
    JobStatus.RUNNING: pb.JOB_STATUS_RUNNING,
    JobStatus.SUCCEEDED: pb.JOB_STATUS_SUCCEEDED,
    JobStatus.FAILED: pb.JOB_STATUS_FAILED,
}


# ============================================================ the channels API (servicer side)
def required_id(value: str, name: str = "connection_id") -> str:
    """A request's id field, refused when empty (before any lookup)."""
    if not value:
        raise InvalidArgument(f"{name} is required", violations=[FieldViolation(name, "required")])
    return value


def sync_scope_in(value: int) -> SyncScope:
    """RequestSync's scope; unset means everything, an unknown number is refused."""
    scope = _SYNC_SCOPES.get(value)
    if scope is None:
        raise InvalidArgument("unknown sync scope", violations=[FieldViolation("scope", "unknown value")])
    return scope


def channel_types_out(types: Iterable[ChannelType]) -> pb.ListChannelTypesResponse:
    return pb.ListChannelTypesResponse(
        types=[
            pb.ChannelType(
                type=t.type,
                auth=t.auth.value,
                capabilities=list(t.capabilities),
                available=t.available,
                display_name=t.display_name,
                editable_settings=list(t.editable_settings),
            )
            for t in types
        ]
    )


def connection_out(conn: Connection) -> pb.Connection:
    """A Connection message never carries credentials: only settings and health are copied."""
    h = conn.health
    return pb.Connection(
        id=conn.id,
        type=conn.type,
        name=conn.name,
        status=_CONNECTION_STATUSES[h.status],
        settings=dict(conn.settings),
        health=pb.ConnectionHealth(
            last_sync_at=to_optional_timestamp(h.last_sync_at),
            last_success_at=to_optional_timestamp(h.last_success_at),
            error_count=h.error_count,
            last_error=h.last_error,
            token_expires_at=to_optional_timestamp(conn.token_expires_at),
            increases_held_since=to_optional_timestamp(h.increases_held_since),
            increases_held_reason=h.increases_held_reason,
            limits=dict(h.channel_limits),
            limits_at=to_optional_timestamp(h.channel_limits_at),
        ),
        created_at=to_optional_timestamp(conn.created_at),
        status_reason=h.status_reason,
    )


def start_oauth_out(url: str, expires_at: datetime | None) -> pb.StartOAuthResponse:
    return pb.StartOAuthResponse(authorization_url=url, state_expires_at=to_optional_timestamp(expires_at))


def listing_out(listing: Listing) -> pb.Listing:
    out = pb.Listing(
        sku=listing.sku,
        external_ids=dict(listing.external_ids),
        updated_at=to_optional_timestamp(listing.updated_at),
    )
    if listing.last_pushed_quantity is not None:
        out.last_pushed_quantity = listing.last_pushed_quantity
    return out


def listings_page_out(listings: Iterable[Listing], cursor: str) -> pb.ListListingsResponse:
    return pb.ListListingsResponse(
        listings=[listing_out(item) for item in listings], page=common_pb2.PageResponse(next_cursor=cursor)
    )


def auto_map_out(result: AutoMapResult) -> pb.AutoMapListingsResponse:
    return pb.AutoMapListingsResponse(
        mapped=result.mapped,
        unmapped_skus=result.unmapped_skus,
        unknown_remote_skus=result.unknown_remote_skus,
    )


def job_out(job: Job) -> pb.Job:
    out = pb.Job(
        id=job.id,
        kind=job.kind.value,
        status=_JOB_STATUSES[job.status],
        progress=pb.JobProgress(done=job.progress_done, total=job.progress_total),
        connection_id=job.connection_id,
        error=job.error,
        created_at=to_optional_timestamp(job.created_at),
        started_at=to_optional_timestamp(job.started_at),
        finished_at=to_optional_timestamp(job.finished_at),
    )
    if isinstance(job.result, AutoMapResult):
        out.auto_map.CopyFrom(auto_map_out(job.result))
    elif isinstance(job.result, imp.ImportTally):
        out.catalog_import.CopyFrom(catalog_import_out(job.result))
    elif isinstance(job.result, PublishTally):
        out.publish.CopyFrom(
            pb.PublishResult(
                published=len(job.result.published),
                rejected=[pb.RejectedProduct(product_id=p, error=e) for p, e in job.result.rejected.items()],
                waiting=job.result.waiting,
                not_found=job.result.not_found,
            )
        )
    elif isinstance(job.result, SyncJobResult):
        out.sync.CopyFrom(
            pb.SyncJobResult(scope=_SYNC_SCOPES_OUT[job.result.scope], message=job.result.message)
        )
    return out


def webhook_receipt_out(receipt: WebhookReceipt) -> pb.IngestWebhookResponse:
    return pb.IngestWebhookResponse(accepted=receipt.accepted, delivery_id=receipt.delivery_id)


def sync_log_out(entries: Iterable[SyncLogEntry]) -> pb.ListSyncLogResponse:
    return pb.ListSyncLogResponse(
        entries=[
            pb.SyncLogEntry(
                id=entry.id,
                at=to_optional_timestamp(entry.at),
                operation=entry.operation,
                skus=entry.skus,
                outcome=entry.outcome,
                message=entry.message,
                latency_ms=entry.latency_ms,
                calls=entry.calls,
            )
            for entry in entries
        ]
    )


# ---------------------------------------------------------------------------- connection setup
def validate_credentials_request(context: ConnectionContext) -> cpb.ValidateCredentialsRequest:
    """The real call that proves API keys work before anything is stored."""
    return cpb.ValidateCredentialsRequest(connection=context)


def authorization_url_request(
    context: ConnectionContext, state: str, redirect_uri: str
) -> cpb.BuildAuthorizationUrlRequest:
    """Ask the connector for the vendor consent URL carrying our signed state."""
    return cpb.BuildAuthorizationUrlRequest(connection=context, state=state, redirect_uri=redirect_uri)


def exchange_code_request(
    context: ConnectionContext, callback_params: Mapping[str, str], redirect_uri: str
) -> cpb.ExchangeCodeRequest:
    """Trade the OAuth callback's code for credentials."""
    return cpb.ExchangeCodeRequest(
        connection=context, callback_params=dict(callback_params), redirect_uri=redirect_uri
    )


def refresh_credentials_request(context: ConnectionContext) -> cpb.RefreshCredentialsRequest:
    """Renew expiring credentials of a stored connection."""
    return cpb.RefreshCredentialsRequest(connection=context)


def describe_request() -> cpb.DescribeRequest:
    """Ask a connector for its limits (e.g. the inventory batch size)."""
    return cpb.DescribeRequest()


# ---------------------------------------------------------------------------- webhooks
def parse_webhook_request(
    context: ConnectionContext, headers: Mapping[str, str], raw_body: bytes
) -> cpb.ParseWebhookRequest:
    """Hand a delivery to its connector, which verifies the signature and parses it."""
    return cpb.ParseWebhookRequest(connection=context, headers=headers, raw_body=raw_body)


def webhook_challenge_request(
    context: ConnectionContext, query: Mapping[str, str], endpoint_url: str
) -> cpb.AnswerWebhookChallengeRequest:
    """A channel's endpoint check, for the connector that knows the expected answer."""
    return cpb.AnswerWebhookChallengeRequest(connection=context, query=dict(query), endpoint_url=endpoint_url)


def challenge_answer_out(answer: ChallengeAnswer) -> pb.AnswerWebhookChallengeResponse:
    return pb.AnswerWebhookChallengeResponse(content_type=answer.content_type, body=answer.body)


def webhook_kind(kind: int) -> str:
    """The stored name of a parsed webhook's kind ("ping" for a ping; unknown kinds are "other")."""
    if kind == cpb.WEBHOOK_KIND_PING:
        return "ping"
    return _WEBHOOK_KINDS.get(kind, "other")


# ---------------------------------------------------------------------------- listings
def list_remote_products_request(
    context: ConnectionContext, cursor: str, limit: int, *, include_catalog: bool = False
) -> cpb.ListRemoteProductsRequest:
    """One page of the channel's own product list (whole products with include_catalog)."""
    return cpb.ListRemoteProductsRequest(
        connection=context, cursor=cursor, limit=limit, include_catalog=include_catalog
    )


def catalog_page_in(reply: cpb.ListRemoteProductsResponse) -> list[imp.RemoteProduct]:
    """The connector's CatalogProducts as the import's plain values; remote text is bounded and
    cleaned like every other remote value (a SKU that is not a clean identifier is skipped later)."""
    return [
        imp.RemoteProduct(
            external_id=p.external_id[:255],
            title=clean_text(p.title, 255),
            description=p.description[:20000],
            status=p.status[:32],
            image_urls=imp.importable_image_urls(p.image_urls[:100]),
            variants=tuple(
                imp.RemoteVariant(
                    external_id=v.external_id[:255],
                    ids=remote_ids(v.remote.ids),
                    sku=v.sku.strip()[:128],
                    title=clean_text(v.title, 255),
                    barcode=clean_text(v.barcode, 64),
                    options=tuple((clean_text(o.name, 64), clean_text(o.value, 128)) for o in v.options[:10]),
                    price=imp.Money(v.price.amount_minor, v.price.currency) if v.price.currency else None,
                    weight_grams=v.weight_grams
                    if v.HasField("weight_grams") and v.weight_grams >= 0
                    else None,
                    quantity=sum(q.available for q in v.quantities) if len(v.quantities) else None,
                )
                for v in p.variants
            ),
        )
        for p in reply.catalog
    ]


def catalog_import_params_in(request: pb.StartCatalogImportRequest) -> imp.ImportParams:
    """The request's choices; an unknown field name or enum value is the caller's error."""
    violations: list[FieldViolation] = []

    def choice(value: int, path: str) -> imp.Choice:
        if value == pb.CONFLICT_CHOICE_CHANNEL:
            return imp.Choice.CHANNEL
        if value in (pb.CONFLICT_CHOICE_OMNISTOCK, pb.CONFLICT_CHOICE_UNSPECIFIED):
            return imp.Choice.OMNISTOCK
        violations.append(FieldViolation(path, "omnistock or channel"))
        return imp.Choice.OMNISTOCK

    resolutions: dict[str, dict[str, imp.Choice]] = {}
    for sku, fields in request.resolutions.items():
        if not is_clean_identifier(sku):
            violations.append(FieldViolation(f"resolutions[{sku[:64]!r}]", "not a SKU"))
            continue
        for name, value in fields.fields.items():
            if name not in imp.FIELDS:
                violations.append(
                    FieldViolation(f"resolutions[{sku}].{name}", f"one of {', '.join(imp.FIELDS)}")
                )
                continue
            resolutions.setdefault(sku, {})[name] = choice(value, f"resolutions[{sku}].{name}")
    if len(resolutions) > imp.MAX_REPORTED * 10:
        violations.append(FieldViolation("resolutions", f"at most {imp.MAX_REPORTED * 10} SKUs"))
    default = choice(request.default_choice, "default_choice")
    if request.without_sku not in (pb.WITHOUT_SKU_UNSPECIFIED, pb.WITHOUT_SKU_GENERATE, pb.WITHOUT_SKU_SKIP):
        violations.append(FieldViolation("without_sku", "generate or skip"))
    if violations:
        raise InvalidArgument("invalid catalog import", violations=violations)
    rule = (
        imp.WithoutSkuRule.GENERATE
        if request.without_sku == pb.WITHOUT_SKU_GENERATE
        else imp.WithoutSkuRule.SKIP
    )
    return imp.ImportParams(request.dry_run, imp.ImportPolicy(default, resolutions, rule))


def catalog_import_out(tally: imp.ImportTally) -> pb.CatalogImportResult:
    return pb.CatalogImportResult(
        dry_run=tally.dry_run,
        products=tally.products,
        variants=tally.variants,
        to_create=tally.to_create,
        to_update=tally.to_update,
        unchanged=tally.unchanged,
        skipped=tally.skipped,
        mapped=tally.mapped,
        quantities_set=tally.quantities_set,
        collisions=[pb.ImportCollision(**c) for c in tally.collisions],
        without_sku=[pb.VariantWithoutSku(**n) for n in tally.without_sku],
        errors=tally.errors,
    )


# ---------------------------------------------------------------------------- inventory
def push_inventory_request(
    context: ConnectionContext, items: Iterable[tuple[str, int, Mapping[str, str]]]
) -> cpb.PushInventoryRequest:
    """Bulk push of (sku, quantity, remote ids) to one connection."""
    return cpb.PushInventoryRequest(
        connection=context,
        items=[
            cpb.InventoryItem(sku=sku, quantity=quantity, remote=cpb.RemoteIds(ids=ids))
            for sku, quantity, ids in items
        ],
    )


def push_prices_request(
    context: ConnectionContext, items: Iterable[tuple[str, ChannelPrice, Mapping[str, str]]]
) -> cpb.PushPricesRequest:
    """Bulk push of (sku, price, remote ids) to one connection."""
    return cpb.PushPricesRequest(
        connection=context,
        items=[
            cpb.PriceItem(
                sku=sku,
                price=money_out(price.price),
                compare_at_price=money_out(price.compare_at) if price.compare_at else None,
                remote=cpb.RemoteIds(ids=dict(ids)),
            )
            for sku, price, ids in items
        ],
    )


def read_prices_request(
    context: ConnectionContext, items: Iterable[tuple[str, ChannelPrice, Mapping[str, str]]]
) -> cpb.ReadPricesRequest:
    """Bulk read of what the channel shows for (sku, the price OmniStock expects, remote ids)."""
    return cpb.ReadPricesRequest(connection=context, items=push_prices_request(context, items).items)


def remote_price(message: cpb.RemotePrice) -> ChannelPrice | None:
    """The price a channel reported, or None when it has none for the item."""
    if not message.found or not message.price.currency:
        return None
    compare = message.compare_at_price if message.HasField("compare_at_price") else None
    return ChannelPrice(
        Money(message.price.amount_minor, message.price.currency),
        Money(compare.amount_minor, compare.currency) if compare is not None and compare.currency else None,
    )


def money_out(money: Money) -> common_pb2.Money:
    return common_pb2.Money(amount_minor=money.amount_minor, currency=money.currency)


def read_inventory_request(
    context: ConnectionContext, items: Iterable[tuple[str, Mapping[str, str]]]
) -> cpb.ReadInventoryRequest:
    """Bulk read of what the channel shows for (sku, remote ids)."""
    return cpb.ReadInventoryRequest(
        connection=context,
        items=[cpb.InventoryItem(sku=sku, remote=cpb.RemoteIds(ids=dict(ids))) for sku, ids in items],
    )


def item_outcome(outcome: int) -> str:
    """One of applied / retry / rejected / unknown (callers retry unknown ones, never drop them)."""
    return _ITEM_OUTCOMES.get(outcome, "unknown")


# ---------------------------------------------------------------------------- orders
def fetch_orders_request(
    context: ConnectionContext, updated_since: datetime, cursor: str, limit: int
) -> cpb.FetchOrdersRequest:
    """One page of orders changed since `updated_since`."""
    stamp = Timestamp()
    stamp.FromDatetime(updated_since)
    return cpb.FetchOrdersRequest(connection=context, updated_since=stamp, cursor=cursor, limit=limit)


def order_cancelled(order: Any) -> bool:
    """Cancelled and refunded orders hold no units any more."""
    return order.status in _CANCELLED_STATUSES


def order_updated_at(order: Any) -> datetime | None:
    """The order's last change, or None when the channel gave none."""
    stamp = order.updated_at
    return stamp.ToDatetime(tzinfo=UTC) if (stamp.seconds or stamp.nanos) else None


def order_json(order: Any) -> dict[str, Any]:
    """A ChannelOrder as proto JSON with the proto field names: `channels.order_received`'s `order`."""
    return json_format.MessageToDict(order, preserving_proto_field_name=True)


def order_digest(order: Any) -> str:
    """SHA-256 (hex) of the normalised order: everything but the raw channel JSON, whose shape
    differs between a webhook and a poll of one and the same state (Shopify: REST vs GraphQL)."""
    normalised = cpb.ChannelOrder()
    normalised.CopyFrom(order)
    normalised.ClearField("raw_json")
    return hashlib.sha256(normalised.SerializeToString(deterministic=True)).hexdigest()


# ---------------------------------------------------------------------------- order actions
def create_fulfillment_request(
    context: ConnectionContext,
    external_order_id: str,
    *,
    carrier: str,
    tracking_number: str,
    tracking_url: str,
    lines: Iterable[Mapping[str, Any]],
) -> cpb.CreateFulfillmentRequest:
    """Tell the channel an order (or some of its lines) shipped, with the tracking details."""
    return cpb.CreateFulfillmentRequest(
        connection=context,
        external_order_id=external_order_id,
        carrier=carrier,
        tracking_number=tracking_number,
        tracking_url=tracking_url,
        lines=[
            cpb.FulfillmentLine(
                external_line_id=str(line.get("external_line_id") or ""),
                sku=str(line.get("sku") or ""),
                quantity=int(line.get("quantity") or 0),
            )
            for line in lines
        ],
    )


def cancel_order_request(
    context: ConnectionContext, external_order_id: str, reason: str
) -> cpb.CancelOrderRequest:
    """Tell the channel the merchant cancelled the order."""
    return cpb.CancelOrderRequest(connection=context, external_order_id=external_order_id, reason=reason)


def fulfillment_external_id(reply: Any) -> str:
    """The channel's id of the fulfilment it created."""
    return str(reply.external_fulfillment_id)


def cancellation_external_id(reply: Any) -> str:
    """The channel's reference of the cancellation (Shopify's job, WooCommerce's order)."""
    return str(reply.external_id)
