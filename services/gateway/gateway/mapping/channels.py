"""Channels REST models ↔ the channels protobufs: request messages built, replies converted.

Connection status and sync scope names cross here; an optional `last_pushed_quantity` becomes JSON
null when the listing was never pushed.
"""

from __future__ import annotations

from gateway import channels_schemas as s
from gateway.mapping import mirrored, next_cursor, page_request
from gateway.schemas import PageQuery
from omnistock.channels.v1 import channels_service_pb2 as pb
from omnistock_common.timestamps import from_timestamp

STATUS_FROM_PB = {
    pb.CONNECTION_STATUS_CONNECTED: "connected",
    pb.CONNECTION_STATUS_DEGRADED: "degraded",
    pb.CONNECTION_STATUS_ERROR: "error",
    pb.CONNECTION_STATUS_DISCONNECTED: "disconnected",
}
SCOPE_TO_PB: dict[str, int] = {
    name: pb.SyncScope.Value(f"SYNC_SCOPE_{name.upper()}") for name in s.ScopeName.__args__
}
SCOPE_FROM_PB = {number: name for name, number in SCOPE_TO_PB.items()}
JOB_STATUS_FROM_PB = {
    pb.JOB_STATUS_QUEUED: "queued",
    pb.JOB_STATUS_RUNNING: "running",
    pb.JOB_STATUS_SUCCEEDED: "succeeded",
    pb.JOB_STATUS_FAILED: "failed",
}


# ------------------------------------------------------------------------------ JSON → pb
def create_connection_request(body: s.ConnectionIn) -> pb.CreateConnectionRequest:
    return pb.CreateConnectionRequest(
        type=body.type, name=body.name, settings=body.settings, credentials=body.credentials
    )


def start_oauth_request(channel_type: str, query: s.OAuthStartQuery, binding: str) -> pb.StartOAuthRequest:
    return pb.StartOAuthRequest(
        type=channel_type, name=query.name, settings=query.settings(), session_binding=binding
    )


def settings_request(connection_id: str, body: s.ConnectionSettingsIn) -> pb.UpdateConnectionSettingsRequest:
    return pb.UpdateConnectionSettingsRequest(
        connection_id=connection_id,
        settings={key: value for key, value in body.settings.items() if value is not None},
        remove=[key for key, value in body.settings.items() if value is None],
    )


def sync_request(connection_id: str, body: s.SyncIn) -> pb.RequestSyncRequest:
    return pb.RequestSyncRequest(connection_id=connection_id, scope=SCOPE_TO_PB[body.scope])


def listings_request(connection_id: str, query: PageQuery) -> pb.ListListingsRequest:
    return pb.ListListingsRequest(connection_id=connection_id, page=page_request(query.limit, query.cursor))


# ------------------------------------------------------------------------------ pb → JSON
def channel_types_out(reply: pb.ListChannelTypesResponse) -> s.ChannelTypeList:
    return s.ChannelTypeList(
        items=[
            s.ChannelTypeOut(
                type=t.type,
                display_name=t.display_name or t.type,
                auth=t.auth,
                capabilities=list(t.capabilities),
                available=t.available,
                editable_settings=list(t.editable_settings),
            )
            for t in reply.types
        ]  # type: ignore[arg-type]
    )


def connection_out(conn: pb.Connection) -> s.ConnectionOut:
    return s.ConnectionOut(
        id=conn.id,
        type=conn.type,
        name=conn.name,
        status=STATUS_FROM_PB.get(conn.status, "error"),  # type: ignore[arg-type]
        status_reason=conn.status_reason,
        settings=dict(conn.settings),
        health=mirrored(s.HealthOut, conn.health, limits=dict(conn.health.limits)),
        created_at=from_timestamp(conn.created_at),
    )


def oauth_start_out(reply: pb.StartOAuthResponse) -> s.OAuthStartOut:
    return s.OAuthStartOut(
        authorization_url=reply.authorization_url, state_expires_at=from_timestamp(reply.state_expires_at)
    )


def listing_out(item: pb.Listing) -> s.ListingOut:
    return s.ListingOut(
        sku=item.sku,
        external_ids=dict(item.external_ids),
        updated_at=from_timestamp(item.updated_at),
        last_pushed_quantity=item.last_pushed_quantity if item.HasField("last_pushed_quantity") else None,
    )


def listing_page(reply: pb.ListListingsResponse) -> s.ListingPage:
    return s.ListingPage(items=[listing_out(i) for i in reply.listings], next_cursor=next_cursor(reply.page))


