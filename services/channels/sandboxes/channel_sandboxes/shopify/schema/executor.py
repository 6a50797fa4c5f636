"""Runs a validated operation over `ShopState`: exactly the selected fields, and the actual cost."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from channel_sandboxes.common import iso_z
from channel_sandboxes.graphql_lite import Document, Field, Operation, Selection, resolve_value
from channel_sandboxes.shopify.schema.context import ExecContext, Typed, collect_fields, is_list, named_type
from channel_sandboxes.shopify.schema.cost import MUTATION_COST
from channel_sandboxes.shopify.schema.registry import LEAF_TYPES, POSSIBLE_TYPES, RESOLVERS, TYPES


def _applies(condition: str, concrete: str) -> bool:
    return condition == concrete or concrete in POSSIBLE_TYPES.get(condition, set())


def execute(op: Operation, doc: Document, ctx: ExecContext) -> dict[str, Any]:
    root = "Mutation" if op.kind == "mutation" else "QueryRoot"
    ctx.in_mutation = op.kind == "mutation"
    return _select(root, None, op.selections, ctx, [])


def _select(
    type_name: str, source: Any, selections: list[Selection], ctx: ExecContext, path: list[Any]
) -> dict:
    grouped: dict[str, list[Field]] = {}
    for sel, on_type in collect_fields(type_name, selections, ctx):
        if _applies(on_type, type_name):
            grouped.setdefault(sel.response_key, []).append(sel)
    out: dict[str, Any] = {}
    for key, fields_ in grouped.items():
        sel = fields_[0]
        merged = [s for f in fields_ for s in f.selections]
        if sel.name == "__typename":
            out[key] = type_name
            continue
        ref = TYPES[type_name][sel.name]
        args = resolve_value(sel.arguments, ctx.variables)
        resolver = RESOLVERS.get(type_name, {}).get(sel.name)
        if resolver is not None:
            value = resolver(source, args, ctx)
        elif isinstance(source, dict):
            value = source.get(sel.name)
        else:
            value = getattr(source, sel.name, None)
        if type_name == "Mutation":
            ctx.actual_cost += MUTATION_COST
        out[key] = _complete(ref, value, merged, ctx, [*path, key])
    return out


def _complete(ref: str, value: Any, selections: list[Selection], ctx: ExecContext, path: list[Any]) -> Any:
    if value is None:
        return None
    if is_list(ref):
        inner = ref[1:].rstrip("!")[:-1] if ref.endswith("!") else ref[1:-1]
        return [_complete(inner, v, selections, ctx, [*path, i]) for i, v in enumerate(value)]
    target = named_type(ref)
    if target in LEAF_TYPES:
        if isinstance(value, datetime):
            return iso_z(value)
        return value
    if isinstance(value, Typed):
        target, value = value.type_name, value.value
    if not ctx.in_mutation:
        if target.endswith("Connection"):
            ctx.actual_cost += 2
        elif not (target.endswith("Edge") or target == "PageInfo"):
            ctx.actual_cost += 1
    return _select(target, value, selections, ctx, path)
