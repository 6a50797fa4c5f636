"""Issue 12, points 7-8, as pure functions: the shared identifier rule, money bounds, the CSV
formula guard and capped import report, the gateway's If-Match parser and log escaping."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask

from catalog import csv_io
from catalog.domain import Money, Option, Product, ProductStatus, RowError, Variant, validate_sku
from gateway.app import log_safe
from gateway.errors import ApiProblem
from gateway.gunicorn_worker import problem_error_response
from gateway.inputs import if_match_version
from inventory.domain import validate_location
from omnistock_common.errors import InvalidArgument
from omnistock_common.identifiers import IdentifierError, clean_identifier, identifier_problem
from omnistock_common.money import MAX_MINOR, MoneyError, to_minor
from omnistock_common.spreadsheet import FORMULA_PREFIXES, neutralise_formula, unneutralise_formula

NOW = datetime(2026, 1, 1, tzinfo=UTC)
REFUSED = [
    "\x00",  # NUL
    "\t",
    "\n",
    "\r",
    "\x1b",  # ESC
    "\x7f",  # DEL
    "\x85",  # C1 NEXT LINE
    "\u00ad",  # SOFT HYPHEN
    "\u200b",  # ZERO WIDTH SPACE
    "\u200c",  # ZERO WIDTH NON-JOINER
    "\u200d",  # ZERO WIDTH JOINER
    "\u200e",  # LEFT-TO-RIGHT MARK
    "\u202a",  # LEFT-TO-RIGHT EMBEDDING
    "\u202e",  # RIGHT-TO-LEFT OVERRIDE
    "\u2028",  # LINE SEPARATOR
    "\u2029",  # PARAGRAPH SEPARATOR
    "\u2060",  # WORD JOINER
    "\u2066",  # LEFT-TO-RIGHT ISOLATE
    "\u2069",  # POP DIRECTIONAL ISOLATE
    "\ufeff",  # BOM / ZERO WIDTH NO-BREAK SPACE
    "\ue000",  # private use
]


@pytest.mark.parametrize("ch", REFUSED, ids=[f"U+{ord(c):04X}" for c in REFUSED])
def test_identifiers_refuse_control_format_bidi_and_zero_width_characters(ch: str) -> None:
    value = f"SKU{ch}1"
    with pytest.raises(IdentifierError, match=f"U\\+{ord(ch):04X}"):
        clean_identifier(value)
    assert identifier_problem(value) is not None


@pytest.mark.parametrize("value", ["TEE-M", "Größe-42", "東京-1", "a b", "SKU/1", "CAF\u00c9"])
def test_ordinary_identifiers_pass_unchanged(value: str) -> None:
    assert clean_identifier(value) == value
    assert identifier_problem(value) is None


def test_identifiers_are_nfc_normalised_and_services_refuse_other_forms() -> None:
    decomposed = "CAFE\u0301"
    assert clean_identifier(decomposed) == "CAF\u00c9"
    assert "NFC" in (identifier_problem(decomposed) or "")


def test_catalog_and_inventory_validators_apply_the_shared_rule() -> None:
    assert [v.field for v in validate_sku("TEE\x00M", "variants[0].sku")] == ["variants[0].sku"]
    assert validate_sku("TEE-M", "sku") == []
    with pytest.raises(InvalidArgument) as raised:
        validate_location("WH\u202eX", "Evil")
    assert [v.field for v in raised.value.violations] == ["code"]
    validate_location("WH-EAST", "East")


def test_amounts_beyond_int64_minor_units_are_refused() -> None:
    assert to_minor("92233720368547758.07", "USD") == MAX_MINOR
    with pytest.raises(MoneyError, match="too large"):
        to_minor("92233720368547758.08", "USD")
    with pytest.raises(MoneyError, match="too large"):
        to_minor("9" * 5000, "JPY")


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_formula_prefixes_are_neutralised_and_restored(value: str) -> None:
    neutral = neutralise_formula(value)
    assert neutral == "'" + value
    assert unneutralise_formula(neutral) == value


def test_plain_cells_and_quoted_text_are_left_alone() -> None:
    for value in ["Tee", "'quoted", "", "19.99", "a=b"]:
        assert neutralise_formula(value) == value
        assert unneutralise_formula(value) == value


def test_export_rows_never_start_a_cell_with_a_formula_prefix() -> None:
    product = Product(
        id="p",
        title="=cmd|'/c calc'!A1",
        description="",
        status=ProductStatus.ACTIVE,
        variants=(),
        version=1,
        created_at=NOW,
        updated_at=NOW,
    )
    variant = Variant(
        id="v",
        product_id="p",
        sku="-SKU",
        price=Money(100, "USD"),
        cost=None,
        barcode="@1",
        options=(Option("+size", "-M"),),
        weight_grams=None,
        position=0,
        version=1,
        created_at=NOW,
        updated_at=NOW,
    )
    row = csv_io.variant_row(product, variant)
    assert row[:2] == ["'=cmd|'/c calc'!A1", "'-SKU"]
    assert not [cell for cell in row if cell.startswith(FORMULA_PREFIXES)]


def test_import_error_list_keeps_the_first_errors_and_counts_the_rest() -> None:
    errors = csv_io.CappedErrors(cap=3)
    errors.extend(RowError(row, "price", "bad") for row in range(2, 12))
    errors.append(RowError(99, "sku", "bad"))
    assert [e.row for e in errors] == [2, 3, 4]
    assert errors.omitted == 8
    assert csv_io.MAX_REPORTED_ERRORS == 1000


def test_a_csv_row_with_an_int64_overflowing_price_is_a_row_error() -> None:
    content = b"product_title,sku,price\nMug,MUG-1,8.00\nGold,GOLD-1,92233720368547758.08\n"
    results = list(csv_io.CsvImport([content]))
    assert isinstance(results[0], csv_io.ImportRow)
    assert isinstance(results[1], list) and [(e.row, e.column) for e in results[1]] == [(3, "price")]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('"3"', 3),
        ("3", 3),
        ('W/"12"', 12),
        ("*", None),
        ('"0003"', 3),
        ('"' + "0" * 100 + '7"', 7),
    ],
)
def test_if_match_accepts_etags(header: str, expected: int | None) -> None:
    with Flask(__name__).test_request_context(headers={"If-Match": header}):
        assert if_match_version() == expected


@pytest.mark.parametrize(
    ("header", "status"),
    [
        ('"9223372036854775808"', 412),
        ('"' + "9" * 5000 + '"', 412),
        ('"\u0663"', 400),
        ('"\u00b2"', 400),
        ('"\uff13"', 400),  # FULLWIDTH DIGIT THREE
        ('"3', 400),
        ('"-3"', 400),
        ('"0"', 400),
        ('"1", "2"', 400),
    ],
)
def test_if_match_refuses_everything_else_with_a_problem(header: str, status: int) -> None:
    with (
        Flask(__name__).test_request_context(headers={"If-Match": header}),
        pytest.raises(ApiProblem) as raised,
    ):
        if_match_version()
    assert raised.value.status == status


def test_log_values_are_escaped_and_bounded() -> None:
    assert log_safe("/a\nb\r\x1b[2J\u202e\u200b") == "/a\\x0ab\\x0d\\x1b[2J\\u202e\\u200b"
    assert "\n" not in log_safe("x\n" * 5000)
    assert log_safe("y" * 5000).endswith("...(truncated)")


def test_the_wsgi_servers_own_errors_are_problem_json() -> None:
    raw = problem_error_response(414, "URI Too Long", "Request Line is too large (8192 > 4094)")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 414 URI Too Long\r\n")
    assert b"Content-Type: application/problem+json" in head
    assert f"Content-Length: {len(body)}".encode() in head
    assert body.startswith(b'{"type": "https://omnistock.dev/problems/uri-too-long"')


def _tiny_app(max_json_bytes: int) -> Flask:
    """A gateway-style app with two public JSON routes: the default limit and a route's own."""
    from types import SimpleNamespace

    from gateway.api import ApiModule, register_modules
    from gateway.config import Settings
    from gateway.errors import ErrorMapper, install_error_handlers
    from gateway.schemas import StrictModel

    class Echo(StrictModel):
        text: str

    api = ApiModule("tiny", tag="Tiny")

    @api.route("POST", "/default", summary="Default limit", permission=None, body=Echo, response=Echo)
    def default(body: Echo) -> Echo:
        return body

    @api.route(
        "POST", "/small", summary="Own limit", permission=None, body=Echo, response=Echo, max_body_bytes=64
    )
    def small(body: Echo) -> Echo:
        return body

    app = Flask("tiny")
    app.extensions["omnistock"] = SimpleNamespace(settings=Settings(max_json_bytes=max_json_bytes))
    register_modules(app, [api])
    install_error_handlers(app, ErrorMapper())
    return app


