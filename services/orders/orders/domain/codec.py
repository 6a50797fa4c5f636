"""Orders as JSON-ready dicts and back: the stored first answer of an idempotent request is the
order exactly as it was then (a repeat returns it, not whatever the order became since)."""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import datetime
from typing import Any

from orders.domain import model


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def order_to_dict(order: model.Order) -> dict[str, Any]:
    data = asdict(order)
    data["status"] = order.status.value
    data["flags"] = sorted(flag.value for flag in order.flags)
    data["cancel_sync_state"] = order.cancel_sync_state.value if order.cancel_sync_state else None
    data["stock_state"] = order.stock_state.value
    for name in ("created_at", "updated_at", "channel_updated_at", "stock_due_at"):
        data[name] = _time(getattr(order, name))
    data["history"] = [
        {
            "from_status": c.from_status.value if c.from_status else None,
            "to_status": c.to_status.value,
            "at": _time(c.at),
            "actor": c.actor,
            "reason": c.reason,
        }
        for c in order.history
    ]
    data["fulfillments"] = [fulfillment_to_dict(f) for f in order.fulfillments]
    data["raw_versions"] = [
        {**asdict(v), "channel_updated_at": _time(v.channel_updated_at), "received_at": _time(v.received_at)}
        for v in order.raw_versions
    ]
    return data


def fulfillment_to_dict(fulfillment: model.Fulfillment) -> dict[str, Any]:
    data = asdict(fulfillment)
    data["sync_state"] = fulfillment.sync_state.value
    data["created_at"] = _time(fulfillment.created_at)
    return data


def fulfillment_from_dict(data: dict[str, Any]) -> model.Fulfillment:
    return model.Fulfillment(
        **{
            **data,
            "lines": [model.FulfillmentLine(**line) for line in data["lines"]],
            "sync_state": model.SyncState(data["sync_state"]),
            "created_at": _parse_time(data["created_at"]),
        }
    )


def order_from_dict(data: dict[str, Any]) -> model.Order:
    known = {f.name for f in fields(model.Order)}
    values = {key: value for key, value in data.items() if key in known}
    values.update(
        status=model.OrderStatus(data["status"]),
        flags={model.OrderFlag(flag) for flag in data["flags"]},
        cancel_sync_state=model.SyncState(data["cancel_sync_state"]) if data["cancel_sync_state"] else None,
        stock_state=model.StockState(data["stock_state"]),
        created_at=_parse_time(data["created_at"]),
        updated_at=_parse_time(data["updated_at"]),
        channel_updated_at=_parse_time(data["channel_updated_at"]),
        stock_due_at=_parse_time(data["stock_due_at"]),
        shipping_address=model.Address(**data["shipping_address"]),
        totals=model.Totals(**data["totals"]),
        lines=[model.OrderLine(**line) for line in data["lines"]],
        history=[
            model.StatusChange(
                model.OrderStatus(c["from_status"]) if c["from_status"] else None,
                model.OrderStatus(c["to_status"]),
                _parse_time(c["at"]),  # type: ignore[arg-type]
                c["actor"],
                c["reason"],
            )
            for c in data["history"]
        ],
        fulfillments=[fulfillment_from_dict(f) for f in data["fulfillments"]],
        raw_versions=[
            model.RawVersion(
                _parse_time(v["channel_updated_at"]),
                _parse_time(v["received_at"]),  # type: ignore[arg-type]
                v["via"],
                v["payload_json"],
            )
            for v in data["raw_versions"]
        ],
    )
    return model.Order(**values)
