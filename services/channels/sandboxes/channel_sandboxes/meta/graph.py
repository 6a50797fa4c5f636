"""The Graph API v25.0 routes the Meta connector uses, plus the Login dialog and token endpoint.

Real paths under /v25.0 (CHANNELS.md 3), the Graph error envelope, bearer or access_token
parameter, token expiry (190/463), items_batch limits (5,000 requests, 28 MB) with handles that
are in progress on the first poll(s) and finished later, cursor paging, and idempotent order
actions. Every API call is counted and may be faulted/throttled (control.py arms both).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, redirect, request

from channel_sandboxes.common import format_retry_after, json_response
from channel_sandboxes.meta import orders
from channel_sandboxes.meta.graph_wire import catalog, fields, json_param, no_object, paged, params
from channel_sandboxes.meta.sandbox import API_VERSION, MetaSandbox
from channel_sandboxes.meta.state import (
    BUSINESS_ID,
    CATALOG_ID,
    CMS_ID,
    INSTAGRAM_ID,
    PAGE_ID,
    SHORT_TOKEN_SECONDS,
    USER_ID,
    Batch,
    GraphFault,
    Item,
)

V = f"/{API_VERSION}"
MAX_BATCH_REQUESTS = 5000
MAX_BATCH_BYTES = 28 * 1024 * 1024
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


def register_graph_routes(app: Flask, sandbox: MetaSandbox) -> None:
    st = sandbox.state
    cfg = sandbox.config

    @app.errorhandler(GraphFault)
    def graph_fault(fault: GraphFault) -> Response:
        return json_response(fault.body(), fault.status)

    def api(
        operation: str, *, auth: bool = True
    ) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
        """Count the call, answer an armed fault or throttle, check the token, then run the route."""

        def wrap(view: Callable[..., Response]) -> Callable[..., Response]:
            def guarded(**kwargs: Any) -> Response:
                sandbox.stats.record([operation])
                fault = sandbox.faults.take([operation])
                if fault is not None:
                    sandbox.stats.bump("throttled" if fault.kind == "throttle" else "faulted")
                    headers = (
                        {"Retry-After": format_retry_after(fault.retry_after)}
                        if fault.retry_after is not None
                        else {}
                    )
                    code = 4 if fault.status == 429 else 2
                    body = GraphFault(
                        "Sandbox fault" if code == 2 else "(#4) Application request limit reached",
                        code,
                        status=fault.status,
                    ).body()
                    return json_response(body, fault.status, headers)
                with st.lock:
                    if st.throttle_left > 0:
                        st.throttle_left -= 1
                        sandbox.stats.bump("throttled")
                        usage = {
                            BUSINESS_ID: [
                                {
                                    "type": "catalog_batch",
                                    "call_count": 100,
                                    "total_cputime": 30,
                                    "total_time": 40,
                                    "estimated_time_to_regain_access": st.throttle_minutes,
                                }
                            ]
                        }
                        headers = {
                            "X-Business-Use-Case-Usage": json.dumps(usage),
                            "X-App-Usage": json.dumps(
                                {"call_count": 100, "total_cputime": 30, "total_time": 40}
                            ),
                        }
                        body = GraphFault(
                            f"(#{st.throttle_code}) User request limit reached",
                            st.throttle_code,
                            kind="OAuthException",
                        ).body()
                        return json_response(body, 400, headers)
                    if auth:
                        header = request.headers.get("Authorization", "")
                        token = (
                            header[7:].strip()
                            if header.lower().startswith("bearer ")
                            else str(
                                request.args.get("access_token") or request.form.get("access_token") or ""
                            )
                        )
                        st.check_token(token)
                    return view(**kwargs)

            guarded.__name__ = f"graph_{view.__name__}"
            return guarded

        return wrap

    # -- Login ------------------------------------------------------------------------------------

    @app.get(f"{V}/dialog/oauth")
    def dialog() -> Response:
        """The consent dialog, auto-approved: 302 to redirect_uri with code and state."""
        args = request.args
        if args.get("client_id") != cfg.app_id:
            return json_response({"error": "Invalid App ID"}, 400)
        redirect_uri = args.get("redirect_uri", "")
        if not redirect_uri.startswith(("http://", "https://")):
            return json_response({"error": "redirect_uri is required"}, 400)
        with st.lock:
            code = st.issue_code(redirect_uri, str(args.get("scope") or "").split(","))
        separator = "&" if "?" in redirect_uri else "?"
        return redirect(
            f"{redirect_uri}{separator}{urlencode({'code': code, 'state': args.get('state', '')})}", 302
        )

    @app.get(f"{V}/oauth/access_token")
    @api("oauth_access_token", auth=False)
    def access_token() -> Response:
        args = request.args
        if args.get("client_id") != cfg.app_id or args.get("client_secret") != cfg.app_secret:
            raise GraphFault("Error validating client secret.", 1)
        with st.lock:
            if args.get("grant_type") == "fb_exchange_token":
                st.check_token(str(args.get("fb_exchange_token") or ""))
                token = st.issue_user_token(long_lived=True)
                return json_response(
                    {"access_token": token.value, "token_type": "bearer", "expires_in": int(st.long_lifetime)}
                )
            code = st.codes.get(str(args.get("code") or ""))
            if code is None:
                raise GraphFault("Invalid verification code format.", 100, subcode=36009)
            if code.used:
                raise GraphFault("This authorization code has been used.", 100, subcode=36009)
            if code.redirect_uri != args.get("redirect_uri"):
                raise GraphFault(
                    "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request",
                    100,
                    subcode=36008,
                )
            code.used = True
            token = st.issue_user_token(long_lived=False)
            return json_response(
                {"access_token": token.value, "token_type": "bearer", "expires_in": SHORT_TOKEN_SECONDS}
            )

    # -- the user's assets ---------------------------------------------------------------------------

    @app.get(f"{V}/me")
    @api("me")
    def me() -> Response:
        return json_response({"id": USER_ID, "name": "Sandbox Merchant"})

    @app.get(f"{V}/me/businesses")
    @api("businesses")
    def businesses() -> Response:
        return json_response(paged([{"id": BUSINESS_ID, "name": "Sandbox Business"}], request.path))

    @app.get(f"{V}/me/accounts")
    @api("accounts")
    def accounts() -> Response:
        page: dict[str, Any] = {"id": PAGE_ID, "name": "Sandbox Shop Page", "access_token": st.page_token}
        if "instagram_business_account" in fields("id,name") and st.instagram_account:
            page["instagram_business_account"] = {"id": INSTAGRAM_ID}
        return json_response(paged([page], request.path))

    @app.get(f"{V}/<node_id>/<edge>")
    @api("edge_get")
    def edge(node_id: str, edge: str) -> Response:
        with st.lock:
            handler = _GET_EDGES.get(edge)
            if handler is None:
                raise GraphFault(f"(#100) Tried accessing nonexisting field ({edge}) on node type", 100)
            return handler(sandbox, node_id)

    @app.get(f"{V}/<node_id>")
    @api("node_get")
    def node(node_id: str) -> Response:
        with st.lock:
            if node_id in st.catalogs():
                return json_response({"id": node_id, "name": st.catalogs()[node_id]})
            order = st.orders.get(node_id)
            if order is not None:
                return json_response(orders.order_json(order))
            raise no_object(node_id)

    @app.post(f"{V}/<node_id>/<edge>")
    @api("edge_post")
    def edge_post(node_id: str, edge: str) -> Response:
        with st.lock:
            handler = _POST_EDGES.get(edge)
            if handler is None:
                raise GraphFault(f"(#100) Unsupported post request on edge {edge}", 100)
            return handler(sandbox, node_id)


def _owned_catalogs(sandbox: MetaSandbox, node_id: str) -> Response:
    if node_id != BUSINESS_ID:
        raise no_object(node_id)
    return json_response(
        paged([{"id": i, "name": n} for i, n in sandbox.state.catalogs().items()], request.path)
    )


def _merchant_settings(sandbox: MetaSandbox, node_id: str) -> Response:
    if node_id != PAGE_ID:
        raise no_object(node_id)
    rows = [{"id": CMS_ID, "display_name": "Sandbox Shop"}] if sandbox.state.onsite_checkout else []
    return json_response(paged(rows, request.path))


def _price_text(amount: str, currency: str) -> str:
    symbol = SYMBOLS.get(currency)
    return f"{symbol}{amount}" if symbol else f"{amount} {currency}"


def _item_json(item: Item, fields: list[str]) -> dict[str, Any]:
    """ProductItem fields (SDK adobjects/productitem.py): the feed's title/link/image_link read back
    as name/url/image_url, item_group_id as retailer_product_group_id."""
    extra = [u.strip() for u in item.additional_image_link.split(",") if u.strip()]
    full = {
        "id": item.id,
        "retailer_id": item.retailer_id,
        "retailer_product_group_id": item.product_group,
        "name": item.name,
        "description": item.description,
        "brand": item.brand,
        "inventory": item.inventory,
        "price": _price_text(item.price, item.currency),
        "sale_price": _price_text(item.sale_price, item.currency) if item.sale_price else "",
        "currency": item.currency,
        "availability": item.availability,
        "condition": item.condition,
        "image_url": item.image_link,
        "additional_image_urls": extra,
        "url": item.link,
        "visibility": item.visibility,
        "color": item.color,
        "size": item.size,
        "gtin": item.gtin,
    }
    return {k: v for k, v in full.items() if k in fields or k == "id"}


def _products(sandbox: MetaSandbox, node_id: str) -> Response:
    if catalog(sandbox, node_id) != CATALOG_ID:
        return json_response({"data": []})
    items = sorted(sandbox.state.items.values(), key=lambda i: int(i.id))
    raw_filter = request.args.get("filter")
    if raw_filter:
        field, wanted = _filter_rule(json_param(raw_filter, "filter"))
        items = [i for i in items if (i.retailer_id if field == "retailer_id" else i.product_group) in wanted]
    wanted_fields = fields("id")
    return json_response(paged([_item_json(i, wanted_fields) for i in items], request.path))


def _filter_rule(rule: Any) -> tuple[str, set[str]]:
    """A product-set rule on retailer_id or retailer_product_group_id (is_any or eq)."""
    for field in ("retailer_id", "retailer_product_group_id"):
        condition = rule.get(field) if isinstance(rule, dict) else None
        if isinstance(condition, dict):
            if isinstance(condition.get("is_any"), list):
                return field, {str(v) for v in condition["is_any"]}
            if "eq" in condition:
                return field, {str(condition["eq"])}
    raise GraphFault(
        "(#100) filter must be a product set rule on retailer_id or retailer_product_group_id (is_any or eq)"
    )


def _batch_status(sandbox: MetaSandbox, node_id: str) -> Response:
    catalog(sandbox, node_id)
    batch = sandbox.state.batches.get(str(request.args.get("handle") or ""))
    if batch is None or batch.catalog_id != node_id:
        raise GraphFault("(#100) Invalid handle", 100)
    batch.polls += 1
    finished = batch.polls > sandbox.state.polls_to_finish
    entry: dict[str, Any] = {
        "handle": batch.handle,
        "status": "finished" if finished else "in_progress",
        "errors_total_count": len(batch.errors) if finished else 0,
        "errors": batch.errors if finished else [],
        "warnings_total_count": 0,
        "warnings": [],
    }
    if finished and str(request.args.get("load_ids_of_invalid_requests") or "").lower() == "true":
        entry["ids_of_invalid_requests"] = batch.invalid
    return json_response({"data": [entry]})


def _items_batch(sandbox: MetaSandbox, node_id: str) -> Response:
    st = sandbox.state
    if catalog(sandbox, node_id) != CATALOG_ID:
        raise GraphFault("(#100) The sandbox's extra catalogs are read-only")
    if (request.content_length or 0) > MAX_BATCH_BYTES:
        raise GraphFault("(#100) The request payload is larger than 28 MB", 100, status=413)
    args = params()
    if args.get("item_type") != "PRODUCT_ITEM":
        raise GraphFault("(#100) item_type must be PRODUCT_ITEM")
    requests = json_param(args.get("requests"), "requests")
    if not isinstance(requests, list) or not requests:
        raise GraphFault("(#100) requests must be a non-empty array")
    if len(requests) > MAX_BATCH_REQUESTS:
        raise GraphFault(f"(#100) requests can have at most {MAX_BATCH_REQUESTS} entries")
    allow_upsert = str(args.get("allow_upsert", "true")).lower() != "false"
    batch_handle = "AcS" + st.new_id()
    batch = Batch(batch_handle, node_id)
    for line, entry in enumerate(requests, start=1):
        problem = st.apply_request(entry, allow_upsert)
        if problem:
            retailer_id = str((entry.get("data") or {}).get("id") or "") if isinstance(entry, dict) else ""
            batch.errors.append({"line": line, "id": retailer_id, "message": problem})
            if retailer_id:
                batch.invalid.append(retailer_id)
    st.batches[batch_handle] = batch
    return json_response({"handles": [batch_handle]})


_GET_EDGES: dict[str, Callable[[MetaSandbox, str], Response]] = {
    "owned_product_catalogs": _owned_catalogs,
    "commerce_merchant_settings": _merchant_settings,
    "products": _products,
    "check_batch_request_status": _batch_status,
    "commerce_orders": orders.list_orders,
    "items": orders.order_items,
    "cancellations": orders.order_cancellations,
    "shipments": orders.order_shipments,
}
_POST_EDGES: dict[str, Callable[[MetaSandbox, str], Response]] = {
    "items_batch": _items_batch,
    "acknowledge_order": orders.acknowledge,
    "shipments": orders.ship,
    "cancellations": orders.cancel,
}
