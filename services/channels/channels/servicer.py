"""gRPC adapter: proto -> one use-case function (service, connection_setup, listing_mapping,
webhook_intake) -> proto. No SQL and no rules here.

A Connection message never carries credentials: `_connection` only copies settings and health.
"""

from __future__ import annotations

import grpc

from channels import connection_setup, jobs, listing_mapping, service, webhook_intake
from channels.deps import ChannelsDeps
from channels.domain import AutoMapResult, Connection, ConnectionStatus, Listing, SyncLogEntry, SyncScope
from channels.job_domain import Job, JobStatus, SyncJobResult
from omnistock.channels.v1 import channels_service_pb2 as pb
from omnistock.channels.v1 import channels_service_pb2_grpc as pb_grpc
from omnistock.common.v1 import common_pb2
from omnistock_common.context import call_context
from omnistock_common.errors import FieldViolation, InvalidArgument
from omnistock_common.timestamps import to_optional_timestamp

_STATUS = {
    ConnectionStatus.CONNECTED: pb.CONNECTION_STATUS_CONNECTED,
    ConnectionStatus.DEGRADED: pb.CONNECTION_STATUS_DEGRADED,
    ConnectionStatus.ERROR: pb.CONNECTION_STATUS_ERROR,
    ConnectionStatus.DISCONNECTED: pb.CONNECTION_STATUS_DISCONNECTED,
}
_SCOPES = {
    pb.SYNC_SCOPE_INVENTORY: SyncScope.INVENTORY,
    pb.SYNC_SCOPE_PRICES: SyncScope.PRICES,
    pb.SYNC_SCOPE_ORDERS: SyncScope.ORDERS,
    pb.SYNC_SCOPE_CATALOG: SyncScope.CATALOG,
    pb.SYNC_SCOPE_ALL: SyncScope.ALL,
    pb.SYNC_SCOPE_UNSPECIFIED: SyncScope.ALL,
}
_JOB_STATUS = {
    JobStatus.QUEUED: pb.JOB_STATUS_QUEUED,
    JobStatus.RUNNING: pb.JOB_STATUS_RUNNING,
    JobStatus.SUCCEEDED: pb.JOB_STATUS_SUCCEEDED,
    JobStatus.FAILED: pb.JOB_STATUS_FAILED,
}
_SCOPES_OUT = {scope: number for number, scope in _SCOPES.items() if number != pb.SYNC_SCOPE_UNSPECIFIED}
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ChannelsService"].full_name
# Called by channels (through the gateway) with no tenant: the connection / the signed state
# identifies it.
TENANTLESS_METHODS = frozenset(
    {f"/{SERVICE_NAME}/IngestWebhook", f"/{SERVICE_NAME}/CompleteOAuth", f"/{SERVICE_NAME}/ListChannelTypes"}
)
# Roles per RPC (enforced by the shared interceptor from the caller's verified credential):
# read-only RPCs are open to every role (viewers too); connecting, disconnecting and where
# failures are reported need an account manager (as the gateway's CHANNELS_MANAGE); every other
# RPC needs a writing role.
READ_ONLY_METHODS = frozenset(
    f"/{SERVICE_NAME}/{name}"
    for name in (
        "ListChannelTypes",
        "GetConnection",
        "ListConnections",
        "ListListings",
        "ListSyncLog",
        "GetJob",
    )
)
MANAGE_METHODS = frozenset(
    f"/{SERVICE_NAME}/{name}"
    for name in ("CreateConnection", "StartOAuth", "DeleteConnection", "SetNotificationSettings")
)


def _connection(conn: Connection) -> pb.Connection:
    h = conn.health
    return pb.Connection(
        id=conn.id,
        type=conn.type,
        name=conn.name,
        status=_STATUS[h.status],
        settings=dict(conn.settings),
        health=pb.ConnectionHealth(
            last_sync_at=to_optional_timestamp(h.last_sync_at),
            last_success_at=to_optional_timestamp(h.last_success_at),
            error_count=h.error_count,
            last_error=h.last_error,
            token_expires_at=to_optional_timestamp(conn.token_expires_at),
        ),
        created_at=to_optional_timestamp(conn.created_at),
        status_reason=h.status_reason,
    )


