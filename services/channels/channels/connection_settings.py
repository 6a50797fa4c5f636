"""The settings a merchant changes after connecting (pure): which keys a channel type lets them
change (ChannelType.editable_settings) and what a change makes of the stored settings.

A connection's other settings name the store or where its API is (shop_domain, store_url,
store_id, api_base_url) or were learnt at connect (currency, region, shop_cipher): changing them
would make it another connection, so they are refused like unknown keys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from channels.domain import ChannelType
from omnistock_common.errors import FieldViolation, InvalidArgument

MAX_SETTING_VALUE = 500


def changed_settings(
    kind: ChannelType, current: Mapping[str, str], to_set: Mapping[str, str], to_remove: Sequence[str]
) -> dict[str, str]:
    """`current` with `to_set` written and `to_remove` dropped; INVALID_ARGUMENT naming every bad
    key or value (nothing is changed then)."""
    violations: list[FieldViolation] = []
    allowed = ", ".join(kind.editable_settings) or "none"
    if not to_set and not to_remove:
        violations.append(FieldViolation("settings", "name at least one setting to set or remove"))
    for key in [*to_set, *to_remove]:
        if key not in kind.editable_settings:
            violations.append(
                FieldViolation(
                    f"settings.{key}", f"not editable on {kind.display_name}: editable are {allowed}"
                )
            )
    for key in set(to_set) & set(to_remove):
        violations.append(FieldViolation(f"settings.{key}", "both set and removed"))
    cleaned: dict[str, str] = {}
    for key, value in to_set.items():
        text = value.strip()
        if not text or len(text) > MAX_SETTING_VALUE or not text.isprintable():
            violations.append(
                FieldViolation(
                    f"settings.{key}",
                    f"must be 1..{MAX_SETTING_VALUE} printable characters (null removes the setting)",
                )
            )
        cleaned[key] = text
    if violations:
        raise InvalidArgument("invalid connection settings", violations=violations)
    changed = {k: v for k, v in current.items() if k not in to_remove}
    changed.update(cleaned)
    return changed
