"""The one HTTP client path every channel connector uses (Shopify, WooCommerce, ...).

Why one path: rate limiting, retries, timeouts, secret redaction and per-call accounting are the
same problem for every channel, and getting them subtly different per connector is how a channel
gets hammered into a ban or a push silently disappears. A connector builds a `ChannelHttpClient`
per call (cheap: one httpx.Client) and reports `client.calls` to the channels service's sync log.

- Every HTTP attempt first takes a token from a `RateLimiter` keyed per connection. In production
  that is `RedisTokenBucket`, so every worker/connector replica shares one budget per connection.
- Retries: `RetryPolicy.retry_statuses` (429/5xx), connect/read timeouts, transport errors, and a
  channel-specific `throttle_delay(response)` hook (Shopify GraphQL says THROTTLED with HTTP 200).
  Exponential backoff with full jitter, capped at `max_delay`; a larger `Retry-After` wins.
- 401/403 are never retried here: whether a token can be refreshed is the caller's decision.
- Egress (egress.py): unless the caller brings its own transport (tests), every request goes
  through `GuardedTransport`: the host must be on CHANNEL_ALLOWED_HOSTS or be https:443 on
  public addresses only, and the connection goes to the address that was checked (no DNS
  rebinding). Response bodies are read streamed and capped (`max_response_bytes`).
- Nothing a remote server says reaches an error message: failures are described with a fixed
  vocabulary ("connection refused", "timed out", "HTTP 404", "host not allowed"...).
"""

from __future__ import annotations

import email.utils
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from omnistock_connector_kit.egress import HOST_NOT_ALLOWED, EgressPolicy, EgressRefused

if TYPE_CHECKING:
    import redis

log = logging.getLogger(__name__)

__all__ = [
    "CallRecord",
    "ChannelHttpClient",
    "ChannelHttpError",
    "EgressRefusedError",
    "GuardedTransport",
    "InMemoryTokenBucket",
    "RateLimitTimeout",
    "RateLimiter",
    "RedisTokenBucket",
    "ResponseTooLarge",
    "RetryPolicy",
    "parse_retry_after",
    "redact_headers",
    "redact_text",
    "transport_error_reason",
]

# Largest response body a channel call reads (streamed; the rest is never buffered).
DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class ChannelHttpError(Exception):
    """A channel call that did not produce a usable response.

    `retryable` tells the caller whether trying again later can help (exhausted retries on
    429/5xx/timeouts, a rate-limit wait that was too long) or not. `retry_after` is the channel's
    (or the bucket's) hint in seconds when one is known, for google.rpc.RetryInfo.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        response: httpx.Response | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.response = response
        self.retryable = retryable
        self.retry_after = retry_after


class EgressRefusedError(ChannelHttpError):
    """The destination is not allowed (egress.py). Always the same message, never retried."""

    def __init__(self) -> None:
        super().__init__(HOST_NOT_ALLOWED, retryable=False)


class ResponseTooLarge(ChannelHttpError):
    """The channel's response body exceeded the client's cap; nothing of it is used."""

    def __init__(self, status: int | None) -> None:
        super().__init__("channel response too large", status=status, retryable=False)


class RateLimitTimeout(ChannelHttpError):
    """The local token bucket would not grant a token within `max_wait` seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message, retryable=True, retry_after=retry_after)


# --------------------------------------------------------------------------------------------
# Rate limiters
# --------------------------------------------------------------------------------------------


class RateLimiter(Protocol):
    def acquire(self, key: str, cost: float = 1.0, max_wait: float = 30.0) -> None:
        """Block until `cost` tokens were taken from bucket `key`; raise RateLimitTimeout if the
        wait would exceed `max_wait` seconds."""
        ...


def _check_bucket_args(capacity: float, refill_per_second: float) -> None:
    if capacity <= 0 or refill_per_second <= 0:
        raise ValueError("token bucket capacity and refill_per_second must be positive")


