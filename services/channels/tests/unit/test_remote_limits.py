"""Bounds on what a channel can make the channels service hold or show (issue 12, item 3):
auto-map pages, unknown remote SKUs, malformed remote values, remote text in health."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from channels import domain, listing_mapping
from channels.deps import ChannelsDeps
from channels.domain import Health, after_failure, disconnected
from channels.listing_mapping import MAX_REMOTE_PAGES, MAX_UNKNOWN_REMOTE_SKUS
from omnistock.connector.v1 import connector_service_pb2 as cpb
from omnistock_common.context import CallContext

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Repo:
    listings: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    log: list[dict[str, Any]] = field(default_factory=list)

    def upsert_listings(self, tenant: str, connection: str, rows: list[Any], now: datetime) -> None:
        self.listings.extend(rows)

    def add_sync_log(self, tenant: str, connection: str, **entry: Any) -> None:
        self.log.append(entry)


@dataclass
class Uow:
    repo: Repo = field(default_factory=Repo)

    def run(self, work: Any) -> Any:
        return work(self.repo)


class EndlessChannel:
    """A channel that always has another page, full of SKUs unknown to OmniStock."""

    def __init__(self) -> None:
        self.pages = 0

    def load(self, tenant: str, connection_id: str) -> Any:
        return SimpleNamespace(connection=SimpleNamespace(type="woocommerce"))

    def with_connection(self, tenant: str, connection_id: str, operation: str, fn: Any, **_: Any) -> Any:
        self.pages += 1
        products = [
            cpb.RemoteProduct(sku=f"R{self.pages}-{i}", remote=cpb.RemoteIds(ids={"product_id": str(i)}))
            for i in range(10)
        ]
        products.append(cpb.RemoteProduct(sku="A", remote=cpb.RemoteIds(ids={"product_id": "1"})))
        products.append(cpb.RemoteProduct(sku="bad\u202esku", remote=cpb.RemoteIds(ids={"product_id": "2"})))
        products.append(cpb.RemoteProduct(sku="NUL\x00", remote=cpb.RemoteIds(ids={"product_id": "3"})))
        return cpb.ListRemoteProductsResponse(products=products, next_cursor=f"page-{self.pages}")


def _deps(channel: EndlessChannel, uow: Uow) -> ChannelsDeps:
    return ChannelsDeps(uow, None, None, channel, None, None, clock=lambda: NOW)  # type: ignore[arg-type]


def test_auto_map_stops_after_the_page_cap_and_says_so() -> None:
    channel, uow = EndlessChannel(), Uow()
    result = listing_mapping.auto_map(_deps(channel, uow), CallContext(tenant_id="t1"), "c1", ["A", "B"])
    assert channel.pages == MAX_REMOTE_PAGES == 200
    assert result.mapped == 1 and result.unmapped_skus == ["B"]
    assert len(result.unknown_remote_skus) == MAX_UNKNOWN_REMOTE_SKUS
    assert "bad\u202esku" not in result.unknown_remote_skus and "NUL\x00" not in result.unknown_remote_skus
    (entry,) = uow.repo.log
    assert "2000 remote SKUs unknown" in entry["message"]
    assert f"stopped after {MAX_REMOTE_PAGES} pages" in entry["message"]


def test_remote_values_are_cleaned_or_dropped() -> None:
    assert domain.is_clean_identifier("SKU-1") and not domain.is_clean_identifier("SKU\u200b1")
    assert not domain.is_clean_identifier(" SKU") and not domain.is_clean_identifier("x" * 129)
    assert domain.remote_ids({"product_id": "7", "bad\x00": "1", "variation_id": "\u202e9"}) == {
        "product_id": "7"
    }
    learnt = domain.remote_settings(
        {"currency": "EUR\u200b", "shop_domain": "x", "access_token": "leak", "name": "n" * 5000},
        exclude={"shop_domain": "mine"},
    )
    assert learnt == {"currency": "EUR", "name": "n" * (domain.MAX_SETTING_VALUE - 1) + "…"}


def test_health_keeps_no_control_characters_and_is_bounded() -> None:
    failed = after_failure(Health(), NOW, "UNAVAILABLE: \u202edown\x00\n" + "x" * 5000)
    assert (
        failed.last_error.startswith("UNAVAILABLE: down x")
        and len(failed.last_error) <= domain.MAX_LAST_ERROR
    )
    gone = disconnected(Health(), NOW, "revoked\u200b\r\nnow")
    assert gone.last_error == gone.status_reason == "revoked now"


def test_the_cap_is_what_the_module_says() -> None:
    assert listing_mapping.REMOTE_PAGE * MAX_REMOTE_PAGES == 50_000
