"""Spreadsheet-safe text cells, shared by every CSV the project writes (catalog and order exports).

A cell starting with =, +, -, @, tab or CR is a formula to a spreadsheet that opens the CSV, which
an attacker who controls a product title or a customer name can use (OWASP, CSV Injection:
https://owasp.org/www-community/attacks/CSV_Injection; OWASP ASVS 5.0 requirement 1.2.10). Such a
cell is written with a leading single quote, which spreadsheets read as "this is text"; an
importer removes exactly that quote again, so an exported file re-imports unchanged.
"""

from __future__ import annotations

# First characters that make a spreadsheet evaluate a cell as a formula (OWASP CSV Injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: str) -> str:
    """`value` prefixed with a single quote if a spreadsheet would evaluate it as a formula."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def unneutralise_formula(value: str) -> str:
    """The inverse of neutralise_formula for an imported cell (a quote before a formula prefix)."""
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_PREFIXES) else value
