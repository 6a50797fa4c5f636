"""Channels REST models (API.md "Channels"): what the channels routes accept and answer.

Their translation to and from the channels protobufs is gateway.mapping.channels. A connection's
answer carries settings and health, never a credential.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gateway.errors import ApiProblem
from gateway.schemas import OutModel, StrictModel

ScopeName = Literal["inventory", "prices", "orders", "catalog", "all"]


class ChannelTypeOut(OutModel):
    type: str
    display_name: str
    auth: Literal["oauth", "api_key"]
    capabilities: list[str]
    # False: listed, but this release has no connector for it (connecting it answers 409).
    available: bool
    editable_settings: list[str] = Field(
        description="settings PATCH /channels/{id} may change on a connection of this type"
    )


class ChannelTypeList(OutModel):
    items: list[ChannelTypeOut]


class HealthOut(OutModel):
    last_sync_at: datetime | None
    last_success_at: datetime | None
    error_count: int
    last_error: str
    token_expires_at: datetime | None
    # While stock increases to this channel wait for another channel's orders to be current.
    increases_held_since: datetime | None = None
    increases_held_reason: str = ""
    # The channel's quotas as last reported with a push (eBay: revisions_left_lowest ...).
    limits: dict[str, str] = Field(default_factory=dict)
    limits_at: datetime | None = None


class ConnectionOut(OutModel):
    """A connection: settings and health, never a credential."""

    id: str
    type: str
    name: str
    status: Literal["connected", "degraded", "error", "disconnected"]
    status_reason: str
    settings: dict[str, str]
    health: HealthOut
    created_at: datetime | None


class ConnectionList(OutModel):
    items: list[ConnectionOut]
    next_cursor: str | None = None


# The WooCommerce sandbox's default keys (channel_sandboxes.woocommerce.WooConfig): the examples
# below connect as written under `docker compose --profile demo`, whose connectors reach the
# sandbox as woocommerce-sandbox:8702 (an allowed host there, refused elsewhere); `make run`'s is
# 127.0.0.1:8702 (services/channels/tests/e2e_connectors: test_the_openapi_examples_connect_as_written).
_SANDBOX_KEYS = {
    "consumer_key": "ck_" + "0" * 32 + "5a4db0c5",
    "consumer_secret": "cs_" + "0" * 32 + "5ec0e7c5",
}


class ConnectionIn(StrictModel):
    """Connect an API-key channel. Posting keys for a store the tenant has already connected
    re-authorises that connection (same id, listing mappings kept)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "type": "woocommerce",
                    "name": "My store",
                    "settings": {"store_url": "http://woocommerce-sandbox:8702"},
                    "credentials": _SANDBOX_KEYS,
                },
                {
                    "type": "woocommerce",
                    "name": "Shop (through the sandbox)",
                    "settings": {
                        "store_url": "https://shop.example",
                        "api_base_url": "http://woocommerce-sandbox:8702",
                    },
                    "credentials": _SANDBOX_KEYS,
                },
            ]
        },
    )

    type: str = Field(min_length=1, max_length=32, examples=["woocommerce"])
    name: str = Field("", max_length=200)
    settings: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "non-secret settings. WooCommerce: store_url, the store as the merchant knows it "
            "(https://shop.example, or https://example.com/shop for a store in a sub-folder); its "
            "REST API is <store_url>/wp-json/wc/v3. api_base_url (sandboxes, test servers) replaces "
            "only the scheme, host and port of that URL, keeps its path, and is refused unless the "
            "operator lists its host:port in CHANNEL_ALLOWED_HOSTS. A store on plain http (allowed "
            "test hosts only) is called with OAuth 1.0a signatures, as WooCommerce requires there"
        ),
        examples=[{"store_url": "https://shop.example"}, {"store_url": "https://example.com/shop"}],
    )
    credentials: dict[str, str] = Field(
        default_factory=dict,
        description="secrets (e.g. consumer_key, consumer_secret); encrypted at rest, never returned",
    )


# Shopify's anchored shop-domain pattern (see shopify_connector.protocol.SHOP_DOMAIN_RE): the
# connector derives the API host from it, so a malformed value is refused here, before anything.
_SHOP_DOMAIN = r"^[a-zA-Z0-9][a-zA-Z0-9-]*\.myshopify\.com$"


