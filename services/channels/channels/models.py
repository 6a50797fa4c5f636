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

import sqlalchemy as sa

from omnistock_common.db import naming_metadata
from omnistock_common.outbox import outbox_table
from omnistock_common.sqltypes import SEQ_ID, UTCDateTime

metadata = naming_metadata()

connections = sa.Table(
    "connections",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    # connected | degraded | error | disconnected (channels.domain.ConnectionStatus)
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("status_reason", sa.Text, nullable=False, default=""),
    # JSON object of NON-secret settings (api_base_url, shop_domain, store_url, location_id...).
    sa.Column("settings", sa.Text, nullable=False),
    # channels.crypto ciphertext of the JSON credentials; never plaintext.
    sa.Column("credentials", sa.LargeBinary, nullable=False),
    sa.Column("credentials_version", sa.BigInteger, nullable=False),
    sa.Column("token_expires_at", UTCDateTime, nullable=True),
    sa.Column("last_sync_at", UTCDateTime, nullable=True),
    sa.Column("last_success_at", UTCDateTime, nullable=True),
    sa.Column("error_count", sa.BigInteger, nullable=False, default=0),
    sa.Column("last_error", sa.Text, nullable=False, default=""),
    # Increases this connection holds back until every connection's orders are current (sync
    # engine, channels.sync.increase_hold): since when, and which connections it waits for.
    sa.Column("increases_held_since", UTCDateTime, nullable=True),
    sa.Column("increases_held_reason", sa.Text, nullable=False, default=""),
    # JSON object: the channel's quotas as its connector last reported them (eBay's revision
    # budget), and when; written only by set_channel_limits.
    sa.Column("channel_limits", sa.Text, nullable=False, default="{}"),
    sa.Column("channel_limits_at", UTCDateTime, nullable=True),
    # JSON list of the product fields OmniStock writes on this channel when a published product
    # changes (channels.publish_domain.OWNED_FIELDS); NULL = all of them.
    sa.Column("owned_fields", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index(None, "tenant_id", "created_at", "id"),
)

listings = sa.Table(
    "listings",
    metadata,
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("connection_id", sa.String(36), nullable=False),
    sa.Column("sku", sa.String(128), nullable=False),
    # JSON object: the channel's ids (inventory_item_id/location_id, product_id/variation_id...).
    sa.Column("external_ids", sa.Text, nullable=False),
    # What the channel last acknowledged, and the inventory version it came from (the sync
    # engine drops versions older than this one).
    sa.Column("last_pushed_quantity", sa.BigInteger, nullable=True),
    sa.Column("last_pushed_version", sa.BigInteger, nullable=True),
    sa.Column("last_pushed_at", UTCDateTime, nullable=True),
    # The price the channel last acknowledged (price_domain.ChannelPrice.token) and the pricing
    # version it came from: older and repeated price_changed events are dropped against it.
    sa.Column("last_pushed_price", sa.String(64), nullable=True),
    sa.Column("last_pushed_price_version", sa.BigInteger, nullable=True),
    # The SKU's product is archived on this connection (published as archived, or deleted from the
    # catalog): the sync engine shows 0 here whatever inventory says, so it never sells.
    sa.Column("off_sale", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint("connection_id", "sku"),
    sa.Index(None, "tenant_id", "connection_id", "sku"),
)

# One row per product published to a connection (channels.publishing). `pending` is true while
# the channel does not show `wanted_version` (the newest catalog version announced) yet, and the
# publisher pushes it; a rejected version stays in `last_error` until a newer one arrives.
product_listings = sa.Table(
    "product_listings",
    metadata,
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("connection_id", sa.String(36), nullable=False),
    sa.Column("product_id", sa.String(36), nullable=False),
    # The channel's product id; "" until the product was created there.
    sa.Column("external_id", sa.String(255), nullable=False, server_default=""),
    # JSON object: SKU -> the channel's variant id (to update rather than duplicate a variant).
    sa.Column("variant_ids", sa.Text, nullable=False, server_default="{}"),
    sa.Column("wanted_version", sa.BigInteger, nullable=False),
    sa.Column("published_version", sa.BigInteger, nullable=True),
    # The catalog deleted the product: archive it on the channel.
    sa.Column("removed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("pending", sa.Boolean, nullable=False, server_default=sa.true()),
    # When a push the channel asked to retry (rate limit, 5xx) may go again.
    sa.Column("retry_at", UTCDateTime, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text, nullable=False, server_default=""),
    sa.Column("error_version", sa.BigInteger, nullable=True),
    sa.Column("error_at", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint("connection_id", "product_id"),
    sa.Index(None, "pending", "retry_at"),
    sa.Index(None, "tenant_id", "product_id"),
)

sync_log = sa.Table(
    "sync_log",
    metadata,
    sa.Column("id", SEQ_ID, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("connection_id", sa.String(36), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    # push_inventory, push_prices, fetch_orders, refresh_token, reconcile, webhook, ...
    sa.Column("operation", sa.String(64), nullable=False),
    # JSON array of SKUs the call concerned (may be empty).
    sa.Column("skus", sa.Text, nullable=False),
    # ok | retry | error | conflict | held | released (increase_hold)
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("message", sa.Text, nullable=False, default=""),
    sa.Column("latency_ms", sa.BigInteger, nullable=False, default=0),
    sa.Column("calls", sa.Integer, nullable=False, default=0),
    sa.Index(None, "connection_id", "id"),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("connection_id", sa.String(36), nullable=False),
    sa.Column("channel_type", sa.String(32), nullable=False),
    sa.Column("delivery_id", sa.String(255), nullable=False),
    sa.Column("topic", sa.String(255), nullable=False),
    # order | product | inventory | app_uninstalled | other (channels.domain.WebhookKind)
    sa.Column("kind", sa.String(32), nullable=False),
    # JSON object of the lower-cased request headers, and the body exactly as received.
    sa.Column("headers", sa.Text, nullable=False),
    sa.Column("raw_body", sa.LargeBinary, nullable=False),
    # received -> processed | failed (the worker / orders service moves it on).
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text, nullable=False, default=""),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("processed_at", UTCDateTime, nullable=True),
    sa.UniqueConstraint("connection_id", "delivery_id"),
    sa.Index(None, "status", "received_at"),
)

# Every background job of a connection (GET /jobs/{id}): syncs (RequestSync) and, since migration
# 0004, auto-maps (StartAutoMap). channels.job_domain reads a row as a Job.
sync_jobs = sa.Table(
    "sync_jobs",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("connection_id", sa.String(36), nullable=False),
    # sync | auto_map | catalog_import
    sa.Column("kind", sa.String(16), nullable=False, server_default="sync"),
    # sync jobs: inventory | prices | orders | catalog | all; "" for other kinds.
    sa.Column("scope", sa.String(16), nullable=False),
    # requested -> running -> done | failed (the worker moves it on).
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("requested_by", sa.String(128), nullable=False, default=""),
    # A summary when done, the reason when failed.
    sa.Column("message", sa.Text, nullable=False, default=""),
    # JSON: what the job was asked to do (auto_map: {"skus": [...]}), and what it found.
    sa.Column("params", sa.Text, nullable=False, server_default=""),
    sa.Column("result", sa.Text, nullable=False, server_default=""),
    sa.Column("progress_done", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("progress_total", sa.BigInteger, nullable=True),
    # JSON: where a resumable job is (catalog_import: cursor, pages done, tally), written with
    # each step's own writes so a job resumed after its worker died goes on from there.
    sa.Column("checkpoint", sa.Text, nullable=False, server_default=""),
    sa.Column("requested_at", UTCDateTime, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=True),
    # Written with every step of a running job: a job whose worker died goes stale and is resumed.
    sa.Column("heartbeat_at", UTCDateTime, nullable=True),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    sa.Index(None, "status", "requested_at"),
    sa.Index(None, "connection_id", "requested_at"),
)

notification_settings = sa.Table(
    "notification_settings",
    metadata,
    sa.Column("tenant_id", sa.String(64), primary_key=True),
    # Outgoing webhook sync failures are POSTed to; "" disables it.
    sa.Column("webhook_url", sa.Text, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

outbox = outbox_table(metadata)

# ------------------------------------------------------------------ sync engine (migration 0002)

channel_commitments = sa.Table(
    "channel_commitments",
    metadata,
    # Units a channel has sold (an order seen by webhook or poll) that OmniStock has not imported
    # yet. The sync engine subtracts the pending ones of a tenant's SKU from what it pushes to
    # EVERY connection, so a unit sold on one channel is never relisted on another.
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("connection_id", sa.String(36), nullable=False),
    sa.Column("external_order_id", sa.String(255), nullable=False),
    sa.Column("sku", sa.String(128), nullable=False),
    sa.Column("quantity", sa.BigInteger, nullable=False),
    # pending -> imported (the orders service imported the order) | cancelled (the channel did).
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("seen_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint("connection_id", "external_order_id", "sku"),
    sa.Index(None, "tenant_id", "sku", "status"),
)

order_sync_state = sa.Table(
    "order_sync_state",
    metadata,
    # Per connection: where the order poll resumes, and since when its orders are known current.
    sa.Column("connection_id", sa.String(36), primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    # Newest `updated_at` among the orders seen so far (the poll re-reads an overlap before it).
    sa.Column("updated_since", UTCDateTime, nullable=True),
    # Start of the last poll that completed: every order placed before it is in channel_commitments.
    sa.Column("current_as_of", UTCDateTime, nullable=True),
    sa.Column("last_attempt_at", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=False, default=""),
    sa.Index(None, "tenant_id"),
)

# ------------------------------------------------------------------ orders (migration 0004)

order_versions = sa.Table(
    "order_versions",
    metadata,
    # The last state of each channel order handed to the orders service as `channels.order_received`
    # (channels/order_intake.py). A poll re-reading its overlap window, or a webhook and a poll that
    # both report the same state, publish it once; any change publishes again. The upsert's
    # conditional update is the dedupe, so concurrent reporters cannot both publish one state.
    sa.Column("connection_id", sa.String(36), nullable=False),
    sa.Column("external_order_id", sa.String(255), nullable=False),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    # SHA-256 (hex) of the normalised order: the ChannelOrder without its raw channel JSON.
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("order_updated_at", UTCDateTime, nullable=True),
    sa.Column("published_at", UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint("connection_id", "external_order_id"),
    sa.Index(None, "tenant_id"),
)

order_actions = sa.Table(
    "order_actions",
    metadata,
    # What the orders service asked to be done on a channel (orders.fulfillment_requested,
    # orders.cancel_requested), kept until the channel accepts or refuses for good
    # (channels/order_actions.py). UNIQUE (tenant, order, action, fulfillment): a repeated event
    # is this same row.
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("order_id", sa.String(64), nullable=False),
    # fulfillment | cancel
    sa.Column("action", sa.String(16), nullable=False),
    # The orders service's fulfillment id; "" for a cancellation.
    sa.Column("fulfillment_id", sa.String(64), nullable=False),
    sa.Column("connection_id", sa.String(36), nullable=False),
    sa.Column("external_order_id", sa.String(255), nullable=False),
    # JSON: carrier, tracking_number, tracking_url, lines (fulfillment) or reason (cancel).
    sa.Column("request", sa.Text, nullable=False),
    # pending -> synced | failed
    sa.Column("status", sa.String(16), nullable=False),
    # Calls made to the channel (a wait for a disconnected connection is not one).
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    # When a sender may take it next (a sender that takes it pushes this forward by a lease).
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("external_id", sa.String(255), nullable=False, default=""),
    sa.Column("last_error", sa.Text, nullable=False, default=""),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("tenant_id", "order_id", "action", "fulfillment_id"),
    sa.Index(None, "status", "next_attempt_at"),
)