def _listing(listing: Listing) -> pb.Listing:
    out = pb.Listing(
        sku=listing.sku,
        external_ids=dict(listing.external_ids),
        updated_at=to_optional_timestamp(listing.updated_at),
    )
    if listing.last_pushed_quantity is not None:
        out.last_pushed_quantity = listing.last_pushed_quantity
    return out


def _entry(entry: SyncLogEntry) -> pb.SyncLogEntry:
    return pb.SyncLogEntry(
        id=entry.id,
        at=to_optional_timestamp(entry.at),
        operation=entry.operation,
        skus=entry.skus,
        outcome=entry.outcome,
        message=entry.message,
        latency_ms=entry.latency_ms,
        calls=entry.calls,
    )


def _auto_map(result: AutoMapResult) -> pb.AutoMapListingsResponse:
    return pb.AutoMapListingsResponse(
        mapped=result.mapped,
        unmapped_skus=result.unmapped_skus,
        unknown_remote_skus=result.unknown_remote_skus,
    )


def _job(job: Job) -> pb.Job:
    out = pb.Job(
        id=job.id,
        kind=job.kind.value,
        status=_JOB_STATUS[job.status],
        progress=pb.JobProgress(done=job.progress_done, total=job.progress_total),
        connection_id=job.connection_id,
        error=job.error,
        created_at=to_optional_timestamp(job.created_at),
        started_at=to_optional_timestamp(job.started_at),
        finished_at=to_optional_timestamp(job.finished_at),
    )
    if isinstance(job.result, AutoMapResult):
        out.auto_map.CopyFrom(_auto_map(job.result))
    elif isinstance(job.result, SyncJobResult):
        out.sync.CopyFrom(pb.SyncJobResult(scope=_SCOPES_OUT[job.result.scope], message=job.result.message))
    return out


def _require_id(value: str, name: str = "connection_id") -> str:
    if not value:
        raise InvalidArgument(f"{name} is required", violations=[FieldViolation(name, "required")])
    return value