class OAuthStartQuery(StrictModel):
    name: str = Field("", max_length=200)
    shop_domain: str | None = Field(
        None, max_length=255, pattern=_SHOP_DOMAIN, description="Shopify: <shop>.myshopify.com"
    )
    shop: str | None = Field(
        None, max_length=255, pattern=_SHOP_DOMAIN, description="alias of shop_domain (Shopify's own name)"
    )
    api_base_url: str | None = Field(
        None,
        max_length=2048,
        description=(
            "sandbox or test server: replaces only the scheme, host and port of the shop's "
            "https://<shop_domain> (Shopify's paths, /admin/oauth/... and "
            "/admin/api/<version>/graphql.json, are kept); refused unless the operator lists its "
            "host:port in CHANNEL_ALLOWED_HOSTS"
        ),
    )
    store_url: str | None = Field(None, max_length=2048, description="the store as the merchant knows it")
    store_id: str | None = Field(
        None,
        max_length=255,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description=(
            "the channel's own id of the store to connect when the account has several (Meta: "
            "the catalog id; TikTok Shop: the shop id); without it an account with one is "
            "connected to that one"
        ),
    )
    location_id: str | None = Field(None, max_length=255)
    currency: str | None = Field(None, max_length=3)

    def settings(self) -> dict[str, str]:
        values = self.model_dump(exclude={"name", "shop"}, exclude_none=True)
        if self.shop and "shop_domain" not in values:
            values["shop_domain"] = self.shop
        return values


class OAuthStartOut(OutModel):
    authorization_url: str
    state_expires_at: datetime | None


class SyncIn(StrictModel):
    scope: ScopeName = "all"


class JobOut(OutModel):
    """202 Accepted: the job's progress and result are read at GET /jobs/{job_id}."""

    job_id: str


class ListingOut(OutModel):
    sku: str
    external_ids: dict[str, str]
    updated_at: datetime | None
    last_pushed_quantity: int | None


class ListingPage(OutModel):
    items: list[ListingOut]
    next_cursor: str | None


class ListingIn(BaseModel):
    """Either `{"external_ids": {...}}` or the ids themselves, e.g. `{"product_id": "7"}`."""

    model_config = ConfigDict(extra="allow")

    external_ids: dict[str, str] | None = Field(None, examples=[{"product_id": "7", "variation_id": "12"}])

    def ids(self) -> dict[str, str]:
        if self.external_ids is not None:
            return self.external_ids
        extra = self.model_extra or {}
        bad = [key for key, value in extra.items() if not isinstance(value, str | int)]
        if bad:
            raise ApiProblem(
                400,
                "external ids must be strings",
                errors=[{"field": key, "message": "expected a string"} for key in bad],
            )
        return {key: str(value) for key, value in extra.items()}


class AutoMapIn(StrictModel):
    skus: list[str] = Field(default_factory=list, max_length=100_000, description="empty: every catalog SKU")


class AutoMapOut(OutModel):
    mapped: int
    unmapped_skus: list[str]
    unknown_remote_skus: list[str]


ImportChoice = Literal["omnistock", "channel"]
ImportField = Literal["title", "price", "barcode", "options", "weight_grams"]


class CatalogImportIn(StrictModel):
    dry_run: bool = Field(False, description="true: only the preview (the job's result); nothing changes")
    default: ImportChoice = Field(
        "omnistock", description="whose value a field of a SKU both have keeps, unless `resolutions` says"
    )
    resolutions: dict[str, dict[ImportField, ImportChoice]] = Field(
        default_factory=dict,
        max_length=10_000,
        examples=[{"TEE-S": {"price": "channel"}}],
        description="per SKU, per field",
    )
    without_sku: Literal["generate", "skip"] = Field(
        "skip", description="channel variants without a SKU: a generated SKU (stable per variant) or left out"
    )


class ImportCollisionOut(OutModel):
    sku: str
    field: str
    omnistock_value: str
    channel_value: str


class VariantWithoutSkuOut(OutModel):
    product_external_id: str
    variant_external_id: str
    title: str
    generated_sku: str


