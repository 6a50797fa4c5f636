"""Product image URLs through the gateway and the REAL catalog server (SQLite): created, read,
replaced and cleared as `image_urls` in the JSON; a bad URL is a 400 problem naming the item, and
nothing is stored. (The gateway's own bounds: test_catalog_api.py.)"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from catalog.config import load_settings
from catalog.server import Catalog, build, with_port
from catalog.service import StockLine
from omnistock_common.context import CallContext
from omnistock_common.db import make_engine
from omnistock_devtools.migrated import migrate

pytestmark = pytest.mark.redis

TEE = {"sku": "IMG-TEE", "price": {"amount": "19.99", "currency": "USD"}}
FRONT, BACK = "https://cdn.example.com/tee/front.jpg", "http://cdn.example.com/tee/back.png?w=800"


class NoStock:
    def set_stock(self, ctx: CallContext, lines: Sequence[StockLine]) -> dict[int, str]:
        return {}


@pytest.fixture
def real_catalog(tmp_path: Any) -> Iterator[Catalog]:
    url = f"sqlite:///{tmp_path}/catalog.db"
    migrate("catalog", url)
    engine = make_engine(url)
    settings = with_port(load_settings({"CATALOG_DATABASE_URL": url}), "127.0.0.1", 0)
    running = build(settings, engine=engine, stock=NoStock())
    yield running
    running.stop()
    engine.dispose()


@pytest.fixture
def client(app_factory: Any, sqlite_url: str, real_catalog: Catalog) -> Any:
    addr = f"127.0.0.1:{real_catalog.port}"
    return app_factory(sqlite_url, catalog_addr=addr, backends={"catalog": addr}).test_client()


@pytest.fixture
def owner(client: Any, helpers: Any) -> Any:
    return helpers.register(client, "Pictures", "owner@pictures.test")


def test_image_urls_are_created_read_replaced_and_cleared(client: Any, owner: Any) -> None:
    created = client.post(
        "/api/v1/products",
        json={"title": "Tee", "image_urls": [FRONT, BACK], "variants": [TEE]},
        headers=owner.auth,
    )
    assert created.status_code == 201, created.json
    assert created.json["image_urls"] == [FRONT, BACK]
    url = f"/api/v1/products/{created.json['id']}"
    assert client.get(url, headers=owner.auth).json["image_urls"] == [FRONT, BACK]

    reordered = client.patch(url, json={"image_urls": [BACK]}, headers={**owner.auth, "If-Match": '"1"'})
    assert reordered.status_code == 200, reordered.json
    assert reordered.json["image_urls"] == [BACK] and reordered.headers["ETag"] == '"2"'
    # Another field alone leaves the images as they are.
    assert client.patch(url, json={"title": "Tee 2"}, headers=owner.auth).json["image_urls"] == [BACK]
    cleared = client.patch(url, json={"image_urls": []}, headers=owner.auth)
    assert cleared.status_code == 200 and cleared.json["image_urls"] == []
    assert client.patch(url, json={"image_urls": None}, headers=owner.auth).status_code == 400

    listed = client.get("/api/v1/products", headers=owner.auth).json["items"]
    assert [p["image_urls"] for p in listed] == [[]]


@pytest.mark.parametrize(
    ("urls", "field"),
    [
        (["ftp://cdn.example.com/a.jpg"], "image_urls[0]"),
        ([FRONT, "/relative/a.jpg"], "image_urls[1]"),
        (["https://user:secret@cdn.example.com/a.jpg"], "image_urls[0]"),
        (["https://cdn.example.com/a b.jpg"], "image_urls[0]"),
        ([FRONT, FRONT], "image_urls[1]"),
    ],
)
def test_a_bad_url_is_400_and_nothing_is_stored(client: Any, owner: Any, urls: list[str], field: str) -> None:
    refused = client.post(
        "/api/v1/products", json={"title": "Bad", "image_urls": urls, "variants": [TEE]}, headers=owner.auth
    )
    assert refused.status_code == 400 and refused.mimetype == "application/problem+json"
    assert field in [e["field"] for e in refused.json["errors"]], refused.json
    assert client.get("/api/v1/products", headers=owner.auth).json["items"] == []


def test_a_bad_url_in_a_patch_leaves_the_images_unchanged(client: Any, owner: Any) -> None:
    created = client.post(
        "/api/v1/products",
        json={"title": "Tee", "image_urls": [FRONT], "variants": [TEE]},
        headers=owner.auth,
    ).json
    url = f"/api/v1/products/{created['id']}"
    refused = client.patch(url, json={"image_urls": [BACK, "javascript:alert(1)"]}, headers=owner.auth)
    assert refused.status_code == 400 and refused.mimetype == "application/problem+json"
    assert [e["field"] for e in refused.json["errors"]] == ["product.image_urls[1]"]
    stored = client.get(url, headers=owner.auth)
    assert stored.json["image_urls"] == [FRONT] and stored.headers["ETag"] == '"1"'
