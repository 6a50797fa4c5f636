"""Transactional outbox: a service writes its change and an event row in ONE transaction.

The service's worker relays unsent rows to RabbitMQ (see outbox_relay) and marks them sent only
after the broker confirmed, so a crash between commit and publish loses nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Index, MetaData, String, Table, Text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from omnistock_common.sqltypes import SEQ_ID


def outbox_table(metadata: MetaData) -> Table:
    """Define the `outbox` table in a service's metadata (its migrations create it)."""
    return Table(
        "outbox",
        metadata,
        Column("id", SEQ_ID, primary_key=True, autoincrement=True),
        Column("tenant_id", String(64), nullable=False),
        Column("event_type", String(128), nullable=False),
        Column("payload", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("sent_at", DateTime(timezone=True), nullable=True),
        Index("ix_outbox_unsent", "sent_at", "id"),
    )


def add_event(
    conn: Connection | Session, table: Table, tenant_id: str, event_type: str, payload: dict[str, Any]
) -> None:
    """Append an event inside the caller's open transaction (never commits)."""
    conn.execute(
        table.insert().values(
            tenant_id=tenant_id,
            event_type=event_type,
            payload=json.dumps(payload, separators=(",", ":"), default=str),
            created_at=datetime.now(UTC),
        )
    )
