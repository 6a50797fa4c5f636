"""Where OmniStock may send a request on a tenant's behalf: the egress rules, pure (stdlib only).

A tenant types URLs (a store URL, a sandbox base URL, a notification webhook). Fetching whatever
they type turns the platform into a proxy into its own network (loopback services, the cloud
metadata endpoint at 169.254.169.254, private ranges) and, for Shopify, into a way to make the
connector post the app's client secret to a host of the attacker's choosing. The rules:

- A host:port named by the operator in CHANNEL_ALLOWED_HOSTS (sandboxes, test servers) is reached
  as configured. Production leaves it empty.
- Any other destination must be `https` on port 443 and resolve ONLY to public unicast
  addresses (see `is_public_address`); the connection then goes to the address that was checked
  (omnistock_common.egress_transport.GuardedTransport), so a second DNS answer cannot swap in a private one.
- Every refusal is the same `EgressRefused(HOST_NOT_ALLOWED)`, whatever the target was (private,
  loopback, unresolvable, wrong port): the caller learns nothing about the network behind us.

This module does no I/O itself except `system_resolver`; tests pass a stub resolver, so no test
ever sends a packet to a non-loopback address, even with a broken guard.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit

__all__ = [
    "ALLOWED_HOSTS_VARIABLE",
    "HOST_NOT_ALLOWED",
    "AllowList",
    "EgressPolicy",
    "EgressRefused",
    "HostPattern",
    "Resolver",
    "allowed_hosts_setting",
    "is_public_address",
    "safe_code",
    "safe_text",
    "system_resolver",
]

ALLOWED_HOSTS_VARIABLE = "CHANNEL_ALLOWED_HOSTS"
# The one answer for every refused destination (fixed text: it must not vary with the target).
HOST_NOT_ALLOWED = "host not allowed"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]


class EgressRefused(Exception):
    """A destination the egress rules refuse. The message is always HOST_NOT_ALLOWED."""

    def __init__(self) -> None:
        super().__init__(HOST_NOT_ALLOWED)


# ------------------------------------------------------------------------------ allow-list
_PORT_RE = re.compile(r"^(\*|[0-9]{1,5})$")
_HOST_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")


def _canonical_host(host: str) -> str:
    """Lower-case, no brackets, no trailing dot; IP literals in their canonical spelling."""
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


@dataclass(frozen=True)
class HostPattern:
    """One `host:port` entry; `port=None` is the `*` wildcard."""

    host: str
    port: int | None

    def matches(self, host: str, port: int) -> bool:
        return self.host == _canonical_host(host) and (self.port is None or self.port == port)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{'*' if self.port is None else self.port}"


@dataclass(frozen=True)
class AllowList:
    """CHANNEL_ALLOWED_HOSTS: operator-approved destinations outside the public-https rule."""

    patterns: tuple[HostPattern, ...] = ()

    @classmethod
    def parse(cls, raw: str) -> AllowList:
        """`host:port,host:*,[::1]:8080`; raises ValueError naming the bad entry."""
        patterns: list[HostPattern] = []
        for entry in (part.strip() for part in raw.split(",")):
            if not entry:
                continue
            if entry.startswith("["):
                host, sep, port = entry[1:].partition("]:")
            else:
                host, sep, port = entry.rpartition(":")
            if not sep or not host or not _PORT_RE.match(port):
                raise ValueError(f"{entry!r} is not host:port (port a number or *)")
            canonical = _canonical_host(host)
            is_ip = _is_ip(canonical)
            if not is_ip and (":" in host or not _HOST_RE.match(canonical)):
                raise ValueError(f"{entry!r} does not name a valid host")
            number = None if port == "*" else int(port)
            if number is not None and not 1 <= number <= 65535:
                raise ValueError(f"{entry!r} has a port outside 1..65535")
            patterns.append(HostPattern(canonical, number))
        return cls(tuple(patterns))

    def allows(self, host: str, port: int) -> bool:
        return any(p.matches(host, port) for p in self.patterns)

    def __str__(self) -> str:
        return ",".join(str(p) for p in self.patterns)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def allowed_hosts_setting(raw: str, problems: list[str]) -> AllowList:
    """CHANNEL_ALLOWED_HOSTS as a config module read it (`env.str(...)`); a bad entry becomes a
    start-up problem naming the variable (EnvReader.problems: the process refuses to start)."""
    try:
        return AllowList.parse(raw)
    except ValueError as exc:
        problems.append(f"{ALLOWED_HOSTS_VARIABLE}: {exc}")
        return AllowList()


# ------------------------------------------------------------------------------ addresses
def _nets(*cidrs: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


# IANA IPv4 Special-Purpose Address Registry (RFC 6890 and updates): nothing here is a store.
_BLOCKED_V4 = _nets(
    "0.0.0.0/8",  # "this network", unspecified
    "10.0.0.0/8",  # private (RFC 1918)
    "100.64.0.0/10",  # carrier-grade NAT (RFC 6598)
    "127.0.0.0/8",  # loopback
    "169.254.0.0/16",  # link-local, incl. the cloud metadata endpoint 169.254.169.254
    "172.16.0.0/12",  # private
    "192.0.0.0/24",  # IETF protocol assignments
    "192.0.2.0/24",  # TEST-NET-1
    "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
    "192.168.0.0/16",  # private
    "198.18.0.0/15",  # benchmarking
    "198.51.100.0/24",  # TEST-NET-2
    "203.0.113.0/24",  # TEST-NET-3
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved, incl. broadcast 255.255.255.255
)
# IPv6: only global unicast (2000::/3) can be public; inside it these blocks are not.
_GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")
_BLOCKED_V6 = _nets(
    "2001::/23",  # IETF protocol assignments (Teredo 2001::/32, benchmarking, ORCHID ...)
    "2001:db8::/32",  # documentation
    "3fff::/20",  # documentation (RFC 9637)
    "5f00::/16",  # SRv6 SIDs
)
_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")


def is_public_address(address: IPAddress | str) -> bool:
    """True for a public unicast address a channel may live at; False for loopback, private,
    link-local, CGNAT, multicast, reserved, documentation and unspecified ranges (IPv4 and IPv6).

    IPv6 forms that embed an IPv4 address are judged by that address: IPv4-mapped
    (::ffff:a.b.c.d), NAT64 well-known prefix (64:ff9b::/96) and 6to4 (2002::/16) — otherwise
    ::ffff:127.0.0.1 or 2002:7f00:1:: would be a way back to loopback.
    """
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return False
        if ip.ipv4_mapped is not None:
            return is_public_address(ip.ipv4_mapped)
        if ip in _NAT64_WELL_KNOWN:
            return is_public_address(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip.sixtofour is not None:
            return is_public_address(ip.sixtofour)
        return ip in _GLOBAL_UNICAST_V6 and not any(ip in net for net in _BLOCKED_V6)
    return not any(ip in net for net in _BLOCKED_V4)


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver returns for host:port (TCP)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# ------------------------------------------------------------------------------ policy
@dataclass(frozen=True)
class EgressPolicy:
    """The decision for one destination: allowed as configured, pinned to a checked address, or
    refused.

    `resolver` and `address_permitted` exist for tests (a stub resolver; loopback treated as
    "public" to exercise the pinning path on 127.0.0.1); production uses the defaults.
    `schemes`/`ports` apply to destinations outside the allow-list (None: any port).
    """

    allowed: AllowList = field(default_factory=AllowList)
    resolver: Resolver = system_resolver
    address_permitted: Callable[[IPAddress], bool] = is_public_address
    schemes: frozenset[str] = frozenset({"https"})
    ports: frozenset[int] | None = frozenset({443})

    def is_allowed_host(self, host: str, port: int) -> bool:
        return self.allowed.allows(host, port)

    def check(self, scheme: str, host: str, port: int) -> str | None:
        """None when host:port is on the allow-list (connect as configured); otherwise the
        checked address to connect to. Raises EgressRefused for anything else, including a
        name that does not resolve (same answer: no DNS oracle)."""
        if not host:
            raise EgressRefused()
        if self.allowed.allows(host, port):
            return None
        if scheme.lower() not in self.schemes or (self.ports is not None and port not in self.ports):
            raise EgressRefused()
        canonical = _canonical_host(host)
        if _is_ip(canonical):
            candidates: Sequence[str] = [canonical]
        else:
            try:
                candidates = self.resolver(canonical, port)
            except (OSError, UnicodeError, ValueError):
                raise EgressRefused() from None
        addresses: list[IPAddress] = []
        for raw in candidates:
            try:
                addresses.append(ipaddress.ip_address(str(raw).split("%", 1)[0]))
            except ValueError:
                raise EgressRefused() from None
        # Every answer must be acceptable: a name with one public and one private address would
        # otherwise reach the private one whenever it comes first.
        if not addresses or not all(self.address_permitted(ip) for ip in addresses):
            raise EgressRefused()
        return str(addresses[0])

    def check_static(self, url: str) -> None:
        """What can be decided from the URL alone (no DNS): scheme, credentials, port, an IP
        literal's range, the allow-list. For validating a URL a tenant saves; the request itself
        goes through `check` (via GuardedTransport) when it is made."""
        parts, port = _split(url)
        if self.allowed.allows(parts.hostname or "", port):
            return
        if parts.scheme.lower() not in self.schemes or (self.ports is not None and port not in self.ports):
            raise EgressRefused()
        canonical = _canonical_host(parts.hostname or "")
        if _is_ip(canonical) and not self.address_permitted(ipaddress.ip_address(canonical)):
            raise EgressRefused()

    def check_url(self, url: str) -> str | None:
        """`check` for an absolute URL (default ports filled in)."""
        parts, port = _split(url)
        return self.check(parts.scheme, parts.hostname or "", port)


def _split(url: str) -> tuple[SplitResult, int]:
    """An absolute http(s) URL without credentials, and its port; else EgressRefused."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port or {"https": 443, "http": 80}.get(parts.scheme.lower(), 0)
    except ValueError:
        raise EgressRefused() from None
    if (
        parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or parts.username
        or parts.password
    ):
        raise EgressRefused()
    return parts, port


# ------------------------------------------------------------------------------ remote text
_WHITESPACE = re.compile(r"\s+")


def safe_text(text: object, limit: int = 200) -> str:
    """Text that came from elsewhere, fit to show a tenant or store: control, format (bidi,
    zero-width) and unassigned characters removed, whitespace collapsed, at most `limit`
    characters."""
    cleaned = "".join(
        ch if unicodedata.category(ch)[0] != "C" else " " for ch in unicodedata.normalize("NFC", str(text))
    )
    cleaned = _WHITESPACE.sub(" ", cleaned).strip()
    return cleaned if len(cleaned) <= limit else cleaned[: max(0, limit - 1)].rstrip() + "…"


_CODE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.:-]{0,63}$")


def safe_code(value: object) -> str:
    """A vendor's machine-readable error code (INVALID_QUANTITY, woocommerce_rest_cannot_view) if
    it looks like one, else "" — codes are a fixed vocabulary, free text is not."""
    text = str(value or "")
    return text if _CODE_RE.match(text) else ""
