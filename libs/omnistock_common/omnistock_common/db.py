"""SQLAlchemy engine and session factories, the schema naming convention, the dialect insert and
the retry of a transaction on a transient conflict. Nothing is created at import time."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from sqlalchemy import Engine, MetaData, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, QueuePool
from sqlalchemy.util import queue as sqla_queue

log = logging.getLogger(__name__)
R = TypeVar("R")
T = TypeVar("T")

# Deterministic constraint names, so Alembic migrations are the same on SQLite and PostgreSQL.
# The names already in the migrations depend on this: a service that needs a different template
# (the gateway) passes it to `naming_metadata`, it never edits these.
NAMING_CONVENTION: Mapping[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
# PostgreSQL serialization failure and deadlock: the whole transaction may simply run again.


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def normalize_url(url: str) -> str:
    """Use psycopg 3 for plain postgresql:// URLs."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


# A pooled PostgreSQL connection idle for longer than this is pinged before it is handed out.
PING_AFTER_IDLE_SECONDS = 2.0


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int | None = None,
    echo: bool = False,
    ping_after_idle: float = PING_AFTER_IDLE_SECONDS,
    threads: ModuleType | None = None,
) -> Engine:
    """An engine for `url`. On PostgreSQL the pool keeps `pool_size` connections and opens up to
    `max_overflow` more (default: pool_size again) for bursts; those extra ones are closed when they
    come back, so a service whose threads routinely outnumber its pool should pass 0 and let them
    wait: opening a connection costs a PostgreSQL backend and every prepared statement again.

    `threads`: the threading module whose locks guard the pool (`os_thread_pool`). A process
    monkey-patched by eventlet whose OS threads share the engine passes eventlet's original one."""
    url = normalize_url(url)
    pool_options: dict[str, Any] = {} if threads is None else {"poolclass": os_thread_pool(threads)}
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            # Bound values (password hashes, token hashes, credentials) never reach a log line or an
            # exception message.
            hide_parameters=True,
            connect_args={"check_same_thread": False, "timeout": 30},
            **pool_options,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            # Hand transaction control to SQLAlchemy (the pysqlite driver's own BEGIN is deferred
            # and breaks SAVEPOINT/locking); `_sqlite_begin` below emits BEGIN IMMEDIATE.
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn) -> None:  # type: ignore[no-untyped-def]
            # A write transaction takes the database lock up front: no lock upgrades, no
            # SQLITE_BUSY deadlocks between two readers that both want to write.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    engine = create_engine(
        url,
        echo=echo,
        hide_parameters=True,  # see above: no bound value in logs or error messages
        # psycopg prepares a statement server-side after 5 runs, and PostgreSQL may then keep a
        # generic plan made while a table was small (measured: a SKU lookup turned into a
        # sequential scan and a 100k-row import slowed 20x). Custom plans cost well under 1 ms.
        connect_args={"options": "-c plan_cache_mode=force_custom_plan"},
        pool_size=pool_size,
        max_overflow=pool_size if max_overflow is None else max_overflow,
        future=True,
        **pool_options,
    )
    _ping_when_idle(engine, ping_after_idle)
    return engine


def os_thread_pool(threads: ModuleType) -> type[QueuePool]:
    """A QueuePool whose locks come from `threads` (eventlet's original threading module).

    Why: after `eventlet.monkey_patch()` every lock SQLAlchemy creates is a green one: the pool's
    queue mutex and conditions, its overflow lock and the mutex around the first connection's
    dialect initialisation. A green lock that two OS threads (eventlet tpool threads, a thread
    pool) contend for loses its wake-up: the hub of the releasing thread raises "greenlet.error:
    Cannot switch to a different thread" and the waiting thread waits forever. Seen in the channels
    worker: its eager timers all opened their first connection at once and one timer (the order
    actions sender) never ran again. Here the queue and overflow locks are OS locks, and the first
    connection is made under an OS lock, so SQLAlchemy's own first-connect mutex is never contended
    (it is not used again once a connection succeeded).
    """

    class OsThreadQueue(sqla_queue.Queue[ConnectionPoolEntry]):
        def __init__(self, maxsize: int = 0, use_lifo: bool = False) -> None:
            super().__init__(maxsize, use_lifo)
            self.mutex = threads.RLock()
            self.not_empty = threads.Condition(self.mutex)
            self.not_full = threads.Condition(self.mutex)

    class OsThreadQueuePool(QueuePool):
        _queue_class = OsThreadQueue

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._overflow_lock = threads.Lock()
            self._first_connect_lock = threads.Lock()
            self._connected_once = False

        def _create_connection(self) -> ConnectionPoolEntry:
            if self._connected_once:
                return super()._create_connection()
            with self._first_connect_lock:
                record = super()._create_connection()
                self._connected_once = True
                return record

    return OsThreadQueuePool


def _ping_when_idle(engine: Engine, ping_after_idle: float) -> None:
    """Check a pooled connection with a round trip only when it sat idle long enough to have gone
    stale (database restart, failover, an idle timeout on the way), instead of on every checkout
    (pool_pre_ping): that ping was one extra round trip per transaction, ~10% of the hot-SKU
    Reserve throughput (bench/reservations.py). A connection that breaks while busy is reported
    as a disconnect, and then SQLAlchemy (and the inventory UnitOfWork's group transactions) renew the whole pool.
    """

    @event.listens_for(engine, "checkin")
    def _idle_since(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < ping_after_idle:
            return  # just connected, or back in the pool a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except Exception:  # e.g. AdminShutdown, which the dialect does not call a disconnect
            alive = False
        if not alive:
            raise DisconnectionError("pooled connection went stale")  # the pool reconnects


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def naming_metadata(**overrides: str | None) -> MetaData:
    """A MetaData with NAMING_CONVENTION; `ix="..."` replaces a template, `ck=None` drops one
    (each service's migrations were written with its own set: keep them as they are)."""
    convention = {**NAMING_CONVENTION, **overrides}
    return MetaData(naming_convention={key: value for key, value in convention.items() if value is not None})


def dialect_insert(conn: Connection, table: Table) -> Any:
    """The dialect's INSERT, so `.on_conflict_do_nothing/update` work (PostgreSQL and SQLite
    share that API)."""
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def insert_if_absent(
    conn: Connection, table: Table, unique: Sequence[Any], values: Mapping[str, Any]
) -> bool:
    """INSERT .. ON CONFLICT (`unique`) DO NOTHING on either dialect: True when this call inserted
    the row, False when a row with the same unique key was there (a repeat, or a racing twin).
    Told by RETURNING, not rowcount: psycopg reports a rowcount of 1 for DO NOTHING."""
    key = next(iter(table.primary_key.columns))
    statement = (
        dialect_insert(conn, table).values(**values).on_conflict_do_nothing(index_elements=list(unique))
    )
    return conn.execute(statement.returning(key)).first() is not None
