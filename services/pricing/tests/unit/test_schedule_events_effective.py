"""Pure rules added with the server: cron schedules in a time zone, the `pricing.price_changed`
payload, and which price a channel shows (set, derived, on sale)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from omnistock_common.errors import InvalidArgument
from pricing.domain.events import price_changed
from pricing.domain.fx import FxTable
from pricing.domain.model import BasePrice, ConnectionSettings, StoredPrice
from pricing.domain.sales import SaleState, TimedSale
from pricing.domain.schedule import next_run, parse_cron, parse_timezone
from pricing.service.effective import Snapshot, resolve

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("cron", "zone", "after", "expected"),
    [
        ("0 0 * * *", "UTC", T0, datetime(2026, 12, 7, 0, 0, tzinfo=UTC)),
        ("30 2 * * *", "Europe/Berlin", T0, datetime(2026, 12, 7, 1, 30, tzinfo=UTC)),
        ("*/15 9 * * *", "UTC", T0, datetime(2026, 12, 6, 9, 15, tzinfo=UTC)),
        ("0 12 * * 1", "UTC", T0, datetime(2026, 12, 7, 12, 0, tzinfo=UTC)),  # T0 is a Sunday
        ("0 0 1 * 0", "UTC", T0, datetime(2026, 12, 13, 0, 0, tzinfo=UTC)),  # day OR weekday
        # 02:30 does not exist in Berlin on 2027-03-28 (clocks jump 02:00 -> 03:00): skipped.
        ("30 2 28 3 *", "Europe/Berlin", T0, datetime(2028, 3, 28, 0, 30, tzinfo=UTC)),
    ],
)
def test_next_run(cron: str, zone: str, after: datetime, expected: datetime) -> None:
    assert next_run(parse_cron(cron), parse_timezone(zone), after) == expected


@pytest.mark.parametrize(
    "cron", ["", "0 0 * *", "60 0 * * *", "0 24 * * *", "a b c d e", "*/0 * * * *", "5-1 * * * *"]
)
def test_bad_cron_is_invalid_argument(cron: str) -> None:
    with pytest.raises(InvalidArgument) as error:
        parse_cron(cron)
    assert error.value.violations[0].field == "cron"


def test_bad_timezone_is_invalid_argument() -> None:
    with pytest.raises(InvalidArgument):
        parse_timezone("Mars/Base")


def test_the_event_payload_is_the_agreed_shape() -> None:
    assert price_changed("t", "shop", "TEE-1", 1999, "USD", None, 3, T0, "set by hand") == {
        "tenant_id": "t",
        "connection_id": "shop",
        "sku": "TEE-1",
        "price": {"amount_minor": 1999, "currency": "USD"},
        "compare_at_price": None,
        "version": 3,
        "changed_at": "2026-12-06T09:00:00Z",
        "reason": "set by hand",
    }


def _snapshot(**overrides: object) -> Snapshot:
    values: dict[str, object] = {
        "stored": {},
        "connections": {"woo": ConnectionSettings("woo", "EUR", "0.99", 500)},
        "fx": FxTable("USD", {"EUR": Decimal("0.92"), "JPY": Decimal("150")}),
        "sales": {},
    }
    values.update(overrides)
    return Snapshot(**values)  # type: ignore[arg-type]


def test_a_derived_price_is_converted_rounded_and_floored() -> None:
    price = resolve(("woo", "TEE-1"), _snapshot(), BasePrice(9900, "USD"))
    assert price is not None and (price.amount_minor, price.currency, price.derived) == (9099, "EUR", True)
    cheap = resolve(("woo", "PIN"), _snapshot(), BasePrice(100, "USD"))
    assert cheap is not None and cheap.amount_minor == 500  # the floor wins over the .99 ending
    # No connection pricing: the FX base currency; no FX table: the variant's own currency.
    assert resolve(("shop", "TEE-1"), _snapshot(), BasePrice(9900, "USD")).currency == "USD"  # type: ignore[union-attr]
    assert resolve(("shop", "X"), _snapshot(fx=None), BasePrice(500, "JPY")).currency == "JPY"  # type: ignore[union-attr]
    assert resolve(("woo", "GONE"), _snapshot(), None) is None


def test_a_set_price_wins_and_a_sale_wins_over_both() -> None:
    stored = StoredPrice("TEE-1", "woo", 8900, "EUR", 9900, 8900, 1, T0)
    snap = _snapshot(stored={("woo", "TEE-1"): stored})
    price = resolve(("woo", "TEE-1"), snap, BasePrice(9900, "USD"))
    assert price is not None and (price.amount_minor, price.compare_at_minor, price.derived) == (
        8900,
        9900,
        False,
    )
    sale = TimedSale("s", "TEE-1", "woo", 6900, "EUR", T0, T0, SaleState.ACTIVE)
    on_sale = resolve(("woo", "TEE-1"), _snapshot(stored=snap.stored, sales={("woo", "TEE-1"): sale}), None)
    assert on_sale is not None and (on_sale.amount_minor, on_sale.compare_at_minor, on_sale.on_sale) == (
        6900,
        8900,
        True,
    )
