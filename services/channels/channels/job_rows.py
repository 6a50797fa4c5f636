"""SQL of background jobs (the sync_jobs table): insert, read, claim, progress and finish.

A mixin of channels.repository.Repository, like channels.sync.repository. Every query filters on
tenant_id except the worker's `*_any_tenant` reads, which say so: a job event names only its id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import Connection as SqlConnection
from sqlalchemy.engine import Row

from channels import models
from channels.job_domain import DONE, FAILED, REQUESTED, RUNNING


class JobQueries:
    conn: SqlConnection

    def insert_job(
        self,
        *,
        job_id: str,
        tenant_id: str,
        connection_id: str,
        kind: str,
        params: str,
        requested_by: str,
        now: datetime,
    ) -> None:
        self.conn.execute(
            insert(models.sync_jobs).values(
                id=job_id,
                tenant_id=tenant_id,
                connection_id=connection_id,
                kind=kind,
                scope="",
                status=REQUESTED,
                requested_by=requested_by,
                message="",
                params=params,
                result="",
                progress_done=0,
                requested_at=now,
            )
        )

    def get_job(self, tenant_id: str, job_id: str) -> Row[Any] | None:
        t = models.sync_jobs
        return self.conn.execute(select(t).where(t.c.tenant_id == tenant_id, t.c.id == job_id)).first()

    def get_job_any_tenant(self, job_id: str) -> Row[Any] | None:
        """The job named by an event (which carries only its id)."""
        t = models.sync_jobs
        return self.conn.execute(select(t).where(t.c.id == job_id)).first()

    def active_job_id(self, tenant_id: str, connection_id: str, kind: str, params: str) -> str | None:
        """A queued or running job of this connection asked for exactly the same thing."""
        t = models.sync_jobs
        return self.conn.execute(
            select(t.c.id)
            .where(
                t.c.tenant_id == tenant_id,
                t.c.connection_id == connection_id,
                t.c.kind == kind,
                t.c.status.in_([REQUESTED, RUNNING]),
                t.c.params == params,
            )
            .order_by(t.c.requested_at)
            .limit(1)
        ).scalar()

    def claim_job(self, job_id: str, now: datetime, stale_before: datetime) -> bool:
        """requested -> running, or take over a running job whose heartbeat is older than
        `stale_before` (its worker died). Conditional, so of two claimers one wins."""
        t = models.sync_jobs
        result = self.conn.execute(
            update(t)
            .where(
                t.c.id == job_id,
                or_(
                    t.c.status == REQUESTED,
                    and_(
                        t.c.status == RUNNING,
                        or_(t.c.heartbeat_at.is_(None), t.c.heartbeat_at < stale_before),
                    ),
                ),
            )
            .values(status=RUNNING, started_at=now, heartbeat_at=now, progress_done=0, progress_total=None)
        )
        return result.rowcount == 1

    def job_progress(self, job_id: str, done: int, now: datetime) -> None:
        t = models.sync_jobs
        self.conn.execute(
            update(t)
            .where(t.c.id == job_id, t.c.status == RUNNING)
            .values(progress_done=done, heartbeat_at=now)
        )

    def save_checkpoint(self, job_id: str, checkpoint: str, done: int, now: datetime) -> bool:
        """A running job's step is done: its checkpoint and progress, one heartbeat. False when the
        job is no longer running (another worker finished it)."""
        t = models.sync_jobs
        result = self.conn.execute(
            update(t)
            .where(t.c.id == job_id, t.c.status == RUNNING)
            .values(checkpoint=checkpoint, progress_done=done, heartbeat_at=now)
        )
        return result.rowcount == 1

    def finish_job(
        self,
        job_id: str,
        *,
        succeeded: bool,
        message: str,
        result: str,
        total: int | None,
        now: datetime,
    ) -> None:
        t = models.sync_jobs
        values: dict[str, Any] = {
            "status": DONE if succeeded else FAILED,
            "message": message[:4000],
            "result": result,
            "finished_at": now,
            "heartbeat_at": now,
        }
        if total is not None:
            values["progress_done"] = total
            values["progress_total"] = total
        self.conn.execute(update(t).where(t.c.id == job_id, t.c.status == RUNNING).values(**values))

    def resumable_job_ids_any_tenant(self, kinds: list[str], stale_before: datetime, limit: int) -> list[str]:
        """Jobs of these kinds still queued, or running with a stale heartbeat: the sweep's work."""
        t = models.sync_jobs
        rows = self.conn.execute(
            select(t.c.id)
            .where(
                t.c.kind.in_(kinds),
                or_(
                    t.c.status == REQUESTED,
                    and_(
                        t.c.status == RUNNING,
                        or_(t.c.heartbeat_at.is_(None), t.c.heartbeat_at < stale_before),
                    ),
                ),
            )
            .order_by(t.c.requested_at)
            .limit(limit)
        )
        return [row.id for row in rows]
