"""Every row of Shopify's status tables (protocol/status_map.py), and the precedence between them.

The expected values are written out here, not read from the tables, so a changed row fails.
"""

from __future__ import annotations

import pytest

from shopify_connector import protocol as p

S = p.UnifiedStatus
PENDING, PAID, PARTIAL, SHIPPED = S.PENDING, S.PAID, S.PARTIALLY_SHIPPED, S.SHIPPED
CANCELLED, REFUNDED = S.CANCELLED, S.REFUNDED

# OrderDisplayFinancialStatus (GraphQL spelling) with nothing shipped.
FINANCIAL_ROWS = {
    "PENDING": PENDING,
    "AUTHORIZED": PENDING,
    "PARTIALLY_PAID": PENDING,
    "PAID": PAID,
    "PARTIALLY_REFUNDED": PAID,
    "REFUNDED": REFUNDED,
    "VOIDED": CANCELLED,
    "EXPIRED": CANCELLED,
}
# OrderDisplayFulfillmentStatus (and REST's "partial") of a paid order.
FULFILLMENT_ROWS = {
    "FULFILLED": SHIPPED,
    "PARTIALLY_FULFILLED": PARTIAL,
    "PARTIAL": PARTIAL,
    "UNFULFILLED": PAID,
    "OPEN": PAID,
    "IN_PROGRESS": PAID,
    "ON_HOLD": PAID,
    "PENDING_FULFILLMENT": PAID,
    "REQUEST_DECLINED": PAID,
    "SCHEDULED": PAID,
    "RESTOCKED": PAID,
    "": PAID,
}


def test_the_tables_have_exactly_the_documented_rows() -> None:
    assert set(p.FINANCIAL_STATUS) == {k.lower() for k in FINANCIAL_ROWS}
    assert set(p.FULFILLMENT_STATUS) == {k.lower() for k in FULFILLMENT_ROWS}
    assert {"refunded", "voided", "expired"} == p.FINAL_FINANCIAL


@pytest.mark.parametrize(("financial", "expected"), sorted(FINANCIAL_ROWS.items()))
def test_every_financial_status(financial: str, expected: p.UnifiedStatus) -> None:
    assert p.map_order_status(financial, "UNFULFILLED", False) == expected
    # REST sends the same statuses in lower case and no fulfillment status while nothing shipped.
    assert p.map_order_status(financial.lower(), None, False) == expected


@pytest.mark.parametrize(("fulfillment", "expected"), sorted(FULFILLMENT_ROWS.items()))
def test_every_fulfillment_status_of_a_paid_order(fulfillment: str, expected: p.UnifiedStatus) -> None:
    assert p.map_order_status("PAID", fulfillment, False) == expected
    assert p.map_order_status("paid", fulfillment.lower(), False) == expected


@pytest.mark.parametrize("financial", sorted(FINANCIAL_ROWS))
@pytest.mark.parametrize("fulfillment", ["UNFULFILLED", "PARTIALLY_FULFILLED", "FULFILLED"])
def test_a_cancelled_order_is_cancelled_whatever_else_it_says(financial: str, fulfillment: str) -> None:
    assert p.map_order_status(financial, fulfillment, True) == CANCELLED


@pytest.mark.parametrize(("financial", "expected"), [("REFUNDED", REFUNDED), ("VOIDED", CANCELLED)])
def test_final_money_states_win_over_shipping(financial: str, expected: p.UnifiedStatus) -> None:
    assert p.map_order_status(financial, "FULFILLED", False) == expected


def test_shipping_wins_over_an_unfinished_payment_and_unknown_values_are_pending() -> None:
    assert p.map_order_status("PENDING", "FULFILLED", False) == SHIPPED
    assert p.map_order_status("something_new", None, False) == PENDING
    assert p.map_order_status(None, "something_new", False) == PENDING


def test_raw_status_and_channel_status_agree_for_graphql_and_rest() -> None:
    assert p.raw_status("PAID", "PARTIALLY_FULFILLED", False) == "paid/partially_fulfilled"
    assert p.raw_status(None, None, True) == "unknown/unfulfilled/cancelled"
    assert p.raw_status("paid", "partial", False) == "paid/partially_fulfilled"
    assert p.channel_status("PAID", None, "2025-07-01T10:00:00Z") == {
        "financial_status": "paid",
        "fulfillment_status": "unfulfilled",
        "cancelled_at": "2025-07-01T10:00:00Z",
    }
    assert p.channel_status("paid", "FULFILLED", None) == {
        "financial_status": "paid",
        "fulfillment_status": "fulfilled",
        "cancelled_at": "",
    }
