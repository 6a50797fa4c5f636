"""Shopify search syntax, sort keys and Relay connections (cursor paging) over in-memory lists."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from channel_sandboxes.common import decode_cursor, encode_cursor
from channel_sandboxes.shopify.schema.context import ExecContext, GraphQLError, Resolver
from channel_sandboxes.shopify.state import ShopState

MAX_PAGE_SIZE = 250

_TERM = re.compile(r"""(-?)([A-Za-z_]+):(>=|<=|>|<)?("[^"]*"|'[^']*'|\S+)""")


def page_size(args: dict[str, Any], field_name: str, check: bool = True) -> int:
    """`first` or `last` of a connection; Shopify requires one of them, at most 250."""
    first, last = args.get("first"), args.get("last")
    size = first if first is not None else last
    if not check:
        return size if isinstance(size, int) and size > 0 else 0
    if size is None:
        raise GraphQLError("you must provide one of first or last", "BAD_REQUEST", [field_name])
    if not isinstance(size, int) or size < 0 or size > MAX_PAGE_SIZE:
        raise GraphQLError(
            f"The value of 'first'/'last' on '{field_name}' must be between 0 and {MAX_PAGE_SIZE}",
            "BAD_REQUEST",
            [field_name],
        )
    return size


def _parse_when(text: str) -> datetime | None:
    text = text.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def search_matches(query: str | None, values: dict[str, Any]) -> bool:
    """Shopify search syntax, the useful subset: `field:value`, `field:>=value`, `-field:value`, AND.

    Unknown fields are ignored (Shopify answers with a search warning rather than an error). Values
    ending in `*` match by prefix. Dates compare as instants; ids and numbers compare numerically.
    """
    if not query:
        return True
    for negate, name, op, raw in _TERM.findall(query):
        key = name.lower()
        if key not in values:
            continue
        raw = raw.strip("\"'")
        have = values[key]
        candidates = have if isinstance(have, list) else [have]
        result = any(_compare(c, op, raw) for c in candidates)
        if bool(negate) == result:
            return False
    return True


def _compare(have: Any, op: str, raw: str) -> bool:
    if have is None:
        return False
    if isinstance(have, datetime):
        want = _parse_when(raw)
        if want is None:
            return False
        left, right = have, want
    elif isinstance(have, int):
        digits = raw.rsplit("/", 1)[-1]
        if not digits.isdigit():
            return False
        left, right = have, int(digits)
    else:
        text, target = str(have).lower(), raw.lower()
        if not op:
            return text.startswith(target[:-1]) if target.endswith("*") else text == target
        left, right = text, target
    if op == ">=":
        return left >= right
    if op == "<=":
        return left <= right
    if op == ">":
        return left > right
    if op == "<":
        return left < right
    return left == right


def paginate(
    items: list[Any], args: dict[str, Any], key: Callable[[Any], list[Any]], field_name: str
) -> dict:
    """Relay connection over `items` (already in sort order); cursors are opaque sort keys."""
    size = page_size(args, field_name)
    reverse = bool(args.get("reverse"))
    ordered = sorted(items, key=key, reverse=reverse)
    after, before = args.get("after"), args.get("before")
    if after:
        mark = _cursor(after)
        ordered = [i for i in ordered if (key(i) < mark if reverse else key(i) > mark)]
    if before:
        mark = _cursor(before)
        ordered = [i for i in ordered if (key(i) > mark if reverse else key(i) < mark)]
    if args.get("first") is not None:
        page = ordered[:size]
        has_next, has_prev = len(ordered) > size, bool(after)
    else:
        page = ordered[-size:] if size else []
        has_next, has_prev = bool(before), len(ordered) > size
    cursors = [encode_cursor(*key(i)) for i in page]
    return {
        "edges": [{"cursor": c, "node": n} for c, n in zip(cursors, page, strict=True)],
        "nodes": page,
        "pageInfo": {
            "hasNextPage": has_next,
            "hasPreviousPage": has_prev,
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        },
    }


def _cursor(value: Any) -> list[Any]:
    decoded = decode_cursor(value) if isinstance(value, str) else None
    if decoded is None:
        raise GraphQLError(f"Invalid cursor for current pagination sort: {value}", "BAD_REQUEST")
    return decoded


def sort_key(chosen: str | None, getters: dict[str, Callable[[Any], Any]]) -> Callable[[Any], list[Any]]:
    """The `sortKey` argument as a paging key: the chosen value, then the id to break ties."""
    getter = getters.get((chosen or "ID").upper(), getters["ID"])

    def key(obj: Any) -> list[Any]:
        value = getter(obj)
        if isinstance(value, datetime):
            value = value.isoformat()
        return [value, obj.id]

    return key


def search_query(
    table: Callable[[ShopState], dict[int, Any]],
    values: Callable[[ShopState, Any], dict[str, Any]],
    getters: dict[str, Callable[[Any], Any]],
    field_name: str,
) -> Resolver:
    """Resolver of a searchable, sortable root connection (`products`, `orders`, ...).

    `table(state)` gives the objects, `values(state, obj)` what `query:` can match, `getters` the
    `sortKey`s; the answer is filtered, ordered, then paged.
    """

    def resolve(_src: Any, args: dict[str, Any], ctx: ExecContext) -> dict:
        state = ctx.state
        matches = [
            obj for obj in table(state).values() if search_matches(args.get("query"), values(state, obj))
        ]
        return paginate(matches, args, sort_key(args.get("sortKey"), getters), field_name)

    return resolve
