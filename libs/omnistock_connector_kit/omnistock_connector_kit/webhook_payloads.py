"""Shape checks for the JSON body of a channel's webhook delivery.

Only the body is signed, so a connector checks that a genuine body looks like what the (unsigned)
topic header says it carries; these predicates are the building blocks every connector uses.
"""

from __future__ import annotations

from typing import Any

__all__ = ["is_count", "is_positive_id"]


def is_positive_id(value: Any) -> bool:
    """A resource id as channels send it: a positive integer, or its decimal string."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value > 0
    return isinstance(value, str) and value.isdigit() and int(value) > 0


def is_count(value: Any) -> bool:
    """A quantity or count: a non-negative integer (booleans are not numbers here)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
