"""Pure rules of the channels side of orders: the per-connection poll interval, what a fulfilment
request must carry, the backoff between attempts, and which part of an order its digest covers."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from channels import domain, mapping, order_actions
from channels.sync.settings import SyncSettings
from omnistock.connector.v1 import connector_service_pb2 as cpb
from omnistock_common.errors import InvalidArgument

HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("120", timedelta(seconds=120)), ("60", timedelta(seconds=60)), ("604800", timedelta(days=7))],
)
def test_a_valid_poll_interval_setting_is_used(value: str, expected: timedelta) -> None:
    assert domain.order_poll_interval({"order_poll_interval_seconds": value}, HOUR) == expected
    assert domain.validate_settings({"order_poll_interval_seconds": value}) == {
        "order_poll_interval_seconds": value
    }


@pytest.mark.parametrize("value", ["59", "604801", "1.5", "-60", "often", ""])
def test_an_invalid_poll_interval_is_refused_and_never_used(value: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        domain.validate_settings({"order_poll_interval_seconds": value})
    assert refused.value.violations[0].field == "settings.order_poll_interval_seconds"
    assert domain.order_poll_interval({"order_poll_interval_seconds": value}, HOUR) == HOUR
    assert domain.order_poll_interval({}, HOUR) == HOUR


def test_fulfilment_lines_need_a_line_or_sku_and_a_positive_quantity() -> None:
    good = [{"external_line_id": "5", "quantity": 2}, {"sku": "CUP", "quantity": 1, "extra": "dropped"}]
    request, problem = order_actions._request(order_actions.FULFILLMENT, {"lines": good, "carrier": "UPS"})
    assert problem == ""
    assert request == {
        "carrier": "UPS",
        "tracking_number": "",
        "tracking_url": "",
        "lines": [
            {"external_line_id": "5", "sku": "", "quantity": 2},
            {"external_line_id": "", "sku": "CUP", "quantity": 1},
        ],
    }
    for bad in (
        [{"sku": "CUP", "quantity": 0}],
        [{"quantity": 1}],
        [{"sku": "CUP", "quantity": True}],
        "CUP",
    ):
        assert order_actions._request(order_actions.FULFILLMENT, {"lines": bad})[1]
    assert order_actions._request(order_actions.FULFILLMENT, {})[0]["lines"] == []  # every remaining line
    assert order_actions._request(order_actions.CANCEL, {"reason": " changed mind "}) == (
        {"reason": "changed mind"},
        "",
    )


def test_backoff_doubles_with_jitter_up_to_the_cap_and_honours_retry_after() -> None:
    engine = SimpleNamespace(
        settings=SyncSettings(
            order_action_backoff_base=timedelta(seconds=2), order_action_backoff_cap=timedelta(seconds=60)
        )
    )
    for attempt, full in ((1, 2), (2, 4), (3, 8), (10, 60), (40, 60)):
        for _ in range(20):
            delay = order_actions._backoff(engine, attempt, None).total_seconds()  # type: ignore[arg-type]
            assert full / 2 <= delay <= full
    assert order_actions._backoff(engine, 1, 30.0).total_seconds() == 30.0  # type: ignore[arg-type]


def test_the_digest_ignores_only_the_raw_channel_json() -> None:
    order = cpb.ChannelOrder(external_id="1", status=cpb.ORDER_STATUS_PAID, raw_json='{"shape": "rest"}')
    polled = cpb.ChannelOrder(external_id="1", status=cpb.ORDER_STATUS_PAID, raw_json='{"shape": "graphql"}')
    shipped = cpb.ChannelOrder(external_id="1", status=cpb.ORDER_STATUS_SHIPPED, raw_json='{"shape": "rest"}')
    assert mapping.order_digest(order) == mapping.order_digest(polled) != mapping.order_digest(shipped)
    assert order.raw_json == '{"shape": "rest"}'  # the digest does not touch the order
    as_json = mapping.order_json(order)
    assert as_json == {"external_id": "1", "status": "ORDER_STATUS_PAID", "raw_json": '{"shape": "rest"}'}
