"""Where a connection's channel API lives: one rule for every channel type.

The merchant names the store as they know it (WooCommerce: the store URL, which may be a
sub-folder such as https://example.com/shop; Shopify: the shop domain). The connector derives
the vendor's URL from it (`{store_url}/wp-json/wc/v3`; `https://{shop}.myshopify.com`, under
which Shopify's own paths such as /admin/api/<version>/graphql.json live). An `api_base_url`
setting replaces only the scheme, host and port of that derived URL, so the vendor's paths, a
store's sub-folder included, are the same against a sandbox as against the real channel. It is
used only when its host:port is on the operator's CHANNEL_ALLOWED_HOSTS (or is the derived
https:443 host itself).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from omnistock_common.egress import HOST_NOT_ALLOWED, EgressPolicy
from omnistock_common.errors import FieldViolation, InvalidArgument

__all__ = [
    "HOST_NOT_ALLOWED_REASON",
    "channel_base_url",
    "host_not_allowed",
    "origin_of",
    "with_api_base_url",
]

HOST_NOT_ALLOWED_REASON = "CHANNEL_HOST_NOT_ALLOWED"  # INVALID_ARGUMENT: egress rules refuse the host
_DEFAULT_PORTS = {"https": 443, "http": 80}


def host_not_allowed(setting: str) -> InvalidArgument:
    """The one refusal for a destination the egress rules do not allow: the same code, message
    and reason whatever the target was (private, loopback, unresolvable, another port...)."""
    return InvalidArgument(
        HOST_NOT_ALLOWED,
        reason=HOST_NOT_ALLOWED_REASON,
        violations=[
            FieldViolation(
                f"connection.settings.{setting}",
                "must be the channel's own https host (other hosts only if the operator allows them)",
            )
        ],
    )


def origin_of(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an absolute http(s) URL without credentials, else None."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower(), 0)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or parts.username or parts.password:
        return None
    return scheme, parts.hostname.lower().rstrip("."), port


def with_api_base_url(derived: str, api_base_url: str) -> str:
    """`derived` with the scheme, host and port of `api_base_url`; its path (the vendor's, with
    any store sub-folder) is kept. `derived` unchanged when `api_base_url` is empty or unreadable."""
    origin = origin_of(api_base_url) if api_base_url.strip() else None
    if origin is None:
        return derived
    scheme, host, port = origin
    netloc = f"[{host}]" if ":" in host else host
    if port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    parts = urlsplit(derived.strip())
    return urlunsplit((scheme, netloc, parts.path, parts.query, ""))


def _path_fits(override: str, derived: str) -> bool:
    """An `api_base_url` may spell out the start of the vendor's path (the REST root older
    settings stored, a store's sub-folder) but never a different one: it would not be used."""
    parts = urlsplit(override.strip())
    if parts.query or parts.fragment:
        return False
    mine, theirs = parts.path.rstrip("/"), urlsplit(derived).path.rstrip("/")
    return not mine or theirs == mine or theirs.startswith(mine + "/")


def channel_base_url(connection: Any, derived: str, egress: EgressPolicy, *, identity: str) -> str:
    """The base URL a connector may call (and send secrets to) for this connection.

    `derived` is where the merchant's identity says the channel lives (see the module doc);
    `identity` names the setting it came from, which is required. A derived URL that is not
    https:443 (a store on http or another port) is used only when its host:port is allowed;
    an `api_base_url` replaces its scheme, host and port (`with_api_base_url`) under the same
    condition, unless it names the derived https:443 host itself. Every refused destination is
    the same `host_not_allowed`; an allowed `api_base_url` with a path of its own is refused
    with the field named, because its path would be silently ignored.
    """
    derived = derived.strip().rstrip("/")
    derived_origin = origin_of(derived) if derived else None
    override = str(connection.settings.get("api_base_url", "")).strip()
    if override:
        origin = origin_of(override)
        if origin is None:
            raise host_not_allowed("api_base_url")
        same_https_host = origin == derived_origin and origin[0] == "https" and origin[2] == 443
        if not same_https_host and not egress.is_allowed_host(origin[1], origin[2]):
            raise host_not_allowed("api_base_url")
    if not derived:
        raise InvalidArgument(
            f"connection setting {identity!r} is required",
            violations=[FieldViolation(f"connection.settings.{identity}", "required")],
        )
    if not override:
        if derived_origin is None or not _public_https(derived_origin, egress):
            raise host_not_allowed(identity)
        return derived
    if not _path_fits(override, derived):
        raise InvalidArgument(
            "api_base_url replaces only the scheme, host and port of the channel's API; "
            f"the path comes from {identity}",
            violations=[
                FieldViolation(
                    "connection.settings.api_base_url",
                    "give scheme://host:port only (no path, query or fragment)",
                )
            ],
        )
    return with_api_base_url(derived, override)


def _public_https(origin: tuple[str, str, int], egress: EgressPolicy) -> bool:
    scheme, host, port = origin
    return (scheme == "https" and port == 443) or egress.is_allowed_host(host, port)
