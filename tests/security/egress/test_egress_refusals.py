"""Issue 12, item 3 (SSRF): a tenant cannot make OmniStock call loopback, private or link-local
addresses, and a refusal looks the same whatever the target was.

Through the gateway: a WooCommerce connection (store URL or base URL), a Shopify OAuth start and
the notification webhook, pointed at 127.0.0.1, 10.x, 169.254.169.254, [::1] or a name that
"resolves" to them (stub DNS, tests/security/conftest.py), are refused with one and the same
problem+json; nothing is stored and the sandboxes see no request. With CHANNEL_ALLOWED_HOSTS naming
the sandbox, the same requests work (this is how `make run` and the tests reach the sandboxes).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import urlencode, urlparse

import pytest

from channels.notify import Notifier, SyncAlert
from omnistock_common.egress import HOST_NOT_ALLOWED, AllowList, EgressPolicy

from .conftest import Stack, StubResolver, problem

pytestmark = pytest.mark.redis

# Hosts a tenant might aim at; none of them may be reached. "{sandbox}" is the WooCommerce
# sandbox's own host:port, which is refused too while the operator has not allowed it.
STORE_TARGETS = [
    "https://127.0.0.1",
    "https://127.0.0.1:{port}",
    "http://{sandbox}",
    "https://10.0.0.5",
    "https://169.254.169.254",
    "http://169.254.169.254",
    "https://[::1]",
    "https://[::ffff:169.254.169.254]",
    "https://evil-loopback.test",
    "https://evil-v6-loopback.test",
    "https://evil-private.test",
    "https://evil-metadata.test",
    "https://evil-mapped.test",
    "https://evil-mixed.test",
    "https://does-not-resolve.test",
]


def _targets(stack: Stack) -> list[str]:
    sandbox = urlparse(stack.woo_url).netloc
    port = str(urlparse(stack.woo_url).port)
    return [t.format(sandbox=sandbox, port=port) for t in STORE_TARGETS]


def _woo(stack: Stack, settings: dict[str, str]) -> object:
    return stack.gateway.post(
        "/api/v1/channels",
        json={
            "type": "woocommerce",
            "name": "Woo",
            "settings": settings,
            "credentials": {
                "consumer_key": stack.woo.consumer_key,
                "consumer_secret": stack.woo.consumer_secret,
            },
        },
        headers=stack.auth,
    )


def test_store_and_base_urls_on_internal_hosts_are_refused_alike(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack("")
    answers = set()
    for target in _targets(stack):
        for settings in ({"store_url": target}, {"api_base_url": f"{target}/wp-json/wc/v3"}):
            response = _woo(stack, settings)
            assert response.status_code == 400, (settings, response.json)
            answers.add(problem(response))
    # One answer for every target: no status, message or field tells them apart (no port scan,
    # no DNS oracle, no "this one answered").
    assert len(answers) == 1, answers
    _, content_type, _, detail, _ = answers.pop()
    assert content_type == "application/problem+json"
    assert HOST_NOT_ALLOWED in detail and "127.0.0.1" not in detail and "169.254" not in detail
    assert stack.connections() == 0
    assert stack.sandbox_calls(stack.woo_url) == 0


def test_the_same_connection_works_once_the_operator_allows_the_sandbox(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack(lambda shop_url, woo_url: f"{urlparse(woo_url).netloc},{urlparse(shop_url).netloc}")
    by_base = _woo(stack, {"api_base_url": f"{stack.woo_url}/wp-json/wc/v3"})
    assert by_base.status_code == 201, by_base.json
    # The REST root is derived from the store URL (the allowed sandbox may be plain http).
    by_store = _woo(stack, {"store_url": stack.woo_url})
    assert by_store.status_code == 201, by_store.json
    assert stack.connections() == 2
    # Other internal hosts stay refused while the sandbox is allowed.
    refused = _woo(stack, {"store_url": "https://evil-metadata.test"})
    assert refused.status_code == 400 and HOST_NOT_ALLOWED in refused.json["detail"]


def _start(stack: Stack, **query: str) -> object:
    return stack.gateway.get(f"/api/v1/channels/shopify/oauth/start?{urlencode(query)}", headers=stack.auth)


def test_oauth_start_towards_an_internal_host_is_refused_alike(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack("")
    targets = [
        stack.shopify_url,
        "http://127.0.0.1",
        "https://10.0.0.5",
        "https://169.254.169.254",
        "https://[::1]:8701",
        "https://evil-loopback.test",
        "https://does-not-resolve.test",
        "https://attacker.example",  # public or not: only the shop's own host gets the app's secret
    ]
    answers = {problem(_start(stack, shop="demo.myshopify.com", api_base_url=t)) for t in targets}
    assert len(answers) == 1, answers
    status, content_type, _, detail, _ = answers.pop()
    assert (status, content_type) == (400, "application/problem+json")
    assert HOST_NOT_ALLOWED in detail
    # A shop that is not <name>.myshopify.com never becomes a host either.
    for shop in ("127.0.0.1", "evil.myshopify.com.attacker.test", "a.myshopify.com/x", "x@y.myshopify.com"):
        assert _start(stack, shop=shop).status_code == 400
    assert stack.sandbox_calls(stack.shopify_url) == 0


def test_oauth_start_goes_to_the_shop_itself_or_an_allowed_sandbox(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack(lambda shop_url, woo_url: urlparse(shop_url).netloc)
    own = _start(stack, shop="demo.myshopify.com")
    assert own.status_code == 302, own.json
    assert own.headers["Location"].startswith("https://demo.myshopify.com/admin/oauth/authorize?")
    sandbox = _start(stack, shop="demo.myshopify.com", api_base_url=stack.shopify_url)
    assert sandbox.status_code == 302, sandbox.json
    assert sandbox.headers["Location"].startswith(f"{stack.shopify_url}/admin/oauth/authorize?")


def test_notification_webhook_on_an_internal_host_is_refused(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack("")

    def put(url: str) -> object:
        return stack.gateway.put(
            "/api/v1/channels/notification-settings", json={"webhook_url": url}, headers=stack.auth
        )

    answers = {
        problem(put(url))
        for url in (
            "https://127.0.0.1/hook",
            "http://127.0.0.1:8080/hook",
            "https://10.1.2.3/hook",
            "https://169.254.169.254/latest/meta-data/",
            "https://[::1]/hook",
            "https://[::ffff:127.0.0.1]/hook",
            "http://hooks.example.com/hook",  # plain http leaves the machine unencrypted
            "https://hooks.example.com:8443/hook",
        )
    }
    assert len(answers) == 1, answers
    assert answers.pop()[:2] == (400, "application/problem+json")
    ok = put("https://hooks.example.com/omnistock")
    assert ok.status_code == 200 and ok.json["webhook_url"] == "https://hooks.example.com/omnistock"


# ------------------------------------------------------------------------------ the POST itself
class _Receiver(BaseHTTPRequestHandler):
    bodies: list[bytes] = []

    def do_POST(self) -> None:
        _Receiver.bodies.append(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[int]:
    _Receiver.bodies = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def _alert() -> SyncAlert:
    return SyncAlert(
        "t1", "c1", "woocommerce", "Woo", "degraded", "connected", "push", "x", 1, datetime.now(UTC)
    )


def test_notification_post_is_checked_again_when_sent(receiver: int) -> None:
    # Saved while it looked fine, now "resolving" to loopback (DNS rebinding): not posted.
    resolver = StubResolver()
    url = {"t1": f"https://evil-loopback.test:{receiver}/hook"}
    notifier = Notifier(url.__getitem__, egress=EgressPolicy(resolver=resolver, ports=None))
    try:
        assert notifier.notify(_alert()).wait(10) is False
        url["t1"] = f"http://127.0.0.1:{receiver}/hook"
        assert notifier.notify(_alert()).wait(10) is False
    finally:
        notifier.close()
    assert _Receiver.bodies == []
    assert resolver.lookups == ["evil-loopback.test"]

    allowed = Notifier(url.__getitem__, egress=EgressPolicy(allowed=AllowList.parse(f"127.0.0.1:{receiver}")))
    try:
        assert allowed.notify(_alert()).wait(10) is True
    finally:
        allowed.close()
    assert len(_Receiver.bodies) == 1
