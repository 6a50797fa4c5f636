"""Seller cancellation of an eBay order (pure): the Post-Order API's create-cancellation body, its
Authorization header form, and what its answers mean.

The Sell Fulfillment API has no cancel method (it has issueRefund); seller cancellation is
`POST https://api.ebay.com/post-order/v2/cancellation` (Post-Order API v2,
https://developer.ebay.com/DevZone/post-order/post-order_v2_cancellation__post.html): body
CreateCancelRequest {legacyOrderId, cancelReason (CancelReasonEnum; a seller gives
OUT_OF_STOCK_OR_CANNOT_FULFILL, BUYER_ASKED_CANCEL or ADDRESS_ISSUES,
https://developer.ebay.com/Devzone/post-order/types/CancelReasonEnum.html), buyerPaid, buyerPaidDate};
answer CreateCancelResponse {cancelId, orderEligibilityResult{eligible, failureReason[]}, warnings}
(https://developer.ebay.com/DevZone/post-order/types/CreateCancelResponse.html): no cancelId = not
eligible. Headers: Authorization and X-EBAY-C-MARKETPLACE-ID are required
(https://developer.ebay.com/Devzone/post-order/concepts/makingacall.html); the marketplace is sent in
the MarketplaceIdEnum form (EBAY_US, https://developer.ebay.com/DevZone/post-order/types/MarketplaceIdEnum.html;
an older page of the method lists "EBAY-US, EBAY-UK, EBAY-DE" for the header [M]). Post-Order accepts OAuth
user tokens (https://developer.ebay.com/api-docs/static/oauth-trad-apis.html) in the form
"IAF <token>" (the form eBay's traditional APIs take an OAuth token in; as the hendt/ebay-api SDK
sends it, dist/auth/index.js `(useIaf ? 'IAF ' : 'Bearer ') + accessToken`) [M: not read on an
eBay page]. Only a whole order can be cancelled (check_eligibility notes), and EU/UK sellers'
calls need digital signatures (not sent here) [M].
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omnistock_common.egress import safe_text

OUT_OF_STOCK = "OUT_OF_STOCK_OR_CANNOT_FULFILL"
SELLER_REASONS = ("OUT_OF_STOCK_OR_CANNOT_FULFILL", "BUYER_ASKED_CANCEL", "ADDRESS_ISSUES")
# OmniStock's words for a cancellation → eBay's seller reasons (anything else: out of stock).
REASON_WORDS = {
    "customer": "BUYER_ASKED_CANCEL",
    "buyer": "BUYER_ASKED_CANCEL",
    "buyer_asked": "BUYER_ASKED_CANCEL",
    "address": "ADDRESS_ISSUES",
    "inventory": OUT_OF_STOCK,
    "out_of_stock": OUT_OF_STOCK,
    "stock": OUT_OF_STOCK,
}
MARKETPLACE_HEADER = "X-EBAY-C-MARKETPLACE-ID"
# A shipped order cannot be cancelled, only returned/refunded (orderFulfillmentStatus, getOrder).
SHIPPED_STATES = ("FULFILLED", "IN_PROGRESS")


def iaf_authorization(token: str) -> str:
    return f"IAF {token}"


def cancel_reason(reason: str) -> str:
    word = reason.strip()
    if word.upper() in SELLER_REASONS:
        return word.upper()
    return REASON_WORDS.get(word.lower(), OUT_OF_STOCK)


def cancel_body(legacy_order_id: str, reason: str) -> dict[str, Any]:
    return {"legacyOrderId": legacy_order_id, "cancelReason": cancel_reason(reason)}


def order_state(order: Mapping[str, Any]) -> tuple[str, str, str]:
    """(legacyOrderId or orderId, cancelState, orderFulfillmentStatus) of a getOrder answer."""
    legacy = str(order.get("legacyOrderId") or order.get("orderId") or "")
    cancel = str((order.get("cancelStatus") or {}).get("cancelState") or "")
    return legacy, cancel, str(order.get("orderFulfillmentStatus") or "")


def refusal(body: Any) -> str:
    """Why eBay did not create the cancellation: the eligibility result's failure reasons, else
    the errors / warnings it gave."""
    if not isinstance(body, Mapping):
        return "eBay gave no reason"
    eligibility = body.get("orderEligibilityResult") or {}
    reasons = eligibility.get("failureReason") if isinstance(eligibility, Mapping) else None
    if isinstance(reasons, list) and reasons:
        return safe_text("not eligible for cancellation: " + ", ".join(str(r) for r in reasons), 300)
    parts = []
    for error in [*(body.get("errors") or []), *(body.get("warnings") or [])]:
        if isinstance(error, Mapping):
            message = error.get("longMessage") or error.get("message") or ""
            parts.append(f"{error.get('errorId', '')} {message}".strip())
    return safe_text("; ".join(parts), 300) or "eBay gave no reason"


def cancel_id(body: Any) -> str:
    return safe_text(str(body.get("cancelId") or ""), 64) if isinstance(body, Mapping) else ""