class CatalogImportOut(OutModel):
    dry_run: bool
    products: int
    variants: int
    to_create: int = Field(description="SKUs new to OmniStock: created (to create in a dry run)")
    to_update: int
    unchanged: int
    skipped: int
    mapped: int = Field(description="listings mapped (0 in a dry run)")
    quantities_set: int = Field(description="quantities set in inventory, reason imported")
    collisions: list[ImportCollisionOut] = Field(
        description="SKUs OmniStock has, per differing field (first 1,000)"
    )
    without_sku: list[VariantWithoutSkuOut] = Field(
        description="channel variants without a SKU (first 1,000)"
    )
    errors: list[str]


class RejectedProductOut(OutModel):
    product_id: str
    error: str = Field(description="the channel's words, e.g. \"Title can't be blank\"")


class PublishResultOut(OutModel):
    published: int
    rejected: list[RejectedProductOut] = Field(description="products the channel refused (the others went)")
    waiting: list[str] = Field(
        description="product ids the channel asked to retry; the worker pushes them again"
    )
    not_found: list[str] = Field(description="SKUs and product ids the catalog does not have")


class SyncResultOut(OutModel):
    scope: ScopeName
    message: str


class JobProgressOut(OutModel):
    done: int = Field(
        description="auto_map: remote products read so far; catalog_import: variants read; publish: products pushed"
    )
    total: int | None = Field(description="null while unknown (the channel's catalogue is still being read)")


class JobStatusOut(OutModel):
    id: str
    kind: Literal["auto_map", "sync", "catalog_import", "publish"]
    status: Literal["queued", "running", "succeeded", "failed"]
    progress: JobProgressOut
    connection_id: str
    result: CatalogImportOut | PublishResultOut | AutoMapOut | SyncResultOut | None = Field(
        description="once succeeded"
    )
    error: str | None = Field(description="once failed: a short reason")
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None


class SyncLogQuery(StrictModel):
    limit: int = Field(50, ge=1, le=500)


class SyncLogEntryOut(OutModel):
    id: str
    at: datetime | None
    operation: str
    skus: list[str]
    outcome: str
    message: str
    latency_ms: int
    calls: int


class SyncLogList(OutModel):
    items: list[SyncLogEntryOut]


class ConnectionSettingsIn(StrictModel):
    """Change the settings a merchant may change after connecting (the type's editable_settings,
    e.g. the TikTok category or the eBay policies products are published with)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"settings": {"category_id": "600001", "brand_id": None}}]},
    )

    settings: dict[str, str | None] = Field(
        description="each key one of the type's editable_settings: a value sets it, null removes it",
        max_length=50,
    )


class NotificationsIn(StrictModel):
    webhook_url: str = Field("", max_length=2048, description="sync failures are POSTed here; empty disables")

    @field_validator("webhook_url")
    @classmethod
    def _trim(cls, value: str) -> str:
        return value.strip()


class NotificationsOut(OutModel):
    webhook_url: str


class WebhookAckOut(OutModel):
    accepted: bool = Field(description="false when this delivery id was already received")
    delivery_id: str


class PublishIn(StrictModel):
    """Products to publish: named, or by any of their SKUs (the whole product goes)."""

    skus: list[str] = Field(default_factory=list, max_length=1000, examples=[["TEE-S"]])
    product_ids: list[str] = Field(default_factory=list, max_length=1000)


class ProductListingOut(OutModel):
    connection_id: str
    product_id: str
    external_id: str = Field(description="the channel's product id; empty until created there")
    state: Literal["pending", "published", "error", "archived"]
    wanted_version: int = Field(description="the newest catalog version announced")
    published_version: int | None = Field(description="the version the channel shows")
    last_error: str = Field(description="the channel's last refusal or retry reason; empty when none")


class ProductListingList(OutModel):
    items: list[ProductListingOut]


OwnedField = Literal["title", "description", "status", "images", "options", "variants", "prices"]


class OwnedFieldsIn(StrictModel):
    owned_fields: list[OwnedField] = Field(
        min_length=1,
        max_length=7,
        description="the product fields OmniStock writes on this channel when a published product changes",
    )


class OwnedFieldsOut(OutModel):
    owned_fields: list[str]
