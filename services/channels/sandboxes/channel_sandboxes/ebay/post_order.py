"""Post-Order API v2 seller cancellation in the eBay sandbox: `POST /post-order/v2/cancellation`
(https://developer.ebay.com/DevZone/post-order/post-order_v2_cancellation__post.html).

Authorization "IAF <OAuth user token>" (a Bearer header is refused as an invalid token) and
X-EBAY-C-MARKETPLACE-ID are required. Body {legacyOrderId, cancelReason}. An eligible order is
cancelled at once (a seller-initiated cancellation needs nobody's approval): 201 {cancelId,
orderEligibilityResult{eligible: true}}. A shipped or already cancelled order is not eligible: 200
without cancelId, orderEligibilityResult{eligible: false, failureReason: [...]} (CreateCancelResponse;
the failure reason words are the sandbox's [M]).
"""

from __future__ import annotations

from flask import Flask, Response, request

from channel_sandboxes.common import json_response
from channel_sandboxes.ebay.api import api_guard
from channel_sandboxes.ebay.sandbox import EbaySandbox, ebay_error
from channel_sandboxes.ebay.state import now_utc

DOMAIN = "API_POST_ORDER"
SELLER_REASONS = ("OUT_OF_STOCK_OR_CANNOT_FULFILL", "BUYER_ASKED_CANCEL", "ADDRESS_ISSUES")


def register_post_order_routes(app: Flask, sandbox: EbaySandbox) -> None:
    api = api_guard(sandbox)
    state = sandbox.state

    @app.post("/post-order/v2/cancellation")
    @api("createCancellation", None, iaf=True)
    def create_cancellation() -> Response:
        marketplace = request.headers.get("X-EBAY-C-MARKETPLACE-ID", "")
        if not marketplace:
            return ebay_error(400, 1101, "X-EBAY-C-MARKETPLACE-ID header is required.", domain=DOMAIN)
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not body.get("legacyOrderId"):
            return ebay_error(400, 1102, "legacyOrderId is required.", domain=DOMAIN)
        reason = str(body.get("cancelReason") or "")
        if reason not in SELLER_REASONS:
            return ebay_error(400, 1103, f"Invalid cancelReason {reason!r} for a seller.", domain=DOMAIN)
        with state.lock:
            order = state.orders.get(str(body["legacyOrderId"]))
            if order is None:
                return ebay_error(404, 1104, "The order was not found.", domain=DOMAIN)
            failures = []
            if order.cancelled:
                failures.append("ORDER_ALREADY_CANCELLED")
            if any(line["shipped"] for line in order.lines):
                failures.append("ORDER_ALREADY_SHIPPED")
            if failures:
                return json_response(
                    {"orderEligibilityResult": {"eligible": False, "failureReason": failures}}
                )
            cancel_id = f"{5000000000 + state.new_number()}"
            order.cancelled, order.modified = True, now_utc()
            state.cancellations.append(
                {
                    "cancelId": cancel_id,
                    "legacyOrderId": order.order_id,
                    "cancelReason": reason,
                    "marketplaceId": marketplace,
                }
            )
        return json_response({"cancelId": cancel_id, "orderEligibilityResult": {"eligible": True}}, 201)
