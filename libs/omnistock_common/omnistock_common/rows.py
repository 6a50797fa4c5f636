"""Dataclass records ↔ table rows where a record's fields are its table's columns by name: one
place that copies them field by field, so a repository lists only what differs (a column named
or typed otherwise) and a field added to both cannot be forgotten in one direction."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

from sqlalchemy import Row

__all__ = ["from_row", "row_values"]

T = TypeVar("T")


def from_row(cls: type[T], row: Row[Any], **overrides: Any) -> T:
    """`cls` built from the columns of the same names; `overrides` give the fields whose column
    is named or typed otherwise. A field with neither is a KeyError (no silent default)."""
    columns = row._mapping
    taken = {f.name: columns[f.name] for f in fields(cls) if f.init and f.name not in overrides}  # type: ignore[arg-type]
    return cls(**taken, **overrides)


def row_values(record: Any, **overrides: Any) -> dict[str, Any]:
    """The column values of a dataclass record (its fields by name, not recursively); `overrides`
    replace or add columns."""
    return {f.name: getattr(record, f.name) for f in fields(record)} | overrides
