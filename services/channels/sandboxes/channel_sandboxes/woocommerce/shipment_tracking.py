"""WooCommerce.com's Shipment Tracking extension, as far as connectors use it.

`GET|POST /wp-json/wc-shipment-tracking/v3/orders/<order_id>/shipment-trackings`
(https://woocommerce.com/document/shipment-tracking/shipment-tracking-rest-api-create-tracking-item/):
a tracking item is `tracking_number` plus either a predefined `tracking_provider` or a custom
provider (`custom_tracking_provider` + `custom_tracking_link`), and `date_shipped`; a create answers
201 with the item and its `tracking_id`. Items are kept on the order (meta
`_wc_shipment_tracking_items`). With `WooConfig.shipment_tracking` off the namespace does not
exist, as on a store without the extension: 404 `rest_no_route`.
"""

from __future__ import annotations

import secrets

from flask import Flask, Response, request

from channel_sandboxes.common import json_response
from channel_sandboxes.woocommerce.orders import order_or_404
from channel_sandboxes.woocommerce.sandbox import WooSandbox
from channel_sandboxes.woocommerce.wp_rest import WooError, api_guard, rest_body

PATH = "/wp-json/wc-shipment-tracking/v3/orders/<int:order_id>/shipment-trackings"


def register_shipment_tracking_routes(app: Flask, sandbox: WooSandbox) -> None:
    store = sandbox.store
    api = api_guard(sandbox)

    @api("shipment-trackings/list", "view")
    def list_trackings(order_id: int) -> Response:
        with store.lock:
            return json_response(list(order_or_404(store, order_id).trackings))

    @api("shipment-trackings/create", "edit")
    def create_tracking(order_id: int) -> Response:
        data = rest_body()
        number = str(data.get("tracking_number") or "")
        provider = str(data.get("tracking_provider") or "")
        custom = str(data.get("custom_tracking_provider") or "")
        link = str(data.get("custom_tracking_link") or "")
        if not number or not (provider or (custom and link)):
            raise WooError(
                "rest_missing_callback_param",
                "Missing parameter(s): tracking_number, and tracking_provider or custom_tracking_provider"
                " with custom_tracking_link",
                400,
            )
        with store.lock:
            order = order_or_404(store, order_id)
            item = {
                "tracking_id": secrets.token_hex(16),
                "tracking_provider": provider,
                "custom_tracking_provider": custom,
                "custom_tracking_link": link,
                "tracking_number": number,
                "date_shipped": str(data.get("date_shipped") or ""),
                "tracking_link": link.replace("%1$s", number) if link else "",
            }
            order.trackings.append(item)
        return json_response(item, 201)

    # A route that does not exist is 404 before any authentication, as WordPress routes it.
    @app.route(PATH, methods=["GET", "POST"])
    def shipment_trackings(order_id: int) -> Response:
        if not sandbox.config.shipment_tracking:
            raise WooError("rest_no_route", "No route was found matching the URL and request method.", 404)
        handler = list_trackings if request.method == "GET" else create_tracking
        return handler(order_id=order_id)
