"""An area split over several files (RouteGroup) mounts as one ApiModule: one operation-id prefix,
the groups' routes in the order they are included (the OpenAPI document's order)."""

from __future__ import annotations

from flask import Flask

from gateway.api import ApiModule, RouteGroup, register_modules, registered_operations
from gateway.domain import Permission
from gateway.routes import channels, inventory


def test_included_groups_keep_the_module_name_and_their_order() -> None:
    first, second = RouteGroup(), RouteGroup()

    @second.route("GET", "/b", summary="B", permission=None)
    def view_b() -> None:
        return None

    @first.route("PUT", "/a/<item>", summary="A", permission=Permission.INVENTORY_WRITE, status=204)
    def view_a(item: str) -> None:
        return None

    module = ApiModule("area", tag="Area").include(first, second)
    app = Flask("t")
    register_modules(app, [module])

    ops = registered_operations(app)
    assert [(op.method, op.rule, op.endpoint) for op in ops] == [
        ("PUT", "/api/v1/a/<item>", "area.view_a"),
        ("GET", "/api/v1/b", "area.view_b"),
    ]
    assert ops[0].status == 204 and ops[0].permission is Permission.INVENTORY_WRITE
    assert app.url_map.bind("").match("/api/v1/b", "GET")[0] == "area.view_b"


def test_split_areas_keep_their_operation_ids() -> None:
    """Clients generate code from operation ids: the inventory and channels files share one prefix."""
    inventory_ids = [op.endpoint for op in inventory.api.operations]
    channels_ids = [op.endpoint for op in channels.api.operations]
    assert inventory_ids[:2] == ["inventory.list_locations", "inventory.create_location"]
    assert inventory_ids[-2:] == ["inventory.put_bundle", "inventory.inventory_report"]
    assert len(inventory_ids) == 19
    assert all(name.startswith("inventory.") for name in inventory_ids)
    assert channels_ids[0] == "channels.list_channel_types" and channels_ids[-2:] == [
        "channels.receive_webhook",
        "channels.answer_webhook_challenge",
    ]
    assert len(channels_ids) == 23 and all(name.startswith("channels.") for name in channels_ids)
    assert "channels.update_connection_settings" in channels_ids
    assert "channels.get_job" in channels_ids and "channels.catalog_import" in channels_ids
    assert "channels.publish" in channels_ids and "channels.put_owned_fields" in channels_ids
