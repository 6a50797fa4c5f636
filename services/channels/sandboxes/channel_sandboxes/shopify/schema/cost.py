"""Validation and Shopify's requested query cost, computed before anything runs.

Objects cost 1, connections 2 + first * the child cost, scalars and enums 0, mutations 10.
"""

from __future__ import annotations

from channel_sandboxes.graphql_lite import Selection, resolve_value
from channel_sandboxes.shopify.schema.context import ExecContext, GraphQLError, collect_fields, named_type
from channel_sandboxes.shopify.schema.paging import page_size
from channel_sandboxes.shopify.schema.registry import LEAF_TYPES, TYPES

MUTATION_COST = 10


def validate_and_cost(type_name: str, selections: list[Selection], ctx: ExecContext, path: list[str]) -> int:
    """Reject unknown fields (before anything runs) and return Shopify's requested query cost."""
    total = 0
    for sel, on_type in collect_fields(type_name, selections, ctx):
        if on_type not in TYPES:
            raise GraphQLError(
                f"No such type {on_type}, so it can't be a fragment condition", "undefinedType"
            )
        here = [*path, sel.response_key]
        if sel.name == "__typename":
            continue
        ref = TYPES[on_type].get(sel.name)
        if ref is None:
            raise GraphQLError(
                f"Field '{sel.name}' doesn't exist on type '{on_type}'",
                "undefinedField",
                here,
                typeName=on_type,
                fieldName=sel.name,
            )
        target = named_type(ref)
        if target in LEAF_TYPES:
            if sel.selections:
                raise GraphQLError(
                    f"Selections can't be made on scalars (field '{sel.name}' returns {target} but has selections)",
                    "selectionMismatch",
                    here,
                )
            continue
        if not sel.selections:
            raise GraphQLError(
                f"Field must have selections (field '{sel.name}' returns {target} but has no selections.)",
                "selectionMismatch",
                here,
            )
        child = validate_and_cost(target, sel.selections, ctx, here)
        if type_name == "Mutation":
            total += MUTATION_COST
        elif target.endswith("Connection"):
            size = page_size(resolve_value(sel.arguments, ctx.variables), sel.name)
            total += 2 + size * child
        elif target.endswith("Edge") or target == "PageInfo":
            total += child
        else:
            total += 1 + child
    return total
