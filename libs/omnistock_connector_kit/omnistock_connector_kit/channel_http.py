"""The one HTTP client path every channel connector uses (Shopify, WooCommerce, ...).

Why one path: rate limiting, retries, timeouts, secret redaction and per-call accounting are the
same problem for every channel, and getting them subtly different per connector is how a channel
gets hammered into a ban or a push silently disappears. A connector builds a `ChannelHttpClient`
per call (cheap: one httpx.Client) and reports `client.calls` to the channels service's sync log.

- Every HTTP attempt first takes a token from a `RateLimiter` keyed per connection. In production
  that is `RedisTokenBucket`, so every worker/connector replica shares one budget per connection.
- Retries: `RetryPolicy.retry_statuses` (429/5xx), connect/read timeouts, transport errors, and a
  channel-specific `throttle_delay(response)` hook (Shopify GraphQL says THROTTLED with HTTP 200).
  Exponential backoff with full jitter (first ceiling `base_delay`, doubling, capped at
  `max_delay`); a larger `Retry-After` wins; one longer than `max_delay` is handed back to the
  caller (the sync engine waits it out without holding a thread).
- Budget (call_budget.py): all attempts, sleeps and bucket waits of one client end by `deadline`
  (the gRPC caller's deadline minus a margin, or the connector's own cap): the caller always gets
  the channel's failure, never its own DEADLINE_EXCEEDED. `retried` lists what each retried
  attempt met, for the sync log.
- 401/403 are never retried here: whether a token can be refreshed is the caller's decision.
- Egress (egress.py): unless the caller brings its own transport (tests), every request goes
  through `GuardedTransport`: the host must be on CHANNEL_ALLOWED_HOSTS or be https:443 on
  public addresses only, and the connection goes to the address that was checked (no DNS
  rebinding). Response bodies are read streamed and capped (`max_response_bytes`).
- Nothing a remote server says reaches an error message: failures are described with a fixed
  vocabulary ("connection refused", "timed out", "HTTP 404", "host not allowed"...).

This module holds the client, its per-attempt records and redaction; the parts live beside it:
`channel_errors` (exceptions), `rate_limit` (token buckets), `retry` (backoff, Retry-After,
transport failures); the egress guard and capped reads come from omnistock_common
(`egress`, `egress_transport`: the channels service uses them too). Their public names are
re-exported here, so `from omnistock_connector_kit.channel_http import RetryPolicy` keeps working.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from omnistock_common import egress_transport
from omnistock_common.egress import HOST_NOT_ALLOWED, EgressPolicy, EgressRefused
from omnistock_common.egress_transport import GuardedTransport, read_capped
from omnistock_connector_kit.channel_errors import (
    ChannelHttpError,
    EgressRefusedError,
    RateLimitTimeout,
    ResponseTooLarge,
)
from omnistock_connector_kit.rate_limit import BucketLevel, InMemoryTokenBucket, RateLimiter, RedisTokenBucket
from omnistock_connector_kit.retry import (
    NOT_SENT_ERRORS,
    RetryPolicy,
    parse_retry_after,
    transport_error_reason,
)

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
    "summarize_failures",
    "transport_error_reason",
]

# Largest response body a channel call reads (streamed; the rest is never buffered).
DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024
# An attempt is not started with less time than this left in the budget (it could not finish).
MIN_ATTEMPT_SECONDS = 0.05


# --------------------------------------------------------------------------------------------
# Retry policy, records, redaction
# --------------------------------------------------------------------------------------------


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
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen dataclass
        timeout: float = 10.0,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        throttle_delay: Callable[[httpx.Response], float | None] | None = None,
        max_wait: float = 30.0,
        rng: random.Random | None = None,
        bucket_observer: Callable[[httpx.Response], BucketLevel | float | None] | None = None,
        egress: EgressPolicy | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        deadline: float | None = None,
        clock: Callable[[], float] = time.monotonic,
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
        # time.monotonic() by which every attempt of this client must be over (None: no limit).
        self.deadline = deadline
        self._clock = clock
        self.calls: list[CallRecord] = []
        # What each attempt that was retried met ("HTTP 500", "timed out", "HTTP 429 (Retry-After 1s)").
        self.retried: list[str] = []

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
        level = self._bucket_observer(response)
        if level is not None and observe is not None:
            observe(self.bucket_key, level)

    def _time_left(self) -> float | None:
        return None if self.deadline is None else self.deadline - self._clock()

    def _out_of_time(self, method: str, url_path: str, attempt: int, last: str | None) -> ChannelHttpError:
        what = f"{last} after {attempt - 1} attempt(s), then " if last else ""
        return ChannelHttpError(
            f"{method} {url_path}: {what}no time left for another attempt within the call's deadline",
            retryable=True,
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        data: Any = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
        cost: float = 1.0,
        idempotent: bool = True,
        content: bytes | None = None,
    ) -> httpx.Response:
        """Send with rate limiting and retries; return the response or raise ChannelHttpError.

        A response with a non-retryable status (2xx, 4xx other than 429, 401/403 always) is
        returned as is; the caller interprets it. `files` makes a multipart/form-data body (httpx's
        `files`, e.g. TikTok's image upload); `content` sends raw bytes (Amazon's XML feed
        document). `idempotent=False` (e.g. creating a fulfillment) limits retries to cases where
        the channel surely did not act on the request: 429, throttling and connection failures,
        but not 5xx or read timeouts.
        """
        policy = self.retry
        attempts = max(1, policy.max_attempts)
        method = method.upper()
        url_path = httpx.URL(path).path or path
        last_error: str | None = None
        for attempt in range(1, attempts + 1):
            left = self._time_left()
            if left is not None and left < MIN_ATTEMPT_SECONDS:
                raise self._out_of_time(method, url_path, attempt, last_error)
            self._limiter.acquire(
                self.bucket_key, cost, self._max_wait if left is None else min(self._max_wait, left)
            )
            left = self._time_left()
            if left is not None and left < MIN_ATTEMPT_SECONDS:
                raise self._out_of_time(method, url_path, attempt, last_error)
            timeout = httpx.USE_CLIENT_DEFAULT if left is None else self._attempt_timeout(left)
            started = time.perf_counter()
            try:
                outgoing = self._client.build_request(
                    method,
                    path,
                    json=json,
                    params=params,
                    data=data,
                    files=files,
                    content=content,
                    headers=headers,
                    timeout=timeout,
                )
                response = read_capped(self._client.send(outgoing, stream=True), self._max_response_bytes)
            except EgressRefused:
                latency = (time.perf_counter() - started) * 1000
                self.calls.append(CallRecord(method, url_path, None, attempt, latency, HOST_NOT_ALLOWED))
                raise EgressRefusedError() from None
            except egress_transport.ResponseTooLarge as exc:
                latency = (time.perf_counter() - started) * 1000
                too_large = ResponseTooLarge(exc.status)
                self.calls.append(
                    CallRecord(method, url_path, too_large.status, attempt, latency, too_large.message)
                )
                raise too_large from None
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                latency = (time.perf_counter() - started) * 1000
                error = transport_error_reason(exc)
                self.calls.append(CallRecord(method, url_path, None, attempt, latency, error))
                can_retry = idempotent or isinstance(exc, NOT_SENT_ERRORS)
                delay = policy.backoff(attempt, self._rng)
                if not can_retry or attempt == attempts or not self._fits(delay):
                    raise ChannelHttpError(
                        f"{method} {url_path} failed after {attempt} attempt(s): {self._trail(error)}",
                        retryable=True,
                    ) from exc
                self.retried.append(error)
                last_error = error
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
            delay = max(backoff, hint or 0.0)
            if retry_reason == f"HTTP {status}" and hint is not None:
                retry_reason = f"{retry_reason} (Retry-After {hint:g}s)"
            if attempt == attempts or (hint is not None and hint > policy.max_delay) or not self._fits(delay):
                # Out of attempts or time, or the channel asks for a longer pause than we are
                # willing to hold a worker thread for: hand back, and let the caller come back later.
                raise ChannelHttpError(
                    f"{method} {url_path}: {self._trail(retry_reason)} after {attempt} attempt(s)",
                    status=status,
                    response=response,
                    retryable=True,
                    retry_after=hint,
                )
            self.retried.append(retry_reason)
            last_error = retry_reason
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

    def _attempt_timeout(self, left: float) -> httpx.Timeout:
        """The client's timeouts, none longer than the time left in the budget."""
        base = self._client.timeout
        return httpx.Timeout(
            connect=min(base.connect or left, left),
            read=min(base.read or left, left),
            write=min(base.write or left, left),
            pool=min(base.pool or left, left),
        )

    def _fits(self, delay: float) -> bool:
        """Whether sleeping `delay` still leaves time for another attempt within the budget."""
        left = self._time_left()
        return left is None or left - delay >= MIN_ATTEMPT_SECONDS

    def _trail(self, final: str) -> str:
        """The final failure with every earlier retried one, e.g. "HTTP 500 (x4), then timed out"."""
        if not self.retried:
            return final
        return f"{summarize_failures(self.retried)}, then {final}"


def summarize_failures(errors: list[str]) -> str:
    """Consecutive equal failures folded: ["HTTP 500", "HTTP 500", "timed out"] ->
    "HTTP 500 (x2), timed out"."""
    parts: list[str] = []
    previous, count = None, 0
    for error in [*errors, None]:
        if error == previous:
            count += 1
            continue
        if previous is not None:
            parts.append(previous if count == 1 else f"{previous} (x{count})")
        previous, count = error, 1
    return ", ".join(parts)
