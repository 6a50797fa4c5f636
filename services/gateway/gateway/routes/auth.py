"""Registration, login, token refresh, logout and "who am I"."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from gateway.api import ApiModule, Reply, client_ip, current_claims, deps
from gateway.domain import Permission, Tenant, User, allowed
from gateway.schemas import OutModel, StrictModel
from gateway.service import TokenPair, sessions

api = ApiModule("auth", tag="Auth")


class RegisterIn(StrictModel):
    tenant_name: str = Field(max_length=200, examples=["Acme Outfitters"])
    email: str = Field(max_length=254, examples=["owner@example.com"])
    password: str = Field(max_length=1024, description="at least 8 characters")


class LoginIn(StrictModel):
    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)


class RefreshIn(StrictModel):
    refresh_token: str = Field(max_length=512)


class LogoutIn(StrictModel):
    refresh_token: str = Field(
        max_length=512, description="the session's refresh token; its family is revoked"
    )


class UserOut(OutModel):
    id: str
    email: str
    role: str = Field(examples=["staff"])
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            email=user.email,
            role=user.role.value,
            version=user.version,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )


class TenantOut(OutModel):
    id: str
    name: str
    created_at: datetime

    @classmethod
    def of(cls, tenant: Tenant) -> TenantOut:
        return cls(id=tenant.id, name=tenant.name, created_at=tenant.created_at)


class TokenPairOut(OutModel):
    access_token: str
    refresh_token: str
    token_type: str = Field(examples=["Bearer"])
    expires_in: int = Field(description="access token lifetime in seconds")

    @classmethod
    def of(cls, pair: TokenPair) -> TokenPairOut:
        return cls(
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            token_type=pair.token_type,
            expires_in=pair.expires_in,
        )


class RegisterOut(TokenPairOut):
    tenant_id: str
    user: UserOut


class MeOut(OutModel):
    user: UserOut
    tenant: TenantOut
    # What this user's role may do (gateway.domain.POLICY), so a client shows only the controls
    # that would be allowed instead of keeping its own copy of the policy.
    permissions: list[str] = Field(examples=[["catalog:read", "inventory:read"]])


@api.route(
    "POST",
    "/auth/register",
    summary="Register a tenant and its owner",
    permission=None,
    body=RegisterIn,
    response=RegisterOut,
    status=201,
    problems=(409, 429),
)
def register(body: RegisterIn) -> RegisterOut:
    """Creates a new tenant with the caller as its owner and starts a session. Rate limited per
    client IP; 429 carries Retry-After."""
    result = sessions.register(deps().identity, body.tenant_name, body.email, body.password, client_ip())
    return RegisterOut(
        tenant_id=result.tenant.id,
        user=UserOut.of(result.user),
        **TokenPairOut.of(result.tokens).model_dump(),
    )


@api.route(
    "POST",
    "/auth/login",
    summary="Log in",
    permission=None,
    body=LoginIn,
    response=TokenPairOut,
    problems=(401, 429),
)
def login(body: LoginIn) -> TokenPairOut:
    """Rate limited per client IP, and wrong passwords slow further tries of that account from
    that IP (doubling waits); 429 carries Retry-After."""
    return TokenPairOut.of(sessions.login(deps().identity, body.email, body.password, client_ip()))


@api.route(
    "POST",
    "/auth/refresh",
    summary="Rotate the refresh token",
    permission=None,
    body=RefreshIn,
    response=TokenPairOut,
    problems=(401,),
)
def refresh(body: RefreshIn) -> TokenPairOut:
    """The presented token stops working. Presenting an already-rotated token revokes its family."""
    return TokenPairOut.of(sessions.refresh(deps().identity, body.refresh_token))


@api.route(
    "POST",
    "/auth/logout",
    summary="Log out",
    permission=Permission.AUTHENTICATED,
    body=LogoutIn,
    status=204,
)
def logout(body: LogoutIn) -> Reply:
    """Revokes the refresh token's whole family and the access token used for this call."""
    sessions.logout(deps().identity, current_claims(), body.refresh_token)
    return Reply(status=204)


@api.route("GET", "/me", summary="Who am I", permission=Permission.AUTHENTICATED, response=MeOut)
def me() -> MeOut:
    user, tenant = sessions.me(deps().identity.uow, current_claims())
    permissions = sorted(p.value for p in Permission if allowed(user.role, p))
    return MeOut(user=UserOut.of(user), tenant=TenantOut.of(tenant), permissions=permissions)
