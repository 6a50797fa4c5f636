"""One eBay sandbox instance: its settings, its seller (state.py), its notification signing key,
and what the shared control API (channel_sandboxes.control) asks of every sandbox."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Response

from channel_sandboxes.common import Delivery, json_response
from channel_sandboxes.control import SandboxBase, SeedConflict
from channel_sandboxes.demo import DEMO_CATALOGUE
from channel_sandboxes.ebay.state import EbayState, money, now_utc

USER_AGENT = "eBay-Notification-Sandbox/1.0"
SIGNING_KID = "sandbox-ebay-key-1"


@dataclass
class EbayConfig:
    """Settings of one sandbox seller; `from_env` reads EBAY_* / EBAY_SANDBOX_* variables (the
    same app keyset the connector reads, so `make run` needs no configuration)."""

    client_id: str = "sandbox-ebay-client-id"
    client_secret: str = "sandbox-ebay-client-secret"
    ru_name: str = "OmniStock-Sandbox-RuName"
    # Where eBay sends the seller after consent for `ru_name` (the developer portal's "accept
    # URL"); also settable at run time with POST /_sandbox/runame.
    accept_url: str = ""
    user_id: str = "sandboxSeller01"
    username: str = "sandbox_seller"
    marketplace_id: str = "EBAY_US"
    currency: str = "USD"
    token_ttl: int = 7200
    refresh_token_ttl: int = 47_304_000
    demo: bool = False
    extra_ru_names: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> EbayConfig:
        env = os.environ if environ is None else environ
        base = cls()
        return cls(
            client_id=env.get("EBAY_CLIENT_ID", base.client_id),
            client_secret=env.get("EBAY_CLIENT_SECRET", base.client_secret),
            ru_name=env.get("EBAY_RU_NAME", base.ru_name),
            accept_url=env.get("EBAY_SANDBOX_ACCEPT_URL") or _callback_of(env.get("PUBLIC_BASE_URL", "")),
            token_ttl=int(env.get("EBAY_SANDBOX_TOKEN_TTL", base.token_ttl)),
            demo=env.get("EBAY_SANDBOX_DEMO", "") in ("1", "true", "yes"),
        )


# The channels service's OAuth callback under its PUBLIC_BASE_URL (channels/config.py).
CALLBACK_PATH = "/api/v1/channels/oauth/callback"


def _callback_of(public_base_url: str) -> str:
    """`make run` exports PUBLIC_BASE_URL to every process: the local OmniStock's callback is then
    the RuName's accept URL, as a developer would register it in eBay's portal."""
    base = public_base_url.strip().rstrip("/")
    return f"{base}{CALLBACK_PATH}" if base.startswith(("http://", "https://")) else ""


def ebay_error(
    status: int,
    error_id: int,
    message: str,
    *,
    domain: str = "API_INVENTORY",
    headers: Mapping[str, str] | None = None,
    parameters: Mapping[str, str] | None = None,
) -> Response:
    """eBay's REST error body: {"errors": [{errorId, domain, category, message, parameters}]}."""
    category = "REQUEST" if status < 500 else "APPLICATION"
    error: dict[str, Any] = {"errorId": error_id, "domain": domain, "category": category, "message": message}
    if parameters:
        error["parameters"] = [{"name": k, "value": v} for k, v in parameters.items()]
    return json_response({"errors": [error]}, status, headers)


