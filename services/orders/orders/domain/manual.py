"""Manual orders (source MANUAL): the merchant's own sale, validated here and built into the
same unified order as a channel's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from omnistock_common.errors import FieldViolation, InvalidArgument
from omnistock_common.identifiers import identifier_problem
from omnistock_common.money import is_supported_currency
from orders.domain.model import (
    ACTOR_MERCHANT,
    MANUAL,
    MAX_LINES,
    MAX_QUANTITY,
    MAX_TEXT,
    VIA_MANUAL,
    Address,
    IncomingLine,
    Order,
    OrderStatus,
    RawVersion,
    StatusChange,
    StockState,
    Totals,
)
from orders.domain.versions import new_line

MAX_AMOUNT = 10**15  # minor units; far above any real order, keeps sums inside int64


@dataclass(frozen=True)
class NewOrderCommand:
    """CreateOrder. `money_currencies` lists (field, currency) of every Money the request carried,
    so a Money in another currency than the order's is refused by field."""

    lines: tuple[IncomingLine, ...]
    currency: str
    customer_email: str = ""
    customer_name: str = ""
    shipping_address: Address = field(default_factory=Address)
    shipping: int = 0
    status: OrderStatus | None = None
    external_name: str = ""
    idempotency_key: str = ""
    money_currencies: tuple[tuple[str, str], ...] = ()


def validate_new_order(cmd: NewOrderCommand) -> None:
    """Every problem at once, by field; nothing is stored when any is found."""
    problems: list[FieldViolation] = []
    if not is_supported_currency(cmd.currency):
        problems.append(FieldViolation("currency", "an ISO 4217 currency code is required"))
    for name, currency in cmd.money_currencies:
        if currency != cmd.currency:
            problems.append(FieldViolation(name, f"must be in the order's currency {cmd.currency!r}"))
    email = cmd.customer_email
    if email and (len(email) > MAX_TEXT or "@" not in email or any(ch.isspace() for ch in email)):
        problems.append(FieldViolation("customer_email", "not an email address"))
    for name, value in (("customer_name", cmd.customer_name), ("external_name", cmd.external_name)):
        if len(value) > MAX_TEXT:
            problems.append(FieldViolation(name, f"at most {MAX_TEXT} characters"))
    if cmd.status not in (None, OrderStatus.PENDING, OrderStatus.PAID):
        problems.append(FieldViolation("status", "a new order is PENDING or PAID"))
    if not 0 <= cmd.shipping <= MAX_AMOUNT:
        problems.append(FieldViolation("shipping.amount_minor", "must be between 0 and 10^15"))
    if not cmd.lines:
        problems.append(FieldViolation("lines", "at least one line is required"))
    if len(cmd.lines) > MAX_LINES:
        problems.append(FieldViolation("lines", f"at most {MAX_LINES} lines"))
    for i, line in enumerate(cmd.lines):
        problems += _line_problems(f"lines[{i}]", line)
    if problems:
        raise InvalidArgument("invalid order", violations=problems)


def _line_problems(prefix: str, line: IncomingLine) -> list[FieldViolation]:
    problems = []
    if not line.sku or len(line.sku) > 128:
        problems.append(FieldViolation(f"{prefix}.sku", "sku is required (at most 128 characters)"))
    elif problem := identifier_problem(line.sku):
        problems.append(FieldViolation(f"{prefix}.sku", f"sku {problem}"))
    if not 1 <= line.quantity <= MAX_QUANTITY:
        problems.append(FieldViolation(f"{prefix}.quantity", "quantity must be at least 1"))
    for name, amount in (("unit_price", line.unit_price), ("discount", line.discount), ("tax", line.tax)):
        if not 0 <= amount <= MAX_AMOUNT:
            problems.append(FieldViolation(f"{prefix}.{name}.amount_minor", "must be between 0 and 10^15"))
    if len(line.title) > MAX_TEXT:
        problems.append(FieldViolation(f"{prefix}.title", f"at most {MAX_TEXT} characters"))
    return problems


def manual_totals(cmd: NewOrderCommand) -> Totals:
    subtotal = sum(line.unit_price * line.quantity for line in cmd.lines)
    discount = sum(line.discount for line in cmd.lines)
    tax = sum(line.tax for line in cmd.lines)
    return Totals(subtotal, discount, cmd.shipping, tax, subtotal - discount + tax + cmd.shipping)


def new_manual_order(
    cmd: NewOrderCommand, order_id: str, new_id: Callable[[], str], now: datetime, request_json: str
) -> Order:
    """The stored order (its hold is owed: stock_state PENDING); `request_json` is kept as its
    one raw version."""
    status = cmd.status or OrderStatus.PENDING
    return Order(
        id=order_id,
        source=MANUAL,
        connection_id="",
        external_id=order_id,
        external_name=cmd.external_name or f"M-{order_id[:8].upper()}",
        currency=cmd.currency,
        status=status,
        created_at=now,
        updated_at=now,
        customer_email=cmd.customer_email,
        customer_name=cmd.customer_name,
        shipping_address=cmd.shipping_address,
        lines=[new_line(line, new_id(), i) for i, line in enumerate(cmd.lines, start=1)],
        totals=manual_totals(cmd),
        history=[StatusChange(None, status, now, ACTOR_MERCHANT, "created")],
        raw_versions=[RawVersion(None, now, VIA_MANUAL, request_json)],
        stock_state=StockState.PENDING,
        stock_due_at=now,
    )
