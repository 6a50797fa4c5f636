"""PostgreSQL statements of the group primitives: prepared once per connection, sent as scripts.

Reserve and CommitReservation are the hot path. Through SQLAlchemy they cost ~14 statements,
each a round trip plus ~100-150 us of Python, and ~16 gRPC threads contending for the GIL turn
every round trip made while a hot stock row is locked into milliseconds of lock time. On
PostgreSQL the group primitives (group_transaction.py) therefore send their statements as three
multi-statement scripts (one round trip each, simple query protocol, psycopg client-side
binding):

  1. BEGIN and the reads that need no lock: locations, bundles (CommitReservation: the
     reservation row, lock class 1, its lines and the stored idempotent response);
  2. Reserve: the group's reservation rows and lines (class 1; a key already held is skipped by
     ON CONFLICT DO NOTHING, which is the idempotency check), then the group's stock rows
     locked FOR UPDATE in sorted order (class 2); Commit: per stock row the UPDATE folded with
     its ledger insert (class 2, sorted). Then the sku_states bump (class 3, sorted) and fresh
     reads of everything the event needs. In READ COMMITTED every statement takes a new
     snapshot and these reads run after the locks are granted, so they see every commit that
     preceded ours on these SKUs;
  3. Reserve: the holds (one UPDATE for the group), the ledger rows, the removal of refused
     reservations; then alerts, the outbox row(s) and COMMIT, so the hot row's lock ends
     without another wait for the GIL.

List parameters are sent as PostgreSQL array literals rendered by array_literal (psycopg's array
dumper costs a regex per element).

Every statement is a server-side prepared statement (PREPARE once per connection, EXECUTE in the
scripts): planning costs ~0.1 ms of PostgreSQL CPU per statement on this workload, more than
executing it. The engine forces custom plans on every connection (omnistock_common.db), which
would re-plan prepared statements too, so each group transaction sets plan_cache_mode back to
PostgreSQL's default for itself only (SET LOCAL). Every statement here is a key lookup.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

_MOVEMENT_FROM_UPD = (
    " INSERT INTO movements (tenant_id, sku, location_id, kind, reason, on_hand_delta,"
    " reserved_delta, on_hand_after, reserved_after, note, actor, reference, at)"
    " SELECT tenant_id, sku, location_id, $7::text, NULL, $8::bigint, $9::bigint, on_hand,"
    " reserved, $10::text, $11::text, $12::text, clock_timestamp() FROM upd"
    " RETURNING on_hand_after, reserved_after"
)

# name -> statement; `PgScript.add(name, *params)` runs `EXECUTE name(params)`.
PG_STATEMENTS: dict[str, str] = {
    "inv_lookup": (
        # One row: the tenant's default location and the requested ones, the bundles among the
        # requested SKUs, and every bundle that contains a requested SKU or a component of one
        # (all known before any lock). Idempotency keys are not looked up: the insert of the
        # reservations skips a key already held (ON CONFLICT DO NOTHING) and says which.
        "SELECT (SELECT json_agg(json_build_array(id, code, name, is_default, created_at)) FROM locations"
        "  WHERE tenant_id = $1::text AND (is_default OR code = ANY($2::text[]))),"
        " (SELECT json_agg(json_build_array(bundle_sku, component_sku, quantity)"
        "  ORDER BY bundle_sku, component_sku) FROM bundle_components"
        "  WHERE tenant_id = $1::text AND bundle_sku = ANY($3::text[])),"
        " (SELECT json_agg(DISTINCT x.bundle_sku) FROM (SELECT bundle_sku FROM bundle_components"
        "  WHERE tenant_id = $1::text AND component_sku = ANY($3::text[])"
        "  UNION ALL SELECT c.bundle_sku FROM bundle_components b JOIN bundle_components c"
        "  ON c.tenant_id = b.tenant_id AND c.component_sku = b.component_sku"
        "  WHERE b.tenant_id = $1::text AND b.bundle_sku = ANY($3::text[])) AS x)"
    ),
    # A group's reservations (in idempotency-key order: twins in two groups wait, never deadlock)
    # and their lines. A key already held (or committed by a twin meanwhile) is skipped, not an
    # error: only the ids inserted come back, and the skipped calls return the first reservation.
    "inv_insert_reservations": (
        "WITH ins AS (INSERT INTO reservations (id, tenant_id, order_ref, status, idempotency_key,"
        " channel_connection_id, expires_at, created_at, updated_at, request_fingerprint)"
        " SELECT i, $1::text, o, $2::text, k, c, e, t, t, f FROM unnest($3::text[], $4::text[], $5::text[],"
        " $6::text[], $7::timestamptz[], $8::timestamptz[], $16::text[])"
        " WITH ORDINALITY AS r(i, o, k, c, e, t, f, n)"
        " ORDER BY n ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING id),"
        " lines AS (INSERT INTO reservation_lines (reservation_id, line_no, parent_line_no, tenant_id,"
        " sku, location_id, per_unit, quantity, committed, released)"
        " SELECT l.r, l.n, l.p, $1::text, l.s, l.loc, l.u, l.q, 0, 0 FROM unnest($9::text[], $10::int[],"
        " $11::int[], $12::text[], $13::text[], $14::bigint[], $15::bigint[]) AS l(r, n, p, s, loc, u, q)"
        " JOIN ins ON ins.id = l.r)"
        " SELECT id FROM ins"
    ),
    # The group's stock rows, locked in the given (sorted) order: lock class 2. A row that does
    # not exist holds nothing, so it is not created.
    "inv_lock_levels": (
        "SELECT s.sku, s.location_id, s.on_hand, s.reserved FROM unnest($2::text[], $3::text[])"
        " WITH ORDINALITY AS k(sku, loc, n) JOIN stock_levels s ON s.tenant_id = $1::text"
        " AND s.sku = k.sku AND s.location_id = k.loc ORDER BY k.n FOR UPDATE OF s"
    ),
    # What the group holds per locked row (units, and one version bump per reservation).
    "inv_hold_levels": (
        "UPDATE stock_levels AS s SET reserved = s.reserved + v.q, version = s.version + v.c,"
        " updated_at = $2::timestamptz FROM unnest($3::text[], $4::text[], $5::bigint[], $6::bigint[])"
        " AS v(sku, loc, q, c) WHERE s.tenant_id = $1::text AND s.sku = v.sku AND s.location_id = v.loc"
    ),
    # The group's ledger rows, in decision order (ids follow it), stamped with the database's time
    # at insert (after the row locks), so `at` never goes backwards along a SKU's ledger.
    "inv_insert_movements": (
        "INSERT INTO movements (tenant_id, sku, location_id, kind, reason, on_hand_delta,"
        " reserved_delta, on_hand_after, reserved_after, note, actor, reference, at)"
        " SELECT $1::text, s, l, k, NULL, oh, rd, oa, ra, nt, a, r, clock_timestamp() FROM unnest("
        "$2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[],"
        " $9::text[], $10::text[], $11::text[]) WITH ORDINALITY AS m(s, l, k, oh, rd, oa, ra, nt, a, r, n)"
        " ORDER BY n"
    ),
    # Reservations of a group refused for lack of stock (inserted before the locks were taken).
    "inv_drop_reservation_lines": "DELETE FROM reservation_lines WHERE reservation_id = ANY($1::text[])",
    "inv_drop_reservations": "DELETE FROM reservations WHERE id = ANY($1::text[])",
    # allow_shortfall: the line rows of a reservation of this group held below their request.
    "inv_shrink_lines": (
        "UPDATE reservation_lines AS rl SET quantity = v.q FROM unnest($2::int[], $3::bigint[]) AS v(n, q)"
        " WHERE rl.reservation_id = $1::text AND rl.line_no = v.n"
    ),
    # Repository.change_level folded with its ledger row: no row back if the row is gone.
    "inv_change_level": (
        "WITH upd AS (UPDATE stock_levels SET on_hand = on_hand + $1::bigint,"
        " reserved = reserved + $6::bigint, version = version + 1, updated_at = $3::timestamptz"
        " WHERE tenant_id = $2::text AND sku = $4::text AND location_id = $5::text"
        " RETURNING tenant_id, sku, location_id, on_hand, reserved)" + _MOVEMENT_FROM_UPD
    ),
    # Repository.bump_sku_versions: rows are visited (locked) in the given, sorted, order.
    "inv_bump_states": (
        "INSERT INTO sku_states (tenant_id, sku, version, updated_at) SELECT $1::text, s, 1,"
        " $2::timestamptz FROM unnest($3::text[]) WITH ORDINALITY AS u(s, n) ORDER BY n"
        " ON CONFLICT (tenant_id, sku) DO UPDATE SET version = sku_states.version + 1,"
        " updated_at = EXCLUDED.updated_at RETURNING sku, version, low_stock_threshold, open_alert_id"
    ),
    # After the locks: stock rows of the SKUs and of the components of the bundles among them.
    "inv_levels": (
        "SELECT sku, location_id, on_hand, reserved FROM stock_levels"
        " WHERE tenant_id = $1::text AND sku = ANY($2::text[])"
        " UNION SELECT s.sku, s.location_id, s.on_hand, s.reserved FROM bundle_components b"
        " JOIN stock_levels s ON s.tenant_id = b.tenant_id AND s.sku = b.component_sku"
        " WHERE b.tenant_id = $1::text AND b.bundle_sku = ANY($2::text[])"
    ),
    "inv_bundles": (
        "SELECT bundle_sku, component_sku, quantity FROM bundle_components"
        " WHERE tenant_id = $1::text AND bundle_sku = ANY($2::text[]) ORDER BY bundle_sku, component_sku"
    ),
    "inv_default_threshold": (
        "SELECT default_low_stock_threshold FROM tenant_settings WHERE tenant_id = $1::text"
    ),
    "inv_rules": (
        "SELECT a.connection_id, a.channel, a.buffer, a.max_quantity, a.percentage, a.dynamic_buffer,"
        " l.latency_ms FROM allocation_rules a LEFT JOIN connection_latencies l"
        " ON l.tenant_id = a.tenant_id AND l.connection_id = a.connection_id"
        " WHERE a.tenant_id = $1::text ORDER BY a.connection_id"
    ),
    "inv_sales": (
        "SELECT s.sku, s.connection_id, SUM(s.quantity) FROM channel_sales s JOIN allocation_rules a"
        " ON a.tenant_id = s.tenant_id AND a.connection_id = s.connection_id AND a.dynamic_buffer"
        " WHERE s.tenant_id = $1::text AND s.sku = ANY($2::text[]) AND s.at >= $3::timestamptz"
        " GROUP BY s.sku, s.connection_id"
    ),
    "inv_lock_reservation": (
        "SELECT id, order_ref, status, expires_at, created_at, channel_connection_id FROM reservations"
        " WHERE tenant_id = $1::text AND id = $2::text FOR UPDATE"
    ),
    "inv_reservation_lines": (
        "SELECT rl.line_no, rl.sku, rl.location_id, loc.code, rl.quantity, rl.committed, rl.released,"
        " rl.per_unit, rl.parent_line_no FROM reservation_lines rl JOIN locations loc"
        " ON loc.id = rl.location_id WHERE rl.reservation_id = $1::text ORDER BY rl.line_no"
    ),
    "inv_bundles_containing_lines": (
        "SELECT bundle_sku, component_sku FROM bundle_components WHERE tenant_id = $1::text"
        " AND component_sku IN (SELECT sku FROM reservation_lines WHERE reservation_id = $2::text)"
    ),
    "inv_idempotent_response": (
        "SELECT response, request_fingerprint FROM idempotency_records"
        " WHERE tenant_id = $1::text AND scope = $2::text AND key = $3::text"
    ),
    "inv_insert_idempotent": (
        "INSERT INTO idempotency_records (tenant_id, scope, key, response, created_at, request_fingerprint)"
        " VALUES ($1::text, $2::text, $3::text, $4::text, $5::timestamptz, $6::text)"
    ),
    "inv_save_lines": (
        "UPDATE reservation_lines AS rl SET committed = v.c, released = v.r"
        " FROM unnest($2::int[], $3::bigint[], $4::bigint[]) AS v(n, c, r)"
        " WHERE rl.reservation_id = $1::text AND rl.line_no = v.n"
    ),
    "inv_save_reservation": (
        "UPDATE reservations SET status = $2::text, updated_at = $3::timestamptz WHERE id = $1::text"
    ),
    "inv_insert_sales": (
        "INSERT INTO channel_sales (tenant_id, connection_id, sku, quantity, at)"
        " SELECT $1::text, $2::text, s, q, $5::timestamptz FROM unnest($3::text[], $4::bigint[]) AS t(s, q)"
    ),
    "inv_insert_alert": (
        "INSERT INTO alerts (id, tenant_id, sku, status, threshold, available_at_open, opened_at)"
        " VALUES ($1::text, $2::text, $3::text, $4::text, $5::bigint, $6::bigint, $7::timestamptz)"
    ),
    "inv_close_alert": (
        "UPDATE alerts SET status = $3::text, closed_at = $4::timestamptz"
        " WHERE tenant_id = $1::text AND id = $2::text"
    ),
    "inv_set_open_alert": (
        "UPDATE sku_states SET open_alert_id = $3::text WHERE tenant_id = $1::text AND sku = $2::text"
    ),
    "inv_insert_outbox": (
        "INSERT INTO outbox (tenant_id, event_type, payload, created_at)"
        " VALUES ($1::text, $2::text, $3::text, $4::timestamptz)"
    ),
}
# Marks (in the pool's per-connection info) a connection whose statements are prepared.
PREPARED_KEY = "inventory_pg_statements_prepared"


def array_literal(values: Sequence[Any]) -> str:
    """A PostgreSQL array literal ('{"a","b",NULL}') for a list parameter, cast by the prepared
    statement's declared type (text[], bigint[], timestamptz[], ...).

    Why: psycopg's client-side array dumper costs ~15-50 us of Python per list (a regex per
    element); a group of reservations sends dozens of lists. Rendered here a list of one type is
    one str.join (the usual case), and the whole literal is then escaped once by libpq like any
    other string.
    """
    if not values:
        return "{}"
    first = values[0]
    if type(first) is int and all(type(value) is int for value in values):
        return "{" + ",".join(map(str, values)) + "}"
    if isinstance(first, str) and all(isinstance(value, str) for value in values):
        if '"' not in (joined := "".join(values)) and "\\" not in joined:
            return '{"' + '","'.join(values) + '"}'
    elif type(first) is datetime and all(type(value) is datetime for value in values):
        return '{"' + '","'.join([value.isoformat() for value in values]) + '"}'
    return "{" + ",".join([_array_element(value) for value in values]) + "}"


def _array_element(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return f'"{value.isoformat()}"'
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise TypeError(f"no array literal for {type(value).__name__}")


class PgScript:
    """Statements sent as ONE query (one round trip); `PgGroupTransaction.run` returns each one's rows."""

    def __init__(self, *, begin: bool = False) -> None:
        """begin: open the transaction (and scope plan_cache_mode to it, see above)."""
        self._sql: list[str] = ["BEGIN", "SET LOCAL plan_cache_mode = auto"] if begin else []
        self._params: list[Any] = []

    def add(self, name: str, *params: Any) -> int:
        """EXECUTE the prepared statement `name`; returns its index in `run`'s result."""
        placeholders = ", ".join(["%s"] * len(params))
        self._sql.append(f"EXECUTE {name}({placeholders})")
        self._params.extend(array_literal(p) if isinstance(p, list) else p for p in params)
        return len(self._sql) - 1

    def commit(self) -> None:
        self._sql.append("COMMIT")

    @property
    def sql(self) -> str:
        return "; ".join(self._sql)

    @property
    def params(self) -> list[Any]:
        return self._params
