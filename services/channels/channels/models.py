"""SQLAlchemy Core tables of the channels database (one Alembic history: migrations/).

What the schema guarantees on its own:
- `connections.credentials` only ever holds AES-256-GCM ciphertext bound to (tenant, connection);
  `credentials_version` grows by one each time the credentials change, and every credential
  write is a conditional UPDATE on it, so two refreshes can never both win.
- `webhook_deliveries` has UNIQUE (connection_id, delivery_id): a redelivered webhook is
  stored once, however many gateway replicas receive it at the same moment.
- `listings` has one row per (connection, sku).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from omnistock_common.db import naming_metadata
from omnistock_common.outbox import outbox_table
from omnistock_common.sqltypes import SEQ_ID, UTCDateTime

metadata = naming_metadata()

connections = Table(
    "connections",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("type", String(32), nullable=False),
    Column("name", String(200), nullable=False),
    # connected | degraded | error | disconnected (channels.domain.ConnectionStatus)
    Column("status", String(16), nullable=False),
    Column("status_reason", Text, nullable=False, default=""),
    # JSON object of NON-secret settings (api_base_url, shop_domain, store_url, location_id...).
    Column("settings", Text, nullable=False),
    # channels.crypto ciphertext of the JSON credentials; never plaintext.
    Column("credentials", LargeBinary, nullable=False),
    Column("credentials_version", BigInteger, nullable=False),
    Column("token_expires_at", UTCDateTime, nullable=True),
    Column("last_sync_at", UTCDateTime, nullable=True),
    Column("last_success_at", UTCDateTime, nullable=True),
    Column("error_count", BigInteger, nullable=False, default=0),
    Column("last_error", Text, nullable=False, default=""),
    # Increases this connection holds back until every connection's orders are current (sync
    # engine, channels.sync.increase_hold): since when, and which connections it waits for.
    Column("increases_held_since", UTCDateTime, nullable=True),
    Column("increases_held_reason", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "tenant_id", "created_at", "id"),
)

listings = Table(
    "listings",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("connection_id", String(36), nullable=False),
    Column("sku", String(128), nullable=False),
    # JSON object: the channel's ids (inventory_item_id/location_id, product_id/variation_id...).
    Column("external_ids", Text, nullable=False),
    # What the channel last acknowledged, and the inventory version it came from (the sync
    # engine drops versions older than this one).
    Column("last_pushed_quantity", BigInteger, nullable=True),
    Column("last_pushed_version", BigInteger, nullable=True),
    Column("last_pushed_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("connection_id", "sku"),
    Index(None, "tenant_id", "connection_id", "sku"),
)

sync_log = Table(
    "sync_log",
    metadata,
    Column("id", SEQ_ID, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("connection_id", String(36), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    # push_inventory, push_prices, fetch_orders, refresh_token, reconcile, webhook, ...
    Column("operation", String(64), nullable=False),
    # JSON array of SKUs the call concerned (may be empty).
    Column("skus", Text, nullable=False),
    # ok | retry | error | conflict | held | released (increase_hold)
    Column("outcome", String(16), nullable=False),
    Column("message", Text, nullable=False, default=""),
    Column("latency_ms", BigInteger, nullable=False, default=0),
    Column("calls", Integer, nullable=False, default=0),
    Index(None, "connection_id", "id"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("connection_id", String(36), nullable=False),
    Column("channel_type", String(32), nullable=False),
    Column("delivery_id", String(255), nullable=False),
    Column("topic", String(255), nullable=False),
    # order | product | inventory | app_uninstalled | other (channels.domain.WebhookKind)
    Column("kind", String(32), nullable=False),
    # JSON object of the lower-cased request headers, and the body exactly as received.
    Column("headers", Text, nullable=False),
    Column("raw_body", LargeBinary, nullable=False),
    # received -> processed | failed (the worker / orders service moves it on).
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=False, default=""),
    Column("received_at", UTCDateTime, nullable=False),
    Column("processed_at", UTCDateTime, nullable=True),
    UniqueConstraint("connection_id", "delivery_id"),
    Index(None, "status", "received_at"),
)

# Every background job of a connection (GET /jobs/{id}): syncs (RequestSync) and, since migration
# 0004, auto-maps (StartAutoMap). channels.job_domain reads a row as a Job.
sync_jobs = Table(
    "sync_jobs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("connection_id", String(36), nullable=False),
    # sync | auto_map
    Column("kind", String(16), nullable=False, server_default="sync"),
    # sync jobs: inventory | prices | orders | catalog | all; "" for other kinds.
    Column("scope", String(16), nullable=False),
    # requested -> running -> done | failed (the worker moves it on).
    Column("status", String(16), nullable=False),
    Column("requested_by", String(128), nullable=False, default=""),
    # A summary when done, the reason when failed.
    Column("message", Text, nullable=False, default=""),
    # JSON: what the job was asked to do (auto_map: {"skus": [...]}), and what it found.
    Column("params", Text, nullable=False, server_default=""),
    Column("result", Text, nullable=False, server_default=""),
    Column("progress_done", BigInteger, nullable=False, server_default="0"),
    Column("progress_total", BigInteger, nullable=True),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime, nullable=True),
    # Written with every step of a running job: a job whose worker died goes stale and is resumed.
    Column("heartbeat_at", UTCDateTime, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    Index(None, "status", "requested_at"),
    Index(None, "connection_id", "requested_at"),
)

notification_settings = Table(
    "notification_settings",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    # Outgoing webhook sync failures are POSTed to; "" disables it.
    Column("webhook_url", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

outbox = outbox_table(metadata)

# ------------------------------------------------------------------ sync engine (migration 0002)

channel_commitments = Table(
    "channel_commitments",
    metadata,
    # Units a channel has sold (an order seen by webhook or poll) that OmniStock has not imported
    # yet. The sync engine subtracts the pending ones of a tenant's SKU from what it pushes to
    # EVERY connection, so a unit sold on one channel is never relisted on another.
    Column("tenant_id", String(64), nullable=False),
    Column("connection_id", String(36), nullable=False),
    Column("external_order_id", String(255), nullable=False),
    Column("sku", String(128), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    # pending -> imported (the orders service imported the order) | cancelled (the channel did).
    Column("status", String(16), nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("connection_id", "external_order_id", "sku"),
    Index(None, "tenant_id", "sku", "status"),
)

order_sync_state = Table(
    "order_sync_state",
    metadata,
    # Per connection: where the order poll resumes, and since when its orders are known current.
    Column("connection_id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    # Newest `updated_at` among the orders seen so far (the poll re-reads an overlap before it).
    Column("updated_since", UTCDateTime, nullable=True),
    # Start of the last poll that completed: every order placed before it is in channel_commitments.
    Column("current_as_of", UTCDateTime, nullable=True),
    Column("last_attempt_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=False, default=""),
    Index(None, "tenant_id"),
)

# ------------------------------------------------------------------ orders (migration 0004)

order_versions = Table(
    "order_versions",
    metadata,
    # The last state of each channel order handed to the orders service as `channels.order_received`
    # (channels/order_intake.py). A poll re-reading its overlap window, or a webhook and a poll that
    # both report the same state, publish it once; any change publishes again. The upsert's
    # conditional update is the dedupe, so concurrent reporters cannot both publish one state.
    Column("connection_id", String(36), nullable=False),
    Column("external_order_id", String(255), nullable=False),
    Column("tenant_id", String(64), nullable=False),
    # SHA-256 (hex) of the normalised order: the ChannelOrder without its raw channel JSON.
    Column("digest", String(64), nullable=False),
    Column("order_updated_at", UTCDateTime, nullable=True),
    Column("published_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("connection_id", "external_order_id"),
    Index(None, "tenant_id"),
)

order_actions = Table(
    "order_actions",
    metadata,
    # What the orders service asked to be done on a channel (orders.fulfillment_requested,
    # orders.cancel_requested), kept until the channel accepts or refuses for good
    # (channels/order_actions.py). UNIQUE (tenant, order, action, fulfillment): a repeated event
    # is this same row.
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("order_id", String(64), nullable=False),
    # fulfillment | cancel
    Column("action", String(16), nullable=False),
    # The orders service's fulfillment id; "" for a cancellation.
    Column("fulfillment_id", String(64), nullable=False),
    Column("connection_id", String(36), nullable=False),
    Column("external_order_id", String(255), nullable=False),
    # JSON: carrier, tracking_number, tracking_url, lines (fulfillment) or reason (cancel).
    Column("request", Text, nullable=False),
    # pending -> synced | failed
    Column("status", String(16), nullable=False),
    # Calls made to the channel (a wait for a disconnected connection is not one).
    Column("attempts", Integer, nullable=False, default=0),
    # When a sender may take it next (a sender that takes it pushes this forward by a lease).
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("external_id", String(255), nullable=False, default=""),
    Column("last_error", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("tenant_id", "order_id", "action", "fulfillment_id"),
    Index(None, "status", "next_attempt_at"),
)
