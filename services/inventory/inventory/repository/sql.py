"""The Repository: every SQLAlchemy query of the service on one open transaction, each filtered
on tenant_id. It never commits (the UnitOfWork does). Its rows are defined by job in
stock_rows.py, reservation_rows.py and rule_rows.py; what needs several of them is here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select

from inventory import models
from inventory.domain import Alert, SkuState
from inventory.repository.group_transaction import Event, Figures
from inventory.repository.reservation_rows import ReservationRows
from inventory.repository.rule_rows import RuleRows
from inventory.repository.sql_base import chunks
from inventory.repository.stock_rows import StockRows


class Repository(StockRows, ReservationRows, RuleRows):
    """Every query of the service, each filtered on tenant_id. Never commits."""

    def read_figures(
        self,
        tenant_id: str,
        skus: Iterable[str],
        sales_since: datetime,
        states: dict[str, SkuState] | None = None,
    ) -> Figures:
        """Everything an event on `skus` is computed from (domain.plan_publish): stock rows of the
        SKUs and of the components of the bundles among them, bundle definitions, the default
        threshold, the rules and recent sales on connections with a dynamic buffer."""
        wanted = sorted(set(skus))
        definitions = self.bundles(tenant_id, wanted)
        components = {c.sku for comps in definitions.values() for c in comps}
        t = models.stock_levels
        levels: dict[tuple[str, str], tuple[int, int]] = {}
        for chunk in chunks(sorted(set(wanted) | components)):
            rows = self.conn.execute(
                select(t.c.sku, t.c.location_id, t.c.on_hand, t.c.reserved).where(
                    t.c.tenant_id == tenant_id, t.c.sku.in_(chunk)
                )
            )
            levels.update({(row.sku, row.location_id): (row.on_hand, row.reserved) for row in rows})
        rules = self.rules(tenant_id)
        dynamic = [rule.connection_id for rule in rules if rule.dynamic_buffer]
        return Figures(
            states=states if states is not None else self.sku_states(tenant_id, wanted),
            default_threshold=self.tenant_default_threshold(tenant_id),
            definitions=definitions,
            levels=levels,
            rules=rules,
            sales=self.sales_since(tenant_id, wanted, dynamic, sales_since),
        )

    def bump_and_read(
        self, tenant_id: str, skus: Iterable[str], now: datetime, sales_since: datetime
    ) -> Figures:
        """Bump the SKUs' event versions (locking sku_states, lock class 3) and read the figures
        after that lock, so a concurrent change that published first is seen."""
        wanted = sorted(set(skus))
        states = self.bump_sku_versions(tenant_id, wanted, now)
        return self.read_figures(tenant_id, wanted, sales_since, states)

    def write_alerts_and_events(
        self,
        tenant_id: str,
        opens: Sequence[Alert],
        closes: Sequence[tuple[str, str]],
        events: Sequence[Event],
        now: datetime,
    ) -> None:
        self.write_alerts(tenant_id, opens, closes, now)
        for event_type, payload in events:
            self.add_event(tenant_id, event_type, payload)
