"""The httpx transport that applies the egress rules (egress.py) to every request, pins the
connection to the checked address, and reads response bodies with a cap.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx

from omnistock_common.egress import EgressPolicy


class ResponseTooLarge(Exception):
    """A response body exceeded read_capped's limit; nothing of it is used.

    The connector kit's ChannelHttpClient maps it to its own ResponseTooLarge (a
    ChannelHttpError) so connector code keeps handling one hierarchy.
    """

    def __init__(self, status: int | None) -> None:
        super().__init__("response too large")
        self.status = status


class GuardedTransport(httpx.BaseTransport):
    """An httpx transport that applies EgressPolicy to every request and pins the connection.

    For a destination outside the allow-list the policy resolves the name once and checks every
    address; the request is then sent to the checked IP with the original Host header, and TLS
    uses the name for SNI and certificate verification (httpcore's `sni_hostname` extension).
    One inner connection pool per host name, so a kept-alive connection verified for one name is
    never reused for another name served from the same address; at most `max_pools` of them (the
    least recently created is closed first), so a transport shared by many tenants' hosts (the
    notifier) stays bounded.
    """

    def __init__(
        self,
        policy: EgressPolicy,
        *,
        inner_factory: Callable[[], httpx.BaseTransport] | None = None,
        max_pools: int = 32,
    ) -> None:
        self._policy = policy
        self._factory = inner_factory or (lambda: httpx.HTTPTransport(retries=0))
        self._inner: dict[str, httpx.BaseTransport] = {}
        self._max_pools = max(1, max_pools)
        self._lock = threading.Lock()

    def _transport(self, host: str) -> httpx.BaseTransport:
        evicted: list[httpx.BaseTransport] = []
        with self._lock:
            found = self._inner.get(host)
            if found is None:
                while len(self._inner) >= self._max_pools:
                    evicted.append(self._inner.pop(next(iter(self._inner))))
                found = self._inner[host] = self._factory()
        for transport in evicted:
            transport.close()
        return found

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        port = url.port or {"https": 443, "http": 80}.get(url.scheme, 0)
        pinned = self._policy.check(url.scheme, url.host, port)
        if pinned is not None:
            request.url = url.copy_with(host=pinned)
            request.extensions = {**request.extensions, "sni_hostname": url.host}
        return self._transport(url.host).handle_request(request)

    def close(self) -> None:
        with self._lock:
            inner, self._inner = list(self._inner.values()), {}
        for transport in inner:
            transport.close()


def read_capped(response: httpx.Response, limit: int) -> httpx.Response:
    """Read a streamed response's (decoded) body, at most `limit` bytes, then close it.

    The decoded size is what counts, so a small compressed body cannot expand into gigabytes.
    """
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        response.close()
        raise ResponseTooLarge(response.status_code)
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise ResponseTooLarge(response.status_code)
            chunks.append(chunk)
    finally:
        response.close()
    # What httpx.Response.read() stores; .content/.json()/.text read it from here.
    response._content = b"".join(chunks)
    return response
