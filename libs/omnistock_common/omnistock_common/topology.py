# GENERATED from deploy/deployables.toml by `make generate`: edit the registry, not this file.
"""The registry's facts that running code needs (images do not carry deploy/deployables.toml):
where each process listens by default and which connector speaks which channel type.
omnistock_common.config re-exports the ports; channels.config the connector map.
"""

from __future__ import annotations

# Default gRPC ports of the local topology (make run, docker-compose, k8s Services), keyed by the
# name a service reads its settings under (<NAME>_GRPC_PORT, <NAME>_ADDR). Services not in the
# registry yet come from project.planned_grpc_ports.
DEFAULT_GRPC_PORTS: dict[str, int] = {
    "catalog": 50051,
    "inventory": 50052,
    "orders": 50053,
    "pricing": 50054,
    "channels": 50055,
    "shopify_connector": 50061,
    "woocommerce_connector": 50062,
    "meta_connector": 50063,
    "tiktok_connector": 50064,
    "amazon_connector": 50065,
    "ebay_connector": 50066,
}
# Local HTTP ports of the channel sandboxes (kind = sandbox), by vendor.
DEFAULT_SANDBOX_PORTS: dict[str, int] = {
    "shopify": 8701,
    "woocommerce": 8702,
    "meta": 8703,
    "tiktok": 8704,
    "amazon": 8705,
    "ebay": 8706,
}
DEFAULT_GATEWAY_PORT = 8080
# Channel type -> the connector service that speaks it (a connector's channel_types).
CONNECTOR_SERVICES: dict[str, str] = {
    "shopify": "shopify_connector",
    "woocommerce": "woocommerce_connector",
    "facebook": "meta_connector",
    "instagram": "meta_connector",
    "tiktok": "tiktok_connector",
    "amazon": "amazon_connector",
    "ebay": "ebay_connector",
}
