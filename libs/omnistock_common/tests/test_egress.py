"""Egress rules (egress.py) and the guarded transport / body cap (egress_transport.py).

The channel HTTP client's use of them is tested with the connector kit
(libs/omnistock_connector_kit/tests/test_channel_http_egress.py).

Private and link-local ranges are exercised through the pure decision (`is_public_address`,
`EgressPolicy.check`) with a stub resolver; the only real sockets are on 127.0.0.1, so nothing here
can send a packet elsewhere even if the guard were broken.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import httpx
import pytest

from omnistock_common.egress import (
    HOST_NOT_ALLOWED,
    AllowList,
    EgressPolicy,
    EgressRefused,
    is_public_address,
    safe_code,
    safe_text,
)
from omnistock_common.egress_transport import GuardedTransport, ResponseTooLarge, read_capped
from omnistock_devtools.egress_testing import StubResolver, loopback_recorder


# ------------------------------------------------------------------------------ allow-list
def test_allow_list_parses_hosts_ports_wildcards_and_ipv6() -> None:
    allowed = AllowList.parse(" 127.0.0.1:*, Shopify-Sandbox:8701 ,[::1]:8080,,")
    assert allowed.allows("127.0.0.1", 1) and allowed.allows("127.0.0.1", 65535)
    assert allowed.allows("shopify-sandbox", 8701) and allowed.allows("SHOPIFY-SANDBOX.", 8701)
    assert not allowed.allows("shopify-sandbox", 8702)
    assert allowed.allows("::1", 8080) and allowed.allows("[::1]", 8080) and not allowed.allows("::1", 80)
    assert not allowed.allows("127.0.0.2", 80) and not allowed.allows("127.1", 80)
    assert str(allowed) == "127.0.0.1:*,shopify-sandbox:8701,[::1]:8080"
    assert AllowList.parse("").patterns == ()


# What the recording server of the current test received (set by the `recorder` fixture).
RECORDED: list[list[tuple[str, str]]] = []


@pytest.mark.parametrize(
    "raw", ["127.0.0.1", "host:", ":80", "host:http", "host:0", "host:70000", "bad_host:1", "a b:1", "*:80"]
)
def test_allow_list_refuses_malformed_entries(raw: str) -> None:
    with pytest.raises(ValueError):
        AllowList.parse(raw)


# ------------------------------------------------------------------------------ addresses
@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.255.255.254",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # CGNAT
        "0.0.0.0",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.10",
        "198.18.0.1",
        "::",
        "::1",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:169.254.169.254",
        "::ffff:10.0.0.1",
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "2001::1",  # Teredo
        "2001:db8::1",  # documentation
        "::127.0.0.1",  # IPv4-compatible (deprecated)
        "fec0::1",  # site-local (deprecated)
        "100::1",  # discard-only
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert is_public_address(address) is False


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "1.1.1.1", "23.227.38.65", "2606:4700:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1"],
)
def test_public_addresses_are_accepted(address: str) -> None:
    assert is_public_address(address) is True


# ------------------------------------------------------------------------------ decisions
def test_allowed_host_is_not_resolved_or_pinned() -> None:
    resolver = StubResolver({})
    policy = EgressPolicy(allowed=AllowList.parse("127.0.0.1:8701"), resolver=resolver)
    assert policy.check("http", "127.0.0.1", 8701) is None
    assert resolver.lookups == []


def test_public_name_is_pinned_to_the_checked_address() -> None:
    resolver = StubResolver({"shop.example": ["23.227.38.65", "2606:4700::1"]})
    policy = EgressPolicy(resolver=resolver)
    assert policy.check("https", "shop.example", 443) == "23.227.38.65"
    assert resolver.lookups == ["shop.example"]


@pytest.mark.parametrize(
    ("scheme", "host", "port"),
    [
        ("https", "127.0.0.1", 443),
        ("https", "10.1.2.3", 443),
        ("https", "169.254.169.254", 443),
        ("https", "::1", 443),
        ("https", "[::1]", 443),
        ("https", "internal.example", 443),  # resolves to loopback
        ("https", "metadata.example", 443),  # resolves to link-local
        ("https", "mixed.example", 443),  # one public, one private answer
        ("https", "v6-loop.example", 443),  # resolves to ::ffff:127.0.0.1
        ("https", "nowhere.example", 443),  # does not resolve: same answer (no DNS oracle)
        ("https", "shop.example", 8443),  # public, but another port
        ("http", "shop.example", 80),  # public, but not https
        ("https", "127.0.0.1", 8701),  # a port the allow-list names for another host
        ("https", "", 443),
    ],
)
def test_refusals_are_one_and_the_same_whatever_the_target(scheme: str, host: str, port: int) -> None:
    resolver = StubResolver(
        {
            "internal.example": ["127.0.0.1"],
            "metadata.example": ["169.254.169.254"],
            "mixed.example": ["23.227.38.65", "10.0.0.7"],
            "v6-loop.example": ["::ffff:127.0.0.1"],
            "shop.example": ["23.227.38.65"],
        }
    )
    policy = EgressPolicy(allowed=AllowList.parse("sandbox:8701"), resolver=resolver)
    with pytest.raises(EgressRefused) as caught:
        policy.check(scheme, host, port)
    assert str(caught.value) == HOST_NOT_ALLOWED


def test_static_check_decides_without_dns() -> None:
    resolver = StubResolver({})
    policy = EgressPolicy(allowed=AllowList.parse("127.0.0.1:*"), resolver=resolver)
    policy.check_static("https://hooks.example/omnistock")
    policy.check_static("http://127.0.0.1:9999/x")  # allowed
    for url in (
        "http://hooks.example/x",
        "https://10.0.0.1/x",
        "https://[::1]/x",
        "https://u:p@hooks.example/",
    ):
        with pytest.raises(EgressRefused):
            policy.check_static(url)
    assert resolver.lookups == []


def test_config_names_the_variable_when_an_entry_is_bad() -> None:
    from channels.config import load_settings as channels_settings
    from omnistock_common.config import ConfigError
    from shopify_connector.config import load_settings as shopify_settings
    from woocommerce_connector.config import load_settings as woo_settings

    for load in (channels_settings, shopify_settings, woo_settings):
        with pytest.raises(ConfigError, match="CHANNEL_ALLOWED_HOSTS"):
            load({"CHANNEL_ALLOWED_HOSTS": "127.0.0.1"})
        assert load({"CHANNEL_ALLOWED_HOSTS": "127.0.0.1:*"}).allowed_hosts.allows("127.0.0.1", 8701)
        assert load({}).allowed_hosts.patterns == ()  # production default: nothing beyond the rules


# ------------------------------------------------------------------------------ transport (loopback only)
@pytest.fixture
def recorder() -> Iterator[int]:
    with loopback_recorder() as (port, seen):
        RECORDED.clear()
        RECORDED.append(seen)
        yield port


def test_guarded_transport_connects_to_the_checked_address_keeping_the_host(recorder: int) -> None:
    # Loopback stands in for "public" here, only so the pinning path runs on a real socket. The
    # name is "localhost" so that even a broken guard could not send a DNS query off the machine.
    resolver = StubResolver({"localhost": ["127.0.0.2"]})
    policy = EgressPolicy(
        resolver=resolver,
        address_permitted=lambda ip: ip.is_loopback,
        schemes=frozenset({"http"}),
        ports=None,
    )
    with httpx.Client(transport=GuardedTransport(policy)) as client:
        response = client.get(f"http://localhost:{recorder}/wp-json/wc/v3/products")
    assert response.json() == {"ok": True}
    assert RECORDED[0] == [("/wp-json/wc/v3/products", f"localhost:{recorder}")]
    assert resolver.lookups == ["localhost"]  # resolved once, by the guard, and that address used


# ------------------------------------------------------------------------------ body cap
def _streamed(response: httpx.Response) -> httpx.Response:
    """The response as `client.send(..., stream=True)` returns it: body not read yet."""
    with httpx.Client(transport=httpx.MockTransport(lambda r: response)) as client:
        return client.send(client.build_request("GET", "https://shop.test/x"), stream=True)


def test_read_capped_refuses_streamed_declared_and_decompressed_excess() -> None:
    with pytest.raises(ResponseTooLarge) as caught:
        read_capped(_streamed(httpx.Response(201, content=iter([b"x" * 1024] * 64))), 16 * 1024)
    assert caught.value.status == 201
    with pytest.raises(ResponseTooLarge):
        read_capped(_streamed(httpx.Response(200, content=b"y" * 5000)), 4096)
    bomb = gzip.compress(b"\0" * (4 * 1024 * 1024))
    with pytest.raises(ResponseTooLarge):
        read_capped(
            _streamed(httpx.Response(200, content=bomb, headers={"Content-Encoding": "gzip"})), 64 * 1024
        )
    assert read_capped(_streamed(httpx.Response(200, json={"a": 1})), 1024).json() == {"a": 1}


# ------------------------------------------------------------------------------ remote text
def test_safe_text_drops_control_bidi_and_zero_width_and_bounds_length() -> None:
    assert safe_text("Shop\u202e evil\u200b\x00\nname\t ok") == "Shop evil name ok"
    assert safe_text("x" * 500, 10) == "x" * 9 + "…"
    assert safe_code("INVALID_QUANTITY") == "INVALID_QUANTITY"
    assert safe_code("woocommerce_rest_cannot_view") == "woocommerce_rest_cannot_view"
    assert safe_code("AWS_SECRET=abc def") == "" and safe_code("x" * 65) == "" and safe_code(None) == ""


def test_one_pool_per_host_name_and_a_bounded_number_of_them() -> None:
    made: list[_CountingTransport] = []

    def factory() -> _CountingTransport:
        made.append(_CountingTransport())
        return made[-1]

    policy = EgressPolicy(allowed=AllowList.parse("a.test:*,b.test:*,c.test:*"))
    transport = GuardedTransport(policy, inner_factory=factory, max_pools=2)
    with httpx.Client(transport=transport) as client:
        for host in ("a.test", "a.test", "b.test", "c.test"):
            assert client.get(f"http://{host}/").status_code == 200
        assert [t.closed for t in made] == [True, False, False]  # a.test's pool evicted for c.test
    assert [t.hosts for t in made] == [["a.test", "a.test"], ["b.test"], ["c.test"]]
    assert all(t.closed for t in made)


class _CountingTransport(httpx.BaseTransport):
    def __init__(self) -> None:
        self.hosts: list[str] = []
        self.closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.hosts.append(request.url.host)
        return httpx.Response(200)

    def close(self) -> None:
        self.closed = True
