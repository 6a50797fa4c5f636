"""The service template, checked on the orders package (omnistock_devtools.layout): modules small
enough to read, a pure domain, and generated code only at the gRPC edge (docs/development.md).
Its edge besides mapping, servicer and server: the outbound adapter of the stock port."""

from __future__ import annotations

from pathlib import Path

from omnistock_devtools.layout import template_checks

globals().update(
    template_checks(Path(__file__).resolve().parents[2] / "orders", adapters=["inventory_client.py"])
)
