"""Who is calling: tenant, user, role and request id.

On the wire, tenant, user and role travel only inside the internal token
(omnistock_common.service_auth, metadata `x-internal-token`) that the caller signs; the server
interceptor verifies it and remembers the resulting CallContext for the call. Plain metadata is
never trusted for identity; only the request id (a correlation id) travels as plain metadata.
"""

from __future__ import annotations

import contextvars
import random
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc

if TYPE_CHECKING:
    from omnistock_common.service_auth import TokenSigner

REQUEST_ID_KEY = "x-request-id"


@dataclass(frozen=True)
class CallContext:
    tenant_id: str
    user_id: str = ""
    # Empty: the process acts for itself (signed as the `system` role).
    role: str = ""
    request_id: str = ""

    def metadata(self, signer: TokenSigner | None = None) -> tuple[tuple[str, str], ...]:
        """Metadata that forwards this context on an outgoing call: a signed token and the request id."""
        from omnistock_common import service_auth  # imports this module: resolved at call time

        token = (signer or service_auth.default_signer()).token(self.tenant_id, self.user_id, self.role)
        return ((service_auth.TOKEN_KEY, token), (REQUEST_ID_KEY, self.request_id or new_request_id()))

    @property
    def actor(self) -> str:
        return f"user:{self.user_id}" if self.user_id else "system"


def new_request_id() -> str:
    """32 hex digits, like uuid4().hex. A correlation id needs uniqueness, not secrecy: the
    Mersenne Twister (reseeded in forked children) avoids uuid4's urandom call on every request."""
    return f"{random.getrandbits(128):032x}"


# The verified context of the call being served, set by the server interceptor and keyed by the
# call's context object, so a stale entry never matches another call. The key is a weak
# reference: grpc runs each call in its own contextvars.Context, which the call's state
# references, so a strong one made every call a reference cycle that only the cyclic GC freed
# (~10% of the inventory server's CPU under load).
_call_context: contextvars.ContextVar[tuple[weakref.ref[Any], CallContext] | None] = contextvars.ContextVar(
    "omnistock_call_context", default=None
)


def remember_call_context(context: grpc.ServicerContext, ctx: CallContext) -> None:
    _call_context.set((weakref.ref(context), ctx))


def metadata_dict(metadata: Iterable[tuple[str, str | bytes]] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in metadata or ():
        out[key.lower()] = value.decode() if isinstance(value, bytes) else value
    return out


def verified_call_context(md: dict[str, str]) -> CallContext:
    """The context a call's metadata proves with its internal token (raises Unauthenticated)."""
    from omnistock_common.service_auth import TOKEN_KEY, default_verifier

    identity = default_verifier().verify(md.get(TOKEN_KEY))
    return CallContext(identity.tenant_id, identity.user_id, identity.role, md.get(REQUEST_ID_KEY, ""))


def call_context(context: grpc.ServicerContext) -> CallContext:
    """The caller's verified context. The interceptor has already verified the token (and rejected
    calls without a tenant); outside it (a servicer called directly) the token is verified here."""
    remembered = _call_context.get()
    if remembered is not None and remembered[0]() is context:
        return remembered[1]
    return verified_call_context(metadata_dict(context.invocation_metadata()))
