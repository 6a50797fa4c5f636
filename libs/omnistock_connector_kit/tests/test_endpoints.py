"""endpoints: the one rule for where a channel API lives (store -> derived URL; api_base_url moves
only its scheme, host and port)."""

from __future__ import annotations

import pytest

from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock_common.egress import HOST_NOT_ALLOWED, AllowList, EgressPolicy
from omnistock_common.errors import InvalidArgument
from omnistock_connector_kit.endpoints import channel_base_url, with_api_base_url

SANDBOX = EgressPolicy(allowed=AllowList.parse("127.0.0.1:*,[::1]:8702"))
WOO_ROOT = "https://example.com/shop/wp-json/wc/v3"  # a store in a sub-folder
SHOP = "https://demo.myshopify.com"


def connection(**settings: str) -> pb.ConnectionContext:
    return pb.ConnectionContext(connection_id="c1", tenant_id="t1", channel_type="x", settings=settings)


@pytest.mark.parametrize(
    ("derived", "api_base_url", "expected"),
    [
        (WOO_ROOT, "http://127.0.0.1:8702", "http://127.0.0.1:8702/shop/wp-json/wc/v3"),
        (WOO_ROOT, "http://127.0.0.1:8702/", "http://127.0.0.1:8702/shop/wp-json/wc/v3"),
        (WOO_ROOT, "HTTP://LOCALHOST:80", "http://localhost/shop/wp-json/wc/v3"),
        (WOO_ROOT, "https://[::1]:8702", "https://[::1]:8702/shop/wp-json/wc/v3"),
        (SHOP, "http://127.0.0.1:8701", "http://127.0.0.1:8701"),
        (WOO_ROOT, "", WOO_ROOT),
    ],
)
def test_api_base_url_replaces_scheme_host_and_port_only(
    derived: str, api_base_url: str, expected: str
) -> None:
    assert with_api_base_url(derived, api_base_url) == expected


@pytest.mark.parametrize(
    "api_base_url",
    [
        "http://127.0.0.1:8702",
        "http://127.0.0.1:8702/shop",  # the store's own sub-folder, spelled out
        "http://127.0.0.1:8702/shop/wp-json/wc/v3/",  # the REST root older settings stored
    ],
)
def test_an_allowed_api_base_url_keeps_the_vendor_path(api_base_url: str) -> None:
    ctx = connection(store_url="https://example.com/shop", api_base_url=api_base_url)
    assert (
        channel_base_url(ctx, WOO_ROOT, SANDBOX, identity="store_url")
        == "http://127.0.0.1:8702/shop/wp-json/wc/v3"
    )


@pytest.mark.parametrize(
    "api_base_url",
    [
        "http://127.0.0.1:8702/wp-json/wc/v3",  # the REST root of a store at the site root
        "http://127.0.0.1:8702/not-wordpress",
        "http://127.0.0.1:8702/?x=1",
        "http://127.0.0.1:8702/#frag",
    ],
)
def test_an_api_base_url_with_a_path_of_its_own_is_refused_naming_the_field(api_base_url: str) -> None:
    ctx = connection(store_url="https://example.com/shop", api_base_url=api_base_url)
    with pytest.raises(InvalidArgument) as caught:
        channel_base_url(ctx, WOO_ROOT, SANDBOX, identity="store_url")
    assert caught.value.message != HOST_NOT_ALLOWED
    assert "scheme, host and port" in caught.value.message
    assert caught.value.violations[0].field == "connection.settings.api_base_url"


def test_a_host_refusal_comes_before_any_path_or_identity_check() -> None:
    """Whatever else is wrong, a destination the rules refuse is the one uniform answer."""
    for settings in (
        {"api_base_url": "http://169.254.169.254/latest/meta-data"},
        {"store_url": "https://example.com/shop", "api_base_url": "https://attacker.example/x"},
    ):
        with pytest.raises(InvalidArgument) as caught:
            channel_base_url(connection(**settings), WOO_ROOT, SANDBOX, identity="store_url")
        assert caught.value.message == HOST_NOT_ALLOWED
    with pytest.raises(InvalidArgument) as caught:
        channel_base_url(connection(api_base_url="http://127.0.0.1:8702"), "", SANDBOX, identity="store_url")
    assert caught.value.violations[0].field == "connection.settings.store_url"


def test_the_derived_https_host_written_out_needs_no_allow_list() -> None:
    ctx = connection(api_base_url="https://example.com")
    assert channel_base_url(ctx, WOO_ROOT, EgressPolicy(), identity="store_url") == WOO_ROOT