def auto_map_out(reply: pb.AutoMapListingsResponse) -> s.AutoMapOut:
    return s.AutoMapOut(
        mapped=reply.mapped,
        unmapped_skus=list(reply.unmapped_skus),
        unknown_remote_skus=list(reply.unknown_remote_skus),
    )


IMPORT_CHOICES = {"omnistock": pb.CONFLICT_CHOICE_OMNISTOCK, "channel": pb.CONFLICT_CHOICE_CHANNEL}


def catalog_import_request(connection_id: str, body: s.CatalogImportIn) -> pb.StartCatalogImportRequest:
    return pb.StartCatalogImportRequest(
        connection_id=connection_id,
        dry_run=body.dry_run,
        default_choice=IMPORT_CHOICES[body.default],
        resolutions={
            sku: pb.FieldChoices(fields={f: IMPORT_CHOICES[c] for f, c in fields.items()})
            for sku, fields in body.resolutions.items()
        },
        without_sku=pb.WITHOUT_SKU_GENERATE if body.without_sku == "generate" else pb.WITHOUT_SKU_SKIP,
    )


def catalog_import_out(result: pb.CatalogImportResult) -> s.CatalogImportOut:
    return s.CatalogImportOut(
        dry_run=result.dry_run,
        products=result.products,
        variants=result.variants,
        to_create=result.to_create,
        to_update=result.to_update,
        unchanged=result.unchanged,
        skipped=result.skipped,
        mapped=result.mapped,
        quantities_set=result.quantities_set,
        collisions=[
            s.ImportCollisionOut(
                sku=c.sku, field=c.field, omnistock_value=c.omnistock_value, channel_value=c.channel_value
            )
            for c in result.collisions
        ],
        without_sku=[
            s.VariantWithoutSkuOut(
                product_external_id=n.product_external_id,
                variant_external_id=n.variant_external_id,
                title=n.title,
                generated_sku=n.generated_sku,
            )
            for n in result.without_sku
        ],
        errors=list(result.errors),
    )


def job_out(job: pb.Job) -> s.JobStatusOut:
    result: s.CatalogImportOut | s.PublishResultOut | s.AutoMapOut | s.SyncResultOut | None = None
    if job.WhichOneof("result") == "catalog_import":
        result = catalog_import_out(job.catalog_import)
    elif job.WhichOneof("result") == "publish":
        result = s.PublishResultOut(
            published=job.publish.published,
            rejected=[
                s.RejectedProductOut(product_id=r.product_id, error=r.error) for r in job.publish.rejected
            ],
            waiting=list(job.publish.waiting),
            not_found=list(job.publish.not_found),
        )
    elif job.WhichOneof("result") == "auto_map":
        result = auto_map_out(job.auto_map)
    elif job.WhichOneof("result") == "sync":
        result = s.SyncResultOut(scope=SCOPE_FROM_PB.get(job.sync.scope, "all"), message=job.sync.message)  # type: ignore[arg-type]
    return s.JobStatusOut(
        id=job.id,
        kind=job.kind,  # type: ignore[arg-type]
        status=JOB_STATUS_FROM_PB.get(job.status, "queued"),  # type: ignore[arg-type]
        progress=s.JobProgressOut(
            done=job.progress.done, total=job.progress.total if job.progress.HasField("total") else None
        ),
        connection_id=job.connection_id,
        result=result,
        error=job.error or None,
        created_at=from_timestamp(job.created_at),
        started_at=from_timestamp(job.started_at),
        finished_at=from_timestamp(job.finished_at),
    )


def sync_log_out(reply: pb.ListSyncLogResponse) -> s.SyncLogList:
    return s.SyncLogList(
        items=[
            s.SyncLogEntryOut(
                id=e.id,
                at=from_timestamp(e.at),
                operation=e.operation,
                skus=list(e.skus),
                outcome=e.outcome,
                message=e.message,
                latency_ms=e.latency_ms,
                calls=e.calls,
            )
            for e in reply.entries
        ]
    )


def product_listings_out(reply: pb.ListProductListingsResponse) -> s.ProductListingList:
    return s.ProductListingList(
        items=[
            s.ProductListingOut(
                connection_id=item.connection_id,
                product_id=item.product_id,
                external_id=item.external_id,
                state=item.state,  # type: ignore[arg-type]
                wanted_version=item.wanted_version,
                published_version=item.published_version if item.HasField("published_version") else None,
                last_error=item.last_error,
            )
            for item in reply.listings
        ]
    )