class ChannelsServicer(pb_grpc.ChannelsServiceServicer):
    def __init__(self, deps: ChannelsDeps) -> None:
        self.deps = deps

    def ListChannelTypes(
        self, request: pb.ListChannelTypesRequest, context: grpc.ServicerContext
    ) -> pb.ListChannelTypesResponse:
        return pb.ListChannelTypesResponse(
            types=[
                pb.ChannelType(type=t.type, auth=t.auth.value, capabilities=list(t.capabilities))
                for t in service.list_channel_types()
            ]
        )

    def CreateConnection(
        self, request: pb.CreateConnectionRequest, context: grpc.ServicerContext
    ) -> pb.CreateConnectionResponse:
        conn = connection_setup.create_connection(
            self.deps,
            call_context(context),
            request.type,
            request.name,
            dict(request.settings),
            dict(request.credentials),
        )
        return pb.CreateConnectionResponse(connection=_connection(conn))

    def StartOAuth(
        self, request: pb.StartOAuthRequest, context: grpc.ServicerContext
    ) -> pb.StartOAuthResponse:
        url, expires_at = connection_setup.start_oauth(
            self.deps,
            call_context(context),
            request.type,
            request.name,
            dict(request.settings),
            request.redirect_uri,
            request.session_binding,
        )
        return pb.StartOAuthResponse(
            authorization_url=url, state_expires_at=to_optional_timestamp(expires_at)
        )

    def CompleteOAuth(
        self, request: pb.CompleteOAuthRequest, context: grpc.ServicerContext
    ) -> pb.CompleteOAuthResponse:
        conn = connection_setup.complete_oauth(
            self.deps, dict(request.callback_params), request.redirect_uri, request.session_binding
        )
        return pb.CompleteOAuthResponse(connection=_connection(conn))

    def GetConnection(
        self, request: pb.GetConnectionRequest, context: grpc.ServicerContext
    ) -> pb.GetConnectionResponse:
        conn = service.get_connection(self.deps, call_context(context), _require_id(request.connection_id))
        return pb.GetConnectionResponse(connection=_connection(conn))

    def ListConnections(
        self, request: pb.ListConnectionsRequest, context: grpc.ServicerContext
    ) -> pb.ListConnectionsResponse:
        conns = service.list_connections(self.deps.uow, call_context(context))
        return pb.ListConnectionsResponse(connections=[_connection(c) for c in conns])

    def DeleteConnection(
        self, request: pb.DeleteConnectionRequest, context: grpc.ServicerContext
    ) -> pb.DeleteConnectionResponse:
        service.delete_connection(self.deps.uow, call_context(context), _require_id(request.connection_id))
        return pb.DeleteConnectionResponse()

    def RequestSync(
        self, request: pb.RequestSyncRequest, context: grpc.ServicerContext
    ) -> pb.RequestSyncResponse:
        scope = _SCOPES.get(request.scope)
        if scope is None:
            raise InvalidArgument("unknown sync scope", violations=[FieldViolation("scope", "unknown value")])
        job_id = service.request_sync(
            self.deps, call_context(context), _require_id(request.connection_id), scope
        )
        return pb.RequestSyncResponse(job_id=job_id)

    def ListListings(
        self, request: pb.ListListingsRequest, context: grpc.ServicerContext
    ) -> pb.ListListingsResponse:
        listings, cursor = listing_mapping.list_listings(
            self.deps.uow,
            call_context(context),
            _require_id(request.connection_id),
            request.page.limit,
            request.page.cursor,
        )
        return pb.ListListingsResponse(
            listings=[_listing(item) for item in listings], page=common_pb2.PageResponse(next_cursor=cursor)
        )

    def PutListing(
        self, request: pb.PutListingRequest, context: grpc.ServicerContext
    ) -> pb.PutListingResponse:
        listing = listing_mapping.put_listing(
            self.deps,
            call_context(context),
            _require_id(request.connection_id),
            request.sku,
            dict(request.external_ids),
        )
        return pb.PutListingResponse(listing=_listing(listing))

    def AutoMapListings(
        self, request: pb.AutoMapListingsRequest, context: grpc.ServicerContext
    ) -> pb.AutoMapListingsResponse:
        result = listing_mapping.auto_map(
            self.deps, call_context(context), _require_id(request.connection_id), list(request.skus)
        )
        return _auto_map(result)

    def StartAutoMap(
        self, request: pb.StartAutoMapRequest, context: grpc.ServicerContext
    ) -> pb.StartAutoMapResponse:
        job_id = jobs.start_auto_map(
            self.deps, call_context(context), _require_id(request.connection_id), list(request.skus)
        )
        return pb.StartAutoMapResponse(job_id=job_id)

    def GetJob(self, request: pb.GetJobRequest, context: grpc.ServicerContext) -> pb.GetJobResponse:
        job = jobs.get_job(self.deps.uow, call_context(context), _require_id(request.job_id, "job_id"))
        return pb.GetJobResponse(job=_job(job))

    def ListSyncLog(
        self, request: pb.ListSyncLogRequest, context: grpc.ServicerContext
    ) -> pb.ListSyncLogResponse:
        entries = service.list_sync_log(
            self.deps.uow, call_context(context), _require_id(request.connection_id), request.limit
        )
        return pb.ListSyncLogResponse(entries=[_entry(e) for e in entries])

    def IngestWebhook(
        self, request: pb.IngestWebhookRequest, context: grpc.ServicerContext
    ) -> pb.IngestWebhookResponse:
        receipt = webhook_intake.ingest_webhook(
            self.deps,
            request.channel_type,
            _require_id(request.connection_id),
            dict(request.headers),
            request.raw_body,
        )
        return pb.IngestWebhookResponse(accepted=receipt.accepted, delivery_id=receipt.delivery_id)

    def SetNotificationSettings(
        self, request: pb.SetNotificationSettingsRequest, context: grpc.ServicerContext
    ) -> pb.SetNotificationSettingsResponse:
        url = service.set_notification_url(self.deps, call_context(context), request.webhook_url)
        return pb.SetNotificationSettingsResponse(webhook_url=url)
