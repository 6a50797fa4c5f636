"""What the source channel answered to a fulfilment or cancel OmniStock asked it for
(`channels.order_action_synced`): recorded on the order, idempotently."""

from __future__ import annotations

from dataclasses import dataclass

from orders.domain.model import MAX_TEXT, Order, SyncState

ACTION_FULFILLMENT = "fulfillment"
ACTION_CANCEL = "cancel"
OUTCOMES = {"synced": SyncState.SYNCED, "failed": SyncState.FAILED}


@dataclass(frozen=True)
class ActionSynced:
    order_id: str
    action: str
    outcome: str
    fulfillment_id: str = ""
    external_id: str = ""
    message: str = ""


def apply_action_synced(order: Order, event: ActionSynced) -> bool:
    """Record the channel's answer; returns whether anything changed. SYNCED is final (a late
    `failed` of an earlier attempt never undoes it); unknown actions, outcomes or fulfilments
    change nothing."""
    state = OUTCOMES.get(event.outcome)
    if state is None:
        return False
    message = event.message[:MAX_TEXT]
    if event.action == ACTION_FULFILLMENT:
        fulfillment = next((f for f in order.fulfillments if f.id == event.fulfillment_id), None)
        if fulfillment is None or fulfillment.sync_state in (SyncState.SYNCED, SyncState.NOT_APPLICABLE):
            return False
        before = (fulfillment.sync_state, fulfillment.external_fulfillment_id, fulfillment.sync_message)
        fulfillment.sync_state = state
        fulfillment.external_fulfillment_id = (
            event.external_id[:MAX_TEXT] or fulfillment.external_fulfillment_id
        )
        fulfillment.sync_message = message
        return before != (
            fulfillment.sync_state,
            fulfillment.external_fulfillment_id,
            fulfillment.sync_message,
        )
    if event.action == ACTION_CANCEL:
        if order.cancel_sync_state in (None, SyncState.SYNCED, SyncState.NOT_APPLICABLE):
            return False
        before_cancel = (order.cancel_sync_state, order.cancel_sync_message)
        order.cancel_sync_state, order.cancel_sync_message = state, message
        return before_cancel != (order.cancel_sync_state, order.cancel_sync_message)
    return False