class EbaySandbox(SandboxBase):
    def __init__(self, config: EbayConfig) -> None:
        super().__init__(USER_AGENT)
        self.config = config
        self.state = EbayState()
        self.ru_names: dict[str, str] = {config.ru_name: config.accept_url, **config.extra_ru_names}
        self._key = ec.generate_private_key(ec.SECP256R1())
        if config.demo:
            self.seed([dict(item) for item in DEMO_CATALOGUE])

    # -- notification signing ----------------------------------------------------------------

    def public_key(self) -> dict[str, str]:
        """getPublicKey's answer: the PEM on one line, as eBay sends it."""
        pem = self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        one_line = "".join(pem.decode().split("\n"))
        return {"algorithm": "ECDSA", "digest": "SHA1", "key": one_line}

    def signature_header(self, body: bytes) -> str:
        """X-EBAY-SIGNATURE: base64 JSON {alg, kid, signature (base64 DER ECDSA-SHA1), digest}."""
        signature = self._key.sign(body, ec.ECDSA(hashes.SHA1()))
        header = {
            "alg": "ecdsa",
            "kid": SIGNING_KID,
            "signature": base64.b64encode(signature).decode(),
            "digest": "SHA1",
        }
        return base64.b64encode(json.dumps(header).encode()).decode()

    def account_deletion(self, address: str, user_id: str, username: str) -> Delivery:
        moment = now_utc().strftime("%Y-%m-%dT%H:%M:%S.000Z")
        notification_id = self.webhooks.new_id()
        payload = {
            "metadata": {
                "topic": "MARKETPLACE_ACCOUNT_DELETION",
                "schemaVersion": "1.0",
                "deprecated": False,
            },
            "notification": {
                "notificationId": notification_id,
                "eventDate": moment,
                "publishDate": moment,
                "publishAttemptCount": 1,
                "data": {
                    "username": username,
                    "userId": user_id,
                    "eiasToken": "nY+sHZ2PrBmdj6wVnY+sEZ2PrA2dj6wJnY+sandbox",
                },
            },
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        return self.webhooks.enqueue(
            Delivery(
                delivery_id=notification_id,
                subscription_id=0,
                topic="MARKETPLACE_ACCOUNT_DELETION",
                address=address,
                body=body,
                headers={"X-EBAY-SIGNATURE": self.signature_header(body)},
            )
        )

    # -- SandboxBase ---------------------------------------------------------------------------

    def reset_state(self) -> None:
        with self.state.lock:
            self.state.reset()

    def describe_config(self) -> dict[str, Any]:
        c = self.config
        return {
            "client_id": c.client_id,
            "client_secret": c.client_secret,
            "ru_name": c.ru_name,
            "ru_names": dict(self.ru_names),
            "user_id": c.user_id,
            "username": c.username,
            "marketplace_id": c.marketplace_id,
            "currency": c.currency,
            "token_ttl": c.token_ttl,
            "public_key_kid": SIGNING_KID,
        }

    def has_sku(self, sku: str) -> bool:
        with self.state.lock:
            return sku in self.state.listings

    def prices_by_sku(self) -> dict[str, dict[str, str | None]]:
        with self.state.lock:
            return {s: {"price": x.price, "compare_at_price": None} for s, x in self.state.listings.items()}

    def price_writes_by_sku(self) -> dict[str, int]:
        with self.state.lock:
            return {s: x.price_writes for s, x in self.state.listings.items()}

    def set_price(self, sku: str, price: str, compare_at_price: str | None) -> bool:
        with self.state.lock:
            listing = self.state.listings.get(sku)
            if listing is None:
                return False
            listing.price = money(price)
            return True

    def seed(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        with self.state.lock:
            for item in items:
                sku = str(item["sku"])
                if sku in self.state.listings:
                    raise SeedConflict(f"sku already exists: {sku}")
                try:
                    listing = self.state.add_listing(
                        sku,
                        str(item.get("title") or sku),
                        int(item.get("quantity") or 0),
                        str(item.get("price") or "10.00"),
                    )
                except ValueError as exc:
                    raise SeedConflict(str(exc)) from None
                out.append({"sku": sku, "offer_id": listing.offer_id, "listing_id": listing.listing_id})
        return out

    def seed_catalog(self, products: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each variant with a SKU becomes an inventory item with a published offer; a product with
        more than one becomes an inventory item group (key GROUP-<n>, the options as variesBy) whose
        offers share one multiple-variation listing. product_id: the group key, else the SKU."""
        out = []
        with self.state.lock:
            for product in products:
                variants, made = [], []
                for variant in product.get("variants") or []:
                    sku = str(variant.get("sku") or "")
                    if not sku:
                        variants.append({"sku": "", "variant_id": ""})
                        continue
                    listing = self.state.add_listing(
                        sku,
                        str(product.get("title") or sku),
                        int(variant.get("quantity") or 0),
                        str(variant.get("price") or "10.00"),
                    )
                    options = variant.get("options") if isinstance(variant.get("options"), dict) else {}
                    listing.description = str(product.get("description") or "")
                    listing.image_urls = [str(u) for u in product.get("images") or []]
                    listing.aspects = {str(k): [str(v)] for k, v in options.items()}
                    if product.get("vendor"):
                        listing.aspects["Brand"] = [str(product["vendor"])]
                    if variant.get("barcode"):
                        listing.product_extra = {"upc": [str(variant["barcode"])]}
                    made.append((listing, options))
                    variants.append({"sku": sku, "variant_id": listing.offer_id})
                key = made[0][0].sku if made else ""
                if len(made) > 1:
                    key = f"GROUP-{self.state.new_number()}"
                    specs: dict[str, list[str]] = {}
                    for _, options in made:
                        for name, value in options.items():
                            specs.setdefault(str(name), []).append(str(value))
                    group = self.state.add_group(
                        key, str(product.get("title") or key), specs, [x.sku for x, _ in made]
                    )
                    group.description, group.image_urls = made[0][0].description, made[0][0].image_urls
                    for listing, _ in made[1:]:
                        listing.listing_id = made[0][0].listing_id
                out.append({"title": product.get("title"), "product_id": key, "variants": variants})
        return out

    def catalog_view(self) -> list[dict[str, Any]]:
        """Products as the seller sees them: a group with its SKUs, else one SKU (product_id = the
        group key or the SKU); status is the offer's (PUBLISHED / UNPUBLISHED, "" without one)."""
        with self.state.lock:
            products: dict[str, dict[str, Any]] = {}
            for x in self.state.listings.values():
                group = self.state.groups.get(x.group_key) if x.group_key else None
                names = [str(s["name"]) for s in group.specifications] if group else []
                view = products.setdefault(
                    x.group_key or x.sku,
                    {
                        "product_id": x.group_key or x.sku,
                        "title": group.title if group else x.title,
                        "description": group.description if group else x.description,
                        "status": x.offer_status,
                        "images": list(group.image_urls if group else x.image_urls),
                        "listing_id": x.listing_id,
                        "variants": [],
                    },
                )
                if x.published:
                    view["status"], view["listing_id"] = "PUBLISHED", x.listing_id
                view["variants"].append(
                    {
                        "sku": x.sku,
                        "variant_id": x.offer_id,
                        "price": x.price,
                        "options": {n: x.aspects[n][0] for n in names if x.aspects.get(n)},
                    }
                )
            return list(products.values())

    def set_stock(self, sku: str, quantity: int) -> list[Delivery] | None:
        with self.state.lock:
            listing = self.state.listings.get(sku)
            if listing is None:
                return None
            listing.quantity = max(0, quantity)
            listing.available_quantity = None
            self.state.note_listed(listing)
        return []

    def stock_by_sku(self) -> dict[str, int]:
        with self.state.lock:
            return {s: x.listed for s, x in self.state.listings.items()}
