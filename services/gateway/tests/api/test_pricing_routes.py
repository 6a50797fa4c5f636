"""Pricing routes through the gateway, against the REAL pricing gRPC server (its composition root
on 127.0.0.1:0, a migrated SQLite database) with in-memory catalog and listings ports: one test
per route group (prices, FX rates, connection pricing / schedule / timed sales)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from omnistock_common.context import CallContext
from omnistock_devtools.migrated import migrate
from pricing.config import load_settings
from pricing.domain.model import BasePrice
from pricing.server import Pricing, build


class Catalog:
    def base_prices(self, ctx: CallContext, skus: Sequence[str]) -> dict[str, BasePrice]:
        known = {"TEE-1": BasePrice(9900, "USD"), "TEE-2": BasePrice(2500, "USD")}
        return {s: known[s] for s in skus if s in known}


class Listings:
    def listed_skus(self, ctx: CallContext, connection_id: str) -> list[str]:
        return {"shop": ["TEE-1", "TEE-2"], "woo": ["TEE-1"]}.get(connection_id, [])


@pytest.fixture
def pricing_server(tmp_path: Path) -> Iterator[Pricing]:
    url = f"sqlite:///{tmp_path / 'pricing.db'}"
    migrate("pricing", url)
    settings = load_settings({"PRICING_DATABASE_URL": url, "PRICING_GRPC_PORT": "0", "LOG_LEVEL": "WARNING"})
    server = build(settings, catalog=Catalog(), listings=Listings())
    yield server
    server.stop()


@pytest.fixture
def owner(app_factory: Any, sqlite_url: str, pricing_server: Pricing, helpers: Any) -> Any:
    app = app_factory(sqlite_url, pricing_addr=f"127.0.0.1:{pricing_server.port}")
    return helpers.register(app.test_client(), "Acme", "owner@acme.test")


def test_prices_set_list_bulk_and_history(owner: Any) -> None:
    c, auth = owner.client, owner.auth
    listed = c.get("/api/v1/prices?connection_id=shop", headers=auth)
    assert listed.status_code == 200, listed.json
    assert {i["sku"]: i["price"] for i in listed.json["items"]} == {
        "TEE-1": {"amount": "99.00", "currency": "USD"},
        "TEE-2": {"amount": "25.00", "currency": "USD"},
    }
    put = c.put(
        "/api/v1/prices/TEE-1",
        json={"connection_id": "shop", "price": {"amount": "89.00", "currency": "USD"}},
        headers=auth,
    )
    assert put.status_code == 200 and put.json["derived"] is False, put.json
    bad = c.put("/api/v1/prices/TEE-1", json={"connection_id": "shop", "price": 89.0}, headers=auth)
    assert bad.status_code == 400 and bad.content_type == "application/problem+json"

    preview = c.post(
        "/api/v1/prices/bulk",
        json={"connection_id": "shop", "change": {"percent": 10}, "rounding": "0.99", "dry_run": True},
        headers=auth,
    )
    assert preview.status_code == 200, preview.json
    assert preview.json["count"] == 2
    assert {i["sku"]: i["after"]["amount"] for i in preview.json["items"]} == {
        "TEE-1": "97.99",
        "TEE-2": "27.99",
    }
    stale = c.post(
        "/api/v1/prices/bulk",
        json={
            "connection_id": "shop",
            "change": {"amount": {"amount": "-1.00", "currency": "USD"}},
            "dry_run": True,
        },
        headers=auth,
    ).json["preview_id"]
    applied = c.post("/api/v1/prices/bulk", json={"preview_id": preview.json["preview_id"]}, headers=auth)
    assert applied.status_code == 200 and applied.json == {"count": 2}
    refused = c.post("/api/v1/prices/bulk", json={"preview_id": stale}, headers=auth)
    assert refused.status_code == 409 and refused.content_type == "application/problem+json"
    assert (
        c.post(
            "/api/v1/prices/bulk", json={"connection_id": "shop", "change": {"percent": 5}}, headers=auth
        ).status_code
        == 400
    )

    history = c.get("/api/v1/prices/TEE-1/history", headers=auth)
    assert history.status_code == 200
    assert [(h["before"]["amount"], h["after"]["amount"]) for h in history.json["items"]] == [
        ("89.00", "97.99"),
        ("99.00", "89.00"),
    ]
    assert history.json["items"][0]["actor"].startswith("user:")


def test_fx_rates_get_and_put(owner: Any) -> None:
    c, auth = owner.client, owner.auth
    assert c.get("/api/v1/fx-rates", headers=auth).json == {
        "base": None,
        "rates": {},
        "updated_at": {},
        "threshold_percent": "1",
        "repriced": None,
    }
    put = c.put(
        "/api/v1/fx-rates",
        json={"base": "USD", "rates": {"EUR": "0.92", "BDT": "119.5"}, "threshold_percent": "2.5"},
        headers=auth,
    )
    assert put.status_code == 200 and put.json["threshold_percent"] == "2.5", put.json
    assert put.json["rates"] == {"BDT": "119.5", "EUR": "0.92"}
    bad = c.put("/api/v1/fx-rates", json={"base": "USD", "rates": {"EUR": "-1", "ZZZ": "1"}}, headers=auth)
    assert bad.status_code == 400 and {e["field"] for e in bad.json["errors"]} >= {"rates.EUR"}
    assert c.get("/api/v1/fx-rates", headers=auth).json["rates"]["EUR"] == "0.92"
    csv = "currency,rate\nGBP,0.79\nEUR,0.93\n"
    imported = c.post("/api/v1/fx-rates/import", data=csv, content_type="text/csv", headers=auth)
    assert imported.status_code == 200, imported.json
    assert imported.json["rates"] == {"BDT": "119.5", "EUR": "0.93", "GBP": "0.79"}
    broken = c.post(
        "/api/v1/fx-rates/import", data="currency,rate\nEUR,x\nZZZ,1\n", content_type="text/csv", headers=auth
    )
    assert broken.status_code == 400 and [e["field"] for e in broken.json["errors"]] == ["line 2", "line 3"]
    wrong_type = c.post("/api/v1/fx-rates/import", data=csv, content_type="text/plain", headers=auth)
    assert wrong_type.status_code == 415


def test_connection_pricing_schedule_and_timed_sales(owner: Any) -> None:
    c, auth = owner.client, owner.auth
    c.put("/api/v1/fx-rates", json={"base": "USD", "rates": {"EUR": "0.92"}}, headers=auth)
    woo = c.put("/api/v1/channels/woo/pricing", json={"currency": "EUR", "rounding": "0.99"}, headers=auth)
    assert woo.status_code == 200 and woo.json["cron"] == "0 0 * * *", woo.json
    floor_alone = c.put(
        "/api/v1/channels/x/pricing", json={"floor": {"amount": "1.00", "currency": "USD"}}, headers=auth
    )
    assert floor_alone.status_code == 400, floor_alone.json  # a floor needs the connection's currency
    price = c.get("/api/v1/prices?connection_id=woo&sku=TEE-1", headers=auth).json["items"][0]
    assert price["price"] == {"amount": "90.99", "currency": "EUR"} and price["derived"] is True

    schedule = c.put(
        "/api/v1/channels/woo/price-schedule",
        json={"cron": "30 2 * * 1", "timezone": "Europe/Berlin"},
        headers=auth,
    )
    assert schedule.status_code == 200 and schedule.json["rounding"] == "0.99", schedule.json
    bad = c.put(
        "/api/v1/channels/woo/price-schedule",
        json={"cron": "every day", "timezone": "Mars/Base"},
        headers=auth,
    )
    assert bad.status_code == 400 and {e["field"] for e in bad.json["errors"]} == {"cron"}

    body = {
        "sku": "TEE-1",
        "connection_id": "woo",
        "sale_price": {"amount": "79.99", "currency": "EUR"},
        "starts_at": "2099-01-01T00:00:00Z",
        "ends_at": "2099-01-02T00:00:00Z",
    }
    created = c.post("/api/v1/timed-sales", json=body, headers=auth)
    assert created.status_code == 201 and created.json["state"] == "scheduled", created.json
    overlap = c.post("/api/v1/timed-sales", json=body, headers=auth)
    assert overlap.status_code == 409
    assert [s["id"] for s in c.get("/api/v1/timed-sales?sku=TEE-1", headers=auth).json["items"]] == [
        created.json["id"]
    ]
