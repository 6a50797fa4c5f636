"""orderCancel and its background Job, as of Admin API 2025-07.

Arguments (https://shopify.dev/docs/api/admin-graphql/2025-07/mutations/orderCancel): orderId,
reason (OrderCancelReason), refundMethod {originalPaymentMethodsRefund} or the deprecated `refund`,
restock, notifyCustomer, staffNote. Shopify cancels in a background job; the sandbox runs it at once
and answers `job {id done: true}`, so `job(id:)` reports it done and the order is cancelled.
Refusals are orderCancelUserErrors {field message code} (OrderCancelUserErrorCode: INVALID,
NOT_FOUND, NO_REFUND_PERMISSION).
"""

from __future__ import annotations

from typing import Any

from channel_sandboxes.shopify.models import OrderError, gid, parse_gid
from channel_sandboxes.shopify.schema.context import ExecContext, GraphQLError, Resolver, user_error

REASONS = ("CUSTOMER", "DECLINED", "FRAUD", "INVENTORY", "OTHER", "STAFF")

TYPES: dict[str, dict[str, str]] = {
    "QueryRoot": {"job": "Job"},
    "Mutation": {"orderCancel": "OrderCancelPayload"},
    "Job": {"id": "ID!", "done": "Boolean!"},
    "OrderCancelPayload": {
        "job": "Job",
        "orderCancelUserErrors": "[OrderCancelUserError!]!",
        "userErrors": "[UserError!]!",
    },
    "OrderCancelUserError": {"field": "[String!]", "message": "String!", "code": "OrderCancelUserErrorCode"},
}


def _refund_requested(args: dict[str, Any]) -> bool:
    method = args.get("refundMethod")
    if isinstance(method, dict):
        return bool(method.get("originalPaymentMethodsRefund"))
    return bool(args.get("refund"))


def _m_order_cancel(_src: Any, args: dict[str, Any], ctx: ExecContext) -> dict[str, Any]:
    reason = args.get("reason")
    if reason not in REASONS:
        raise GraphQLError(
            f"Variable $reason of type OrderCancelReason! was provided invalid value {reason!r}",
            "INVALID_VARIABLE",
        )
    if not isinstance(args.get("restock"), bool):
        raise GraphQLError(
            "Variable $restock of type Boolean! was provided invalid value", "INVALID_VARIABLE"
        )

    def refused(code: str, field_name: str, message: str) -> dict[str, Any]:
        error = user_error(code, [field_name], message)
        return {"job": None, "orderCancelUserErrors": [error], "userErrors": [error]}

    order = ctx.state.orders.get(parse_gid(args.get("orderId"), "Order") or -1)
    if order is None:
        return refused("NOT_FOUND", "orderId", "Order does not exist.")
    try:
        job, events = ctx.state.cancel(
            order,
            reason,
            refund=_refund_requested(args),
            restock=bool(args["restock"]),
            staff_note=args.get("staffNote"),
        )
    except OrderError as exc:
        return refused(exc.code, "orderId", str(exc))
    ctx.events.extend(events)
    return {"job": job, "orderCancelUserErrors": [], "userErrors": []}


def _q_job(_src: Any, args: dict[str, Any], ctx: ExecContext) -> Any:
    return ctx.state.jobs.get(parse_gid(args.get("id"), "Job") or -1)


RESOLVERS: dict[str, dict[str, Resolver]] = {
    "QueryRoot": {"job": _q_job},
    "Mutation": {"orderCancel": _m_order_cancel},
    "Job": {"id": lambda j, _a, _c: gid("Job", j.id)},
}
