"""Publishing products from OmniStock to a channel: the publish job, where each product is
published and how it fares, and which product fields OmniStock owns on the channel."""

from __future__ import annotations

from gateway import channels_schemas as s
from gateway.api import RouteGroup
from gateway.domain import Permission
from gateway.mapping import channels as m
from gateway.routes.channels.client import channels
from omnistock.channels.v1 import channels_service_pb2 as pb

routes = RouteGroup()


@routes.route(
    "POST",
    "/channels/<connection_id>/listings/publish",
    summary="Publish products to the channel (a background job)",
    permission=Permission.CHANNELS_WRITE,
    body=s.PublishIn,
    response=s.JobOut,
    status=202,
    problems=(429, 503),
)
def publish(connection_id: str, body: s.PublishIn) -> s.JobOut:
    """Creates each product (named, or by any of its SKUs) on the channel with its variants and
    its channel prices, or updates it when it is there already; maps the SKUs and pushes their
    stock. `GET /jobs/{job_id}` shows `result: {published, rejected: [{product_id, error}],
    waiting, not_found}`: a product the channel refuses does not stop the others. Later edits of
    a published product in OmniStock reach the channel by themselves."""
    request_pb = pb.PublishListingsRequest(
        connection_id=connection_id, skus=body.skus, product_ids=body.product_ids
    )
    return s.JobOut(job_id=channels().PublishListings(request_pb).job_id)


@routes.route(
    "GET",
    "/channels/<connection_id>/products",
    summary="Products published to the channel and how each fares",
    permission=Permission.CHANNELS_READ,
    response=s.ProductListingList,
)
def published_products(connection_id: str) -> s.ProductListingList:
    """`state`: pending (on its way), published, error (`last_error` has the channel's words;
    the next edit tries again) or archived."""
    reply = channels().ListProductListings(pb.ListProductListingsRequest(connection_id=connection_id))
    return m.product_listings_out(reply)


@routes.route(
    "GET",
    "/products/<product_id>/channels",
    summary="Where a product is published and how it fares on each channel",
    permission=Permission.CHANNELS_READ,
    response=s.ProductListingList,
)
def product_channels(product_id: str) -> s.ProductListingList:
    reply = channels().ListProductListings(pb.ListProductListingsRequest(product_id=product_id))
    return m.product_listings_out(reply)


@routes.route(
    "GET",
    "/channels/<connection_id>/owned-fields",
    summary="The product fields OmniStock writes on this channel",
    permission=Permission.CHANNELS_READ,
    response=s.OwnedFieldsOut,
)
def get_owned_fields(connection_id: str) -> s.OwnedFieldsOut:
    reply = channels().GetOwnedFields(pb.GetOwnedFieldsRequest(connection_id=connection_id))
    return s.OwnedFieldsOut(owned_fields=list(reply.owned_fields))


@routes.route(
    "PUT",
    "/channels/<connection_id>/owned-fields",
    summary="Choose the product fields OmniStock writes on this channel",
    permission=Permission.CHANNELS_WRITE,
    body=s.OwnedFieldsIn,
    response=s.OwnedFieldsOut,
)
def put_owned_fields(connection_id: str, body: s.OwnedFieldsIn) -> s.OwnedFieldsOut:
    """Default: all of title, description, status, images, options, variants, prices. A field
    left out keeps what the merchant writes on the channel (e.g. a channel-specific title)."""
    request_pb = pb.SetOwnedFieldsRequest(connection_id=connection_id, owned_fields=body.owned_fields)
    return s.OwnedFieldsOut(owned_fields=list(channels().SetOwnedFields(request_pb).owned_fields))
