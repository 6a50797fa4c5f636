"""Examples of the orders endpoints' bodies for the OpenAPI document (gateway.orders_schemas).

Plain data, one order told through every shape it takes: created manually or imported from
Shopify, listed, fulfilled. tests/unit/test_openapi.py validates each example against the
generated schema, so an example that drifts from its model fails the build.
"""

from __future__ import annotations

from typing import Any

_ORDER_ID = "6f1c2b8e-4d0a-4c55-9a57-3f1e0d2c9b11"
_LINE_ID = "0b6e4f2a-8c1d-4e3b-9f70-2a5d6c7e8f90"
_CONNECTION_ID = "c0ffee00-1234-4abc-8def-00000000abcd"


def _usd(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


CREATE: dict[str, Any] = {
    "customer_email": "ada@example.com",
    "customer_name": "Ada Lovelace",
    "shipping_address": {
        "name": "Ada Lovelace",
        "line1": "12 St James's Square",
        "city": "London",
        "postal_code": "SW1Y 4JH",
        "country_code": "GB",
    },
    "lines": [
        {"sku": "TEE-RED-M", "quantity": 2, "unit_price": _usd("19.99"), "title": "Red tee, M"},
        {"sku": "MUG-01", "quantity": 1, "unit_price": _usd("9.50"), "tax": _usd("0.95")},
    ],
    "shipping": _usd("4.99"),
    "status": "PAID",
    "external_name": "POS-1042",
}

FULFILL: dict[str, Any] = {
    "carrier": "UPS",
    "tracking_number": "1Z999AA10123456784",
    "tracking_url": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
}

FULFILL_PARTIAL: dict[str, Any] = {
    "carrier": "DHL",
    "tracking_number": "JD014600006281230270",
    "lines": [{"line_id": _LINE_ID, "quantity": 1}, {"sku": "MUG-01", "quantity": 1}],
}

CANCEL: dict[str, Any] = {"reason": "customer changed their mind"}

RETURN: dict[str, Any] = {
    "lines": [
        {"sku": "TEE-RED-M", "quantity": 1, "restock": True},
        {"sku": "MUG-01", "quantity": 1, "restock": False},
    ],
    "reason": "wrong size; mug arrived broken",
}

_LINES: list[dict[str, Any]] = [
    {
        "id": _LINE_ID,
        "external_line_id": "13244958720145",
        "sku": "TEE-RED-M",
        "title": "Red tee, M",
        "quantity": 2,
        "unit_price": _usd("19.99"),
        "discount": _usd("0.00"),
        "tax": _usd("0.00"),
        "quantity_shipped": 0,
        "quantity_returned": 0,
        "quantity_reserved": 2,
        "sku_known": True,
    }
]

_ADDRESS: dict[str, str] = {
    "name": "Ada Lovelace",
    "company": "",
    "line1": "12 St James's Square",
    "line2": "",
    "city": "London",
    "region": "",
    "postal_code": "SW1Y 4JH",
    "country_code": "GB",
    "phone": "",
}

ORDER: dict[str, Any] = {
    "id": _ORDER_ID,
    "source": "SHOPIFY",
    "connection_id": _CONNECTION_ID,
    "external_id": "5012345678901",
    "external_name": "#1042",
    "customer_email": "ada@example.com",
    "customer_name": "Ada Lovelace",
    "status": "PAID",
    "channel_status": {"financial_status": "paid", "fulfillment_status": "unfulfilled"},
    "total": _usd("44.97"),
    "totals": {
        "subtotal": _usd("39.98"),
        "discount": _usd("0.00"),
        "shipping": _usd("4.99"),
        "tax": _usd("0.00"),
        "total": _usd("44.97"),
    },
    "lines": _LINES,
    "flags": [],
    "duplicate_of": [],
    "created_at": "2026-01-31T12:00:00Z",
    "updated_at": "2026-01-31T12:05:00Z",
    "shipping_address": _ADDRESS,
    "fulfillments": [],
    "version": 2,
}

ORDER_DETAIL: dict[str, Any] = {
    **ORDER,
    "channel_updated_at": "2026-01-31T12:04:58Z",
    "history": [
        {
            "from_status": None,
            "to_status": "PENDING",
            "at": "2026-01-31T12:00:00Z",
            "actor": "channel",
            "reason": "imported",
        },
        {
            "from_status": "PENDING",
            "to_status": "PAID",
            "at": "2026-01-31T12:05:00Z",
            "actor": "channel",
            "reason": "financial_status paid",
        },
    ],
    "raw_versions": [
        {
            "channel_updated_at": "2026-01-31T12:04:58Z",
            "received_at": "2026-01-31T12:05:00Z",
            "via": "webhook",
            "payload_json": '{"id": 5012345678901, "name": "#1042", "financial_status": "paid"}',
        }
    ],
}

PAGE: dict[str, Any] = {"items": [ORDER], "next_cursor": "eyJjIjoiMjAyNi0wMS0zMVQxMjowMDowMFoifQ"}

FULFILLMENT: dict[str, Any] = {
    "id": "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a",
    "carrier": "UPS",
    "tracking_number": "1Z999AA10123456784",
    "tracking_url": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
    "lines": [{"line_id": _LINE_ID, "sku": "TEE-RED-M", "quantity": 2}],
    "sync_state": "pending",
    "external_fulfillment_id": "",
    "sync_message": "",
    "created_at": "2026-02-01T09:30:00Z",
}

FULFILL_RESULT: dict[str, Any] = {
    "order": {
        **ORDER_DETAIL,
        "status": "SHIPPED",
        "lines": [{**_LINES[0], "quantity_shipped": 2, "quantity_reserved": 0}],
        "fulfillments": [FULFILLMENT],
        "updated_at": "2026-02-01T09:30:00Z",
        "version": 3,
    },
    "fulfillment": FULFILLMENT,
}

CSV_EXAMPLE = (
    "order_id,order_name,source,connection_id,external_id,status,...,line_number,sku,title,quantity,...\r\n"
    f'{_ORDER_ID},#1042,SHOPIFY,{_CONNECTION_ID},5012345678901,PAID,...,1,TEE-RED-M,"Red tee, M",2,...\r\n'
)
