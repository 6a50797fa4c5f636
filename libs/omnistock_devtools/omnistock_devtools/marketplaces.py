"""The channels beyond Shopify and WooCommerce as a merchant and a test drive them: how each one is
connected through the gateway (its OAuth round trip against its sandbox) and what its sandbox's
vendor-specific control routes take (token expiry, throttling, webhook addresses, orders).

One table (`MARKETPLACES`) so the full-stack tests, the sync-latency benchmark and the demo connect
every channel the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from omnistock_devtools.demo import (
    ChannelReport,
    GatewayClient,
    Sandbox,
    current_connection,
    expect,
    map_and_report,
)


@dataclass(frozen=True)
class Marketplace:
    """One channel type and its sandbox, as the tests and the benchmark use them."""

    channel_type: str
    # The registry's sandbox deployable (facebook and instagram share Meta's).
    sandbox: str
    # oauth/start's query beyond api_base_url (settings the channel does not tell).
    connect_settings: Mapping[str, str] = field(default_factory=dict)
    # A delivery's headers with a signature the channel never made (all refused alike: 401).
    forged_webhook_headers: Mapping[str, str] = field(default_factory=dict)
    # The sandbox pushes signed order webhooks to addresses registered at /_sandbox/webhooks.
    order_webhooks: bool = False
    # POST /_sandbox/throttle's body that makes the next `count` calls rate limited.
    throttle_body: Mapping[str, Any] = field(default_factory=lambda: {"count": 3})
    # The carrier a fulfilment names (TikTok ships with its own provider ids, not names).
    carrier: str = "UPS"
    # POST /_sandbox/orders's fields beyond the lines (Meta: which shop the buyer used).
    order_fields: Mapping[str, Any] = field(default_factory=dict)
    # No refresh token (Meta): the token is kept alive by renewing it before it ends, so "survive
    # expiry" means outliving the first token, not recovering from the channel killing them all.
    renews_before_expiry: bool = False
    # POST /_sandbox/tokens's body making the tokens issued from now on short-lived (renewal tests).
    short_tokens_body: Mapping[str, Any] = field(default_factory=dict)
    # Publishing: the editable settings the merchant sets first (PATCH /channels/{id}: what the
    # channel needs that OmniStock does not know), and the status /_sandbox/catalog shows for a
    # product OmniStock archived (kept on the channel, off sale).
    publish_settings: Mapping[str, str] = field(default_factory=dict)
    archived_status: str = ""
    # The channel downloads the images itself (TikTok's upload): they must be served by the sandbox.
    fetches_images: bool = False
    # Each variant is a listing of its own (Amazon: no variation family is created on publish).
    lists_variants_apart: bool = False


def _meta(channel_type: str) -> Marketplace:
    """Facebook Shop and Instagram Shopping: one Meta sandbox, one catalog, one commerce account."""
    return Marketplace(
        channel_type,
        "meta-sandbox",
        # The store a catalog item's `link` points into (Meta requires one to publish).
        connect_settings={"store_url": "https://demo-shop.example"},
        forged_webhook_headers={"X-Hub-Signature-256": "sha256=" + "0" * 64},
        throttle_body={"count": 2, "estimated_time_to_regain_access": 0, "code": 4},
        order_fields={"channel": channel_type},
        renews_before_expiry=True,
        short_tokens_body={"user_token_lifetime_seconds": 15},
        publish_settings={"product_url_template": "https://demo-shop.example/p/{product_id}?sku={sku}"},
        archived_status="staging",
    )


MARKETPLACES: dict[str, Marketplace] = {
    m.channel_type: m
    for m in (
        _meta("facebook"),
        _meta("instagram"),
        Marketplace(
            "tiktok",
            "tiktok-sandbox",
            # TikTok's shops API names no currency: the merchant says it when connecting.
            connect_settings={"currency": "USD"},
            forged_webhook_headers={"Authorization": "0" * 64},
            order_webhooks=True,
            throttle_body={"count": 3, "http_status": 200},
            # TikTok's id of USPS (the connector passes a numeric carrier through as the id).
            carrier="7117858858072016686",
            publish_settings={
                "category_id": "600001",
                "package_weight_kg": "0.4",
                "package_dimensions_cm": "20x15x5",
            },
            archived_status="SELLER_DEACTIVATED",
            fetches_images=True,
        ),
        # Amazon posts nothing over HTTP (notifications go to SQS/EventBridge): every delivery to
        # its webhook endpoint is refused.
        Marketplace(
            "amazon",
            "amazon-sandbox",
            forged_webhook_headers={"X-Amz-Signature": "0" * 64},
            # A full listing (our title, brand, images), not an offer on Amazon's catalog item.
            publish_settings={"product_type": "PRODUCT", "brand": "Acme Apparel"},
            # Archiving sets the quantity to 0: the listing stays, not buyable.
            archived_status="DISCOVERABLE",
            lists_variants_apart=True,
        ),
        Marketplace(
            "ebay",
            "ebay-sandbox",
            # base64 of {"alg":"ECDSA","kid":"nope","signature":"AAAA","digest":"SHA1"}
            forged_webhook_headers={
                "X-EBAY-SIGNATURE": "eyJhbGciOiJFQ0RTQSIsImtpZCI6Im5vcGUiLCJzaWduYXR1cmUiOiJBQUFBIiwiZGlnZXN0IjoiU0hBMSJ9"
            },
            # What publishing a listing needs and eBay does not tell (the seller's category,
            # business policies and inventory location; any non-empty value suits the sandbox).
            publish_settings={
                "category_id": "11450",
                "fulfillment_policy_id": "sandbox-fulfillment-policy",
                "payment_policy_id": "sandbox-payment-policy",
                "return_policy_id": "sandbox-return-policy",
                "merchant_location_key": "sandbox-warehouse",
            },
            # Archiving withdraws the offers: the listing ends, items and offers are kept.
            archived_status="UNPUBLISHED",
        ),
    )
}


DISPLAY_NAMES = {
    "facebook": "Facebook Shop",
    "instagram": "Instagram Shopping",
    "tiktok": "TikTok Shop",
    "amazon": "Amazon",
    "ebay": "eBay",
}


def connect(client: GatewayClient, channel_type: str, sandbox: Sandbox, name: str = "") -> dict[str, Any]:
    """Connect the tenant to `sandbox` through the gateway's OAuth round trip; the connection."""
    market = MARKETPLACES[channel_type]
    return client.connect_oauth(channel_type, sandbox.base_url, name=name, **market.connect_settings)


