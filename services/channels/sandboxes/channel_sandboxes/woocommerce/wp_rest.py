"""WordPress REST conventions the `wc/v3` routes share: errors, key auth, the call guard, arguments, paging.

Error bodies are `{code, message, data:{status}}`; list responses carry X-WP-Total, X-WP-TotalPages
and Link; `_fields` trims any response (rest_filter_response_fields).
"""

from __future__ import annotations

import hmac
import json
import math
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, request

from channel_sandboxes.common import format_retry_after, json_response
from channel_sandboxes.woocommerce.sandbox import WooConfig, WooSandbox

_DENIED = {
    "list": ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
    "view": ("woocommerce_rest_cannot_view", "Sorry, you cannot view this resource."),
    "edit": ("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource."),
    "create": ("woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."),
    "batch": (
        "woocommerce_rest_cannot_batch",
        "Sorry, you are not allowed to batch manipulate this resource.",
    ),
    "delete": ("woocommerce_rest_cannot_delete", "Sorry, you are not allowed to delete this resource."),
}
_FAULTS = {
    429: ("woocommerce_rest_too_many_requests", "Too many requests. Please slow down."),
    500: ("internal_server_error", "There has been a critical error on this website."),
    502: ("bad_gateway", "Bad gateway."),
    503: ("service_unavailable", "Briefly unavailable for scheduled maintenance. Check back in a minute."),
    504: ("gateway_timeout", "Gateway timeout."),
}
ORDERBY_POSTS = {"date", "id", "include", "title", "slug", "modified"}

Handler = Callable[..., Response]


class WooError(Exception):
    """A WP REST error: rendered as `{code, message, data:{status, ...}}`."""

    def __init__(self, code: str, message: str, status: int, **data: Any) -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.data = code, message, status, data

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": {"status": self.status, **self.data}}

    def item_error(self) -> dict[str, Any]:
        """The `error` of a failed batch item (no extra data, as WC_REST_Controller::batch_items)."""
        return {"code": self.code, "message": self.message, "data": {"status": self.status}}

    def response(self) -> Response:
        return json_response(self.body(), self.status)


def invalid_param(name: str, message: str, code: str = "rest_invalid_param") -> WooError:
    """WordPress's argument-validation error (schema checks on a single request)."""
    return WooError(
        "rest_invalid_param",
        f"Invalid parameter(s): {name}",
        400,
        params={name: message},
        details={name: {"code": code, "message": message, "data": None}},
    )


def register_rest_conventions(app: Flask) -> None:
    """WooError as its JSON body, and `_fields` trimming of successful `/wp-json/` responses."""

    @app.errorhandler(WooError)
    def woo_error(exc: WooError) -> Response:
        return exc.response()

    @app.after_request
    def limit_fields(response: Response) -> Response:
        """WordPress's `_fields` (rest_filter_response_fields): trim successful REST responses."""
        wanted = [f.strip() for f in request.args.get("_fields", "").split(",") if f.strip()]
        if not wanted or not request.path.startswith("/wp-json/") or response.status_code >= 300:
            return response
        payload = response.get_json(silent=True)
        if isinstance(payload, list):
            payload = [_pick(item, wanted) for item in payload]
        elif isinstance(payload, dict):
            payload = _pick(payload, wanted)
        else:
            return response
        response.set_data(json.dumps(payload, separators=(",", ":")))
        return response


def _pick(item: Any, wanted: list[str]) -> Any:
    """Keep only the requested (possibly dotted, nested) fields of one object."""
    if not isinstance(item, dict):
        return item
    out: dict[str, Any] = {}
    for path in wanted:
        head, _, rest = path.partition(".")
        if head not in item:
            continue
        if rest and isinstance(item[head], dict):
            merged = out.get(head) if isinstance(out.get(head), dict) else {}
            out[head] = {**merged, **_pick(item[head], [rest])}
        else:
            out[head] = item[head]
    return out


def rest_body() -> dict[str, Any]:
    """A JSON object body, else the form fields (WP accepts both)."""
    data = request.get_json(silent=True)
    if isinstance(data, dict):
        return data
    return dict(request.form) if request.form else {}


def authenticate(cfg: WooConfig, permission: str) -> WooError | None:
    """WC_REST_Authentication for HTTPS: query-string keys first, then HTTP Basic."""
    key = request.args.get("consumer_key", "")
    secret = request.args.get("consumer_secret", "")
    if not (key and secret) and request.authorization and request.authorization.type == "basic":
        key = request.authorization.username or ""
        secret = request.authorization.password or ""
    if key and secret and hmac.compare_digest(key, cfg.consumer_key):
        if hmac.compare_digest(secret, cfg.consumer_secret):
            return None
        return WooError("woocommerce_rest_authentication_error", "Consumer secret is invalid.", 401)
    code, message = _DENIED[permission]
    return WooError(code, message, 401)


