"""Checks of what callers send: SKUs, connection ids and amounts; every problem named at once."""

from __future__ import annotations

from omnistock_common.errors import FieldViolation, InvalidArgument
from omnistock_common.identifiers import identifier_problem
from omnistock_common.money import MAX_MINOR, is_supported_currency

MAX_SKU = 256
MAX_CONNECTION_ID = 64
MAX_REASON = 256


def key_problems(sku: str, connection_id: str) -> list[FieldViolation]:
    problems = []
    for name, value, limit in (("sku", sku, MAX_SKU), ("connection_id", connection_id, MAX_CONNECTION_ID)):
        if not value.strip():
            problems.append(FieldViolation(name, "required"))
        elif len(value) > limit:
            problems.append(FieldViolation(name, f"at most {limit} characters"))
        elif (problem := identifier_problem(value)) is not None:
            problems.append(FieldViolation(name, problem))
    return problems


def money_problems(amount_minor: int, currency: str, field_name: str) -> list[FieldViolation]:
    problems = []
    if not is_supported_currency(currency):
        problems.append(
            FieldViolation(f"{field_name}.currency", f"{currency!r} is not a supported ISO 4217 currency")
        )
    if amount_minor < 0 or amount_minor > MAX_MINOR:
        problems.append(FieldViolation(f"{field_name}.amount_minor", "between 0 and 2^63-1"))
    return problems


def raise_if(problems: list[FieldViolation], message: str = "invalid request; nothing was changed") -> None:
    if problems:
        raise InvalidArgument(message, violations=problems)


def clean_reason(reason: str, default: str) -> str:
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise InvalidArgument(
            "reason too long", violations=[FieldViolation("reason", f"at most {MAX_REASON} characters")]
        )
    return reason or default