def carrier_for(channel_type: str) -> str:
    return MARKETPLACES[channel_type].carrier


def issue_short_tokens(sandbox: Sandbox, channel_type: str) -> None:
    """From now on the sandbox issues tokens that end within seconds (renewal tests)."""
    body = dict(MARKETPLACES[channel_type].short_tokens_body)
    expect(sandbox.http.post(f"{sandbox.base_url}/_sandbox/tokens", json=body), 200, 201, what="short tokens")


def expire_tokens(sandbox: Sandbox) -> None:
    """Every access token the sandbox issued stops working (refreshable, not revoked)."""
    expect(sandbox.http.post(f"{sandbox.base_url}/_sandbox/expire-tokens"), 200, what="expire sandbox tokens")


def throttle(sandbox: Sandbox, channel_type: str) -> None:
    """The sandbox's next few API calls answer its rate-limit error."""
    body = dict(MARKETPLACES[channel_type].throttle_body)
    expect(
        sandbox.http.post(f"{sandbox.base_url}/_sandbox/throttle", json=body), 200, what="throttle sandbox"
    )


def send_order_webhooks_to(sandbox: Sandbox, address: str) -> None:
    """Register `address` for the sandbox's signed order webhooks."""
    response = sandbox.http.post(f"{sandbox.base_url}/_sandbox/webhooks", json={"address": address})
    expect(response, 200, 201, what=f"register {address} for the sandbox's webhooks")


def place_order(
    sandbox: Sandbox, channel_type: str, lines: Mapping[str, int], price: str = "10.00"
) -> dict[str, Any]:
    """A paid checkout on the sandbox; its answer ({id, name, ...})."""
    body = {
        "lines": [{"sku": sku, "quantity": qty, "price": price} for sku, qty in lines.items()],
        **MARKETPLACES[channel_type].order_fields,
    }
    response = sandbox.http.post(f"{sandbox.base_url}/_sandbox/orders", json=body)
    return dict(expect(response, 201, what="place a sandbox order").json())


def order_view(sandbox: Sandbox, external_id: str) -> dict[str, Any]:
    """The order as the seller sees it on the channel (shipments, tracking, cancellation)."""
    response = sandbox.http.get(f"{sandbox.base_url}/_sandbox/orders/{external_id}")
    return dict(expect(response, 200, what=f"sandbox order {external_id}").json())


def prices(sandbox: Sandbox) -> dict[str, dict[str, str | None]]:
    """sku -> {price, compare_at_price} as the channel's shoppers see them."""
    response = sandbox.http.get(f"{sandbox.base_url}/_sandbox/prices")
    return dict(expect(response, 200, what="sandbox prices").json())


def ensure_connected(client: GatewayClient, channel_type: str, sandbox: Sandbox) -> ChannelReport:
    """Keep the channel's OAuth connection to the running sandbox if it still works, otherwise run
    its OAuth round trip again (a restarted sandbox forgot its tokens): the store id it learns
    names the same store, so the connection is re-authorised in place, mappings kept."""
    label = DISPLAY_NAMES.get(channel_type, channel_type)
    conn = current_connection(client.connections(), channel_type, sandbox.base_url)
    action = "connected"
    if conn is not None:
        if conn["status"] != "disconnected" and client.auto_map_job(conn["id"])["status"] == "succeeded":
            action = "kept"
        else:
            conn, action = None, "reconnected"
    if conn is None:
        conn = connect(client, channel_type, sandbox, name=f"Demo {label}")
    return map_and_report(client, conn, action, label, sandbox.base_url)
