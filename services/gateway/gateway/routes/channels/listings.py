"""Listings (a SKU ↔ the channel's ids), auto-mapping by SKU (a background job), the jobs, and the
sync log of a connection."""

from __future__ import annotations

from gateway import channels_schemas as s
from gateway.api import RouteGroup
from gateway.domain import Permission
from gateway.mapping import channels as m
from gateway.routes.channels.client import channels
from gateway.schemas import PageQuery
from omnistock.channels.v1 import channels_service_pb2 as pb

routes = RouteGroup()


@routes.route(
    "GET",
    "/channels/<connection_id>/listings",
    summary="List listing mappings",
    permission=Permission.CHANNELS_READ,
    query=PageQuery,
    response=s.ListingPage,
)
def list_listings(connection_id: str, query: PageQuery) -> s.ListingPage:
    return m.listing_page(channels().ListListings(m.listings_request(connection_id, query)))


@routes.route(
    "POST",
    "/channels/<connection_id>/listings/auto-map",
    summary="Map listings by SKU (a background job)",
    permission=Permission.CHANNELS_WRITE,
    body=s.AutoMapIn,
    response=s.JobOut,
    status=202,
    problems=(429, 503),
)
def auto_map(connection_id: str, body: s.AutoMapIn) -> s.JobOut:
    """Queues a job that reads the channel's catalogue page by page and matches it to OmniStock
    SKUs; `GET /jobs/{job_id}` shows its progress and, once it succeeded, `result:
    {mapped, unmapped_skus, unknown_remote_skus}`. The same request while one is still queued or
    running answers with that job."""
    request_pb = pb.StartAutoMapRequest(connection_id=connection_id, skus=body.skus)
    return s.JobOut(job_id=channels().StartAutoMap(request_pb).job_id)


@routes.route(
    "POST",
    "/channels/<connection_id>/catalog-import",
    summary="Import the channel's catalogue (a background job; dry_run: the preview)",
    permission=Permission.CHANNELS_WRITE,
    body=s.CatalogImportIn,
    response=s.JobOut,
    status=202,
    problems=(429, 503),
)
def catalog_import(connection_id: str, body: s.CatalogImportIn) -> s.JobOut:
    """Onboarding: a job pages through the channel's products. With `dry_run: true` its result is
    the preview `{products, variants, to_create, collisions: [{sku, field, omnistock_value,
    channel_value}], without_sku: [...]}` and nothing changes; otherwise it creates products and
    variants in the catalog, sets the quantities of the variants it creates (ledger reason
    `imported`), maps the listings and answers the same counts. SKUs OmniStock has keep
    OmniStock's values unless `default` or `resolutions` say `channel`; their stock stays
    OmniStock's. Running it again changes nothing; a job whose worker died resumes where it was."""
    reply = channels().StartCatalogImport(m.catalog_import_request(connection_id, body))
    return s.JobOut(job_id=reply.job_id)


@routes.route(
    "GET",
    "/jobs/<job_id>",
    summary="A background job",
    permission=Permission.CHANNELS_READ,
    response=s.JobStatusOut,
)
def get_job(job_id: str) -> s.JobStatusOut:
    """An auto-map or a sync: `status` queued | running | succeeded | failed, `progress: {done,
    total}` (total null while unknown), `result` once succeeded, `error` once failed."""
    return m.job_out(channels().GetJob(pb.GetJobRequest(job_id=job_id)).job)


@routes.route(
    "PUT",
    "/channels/<connection_id>/listings/<path:sku>",
    summary="Map one SKU to the channel's ids",
    permission=Permission.CHANNELS_WRITE,
    body=s.ListingIn,
    response=s.ListingOut,
)
def put_listing(connection_id: str, sku: str, body: s.ListingIn) -> s.ListingOut:
    request_pb = pb.PutListingRequest(connection_id=connection_id, sku=sku, external_ids=body.ids())
    return m.listing_out(channels().PutListing(request_pb).listing)


@routes.route(
    "GET",
    "/channels/<connection_id>/sync-log",
    summary="Recent pushes and pulls",
    permission=Permission.CHANNELS_READ,
    query=s.SyncLogQuery,
    response=s.SyncLogList,
)
def sync_log(connection_id: str, query: s.SyncLogQuery) -> s.SyncLogList:
    request_pb = pb.ListSyncLogRequest(connection_id=connection_id, limit=query.limit)
    return m.sync_log_out(channels().ListSyncLog(request_pb))
