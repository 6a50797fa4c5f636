"""What every part of the schema shares: the execution context, errors, and fragment flattening.

The area modules (products, inventory, orders, ...) and the executor all build on these, so they
live apart from both to keep the imports one-way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from channel_sandboxes.graphql_lite import Field, FragmentSpread, InlineFragment, Selection, included
from channel_sandboxes.shopify.models import Event
from channel_sandboxes.shopify.state import ShopState


class GraphQLError(Exception):
    """A top-level GraphQL error (validation, coercion, access): the response carries no data."""

    def __init__(
        self, message: str, code: str | None = None, path: list[Any] | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.payload: dict[str, Any] = {"message": message}
        if path:
            self.payload["path"] = path
        extensions = dict(extra)
        if code:
            extensions["code"] = code
        if extensions:
            self.payload["extensions"] = extensions


@dataclass
class Typed:
    """A value whose concrete GraphQL type must travel with it (for abstract fields such as `node`)."""

    type_name: str
    value: Any


@dataclass
class ExecContext:
    state: ShopState
    variables: dict[str, Any]
    fragments: dict[str, Any]
    events: list[Event] = field(default_factory=list)
    actual_cost: int = 0
    in_mutation: bool = False


# A field resolver: (parent value, resolved arguments, context) -> value.
Resolver = Callable[[Any, dict[str, Any], ExecContext], Any]


def named_type(ref: str) -> str:
    return ref.replace("[", "").replace("]", "").replace("!", "")


def is_list(ref: str) -> bool:
    return ref.startswith("[")


def collect_fields(type_name: str, selections: list[Selection], ctx: ExecContext) -> list[tuple[Field, str]]:
    """Flatten fragments into (field, the type it is selected on), honouring @skip/@include."""
    out: list[tuple[Field, str]] = []
    for sel in selections:
        if isinstance(sel, Field):
            if included(sel.directives, ctx.variables):
                out.append((sel, type_name))
        elif isinstance(sel, InlineFragment):
            if included(sel.directives, ctx.variables):
                out.extend(collect_fields(sel.type_condition or type_name, sel.selections, ctx))
        elif isinstance(sel, FragmentSpread):
            fragment = ctx.fragments.get(sel.name)
            if fragment is None:
                raise GraphQLError(f"Fragment {sel.name} was used, but not defined", "undefinedFragment")
            if included(sel.directives, ctx.variables):
                out.extend(collect_fields(fragment.type_condition, fragment.selections, ctx))
    return out


def user_error(code: str | None, path: list[Any], message: str) -> dict[str, Any]:
    """A mutation's `userErrors` entry (`code` only on the payloads whose error type has one)."""
    error: dict[str, Any] = {"field": [str(p) for p in path], "message": message}
    if code is not None:
        error["code"] = code
    return error
