"""The postal address every service speaks (a channel order's shipping address, a manual order's,
the gateway's JSON): one value and one list of its fields, so each edge copies an address by
that list instead of naming nine fields again. Pure: no I/O, no generated code."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

__all__ = ["ADDRESS_FIELDS", "Address", "address_fields"]


@dataclass(frozen=True)
class Address:
    name: str = ""
    company: str = ""
    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country_code: str = ""
    phone: str = ""


ADDRESS_FIELDS = tuple(f.name for f in fields(Address))


def address_fields(source: Any) -> dict[str, str]:
    """The address fields of anything that carries them by these names: an `Address`, a
    common.v1 / connector.v1 address message, a JSON model."""
    return {name: getattr(source, name) for name in ADDRESS_FIELDS}
