"""gRPC adapter: mapping in -> one service call -> mapping out (channels/mapping.py). No SQL,
no rules and no field-by-field conversion here."""

from __future__ import annotations

import grpc

from channels import (
    catalog_import,
    connection_setup,
    jobs,
    listing_mapping,
    publishing,
    service,
    webhook_intake,
)
from channels import mapping as m
from channels import publish_mapping as pm
from channels.deps import ChannelsDeps
from omnistock.channels.v1 import channels_service_pb2 as pb
from omnistock.channels.v1 import channels_service_pb2_grpc as pb_grpc
from omnistock_common.context import call_context

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ChannelsService"].full_name
# Called by channels (through the gateway) with no tenant: the connection / the signed state
# identifies it.
TENANTLESS_METHODS = frozenset(
    {
        f"/{SERVICE_NAME}/IngestWebhook",
        f"/{SERVICE_NAME}/AnswerWebhookChallenge",
        f"/{SERVICE_NAME}/CompleteOAuth",
        f"/{SERVICE_NAME}/ListChannelTypes",
    }
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
        "ListProductListings",
        "GetOwnedFields",
    )
)
MANAGE_METHODS = frozenset(
    f"/{SERVICE_NAME}/{name}"
    for name in (
        "CreateConnection",
        "StartOAuth",
        "DeleteConnection",
        "SetNotificationSettings",
        "UpdateConnectionSettings",
    )
)


