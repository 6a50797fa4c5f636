"""Repository rows of reservations and idempotency records."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, insert, select, update

from inventory import domain, models
from inventory.domain import Reservation, ReservationStatus
from inventory.repository.group_transaction import StoredResponse, assemble_reservation, stored_expiry
from inventory.repository.sql_base import Rows, chunks


class ReservationRows(Rows):
    # ----------------------------------------------------------------------- reservations

    def insert_reservation(
        self,
        tenant_id: str,
        reservation: Reservation,
        idempotency_key: str,
        now: datetime,
        *,
        fingerprint: str = "",
    ) -> None:
        """Insert the reservation row first: a racing duplicate key blocks here (PostgreSQL)
        until the first transaction ends, then fails with IntegrityError. `fingerprint`: the
        request's (domain.request_fingerprint), stored with a key."""
        self.conn.execute(
            insert(models.reservations).values(
                id=reservation.id,
                tenant_id=tenant_id,
                order_ref=reservation.order_ref,
                status=reservation.status.value,
                idempotency_key=idempotency_key or None,
                request_fingerprint=(fingerprint or None) if idempotency_key else None,
                channel_connection_id=reservation.channel_connection_id,
                expires_at=stored_expiry(reservation),
                created_at=reservation.created_at,
                updated_at=now,
            )
        )

    def insert_reservation_lines(self, tenant_id: str, reservation: Reservation) -> None:
        rows = []
        for line in reservation.lines:
            for item in (line, *line.components):
                rows.append(
                    {
                        "reservation_id": reservation.id,
                        "line_no": item.line_no,
                        "parent_line_no": item.parent_line_no,
                        "tenant_id": tenant_id,
                        "sku": item.sku,
                        "location_id": item.location_id,
                        "per_unit": item.per_unit,
                        "quantity": item.quantity,
                        "committed": item.committed,
                        "released": item.released,
                    }
                )
        for chunk in chunks(rows, 1000):
            self.conn.execute(insert(models.reservation_lines), list(chunk))

    def reservation_by_key(self, tenant_id: str, key: str) -> tuple[str, str | None] | None:
        """(id, request fingerprint) of the reservation holding an idempotency key."""
        r = models.reservations
        row = self.conn.execute(
            select(r.c.id, r.c.request_fingerprint).where(
                r.c.tenant_id == tenant_id, r.c.idempotency_key == key
            )
        ).first()
        return (row.id, row.request_fingerprint) if row else None

    def get_reservation(
        self, tenant_id: str, reservation_id: str, *, for_update: bool = False
    ) -> Reservation | None:
        """Load a reservation with its lines; for_update locks its row first (lock class 1)."""
        r, rl, loc = models.reservations, models.reservation_lines, models.locations
        query = select(
            r.c.id, r.c.order_ref, r.c.status, r.c.expires_at, r.c.created_at, r.c.channel_connection_id
        ).where(r.c.tenant_id == tenant_id, r.c.id == reservation_id)
        if for_update:
            query = query.with_for_update()
        head = self.conn.execute(query).first()
        if head is None:
            return None
        rows = self.conn.execute(
            select(
                rl.c.line_no,
                rl.c.sku,
                rl.c.location_id,
                loc.c.code,
                rl.c.quantity,
                rl.c.committed,
                rl.c.released,
                rl.c.per_unit,
                rl.c.parent_line_no,
            )
            .join(loc, loc.c.id == rl.c.location_id)
            .where(rl.c.reservation_id == reservation_id)
            .order_by(rl.c.line_no)
        ).all()
        return assemble_reservation(head, rows)

    def holding_reservations(
        self, tenant_id: str, sku: str, before: tuple[datetime, str] | None, limit: int
    ) -> list[Reservation]:
        """The HELD / PARTIALLY_COMMITTED reservations with units of `sku` still held, newest
        first (created_at, id descending), after the keyset `before`."""
        r, rl = models.reservations, models.reservation_lines
        holding = [status.value for status in domain.HOLDING_STATUSES]
        query = (
            select(r.c.id, r.c.created_at)
            .where(
                r.c.tenant_id == tenant_id,
                r.c.status.in_(holding),
                select(rl.c.reservation_id)
                .where(
                    rl.c.reservation_id == r.c.id,
                    rl.c.tenant_id == tenant_id,
                    rl.c.sku == sku,
                    rl.c.quantity > rl.c.committed + rl.c.released,
                )
                .exists(),
            )
            .order_by(r.c.created_at.desc(), r.c.id.desc())
            .limit(limit)
        )
        if before is not None:
            at, last_id = before
            query = query.where((r.c.created_at < at) | ((r.c.created_at == at) & (r.c.id < last_id)))
        found = [self.get_reservation(tenant_id, row.id) for row in self.conn.execute(query)]
        return [reservation for reservation in found if reservation is not None]

    def save_settlement(self, reservation: Reservation, now: datetime) -> None:
        """Store line counters and status after commit/release/expiry."""
        rl, r = models.reservation_lines, models.reservations
        stmt = (
            update(rl)
            .where(rl.c.reservation_id == bindparam("b_res"), rl.c.line_no == bindparam("b_line"))
            .values(committed=bindparam("b_committed"), released=bindparam("b_released"))
        )
        params = [
            {
                "b_res": reservation.id,
                "b_line": item.line_no,
                "b_committed": item.committed,
                "b_released": item.released,
            }
            for line in reservation.lines
            for item in (line, *line.components)
        ]
        self.conn.execute(stmt, params)
        self.conn.execute(
            update(r).where(r.c.id == reservation.id).values(status=reservation.status.value, updated_at=now)
        )

    def claim_expiry(self, reservation_id: str, now: datetime) -> bool:
        """Move a due, still-holding reservation to EXPIRED; False when someone else got it.

        The status test in the WHERE clause makes this the exactly-once gate: a second expirer
        waits on the row lock and then finds the status already changed (rowcount 0).
        """
        r = models.reservations
        result = self.conn.execute(
            update(r)
            .where(
                r.c.id == reservation_id,
                r.c.status.in_([s.value for s in domain.HOLDING_STATUSES]),
                r.c.expires_at <= now,
            )
            .values(status=ReservationStatus.EXPIRED.value, updated_at=now)
        )
        return result.rowcount == 1

    def due_reservations(self, now: datetime, limit: int, tenant_id: str | None) -> list[tuple[str, str]]:
        """(tenant_id, id) of holds past their TTL, oldest first."""
        r = models.reservations
        query = (
            select(r.c.tenant_id, r.c.id)
            .where(r.c.status.in_([s.value for s in domain.HOLDING_STATUSES]), r.c.expires_at <= now)
            .order_by(r.c.expires_at, r.c.id)
            .limit(limit)
        )
        if tenant_id is not None:
            query = query.where(r.c.tenant_id == tenant_id)
        return [(row.tenant_id, row.id) for row in self.conn.execute(query)]

    # ----------------------------------------------------------------------- idempotency

    def idempotent_response(self, tenant_id: str, scope: str, key: str) -> StoredResponse | None:
        """The stored (response, request fingerprint) of a used key; None when unused."""
        i = models.idempotency_records
        row = self.conn.execute(
            select(i.c.response, i.c.request_fingerprint).where(
                i.c.tenant_id == tenant_id, i.c.scope == scope, i.c.key == key
            )
        ).first()
        return (row.response, row.request_fingerprint) if row else None

    def claim_idempotency_key(
        self, tenant_id: str, scope: str, key: str, fingerprint: str, now: datetime
    ) -> None:
        """Insert the key (with the request's fingerprint) before doing the work: a concurrent
        twin blocks on it (PostgreSQL) and then fails with IntegrityError instead of applying
        the change a second time."""
        self.conn.execute(
            insert(models.idempotency_records).values(
                tenant_id=tenant_id,
                scope=scope,
                key=key,
                response="",
                request_fingerprint=fingerprint,
                created_at=now,
            )
        )

    def store_idempotent_response(self, tenant_id: str, scope: str, key: str, response: str) -> None:
        i = models.idempotency_records
        self.conn.execute(
            update(i)
            .where(i.c.tenant_id == tenant_id, i.c.scope == scope, i.c.key == key)
            .values(response=response)
        )