# Atomic refill-and-take. Uses the server's clock (TIME) so replicas with skewed clocks agree.
# Returns the wait (seconds, as a string: Lua numbers become integers on the way back) needed
# before `cost` tokens are available; "0" means the tokens were taken.
_TAKE_SCRIPT = """
local key = KEYS[1]
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', key, 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
local elapsed = now - ts
if elapsed < 0 then elapsed = 0 end
tokens = math.min(capacity, tokens + elapsed * rate)
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
else
  wait = (cost - tokens) / rate
end
redis.call('HSET', key, 'tokens', string.format('%.6f', tokens), 'ts', string.format('%.6f', now))
redis.call('PEXPIRE', key, math.ceil(capacity / rate * 1000) + 60000)
return string.format('%.6f', wait)
"""


# Overwrite the bucket with the level the channel itself reports (Shopify's
# throttleStatus.currentlyAvailable): the channel's figure is the truth, our debit was an estimate.
_OBSERVE_SCRIPT = """
local key = KEYS[1]
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local available = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local tokens = math.max(0, math.min(capacity, available))
redis.call('HSET', key, 'tokens', string.format('%.6f', tokens), 'ts', string.format('%.6f', now))
redis.call('PEXPIRE', key, math.ceil(capacity / rate * 1000) + 60000)
return 1
"""


class RedisTokenBucket:
    """Token bucket shared by every process that uses the same Redis and key.

    The channel's limit is per connection (per shop, per store), not per replica; a bucket in
    process memory would let N replicas send N times the allowed rate. The state is a hash
    (tokens, ts) that expires once it would have refilled anyway, so idle connections cost nothing.
    """

    def __init__(
        self,
        redis: redis.Redis,
        capacity: float,
        refill_per_second: float,
        prefix: str = "omnistock:bucket:",
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        _check_bucket_args(capacity, refill_per_second)
        self._redis = redis
        self.capacity = float(capacity)
        self.refill_per_second = float(refill_per_second)
        self.prefix = prefix
        self._sleep = sleep
        self._script = redis.register_script(_TAKE_SCRIPT)
        self._observe_script = redis.register_script(_OBSERVE_SCRIPT)

    def try_take(self, key: str, cost: float = 1.0) -> float:
        """Take `cost` tokens now if possible; return 0.0, or the seconds to wait otherwise."""
        # A request costing more than the bucket holds could never run; let it run on a full one.
        cost = min(float(cost), self.capacity)
        raw = self._script(keys=[self.prefix + key], args=[self.capacity, self.refill_per_second, cost])
        return float(raw.decode() if isinstance(raw, bytes) else raw)

    def acquire(self, key: str, cost: float = 1.0, max_wait: float = 30.0) -> None:
        _acquire_loop(self.try_take, self._sleep, time.monotonic, key, cost, max_wait)

    def observe(self, key: str, available: float) -> None:
        """Set the bucket to the level the channel reported (corrects our cost estimates)."""
        self._observe_script(
            keys=[self.prefix + key], args=[self.capacity, self.refill_per_second, available]
        )


class InMemoryTokenBucket:
    """The same semantics as RedisTokenBucket, in process memory (tests, single-process tools).

    `clock` and `sleep` are injectable so tests can run a virtual clock without real waiting.
    """

    def __init__(
        self,
        capacity: float,
        refill_per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        _check_bucket_args(capacity, refill_per_second)
        self.capacity = float(capacity)
        self.refill_per_second = float(refill_per_second)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._state: dict[str, tuple[float, float]] = {}

    def try_take(self, key: str, cost: float = 1.0) -> float:
        cost = min(float(cost), self.capacity)
        with self._lock:
            now = self._clock()
            tokens, ts = self._state.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + max(0.0, now - ts) * self.refill_per_second)
            if tokens >= cost:
                self._state[key] = (tokens - cost, now)
                return 0.0
            self._state[key] = (tokens, now)
            return (cost - tokens) / self.refill_per_second

    def acquire(self, key: str, cost: float = 1.0, max_wait: float = 30.0) -> None:
        _acquire_loop(self.try_take, self._sleep, self._clock, key, cost, max_wait)

    def observe(self, key: str, available: float) -> None:
        """Set the bucket to the level the channel reported (corrects our cost estimates)."""
        with self._lock:
            self._state[key] = (max(0.0, min(self.capacity, float(available))), self._clock())


def _acquire_loop(
    try_take: Callable[[str, float], float],
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    key: str,
    cost: float,
    max_wait: float,
) -> None:
    """Poll the bucket, sleeping exactly the wait it reports, until granted or out of budget.

    Failing fast when the reported wait exceeds the remaining budget (instead of sleeping and
    then failing) keeps a worker thread from idling for nothing.
    """
    waited = 0.0
    while True:
        wait = try_take(key, cost)
        if wait <= 0:
            return
        if waited + wait > max_wait:
            raise RateLimitTimeout(
                f"rate limit bucket {key!r} needs {wait:.3f}s more (waited {waited:.3f}s, max {max_wait}s)",
                retry_after=wait,
            )
        sleep(wait)
        waited += wait


# --------------------------------------------------------------------------------------------
# Retry policy, records, redaction
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.2
    max_delay: float = 10.0
    retry_statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(max_delay, base_delay * 2**(attempt-1))]."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** max(0, attempt - 1)))
        return rng.uniform(0.0, ceiling)


