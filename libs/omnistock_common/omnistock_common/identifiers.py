"""One rule for identifiers (SKUs, location codes, order references...) in every layer.

An identifier is matched byte for byte by databases, channels and people reading a report, so
characters that are invisible or change how text is displayed make two "equal-looking" values
differ, hide a suffix, or break storage (PostgreSQL text cannot hold NUL). Refused: every
control character (C0, DEL, C1: NUL, tab, CR, LF...), format characters (Unicode category Cf:
bidi embeddings/overrides/isolates U+202A-202E and U+2066-2069, zero-width space/joiners
U+200B-200D, word joiner U+2060, BOM U+FEFF, soft hyphen...), surrogates, private-use
characters and the line/paragraph separators U+2028/U+2029.

Accepted identifiers are NFC-normalised, so "é" typed as one code point or as "e" + combining
accent is one SKU. The gateway normalises (`clean_identifier`); the services, which may be called
by other clients, refuse what is not clean (`identifier_problem`) with a message naming the rule.
"""

from __future__ import annotations

import unicodedata

# Unicode general categories an identifier may not contain (see the module docstring).
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})


class IdentifierError(ValueError):
    """The identifier contains a character that identifiers may not contain."""


def _refused_character(value: str) -> str | None:
    for ch in value:
        if unicodedata.category(ch) in REFUSED_CATEGORIES:
            return ch
    return None


def _describe(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" {name}" if name else "")


def identifier_problem(value: str) -> str | None:
    """Why `value` is not a clean identifier (refused character, not NFC), or None if it is."""
    if (ch := _refused_character(value)) is not None:
        return f"must not contain control, format, bidi or zero-width characters (found {_describe(ch)})"
    if not unicodedata.is_normalized("NFC", value):
        return "must be in Unicode normalisation form NFC"
    return None


def clean_identifier(value: str) -> str:
    """`value` in NFC; raises IdentifierError if it contains a refused character."""
    if (ch := _refused_character(value)) is not None:
        raise IdentifierError(
            f"must not contain control, format, bidi or zero-width characters (found {_describe(ch)})"
        )
    return unicodedata.normalize("NFC", value)