def test_the_json_body_limit_is_a_setting_and_a_route_may_declare_its_own() -> None:
    client = _tiny_app(max_json_bytes=2048).test_client()
    assert client.post("/api/v1/default", json={"text": "x" * 1000}).status_code == 200
    too_big = client.post("/api/v1/default", json={"text": "x" * 3000})
    assert too_big.status_code == 413 and too_big.mimetype == "application/problem+json"
    assert too_big.json["max_bytes"] == 2048
    assert client.post("/api/v1/small", json={"text": "x" * 10}).status_code == 200
    assert client.post("/api/v1/small", json={"text": "x" * 100}).status_code == 413


def test_a_body_without_content_length_is_cut_at_the_limit() -> None:
    """Chunked uploads announce no length: reading stops at the limit with a 413 problem."""
    import io

    client = _tiny_app(max_json_bytes=2048).test_client()
    body = b'{"text": "' + b"x" * 100_000 + b'"}'
    response = client.post(
        "/api/v1/default",
        input_stream=io.BytesIO(body),
        content_type="application/json",
        # What a server hands over for `Transfer-Encoding: chunked`: no length, a terminated stream.
        environ_overrides={
            "wsgi.input_terminated": True,
            "CONTENT_LENGTH": "",
            "HTTP_TRANSFER_ENCODING": "chunked",
        },
    )
    assert response.status_code == 413 and response.mimetype == "application/problem+json"