@dataclass(frozen=True)
class CallRecord:
    """One HTTP attempt, for the sync log (no query string: it may carry secrets)."""

    method: str
    url_path: str
    status: int | None
    attempts: int
    latency_ms: float
    error: str | None


_SECRET_HEADERS = frozenset(
    {"authorization", "x-shopify-access-token", "x-access-token", "proxy-authorization", "cookie"}
)
_SECRET_PARAMS = (
    "consumer_secret",
    "consumer_key",
    "client_secret",
    "access_token",
    "refresh_token",
    "code",
    "oauth_signature",
)
_SECRET_PARAM_RE = re.compile(r"(?i)\b(" + "|".join(_SECRET_PARAMS) + r")=([^&\s\"']+)")


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of `headers` fit for logs: credential-bearing values replaced by '***'."""
    return {k: ("***" if k.lower() in _SECRET_HEADERS else v) for k, v in headers.items()}


def redact_text(text: str) -> str:
    """Mask secret query parameters (consumer_secret=..., access_token=...) anywhere in `text`."""
    return _SECRET_PARAM_RE.sub(lambda m: f"{m.group(1)}=***", text)


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """Retry-After as seconds: delta-seconds ("2", "2.0") or an HTTP date; None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now())


# Only these exceptions mean "the request cannot have been processed", so they are safe to retry
# even for non-idempotent requests.
_NOT_SENT_ERRORS: tuple[type[Exception], ...] = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def transport_error_reason(exc: Exception) -> str:
    """A transport failure in fixed words: the exception text (addresses, certificate subjects,
    resolver messages) is never passed on."""
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    text = str(exc).lower()
    if isinstance(exc, httpx.ConnectError):
        if "refused" in text:
            return "connection refused"
        if "ssl" in text or "certificate" in text or "tls" in text:
            return "TLS handshake failed"
        return "connection failed"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return "connection broken"
    return "connection failed"


# --------------------------------------------------------------------------------------------
# Egress guard
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------