class ChannelsServicer(pb_grpc.ChannelsServiceServicer):
    def __init__(self, deps: ChannelsDeps) -> None:
        self.deps = deps

    def ListChannelTypes(
        self, request: pb.ListChannelTypesRequest, context: grpc.ServicerContext
    ) -> pb.ListChannelTypesResponse:
        return m.channel_types_out(service.list_channel_types())

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
        return pb.CreateConnectionResponse(connection=m.connection_out(conn))

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
        return m.start_oauth_out(url, expires_at)

    def CompleteOAuth(
        self, request: pb.CompleteOAuthRequest, context: grpc.ServicerContext
    ) -> pb.CompleteOAuthResponse:
        conn = connection_setup.complete_oauth(
            self.deps, dict(request.callback_params), request.redirect_uri, request.session_binding
        )
        return pb.CompleteOAuthResponse(connection=m.connection_out(conn))

    def GetConnection(
        self, request: pb.GetConnectionRequest, context: grpc.ServicerContext
    ) -> pb.GetConnectionResponse:
        conn = service.get_connection(self.deps, call_context(context), m.required_id(request.connection_id))
        return pb.GetConnectionResponse(connection=m.connection_out(conn))

    def ListConnections(
        self, request: pb.ListConnectionsRequest, context: grpc.ServicerContext
    ) -> pb.ListConnectionsResponse:
        conns = service.list_connections(self.deps.uow, call_context(context))
        return pb.ListConnectionsResponse(connections=[m.connection_out(c) for c in conns])

    def UpdateConnectionSettings(
        self, request: pb.UpdateConnectionSettingsRequest, context: grpc.ServicerContext
    ) -> pb.UpdateConnectionSettingsResponse:
        conn = service.update_connection_settings(
            self.deps,
            call_context(context),
            m.required_id(request.connection_id),
            dict(request.settings),
            list(request.remove),
        )
        return pb.UpdateConnectionSettingsResponse(connection=m.connection_out(conn))

    def DeleteConnection(
        self, request: pb.DeleteConnectionRequest, context: grpc.ServicerContext
    ) -> pb.DeleteConnectionResponse:
        service.delete_connection(self.deps.uow, call_context(context), m.required_id(request.connection_id))
        return pb.DeleteConnectionResponse()

    def RequestSync(
        self, request: pb.RequestSyncRequest, context: grpc.ServicerContext
    ) -> pb.RequestSyncResponse:
        scope = m.sync_scope_in(request.scope)
        job_id = service.request_sync(
            self.deps, call_context(context), m.required_id(request.connection_id), scope
        )
        return pb.RequestSyncResponse(job_id=job_id)

    def ListListings(
        self, request: pb.ListListingsRequest, context: grpc.ServicerContext
    ) -> pb.ListListingsResponse:
        listings, cursor = listing_mapping.list_listings(
            self.deps.uow,
            call_context(context),
            m.required_id(request.connection_id),
            request.page.limit,
            request.page.cursor,
        )
        return m.listings_page_out(listings, cursor)

    def PutListing(
        self, request: pb.PutListingRequest, context: grpc.ServicerContext
    ) -> pb.PutListingResponse:
        listing = listing_mapping.put_listing(
            self.deps,
            call_context(context),
            m.required_id(request.connection_id),
            request.sku,
            dict(request.external_ids),
        )
        return pb.PutListingResponse(listing=m.listing_out(listing))

    def AutoMapListings(
        self, request: pb.AutoMapListingsRequest, context: grpc.ServicerContext
    ) -> pb.AutoMapListingsResponse:
        result = listing_mapping.auto_map(
            self.deps, call_context(context), m.required_id(request.connection_id), list(request.skus)
        )
        return m.auto_map_out(result)

    def StartAutoMap(
        self, request: pb.StartAutoMapRequest, context: grpc.ServicerContext
    ) -> pb.StartAutoMapResponse:
        job_id = jobs.start_auto_map(
            self.deps, call_context(context), m.required_id(request.connection_id), list(request.skus)
        )
        return pb.StartAutoMapResponse(job_id=job_id)

    def StartCatalogImport(
        self, request: pb.StartCatalogImportRequest, context: grpc.ServicerContext
    ) -> pb.StartCatalogImportResponse:
        job_id = catalog_import.start_catalog_import(
            self.deps,
            call_context(context),
            m.required_id(request.connection_id),
            m.catalog_import_params_in(request),
        )
        return pb.StartCatalogImportResponse(job_id=job_id)

    def GetJob(self, request: pb.GetJobRequest, context: grpc.ServicerContext) -> pb.GetJobResponse:
        job = jobs.get_job(self.deps.uow, call_context(context), m.required_id(request.job_id, "job_id"))
        return pb.GetJobResponse(job=m.job_out(job))

    def PublishListings(
        self, request: pb.PublishListingsRequest, context: grpc.ServicerContext
    ) -> pb.PublishListingsResponse:
        job_id = publishing.start_publish(
            self.deps,
            call_context(context),
            m.required_id(request.connection_id),
            list(request.skus),
            list(request.product_ids),
        )
        return pb.PublishListingsResponse(job_id=job_id)

    def ListProductListings(
        self, request: pb.ListProductListingsRequest, context: grpc.ServicerContext
    ) -> pb.ListProductListingsResponse:
        listings = publishing.product_listings(
            self.deps,
            call_context(context),
            connection_id=request.connection_id,
            product_ids=[request.product_id] if request.product_id else [],
        )
        return pb.ListProductListingsResponse(listings=[pm.product_listing_out(item) for item in listings])

    def GetOwnedFields(
        self, request: pb.GetOwnedFieldsRequest, context: grpc.ServicerContext
    ) -> pb.GetOwnedFieldsResponse:
        owned = publishing.owned_fields(
            self.deps, call_context(context), m.required_id(request.connection_id)
        )
        return pb.GetOwnedFieldsResponse(owned_fields=owned)

    def SetOwnedFields(
        self, request: pb.SetOwnedFieldsRequest, context: grpc.ServicerContext
    ) -> pb.SetOwnedFieldsResponse:
        owned = publishing.set_owned_fields(
            self.deps, call_context(context), m.required_id(request.connection_id), list(request.owned_fields)
        )
        return pb.SetOwnedFieldsResponse(owned_fields=owned)

    def ListSyncLog(
        self, request: pb.ListSyncLogRequest, context: grpc.ServicerContext
    ) -> pb.ListSyncLogResponse:
        entries = service.list_sync_log(
            self.deps.uow, call_context(context), m.required_id(request.connection_id), request.limit
        )
        return m.sync_log_out(entries)

    def IngestWebhook(
        self, request: pb.IngestWebhookRequest, context: grpc.ServicerContext
    ) -> pb.IngestWebhookResponse:
        receipt = webhook_intake.ingest_webhook(
            self.deps,
            request.channel_type,
            m.required_id(request.connection_id),
            dict(request.headers),
            request.raw_body,
        )
        return m.webhook_receipt_out(receipt)

    def AnswerWebhookChallenge(
        self, request: pb.AnswerWebhookChallengeRequest, context: grpc.ServicerContext
    ) -> pb.AnswerWebhookChallengeResponse:
        answer = webhook_intake.answer_webhook_challenge(
            self.deps,
            request.channel_type,
            m.required_id(request.connection_id),
            dict(request.query),
            request.endpoint_url,
        )
        return m.challenge_answer_out(answer)

    def SetNotificationSettings(
        self, request: pb.SetNotificationSettingsRequest, context: grpc.ServicerContext
    ) -> pb.SetNotificationSettingsResponse:
        url = service.set_notification_url(self.deps, call_context(context), request.webhook_url)
        return pb.SetNotificationSettingsResponse(webhook_url=url)
