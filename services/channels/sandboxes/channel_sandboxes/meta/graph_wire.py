"""Graph API conventions the Meta sandbox's routes share: parameters in query/form/JSON, JSON
parameters, `fields`, cursor paging (data + paging.cursors + paging.next), the "no such object"
error and Graph's money objects."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from flask import request

from channel_sandboxes.common import decode_cursor, encode_cursor
from channel_sandboxes.meta.sandbox import MetaSandbox
from channel_sandboxes.meta.state import GraphFault, Order


def params() -> dict[str, Any]:
    """Query, form and JSON body merged (Graph takes parameters in any of them); JSON-looking
    strings stay strings (callers parse the ones they expect)."""
    merged: dict[str, Any] = dict(request.args.items())
    merged.update(request.form.items())
    body = request.get_json(silent=True)
    if isinstance(body, dict):
        merged.update(body)
    return merged


def json_param(value: Any, name: str) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise GraphFault(f"(#100) Param {name} must be valid JSON") from None
    return value


def fields(default: str) -> list[str]:
    return [f.strip() for f in str(request.args.get("fields") or default).split(",") if f.strip()]


def paged(rows: list[dict[str, Any]], path: str, default_limit: int = 25) -> dict[str, Any]:
    """Cursor paging as Graph does it: data, paging.cursors.before/after, paging.next when more."""
    try:
        limit = max(1, min(int(request.args.get("limit") or default_limit), 500))
    except ValueError:
        raise GraphFault("(#100) Param limit must be an integer") from None
    start = 0
    after = request.args.get("after")
    if after:
        decoded = decode_cursor(after)
        if not decoded or not isinstance(decoded[0], int):
            raise GraphFault("(#100) The after cursor is invalid")
        start = decoded[0]
    chunk = rows[start : start + limit]
    body: dict[str, Any] = {"data": chunk}
    if chunk:
        body["paging"] = {
            "cursors": {"before": encode_cursor(start), "after": encode_cursor(start + len(chunk))}
        }
        if start + len(chunk) < len(rows):
            query = {k: v for k, v in request.args.items() if k not in ("after", "access_token")}
            query["after"] = encode_cursor(start + len(chunk))
            body["paging"]["next"] = f"{request.host_url.rstrip('/')}{path}?{urlencode(query)}"
    return body


def no_object(node_id: str) -> GraphFault:
    return GraphFault(
        f"Unsupported get request. Object with ID '{node_id}' does not exist, cannot be loaded due to missing "
        "permissions, or does not support this operation.",
        100,
        subcode=33,
    )


def catalog(sandbox: MetaSandbox, node_id: str) -> str:
    if node_id not in sandbox.state.catalogs():
        raise no_object(node_id)
    return node_id


def order_of(sandbox: MetaSandbox, node_id: str) -> Order:
    order = sandbox.state.orders.get(node_id)
    if order is None:
        raise no_object(node_id)
    return order


def iso(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(moment))


def money(amount: Decimal | str, currency: str) -> dict[str, str]:
    return {"amount": f"{Decimal(amount):.2f}", "currency": currency}
