"""Listings of a connection: paging, setting one by hand, and auto-map (match OmniStock SKUs
with what the channel lists, read through ListRemoteProducts page by page, capped). The REST API
runs auto-map as a background job (channels.jobs); `auto_map` is the work itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

from channels import domain, mapping
from channels.deps import (
    ChannelsDeps,
    decode_cursor,
    encode_cursor,
    page_limit,
)
from channels.domain import (
    AutoMapResult,
    Listing,
)
from channels.repository import Repository, UnitOfWork
from omnistock_common.context import CallContext
from omnistock_common.errors import FieldViolation, InvalidArgument, NotFound

log = logging.getLogger(__name__)

REMOTE_PAGE = 250
# Auto-map reads at most this many pages of the channel's catalogue (x REMOTE_PAGE = 50,000
# listings, a few MB in memory); a channel that keeps answering "more" cannot hold the call, its
# thread or its memory. The sync log says when the cap cut the read short.
MAX_REMOTE_PAGES = 200
# Remote SKUs unknown to OmniStock returned by one auto-map (the count is in the sync log).
MAX_UNKNOWN_REMOTE_SKUS = 1000


def list_listings(
    uow: UnitOfWork, ctx: CallContext, connection_id: str, limit: int, cursor: str
) -> tuple[list[Listing], str]:
    size = page_limit(limit)
    after = decode_cursor(cursor)
    with uow.transaction() as repo:
        if repo.get_connection(ctx.tenant_id, connection_id) is None:
            raise NotFound("connection not found")
        rows = repo.list_listings(ctx.tenant_id, connection_id, after, size + 1)
    more = len(rows) > size
    page = rows[:size]
    return page, encode_cursor(page[-1].sku) if more else ""


def put_listing(
    deps: ChannelsDeps, ctx: CallContext, connection_id: str, sku: str, external_ids: Mapping[str, str]
) -> Listing:
    domain.validate_sku(sku)
    ids = domain.validate_external_ids(external_ids)
    now = deps.clock()

    def work(repo: Repository) -> Listing:
        if repo.get_connection(ctx.tenant_id, connection_id) is None:
            raise NotFound("connection not found")
        repo.upsert_listings(ctx.tenant_id, connection_id, [(sku, ids)], now)
        listing = repo.get_listing(ctx.tenant_id, connection_id, sku)
        assert listing is not None
        return listing

    return deps.uow.run(work)


def validate_skus(skus: Sequence[str]) -> None:
    for index, sku in enumerate(skus):
        domain.validate_sku(sku, f"skus[{index}]")


def auto_map(
    deps: ChannelsDeps,
    ctx: CallContext,
    connection_id: str,
    skus: Sequence[str],
    *,
    on_page: Callable[[int], None] | None = None,
) -> AutoMapResult:
    """Match the channel's catalogue to OmniStock SKUs; unmatched SKUs are reported.

    `on_page(products_read)` is called after every page of the channel's catalogue (a job
    records its progress there). Running it again gives the same listings (they are upserted)."""
    stored = deps.caller.load(ctx.tenant_id, connection_id)
    validate_skus(skus)
    if skus:
        omni = list(dict.fromkeys(skus))
    elif deps.catalog is not None:
        omni = list(dict.fromkeys(deps.catalog.all_skus(ctx)))
    else:
        raise InvalidArgument(
            "no catalog is configured: pass the SKUs to map",
            violations=[FieldViolation("skus", "required without a catalog")],
        )
    remote: dict[str, dict[str, str]] = {}
    read = 0
    cursor = ""
    seen: set[str] = set()
    capped = False
    for page in range(MAX_REMOTE_PAGES + 1):
        if page == MAX_REMOTE_PAGES:
            capped = True
            break
        reply = deps.caller.with_connection(
            ctx.tenant_id,
            connection_id,
            "list_remote_products",
            lambda stub, conn, cursor=cursor: stub.ListRemoteProducts(
                mapping.list_remote_products_request(conn, cursor=cursor, limit=REMOTE_PAGE)
            ),
        )
        for product in reply.products:
            # Remote SKUs come back to the tenant: only well-formed ones are considered.
            if domain.is_clean_identifier(product.sku) and product.sku not in remote:
                remote[product.sku] = domain.remote_ids(product.remote.ids)
        read += len(reply.products)
        if on_page is not None:
            on_page(read)
        cursor = reply.next_cursor
        if not cursor or cursor in seen:
            break
        seen.add(cursor)
    omni_set = set(omni)
    matched = [(sku, remote[sku]) for sku in omni if remote.get(sku)]
    unmapped = [sku for sku in omni if not remote.get(sku)]
    unknown = sorted(sku for sku in remote if sku not in omni_set)
    now = deps.clock()
    cut = f"; stopped after {MAX_REMOTE_PAGES} pages of the channel's catalogue" if capped else ""

    def work(repo: Repository) -> None:
        repo.upsert_listings(ctx.tenant_id, connection_id, matched, now)
        repo.add_sync_log(
            ctx.tenant_id,
            connection_id,
            at=now,
            operation="auto_map",
            skus=unmapped[:1000],
            outcome="ok" if not unmapped else "conflict",
            message=(
                f"mapped {len(matched)}; {len(unmapped)} OmniStock SKUs not on "
                f"{stored.connection.type}; {len(unknown)} remote SKUs unknown to OmniStock{cut}"
            ),
            latency_ms=0,
            calls=0,
        )

    deps.uow.run(work)
    return AutoMapResult(len(matched), unmapped, unknown[:MAX_UNKNOWN_REMOTE_SKUS])