class ChannelHttpClient:
    """httpx client + shared token bucket + retries + per-attempt records, for one connection."""

    def __init__(
        self,
        *,
        base_url: str,
        limiter: RateLimiter,
        bucket_key: str,
        retry: RetryPolicy = RetryPolicy(),
        timeout: float = 10.0,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        throttle_delay: Callable[[httpx.Response], float | None] | None = None,
        max_wait: float = 30.0,
        rng: random.Random | None = None,
        bucket_observer: Callable[[httpx.Response], float | None] | None = None,
        egress: EgressPolicy | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        # A caller-supplied transport (tests) is used as is unless a policy is given too; without
        # one, the real network is only ever reached through the guard (default: production
        # rules, empty allow-list).
        if transport is None:
            transport = GuardedTransport(egress or EgressPolicy())
        elif egress is not None:
            inner = transport
            transport = GuardedTransport(egress, inner_factory=lambda: inner)
        self._client = httpx.Client(
            base_url=base_url,
            timeout=timeout,
            auth=auth,
            headers=dict(headers or {}),
            transport=transport,
            follow_redirects=False,
            trust_env=False,
        )
        self._max_response_bytes = max_response_bytes
        self._limiter = limiter
        self.bucket_key = bucket_key
        self.retry = retry
        self._sleep = sleep
        self._throttle_delay = throttle_delay
        # Reads the channel's own report of the bucket level (if it sends one) from a response.
        self._bucket_observer = bucket_observer
        self._max_wait = max_wait
        self._rng = rng or random.Random()
        self.calls: list[CallRecord] = []

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    def __enter__(self) -> ChannelHttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def _observe_bucket(self, response: httpx.Response) -> None:
        if self._bucket_observer is None:
            return
        observe = getattr(self._limiter, "observe", None)
        available = self._bucket_observer(response)
        if available is not None and observe is not None:
            observe(self.bucket_key, available)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        cost: float = 1.0,
        idempotent: bool = True,
    ) -> httpx.Response:
        """Send with rate limiting and retries; return the response or raise ChannelHttpError.

        A response with a non-retryable status (2xx, 4xx other than 429, 401/403 always) is
        returned as is; the caller interprets it. `idempotent=False` (e.g. creating a
        fulfillment) limits retries to cases where the channel surely did not act on the
        request: 429, throttling and connection failures, but not 5xx or read timeouts.
        """
        policy = self.retry
        attempts = max(1, policy.max_attempts)
        method = method.upper()
        url_path = httpx.URL(path).path or path
        for attempt in range(1, attempts + 1):
            self._limiter.acquire(self.bucket_key, cost, self._max_wait)
            started = time.perf_counter()
            try:
                outgoing = self._client.build_request(
                    method, path, json=json, params=params, data=data, headers=headers
                )
                response = read_capped(self._client.send(outgoing, stream=True), self._max_response_bytes)
            except EgressRefused:
                latency = (time.perf_counter() - started) * 1000
                self.calls.append(CallRecord(method, url_path, None, attempt, latency, HOST_NOT_ALLOWED))
                raise EgressRefusedError() from None
            except ResponseTooLarge as exc:
                latency = (time.perf_counter() - started) * 1000
                self.calls.append(CallRecord(method, url_path, exc.status, attempt, latency, exc.message))
                raise
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                latency = (time.perf_counter() - started) * 1000
                error = transport_error_reason(exc)
                self.calls.append(CallRecord(method, url_path, None, attempt, latency, error))
                can_retry = idempotent or isinstance(exc, _NOT_SENT_ERRORS)
                if not can_retry or attempt == attempts:
                    raise ChannelHttpError(
                        f"{method} {url_path} failed after {attempt} attempt(s): {error}",
                        retryable=True,
                    ) from exc
                delay = policy.backoff(attempt, self._rng)
                log.warning(
                    "channel call %s %s failed (%s); retry %d/%d in %.2fs",
                    method,
                    url_path,
                    error,
                    attempt,
                    attempts - 1,
                    delay,
                )
                self._sleep(delay)
                continue

            latency = (time.perf_counter() - started) * 1000
            self._observe_bucket(response)
            status = response.status_code
            hint: float | None = None
            retry_reason: str | None = None
            if status in (401, 403):
                retry_reason = None
            elif status in policy.retry_statuses and (idempotent or status == 429):
                retry_reason = f"HTTP {status}"
                hint = parse_retry_after(response.headers.get("retry-after"))
            elif self._throttle_delay is not None:
                throttle = self._throttle_delay(response)
                if throttle is not None:
                    retry_reason = "throttled"
                    hint = max(0.0, throttle)
            error_text = retry_reason or (f"HTTP {status}" if status >= 400 else None)
            self.calls.append(CallRecord(method, url_path, status, attempt, latency, error_text))
            if retry_reason is None:
                return response

            backoff = policy.backoff(attempt, self._rng)
            if attempt == attempts or (hint is not None and hint > policy.max_delay):
                # Out of attempts, or the channel asks for a longer pause than we are willing to
                # hold a worker thread for: hand back, and let the caller come back later.
                raise ChannelHttpError(
                    f"{method} {url_path}: {retry_reason} after {attempt} attempt(s)",
                    status=status,
                    response=response,
                    retryable=True,
                    retry_after=hint,
                )
            delay = max(backoff, hint or 0.0)
            log.warning(
                "channel call %s %s: %s; retry %d/%d in %.2fs",
                method,
                url_path,
                retry_reason,
                attempt,
                attempts - 1,
                delay,
            )
            self._sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover
