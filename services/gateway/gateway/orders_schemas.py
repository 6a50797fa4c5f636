"""Orders REST models (API.md "Orders"): what the orders routes accept and answer.

Their translation to and from the orders protobufs is gateway.mapping.orders; the examples the
OpenAPI document shows are gateway.orders_examples (a unit test validates every one of them).
Unified statuses are upper case (`PAID`), flags and fulfilment sync states lower case
(`possible_duplicate`), as in API.md. Filters that may name several values (`status`, `flag`)
take them repeated (`?status=PAID&status=SHIPPED`) or comma-separated (`?status=PAID,SHIPPED`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from gateway import orders_examples as ex
from gateway.domain import normalize_email
from gateway.schemas import INT64_MAX, Identifier, MoneyIn, MoneyOut, OutModel, StrictModel
from omnistock_common.errors import InvalidArgument
from omnistock_common.money import is_supported_currency

StatusName = Literal["PENDING", "PAID", "PARTIALLY_SHIPPED", "SHIPPED", "DELIVERED", "CANCELLED", "REFUNDED"]
FlagName = Literal["possible_duplicate", "oversold", "unmapped_sku"]
SyncStateName = Literal["pending", "synced", "failed", "not_applicable"]
MAX_LINES = 1000


def _split_values(case: str) -> Any:
    """A query value given repeated or comma-separated as one list, upper- or lower-cased."""

    def split(value: Any) -> Any:
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(item, str) for item in items):
            return value  # let pydantic name what is wrong
        parts = [part.strip() for item in items for part in item.split(",")]
        return [getattr(part, case)() for part in parts if part]

    return BeforeValidator(split)


StatusList = Annotated[list[StatusName], _split_values("upper")]
FlagList = Annotated[list[FlagName], _split_values("lower")]


# ------------------------------------------------------------------------------------- filters
class OrderFilterQuery(StrictModel):
    """The filters shared by the list and the export."""

    channel: Identifier | None = Field(
        None,
        max_length=64,
        description="channel type (shopify, woocommerce, ..., manual) or a connection id",
        examples=["shopify"],
    )
    status: StatusList = Field(
        default_factory=list, max_length=7, description="unified statuses, repeated or comma-separated"
    )
    from_: datetime | None = Field(
        None, alias="from", description="created at or after (RFC 3339 with a UTC offset)"
    )
    to: datetime | None = Field(None, description="created before (RFC 3339 with a UTC offset)")
    q: str | None = Field(
        None, max_length=200, description="text in the customer email, order name or id, or a line's SKU"
    )
    flag: FlagList = Field(
        default_factory=list, max_length=3, description="orders carrying every one of these flags"
    )

    @field_validator("from_", "to")
    @classmethod
    def _with_offset(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must include a UTC offset, e.g. 2026-01-31T12:00:00Z")
        return value

    @field_validator("to")
    @classmethod
    def _after_from(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("from_")
        if value is not None and start is not None and start >= value:
            raise ValueError("must be after `from`")
        return value


class OrderListQuery(OrderFilterQuery):
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(None, max_length=2048)


class OrderExportQuery(OrderFilterQuery):
    format: Literal["csv", "xlsx"] = "csv"


# ------------------------------------------------------------------------------------ requests
class AddressIn(StrictModel):
    name: str = Field("", max_length=200)
    company: str = Field("", max_length=200)
    line1: str = Field("", max_length=200)
    line2: str = Field("", max_length=200)
    city: str = Field("", max_length=100)
    region: str = Field("", max_length=100)
    postal_code: str = Field("", max_length=32)
    country_code: str = Field("", pattern=r"^([A-Z]{2})?$", description="ISO 3166-1 alpha-2")
    phone: str = Field("", max_length=64)


class NewOrderLineIn(StrictModel):
    sku: Identifier = Field(min_length=1, max_length=128)
    quantity: int = Field(ge=1, le=INT64_MAX)
    unit_price: MoneyIn
    discount: MoneyIn | None = Field(None, description="for the whole line")
    tax: MoneyIn | None = Field(None, description="for the whole line")
    title: str = Field("", max_length=255)


class OrderCreateIn(StrictModel):
    """A manual order: its stock is reserved like a channel order's."""

    model_config = ConfigDict(json_schema_extra={"examples": [ex.CREATE]})

    customer_email: str = Field("", max_length=254)
    customer_name: str = Field("", max_length=200)
    shipping_address: AddressIn | None = None
    lines: list[NewOrderLineIn] = Field(min_length=1, max_length=MAX_LINES)
    currency: str | None = Field(
        None, min_length=3, max_length=3, description="default: the first line's unit_price currency"
    )
    shipping: MoneyIn | None = None
    status: Literal["PENDING", "PAID"] = "PENDING"
    external_name: str = Field("", max_length=100, description="the order's name, e.g. a receipt number")

    @field_validator("customer_email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not value:
            return value
        try:
            return normalize_email(value)
        except InvalidArgument:
            raise ValueError("not a valid email address") from None

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        if value is not None and not is_supported_currency(value):
            raise ValueError("must be a supported ISO 4217 currency code such as USD")
        return value

    @model_validator(mode="after")
    def _one_currency(self) -> OrderCreateIn:
        """Every amount is in the order's currency: a mixed order has no total."""
        currency = self.order_currency
        amounts = [("shipping", self.shipping)]
        for i, line in enumerate(self.lines):
            amounts += [
                (f"lines[{i}].{name}", getattr(line, name)) for name in ("unit_price", "discount", "tax")
            ]
        wrong = [name for name, money in amounts if money is not None and money.currency != currency]
        if wrong:
            raise ValueError(f"every amount must be in the order's currency {currency}: {', '.join(wrong)}")
        return self

    @property
    def order_currency(self) -> str:
        return self.currency or self.lines[0].unit_price.currency


class LineRefIn(StrictModel):
    """A line of the order, by its `line_id` or by its `sku` (exactly one of them)."""

    line_id: Identifier | None = Field(None, min_length=1, max_length=64)
    sku: Identifier | None = Field(None, min_length=1, max_length=128)
    quantity: int = Field(ge=1, le=INT64_MAX)

    @model_validator(mode="after")
    def _one_reference(self) -> LineRefIn:
        if (self.line_id is None) == (self.sku is None):
            raise ValueError("give exactly one of line_id or sku")
        return self


class FulfillIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ex.FULFILL, ex.FULFILL_PARTIAL]})

    carrier: str = Field(min_length=1, max_length=100, examples=["UPS"])
    tracking_number: Identifier = Field(min_length=1, max_length=200)
    tracking_url: str | None = Field(None, max_length=2048, description="http(s) URL")
    lines: list[LineRefIn] = Field(
        default_factory=list, max_length=MAX_LINES, description="empty or absent: every unshipped unit"
    )

    @field_validator("carrier", "tracking_number")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("tracking_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or any(ch.isspace() for ch in value):
            raise ValueError("must be an http(s) URL")
        return value


class CancelIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ex.CANCEL]})

    reason: str = Field("", max_length=500)


