"""Validation of inputs and of adjustments: each refusal names the field it is about."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from inventory.domain.model import (
    MAX_QUANTITY,
    MAX_SKU_LENGTH,
    MAX_TEXT_LENGTH,
    AdjustmentLine,
    AllocationRule,
    BundleComponent,
    ReserveLineInput,
)
from omnistock_common.errors import FailedPrecondition, FieldViolation, InvalidArgument
from omnistock_common.identifiers import identifier_problem

# --------------------------------------------------------------------------- validation


def _sku_violation(field_name: str, sku: str) -> FieldViolation | None:
    if not sku or not sku.strip():
        return FieldViolation(field_name, "sku is required")
    if len(sku) > MAX_SKU_LENGTH:
        return FieldViolation(field_name, f"sku is longer than {MAX_SKU_LENGTH} characters")
    if sku != sku.strip():
        return FieldViolation(field_name, "sku has leading or trailing whitespace")
    if problem := identifier_problem(sku):
        return FieldViolation(field_name, f"sku {problem}")
    return None


def adjustment_violations(line: AdjustmentLine, prefix: str = "line") -> list[FieldViolation]:
    """Everything wrong with one adjustment line that can be told without the database."""
    problems: list[FieldViolation] = []
    if sku_problem := _sku_violation(f"{prefix}.sku", line.sku):
        problems.append(sku_problem)
    if line.reason is None:
        problems.append(FieldViolation(f"{prefix}.reason", "reason is required"))
    if line.delta is None and line.set is None:
        problems.append(FieldViolation(f"{prefix}.change", "one of delta or set is required"))
    if line.delta is not None and (line.delta == 0 or abs(line.delta) > MAX_QUANTITY):
        problems.append(
            FieldViolation(f"{prefix}.delta", f"delta must be non-zero and within ±{MAX_QUANTITY}")
        )
    if line.set is not None and not 0 <= line.set <= MAX_QUANTITY:
        problems.append(FieldViolation(f"{prefix}.set", f"set must be between 0 and {MAX_QUANTITY}"))
    if len(line.note) > 2000:
        problems.append(FieldViolation(f"{prefix}.note", "note is longer than 2000 characters"))
    if len(line.reference) > MAX_TEXT_LENGTH:
        problems.append(FieldViolation(f"{prefix}.reference", f"reference is longer than {MAX_TEXT_LENGTH}"))
    return problems


def validate_batch_size(count: int, maximum: int) -> None:
    if count == 0:
        raise InvalidArgument("at least one line is required", violations=[FieldViolation("lines", "empty")])
    if count > maximum:
        raise InvalidArgument(
            f"at most {maximum} lines per batch",
            violations=[FieldViolation("lines", f"{count} lines; the maximum is {maximum}")],
        )


def apply_adjustment(on_hand: int, reserved: int, line: AdjustmentLine) -> int:
    """The new on_hand after `line`, refusing anything that would eat into held stock.

    Raises FailedPrecondition when the result would be negative or below what is reserved:
    reserved units are promised to orders and only commit/release may reduce them.
    """
    new_on_hand = line.set if line.set is not None else on_hand + (line.delta or 0)
    if new_on_hand < 0:
        raise FailedPrecondition(
            f"on_hand of {line.sku} would become {new_on_hand}", reason="NEGATIVE_ON_HAND"
        )
    if new_on_hand < reserved:
        raise FailedPrecondition(
            f"on_hand of {line.sku} would become {new_on_hand}, below the {reserved} units reserved",
            reason="BELOW_RESERVED",
        )
    if new_on_hand > MAX_QUANTITY:
        raise FailedPrecondition(f"on_hand of {line.sku} would exceed {MAX_QUANTITY}", reason="TOO_LARGE")
    return new_on_hand


def validate_reserve(
    order_ref: str, lines: Sequence[ReserveLineInput], ttl_seconds: int, max_ttl_seconds: int, max_lines: int
) -> None:
    problems: list[FieldViolation] = []
    if not order_ref:
        problems.append(FieldViolation("order_ref", "order_ref is required"))
    elif len(order_ref) > MAX_TEXT_LENGTH:
        problems.append(FieldViolation("order_ref", f"order_ref is longer than {MAX_TEXT_LENGTH}"))
    if not lines:
        problems.append(FieldViolation("lines", "at least one line is required"))
    if len(lines) > max_lines:
        problems.append(FieldViolation("lines", f"at most {max_lines} lines"))
    if not 0 <= ttl_seconds <= max_ttl_seconds:
        problems.append(FieldViolation("ttl_seconds", f"ttl_seconds must be between 0 and {max_ttl_seconds}"))
    for i, line in enumerate(lines):
        if sku_problem := _sku_violation(f"lines[{i}].sku", line.sku):
            problems.append(sku_problem)
        if not 1 <= line.quantity <= MAX_QUANTITY:
            problems.append(FieldViolation(f"lines[{i}].quantity", "quantity must be at least 1"))
    if problems:
        raise InvalidArgument("invalid reservation request", violations=problems)


def validate_idempotency_key(key: str) -> None:
    if len(key) > MAX_TEXT_LENGTH:
        raise InvalidArgument(
            "idempotency_key is too long",
            violations=[FieldViolation("idempotency_key", f"at most {MAX_TEXT_LENGTH} characters")],
        )


def validate_location(code: str, name: str) -> None:
    problems: list[FieldViolation] = []
    if not code or len(code) > 64 or code != code.strip():
        problems.append(FieldViolation("code", "code is required (1-64 characters, no outer spaces)"))
    elif problem := identifier_problem(code):
        problems.append(FieldViolation("code", f"code {problem}"))
    if len(name) > 200:
        problems.append(FieldViolation("name", "name is longer than 200 characters"))
    if problems:
        raise InvalidArgument("invalid location", violations=problems)


def validate_threshold(threshold: int, field_name: str = "threshold") -> None:
    if not 0 <= threshold <= MAX_QUANTITY:
        raise InvalidArgument(
            "invalid threshold", violations=[FieldViolation(field_name, "threshold must be >= 0")]
        )


def validate_allocation_rule(rule: AllocationRule) -> None:
    problems: list[FieldViolation] = []
    if not rule.connection_id or len(rule.connection_id) > 64:
        problems.append(FieldViolation("rule.connection_id", "connection_id is required (at most 64 chars)"))
    if len(rule.channel) > 64:
        problems.append(FieldViolation("rule.channel", "channel is longer than 64 characters"))
    if not 0 <= rule.buffer <= MAX_QUANTITY:
        problems.append(FieldViolation("rule.buffer", "buffer must be >= 0"))
    if rule.max_quantity is not None and not 0 <= rule.max_quantity <= MAX_QUANTITY:
        problems.append(FieldViolation("rule.max_quantity", "max_quantity must be >= 0"))
    if rule.percentage is not None and not 0 <= rule.percentage <= 100:
        problems.append(FieldViolation("rule.percentage", "percentage must be between 0 and 100"))
    if rule.measured_sync_latency_ms < 0:
        problems.append(FieldViolation("rule.measured_sync_latency_ms", "latency must be >= 0"))
    if problems:
        raise InvalidArgument("invalid allocation rule", violations=problems)


def validate_bundle(
    sku: str, components: Sequence[BundleComponent], component_bundles: Iterable[str], sku_is_component: bool
) -> None:
    """A bundle is one level deep: its components are plain SKUs and it is nobody's component.

    `component_bundles` are the components that are bundles themselves; `sku_is_component`
    tells whether `sku` is already a component of another bundle.
    """
    problems: list[FieldViolation] = []
    if sku_problem := _sku_violation("sku", sku):
        problems.append(sku_problem)
    if not components:
        problems.append(FieldViolation("components", "a bundle needs at least one component"))
    seen: set[str] = set()
    for i, comp in enumerate(components):
        if sku_problem := _sku_violation(f"components[{i}].sku", comp.sku):
            problems.append(sku_problem)
        if comp.sku == sku:
            problems.append(FieldViolation(f"components[{i}].sku", "a bundle cannot contain itself"))
        if comp.sku in seen:
            problems.append(FieldViolation(f"components[{i}].sku", "component listed twice"))
        seen.add(comp.sku)
        if not 1 <= comp.quantity <= MAX_QUANTITY:
            problems.append(FieldViolation(f"components[{i}].quantity", "quantity must be at least 1"))
    for nested in sorted(set(component_bundles)):
        problems.append(FieldViolation("components", f"{nested} is a bundle; bundles cannot be nested"))
    if sku_is_component:
        problems.append(FieldViolation("sku", f"{sku} is a component of another bundle"))
    if problems:
        raise InvalidArgument("invalid bundle", violations=problems)
