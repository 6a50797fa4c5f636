"""Live updates without I/O: notices from events, the SSE stream over a scripted pub/sub and a
fake clock (notices, heartbeat, the end), stream slots, the relay's signature check, and ETags."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from flask import Response

from gateway.etags import conditional, none_match, weak_etag
from gateway.live import StreamSlots, StreamTiming, event_stream, peer_closed
from gateway.live_notices import MAX_SKUS, BadNotice, Notice, channel, notice_for
from gateway.live_relay import LiveRelay
from omnistock_common.service_auth import sign_event

SECRET = "unit-test-internal-token-secret-0123456789"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class ScriptedPubSub:
    """get_message returns the scripted messages in order; each wait advances the clock by the
    timeout asked for (or by 0 when a message is there), like a real wait would."""

    def __init__(self, clock: Clock, messages: list[Any]) -> None:
        self.clock = clock
        self.messages = list(messages)
        self.timeouts: list[float] = []

    def get_message(self, ignore_subscribe_messages: bool = False, timeout: float = 0.0) -> Any:
        self.timeouts.append(timeout)
        if self.messages:
            return self.messages.pop(0)
        self.clock.now += timeout
        return None

    def close(self) -> None:
        pass


def message(data: str | bytes) -> dict[str, Any]:
    return {"type": "message", "channel": b"omnistock:live:t1", "data": data}


def chunks(stream: Iterator[bytes]) -> list[str]:
    return [chunk.decode() for chunk in stream]


def test_stock_changed_becomes_an_inventory_notice_with_its_skus_only() -> None:
    payload = {
        "tenant_id": "t1",
        "event_id": "e1",
        "skus": [{"sku": "A", "available": 3, "version": 2, "channels": {"c": 3}}, {"sku": "B"}],
    }
    tenant, notice = notice_for("inventory.stock_changed", payload)
    assert (tenant, notice.data()) == ("t1", {"topic": "inventory", "skus": ["A", "B"]})
    # No figure, version or connection leaves with the notice.
    assert json.loads(notice.to_json()) == {"topic": "inventory", "skus": ["A", "B"]}


def test_a_large_stock_change_names_no_skus_and_other_events_map_to_their_topic() -> None:
    many = {"tenant_id": "t1", "skus": [{"sku": f"S{i}"} for i in range(MAX_SKUS + 1)]}
    assert notice_for("inventory.stock_changed", many)[1] == Notice("inventory", None)
    low = {"tenant_id": "t1", "sku": "A", "threshold": 5, "available": 2}
    assert notice_for("inventory.low_stock", low)[1] == Notice("alerts", ("A",))
    health = {"tenant_id": "t1", "connection_id": "c", "status": "error", "previous_status": "degraded"}
    assert notice_for("channels.connection_health_changed", health)[1].data() == {"topic": "channels"}
    assert notice_for("channels.connection_deleted", {"tenant_id": "t1"})[1] == Notice("channels")


@pytest.mark.parametrize(
    ("event_type", "payload"),
    [
        ("orders.order_imported", {"tenant_id": "t1"}),
        ("inventory.stock_changed", {"skus": [{"sku": "A"}]}),
        ("inventory.stock_changed", {"tenant_id": "t1*", "skus": [{"sku": "A"}]}),
        ("inventory.stock_changed", {"tenant_id": "t1", "skus": "A"}),
        ("inventory.low_stock", {"tenant_id": "t1", "sku": 3}),
    ],
)
def test_events_that_make_no_notice_are_refused(event_type: str, payload: dict[str, Any]) -> None:
    with pytest.raises(BadNotice):
        notice_for(event_type, payload)


def test_a_channel_is_only_ever_a_plain_tenant_id() -> None:
    assert channel("0b5f-tenant") == "omnistock:live:0b5f-tenant"
    for bad in ("", "a*", "a b", "x" * 65, "a\nb"):
        with pytest.raises(BadNotice):
            channel(bad)


def test_notice_parse_refuses_unknown_topics_and_bad_skus() -> None:
    assert Notice.parse(b'{"topic":"alerts","skus":["A"]}') == Notice("alerts", ("A",))
    for raw in (b"nope", b'{"topic":"orders"}', b'{"topic":"inventory","skus":[1]}', b"[]"):
        with pytest.raises(BadNotice):
            Notice.parse(raw)


class Recorder:
    def __init__(self) -> None:
        self.published: list[tuple[str, str]] = []

    def publish(self, channel: str, message: str) -> int:
        self.published.append((channel, message))
        return 1


def test_the_relay_publishes_signed_events_and_drops_forged_or_malformed_ones() -> None:
    recorder = Recorder()
    relay = LiveRelay(recorder, SECRET)
    payload = {"tenant_id": "t1", "skus": [{"sku": "A", "available": 1}]}
    assert relay.forward("inventory.stock_changed", sign_event(SECRET, "inventory.stock_changed", payload))
    assert recorder.published == [("omnistock:live:t1", '{"topic":"inventory","skus":["A"]}')]
    # Unsigned, signed with another secret, or signed as another event type: dropped.
    assert not relay.forward("inventory.stock_changed", payload)
    assert not relay.forward(
        "inventory.stock_changed", sign_event("x" * 40, "inventory.stock_changed", payload)
    )
    assert not relay.forward("inventory.stock_changed", sign_event(SECRET, "inventory.low_stock", payload))
    bad = sign_event(SECRET, "inventory.stock_changed", {"tenant_id": "t1"})
    assert not relay.forward("inventory.stock_changed", bad)
    assert len(recorder.published) == 1


def test_the_stream_forwards_notices_as_events_and_drops_malformed_ones() -> None:
    clock = Clock()
    pubsub = ScriptedPubSub(
        clock,
        [
            message(b'{"topic":"inventory","skus":["A"]}'),
            message(b"garbage"),
            message('{"topic":"channels"}'),
        ],
    )
    out = chunks(event_stream(pubsub, StreamTiming(max_seconds=5.0, heartbeat_seconds=100.0, clock=clock)))
    assert out[0].startswith("retry: ")
    assert out[1] == 'event: inventory\ndata: {"topic":"inventory","skus":["A"]}\n\n'
    assert out[2] == 'event: channels\ndata: {"topic":"channels"}\n\n'
    assert out[-1] == 'event: bye\ndata: {"reason":"max-duration"}\n\n'
    assert len(out) == 4
    # Never a wait past the end of the stream.
    assert clock.now == pytest.approx(5.0)
    assert max(pubsub.timeouts) <= 1.0


def test_the_stream_sends_a_heartbeat_after_each_quiet_period_and_ends_at_its_max_duration() -> None:
    clock = Clock()
    pubsub = ScriptedPubSub(clock, [])
    out = chunks(event_stream(pubsub, StreamTiming(max_seconds=10.0, heartbeat_seconds=3.0, clock=clock)))
    assert out[1:] == [": keep-alive\n\n"] * 3 + ['event: bye\ndata: {"reason":"max-duration"}\n\n']


def test_stream_slots_cap_the_open_streams_and_release_once() -> None:
    slots = StreamSlots(2)
    first, second = slots.acquire(), slots.acquire()
    assert first is not None and second is not None
    assert slots.acquire() is None
    first()
    first()  # a second release of the same slot changes nothing
    assert slots.open == 1
    third = slots.acquire()
    assert third is not None and slots.acquire() is None
    assert StreamSlots(0).acquire() is None


def test_if_none_match_uses_the_weak_comparison_and_lists() -> None:
    tag = weak_etag(b'{"items":[]}')
    assert tag.startswith('W/"') and tag.endswith('"')
    assert none_match(tag, tag)
    assert none_match(tag[2:], tag)  # the strong form of the same tag
    assert none_match(f'"other", {tag}', tag)
    assert none_match("*", tag)
    assert not none_match(None, tag)
    assert not none_match('W/"other"', tag)


def test_conditional_answers_304_only_to_a_matching_tag_of_a_200_json_reply() -> None:
    body = b'{"items":[1]}'
    fresh = conditional(Response(body, mimetype="application/json"), None)
    assert fresh.status_code == 200 and fresh.headers["ETag"] == weak_etag(body)
    again = conditional(Response(body, mimetype="application/json"), fresh.headers["ETag"])
    assert again.status_code == 304 and again.get_data() == b"" and again.headers["ETag"] == weak_etag(body)
    changed = conditional(Response(b'{"items":[2]}', mimetype="application/json"), fresh.headers["ETag"])
    assert changed.status_code == 200
    error = conditional(Response(body, status=404, mimetype="application/json"), weak_etag(body))
    assert error.status_code == 404 and "ETag" not in error.headers


class BrokenPubSub(ScriptedPubSub):
    def get_message(self, ignore_subscribe_messages: bool = False, timeout: float = 0.0) -> Any:
        raise redis.ConnectionError("gone")


def test_the_stream_ends_quietly_when_redis_goes_away() -> None:
    clock = Clock()
    out = chunks(event_stream(BrokenPubSub(clock, []), StreamTiming(5.0, 1.0, clock=clock)))
    assert len(out) == 1 and out[0].startswith("retry: ")


def test_the_stream_ends_within_a_second_once_the_client_has_closed_its_socket() -> None:
    server_end, client_end = socket.socketpair()
    try:
        gone = peer_closed(server_end)
        assert not gone()
        client_end.sendall(b"x")  # data waiting is not a close
        assert not gone()
        server_end.recv(1)
        client_end.close()
        assert gone()
        clock = Clock()
        left = iter([False, False, True])
        out = chunks(
            event_stream(
                ScriptedPubSub(clock, []), StreamTiming(300.0, 15.0, clock=clock), lambda: next(left)
            )
        )
        # The hello, two quiet polls of at most a second each, then the end: no bye, no heartbeat.
        assert len(out) == 1 and out[0].startswith("retry: ")
        assert clock.now <= 2.0
    finally:
        server_end.close()
    assert peer_closed(server_end)()  # a socket already closed counts as gone
    assert peer_closed(None)() is False