class ReturnLineIn(LineRefIn):
    restock: bool = Field(description="false: the units came back damaged; recorded, not restocked")


class ReturnIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ex.RETURN]})

    lines: list[ReturnLineIn] = Field(min_length=1, max_length=MAX_LINES)
    reason: str = Field("", max_length=500)


class DuplicateDecisionIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"decision": "keep"}]})

    decision: Literal["keep", "cancel"] = Field(
        description="keep: both orders stand and the flag is cleared; cancel: this order is cancelled"
    )


# ----------------------------------------------------------------------------------- responses
class AddressOut(OutModel):
    name: str
    company: str
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country_code: str
    phone: str


class OrderLineOut(OutModel):
    id: str
    external_line_id: str
    sku: str
    title: str
    quantity: int
    unit_price: MoneyOut | None
    discount: MoneyOut | None = Field(description="for the whole line")
    tax: MoneyOut | None = Field(description="for the whole line")
    quantity_shipped: int
    quantity_returned: int
    quantity_reserved: int = Field(description="units held in inventory (less than quantity when oversold)")
    sku_known: bool = Field(description="false: the SKU is not in OmniStock (flag unmapped_sku)")


class TotalsOut(OutModel):
    subtotal: MoneyOut | None
    discount: MoneyOut | None
    shipping: MoneyOut | None
    tax: MoneyOut | None
    total: MoneyOut | None


class FulfillmentLineOut(OutModel):
    line_id: str
    sku: str
    quantity: int


class FulfillmentOut(OutModel):
    id: str
    carrier: str
    tracking_number: str
    tracking_url: str
    lines: list[FulfillmentLineOut]
    sync_state: SyncStateName = Field(description="whether the source channel has accepted it")
    external_fulfillment_id: str
    sync_message: str
    created_at: datetime | None


class StatusChangeOut(OutModel):
    from_status: StatusName | None = Field(description="null for the order's first status")
    to_status: StatusName
    at: datetime | None
    actor: str = Field(description="channel | merchant | system")
    reason: str


class RawVersionOut(OutModel):
    channel_updated_at: datetime | None
    received_at: datetime | None
    via: str = Field(description="webhook | poll | manual")
    payload_json: str = Field(description="the channel's payload exactly as received (JSON text)")


class OrderOut(OutModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ex.ORDER]})

    id: str
    source: str = Field(description="SHOPIFY, WOOCOMMERCE, ... or MANUAL")
    connection_id: str = Field(description="empty for manual orders")
    external_id: str
    external_name: str
    customer_email: str
    customer_name: str
    status: StatusName
    channel_status: dict[str, str] = Field(description="the channel's own status fields")
    total: MoneyOut | None
    totals: TotalsOut
    lines: list[OrderLineOut]
    flags: list[FlagName]
    duplicate_of: list[str] = Field(description="ids of the orders this one may duplicate")
    created_at: datetime | None
    updated_at: datetime | None
    shipping_address: AddressOut | None
    fulfillments: list[FulfillmentOut]
    version: int


class OrderDetailOut(OrderOut):
    model_config = ConfigDict(json_schema_extra={"examples": [ex.ORDER_DETAIL]})

    channel_updated_at: datetime | None = Field(description="the channel's time of the version applied last")
    history: list[StatusChangeOut]
    raw_versions: list[RawVersionOut]


class OrderPage(OutModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ex.PAGE]})

    items: list[OrderOut]
    next_cursor: str | None


class FulfillmentResultOut(OutModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ex.FULFILL_RESULT]})

    order: OrderDetailOut
    fulfillment: FulfillmentOut