def api_guard(sandbox: WooSandbox) -> Callable[[str, str], Callable[[Handler], Handler]]:
    """`@api(operation, permission)`: count the call, apply an armed fault, then authenticate."""

    def api(operation: str, permission: str) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            @wraps(handler)
            def wrapper(**kwargs: Any) -> Response:
                sandbox.stats.record([operation])
                fault = sandbox.faults.take([operation])
                if fault is not None:
                    sandbox.stats.bump("throttled" if fault.kind == "throttle" else "faulted")
                    code, message = _FAULTS.get(fault.status, ("rest_error", "Error."))
                    headers = {}
                    if fault.retry_after is not None:
                        headers["Retry-After"] = format_retry_after(fault.retry_after)
                    return json_response(
                        {"code": code, "message": message, "data": {"status": fault.status}},
                        fault.status,
                        headers,
                    )
                denied = authenticate(sandbox.config, permission)
                if denied is not None:
                    sandbox.stats.bump("unauthorized")
                    return denied.response()
                return handler(**kwargs)

            return wrapper

        return decorate

    return api


# ---------------------------------------------------------------------- query arguments


def int_arg(name: str, default: int, low: int, high: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_param(name, f"{name} is not of type integer.", "rest_invalid_type") from None
    if value < low or (high is not None and value > high):
        bounds = (
            f"between {low} (inclusive) and {high} (inclusive)" if high else f"greater than or equal to {low}"
        )
        raise invalid_param(name, f"{name} must be {bounds}", "rest_out_of_bounds")
    return value


def date_arg(name: str) -> datetime | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise invalid_param(name, "Invalid date.", "rest_invalid_date") from None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def date_filters(items: list[Any]) -> list[Any]:
    """WP date_query bounds are exclusive: `after`/`modified_after` mean strictly later."""
    bounds = {
        "after": ("date_created", 1),
        "before": ("date_created", -1),
        "modified_after": ("date_modified", 1),
        "modified_before": ("date_modified", -1),
    }
    for name, (attribute, sign) in bounds.items():
        moment = date_arg(name)
        if moment is None:
            continue
        if sign > 0:
            items = [i for i in items if getattr(i, attribute) > moment]
        else:
            items = [i for i in items if getattr(i, attribute) < moment]
    return items


def include_filter(items: list[Any]) -> list[Any]:
    """`include=1,2,3`: only those ids (ignored when empty)."""
    include = {int(i) for i in request.args.get("include", "").split(",") if i.strip().isdigit()}
    return [i for i in items if i.id in include] if include else items


def sku_include_filter(items: list[Any]) -> list[Any]:
    """`sku=A,B` (exact SKUs) and `include=`, as products and variations take them."""
    skus = [s for s in request.args.get("sku", "").split(",") if s]
    if skus:
        items = [p for p in items if p.sku in skus]
    return include_filter(items)


def ordered(items: list[Any], default: str, allowed: set[str]) -> list[Any]:
    orderby = request.args.get("orderby", default)
    if orderby not in allowed:
        raise invalid_param(
            "orderby", f"orderby is not one of {', '.join(sorted(allowed))}.", "rest_not_in_enum"
        )
    direction = request.args.get("order", "desc")
    if direction not in ("asc", "desc"):
        raise invalid_param("order", "order is not one of asc and desc.", "rest_not_in_enum")
    getters: dict[str, Callable[[Any], Any]] = {
        "date": lambda o: o.date_created,
        "modified": lambda o: o.date_modified,
        "id": lambda o: o.id,
        "include": lambda o: o.id,
        "title": lambda o: getattr(o, "name", ""),
        "slug": lambda o: getattr(o, "name", "").lower(),
    }
    getter = getters[orderby]
    # Ties broken by id so pages are stable (WordPress leaves them to the database).
    return sorted(items, key=lambda o: (getter(o), o.id), reverse=direction == "desc")


def paged(
    items: list[Any], render: Callable[[Any], dict[str, Any]], lock: AbstractContextManager[Any]
) -> Response:
    """One page of `items` (`page`, `per_page` 1-100, `offset`) with WordPress's paging headers."""
    page = int_arg("page", 1, 1)
    per_page = int_arg("per_page", 10, 1, 100)
    offset = request.args.get("offset")
    start = int(offset) if offset and offset.isdigit() else (page - 1) * per_page
    total = len(items)
    pages = math.ceil(total / per_page) if total else 0
    with lock:
        rendered = [render(i) for i in items[start : start + per_page]]
    headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
    links = []
    params = {k: v for k, v in request.args.items() if k not in ("page",)}
    if page > 1 and pages:
        links.append(
            f'<{request.base_url}?{urlencode({**params, "page": min(page - 1, pages)})}>; rel="prev"'
        )
    if page < pages:
        links.append(f'<{request.base_url}?{urlencode({**params, "page": page + 1})}>; rel="next"')
    if links:
        headers["Link"] = ", ".join(links)
    return json_response(rendered, 200, headers)


# ---------------------------------------------------------------------- value coercion


def truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)


def int_or_zero(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
