"""Users of the caller's tenant, managed by owners and admins."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from gateway.api import ApiModule, Reply, current_claims, deps, versioned
from gateway.domain import Permission
from gateway.inputs import if_match_version
from gateway.routes.auth import UserOut
from gateway.schemas import OutModel, StrictModel, check_patch
from gateway.service import UserPatch, users

api = ApiModule("users", tag="Users")

RoleName = Literal["owner", "admin", "staff", "viewer"]


class UserListQuery(StrictModel):
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(None, max_length=1024)


class UserPage(OutModel):
    items: list[UserOut]
    next_cursor: str | None


class UserCreateIn(StrictModel):
    email: str = Field(max_length=254)
    password: str = Field(max_length=1024, description="at least 8 characters")
    role: RoleName


class UserPatchIn(StrictModel):
    email: str | None = Field(None, max_length=254)
    password: str | None = Field(None, max_length=1024)
    role: RoleName | None = None

    @model_validator(mode="after")
    def _something(self) -> UserPatchIn:
        check_patch(self, empty="name at least one of email, password, role")
        return self


@api.route(
    "GET",
    "/users",
    summary="List users",
    permission=Permission.USERS_MANAGE,
    query=UserListQuery,
    response=UserPage,
)
def list_users(query: UserListQuery) -> UserPage:
    page, cursor = users.list_users(deps().identity.uow, current_claims(), query.limit, query.cursor)
    return UserPage(items=[UserOut.of(u) for u in page], next_cursor=cursor)


@api.route(
    "POST",
    "/users",
    summary="Create a user",
    permission=Permission.USERS_MANAGE,
    body=UserCreateIn,
    response=UserOut,
    status=201,
    problems=(409,),
)
def create_user(body: UserCreateIn) -> Reply:
    """Admins may create admin, staff and viewer users; only owners create owners."""
    user = users.create_user(deps().identity, current_claims(), body.email, body.password, body.role)
    return versioned(UserOut.of(user), user.version)


@api.route(
    "GET",
    "/users/<user_id>",
    summary="Get a user",
    permission=Permission.USERS_MANAGE,
    response=UserOut,
    response_headers={"ETag": "the user's version"},
)
def get_user(user_id: str) -> Reply:
    user = users.get_user(deps().identity.uow, current_claims(), user_id)
    return versioned(UserOut.of(user), user.version)


@api.route(
    "PATCH",
    "/users/<user_id>",
    summary="Change a user",
    permission=Permission.USERS_MANAGE,
    body=UserPatchIn,
    response=UserOut,
    problems=(409, 412),
)
def update_user(user_id: str, body: UserPatchIn) -> Reply:
    """Admins cannot touch owners or grant the owner role; the last owner cannot be demoted.

    A new password ends the user's sessions. If-Match makes the change conditional (412).
    """
    patch = UserPatch(email=body.email, password=body.password, role=body.role)
    user = users.update_user(
        deps().identity, current_claims(), user_id, patch, expected_version=if_match_version()
    )
    return versioned(UserOut.of(user), user.version)


@api.route(
    "DELETE",
    "/users/<user_id>",
    summary="Delete a user",
    permission=Permission.USERS_MANAGE,
    status=204,
    problems=(409, 412),
)
def delete_user(user_id: str) -> Reply:
    """The last owner of a tenant cannot be deleted."""
    users.delete_user(deps().identity, current_claims(), user_id, expected_version=if_match_version())
    return Reply(status=204)
