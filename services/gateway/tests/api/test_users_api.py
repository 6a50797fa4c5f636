"""User management: owners/admins only, tenant-scoped, and a tenant always keeps an owner."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.redis


@pytest.fixture
def client(app_factory: Any, database_url: str) -> Any:
    return app_factory(database_url).test_client()


def create_user(client: Any, auth: dict[str, str], email: str, role: str) -> Any:
    return client.post(
        "/api/v1/users", json={"email": email, "password": "correct-horse", "role": role}, headers=auth
    )


def as_user(client: Any, helpers: Any, email: str) -> dict[str, str]:
    return helpers.bearer(helpers.login(client, email)["access_token"])


def test_owner_creates_lists_and_pages_users(client: Any, helpers: Any) -> None:
    owner = helpers.register(client, "Acme", "owner@acme.test")
    for email, role in [("a@acme.test", "admin"), ("s@acme.test", "staff"), ("v@acme.test", "viewer")]:
        response = create_user(client, owner.auth, email, role)
        assert response.status_code == 201, response.json
        assert response.json["role"] == role
        assert "password" not in response.json and "password_hash" not in response.json

    first = client.get("/api/v1/users?limit=3", headers=owner.auth).json
    assert [u["email"] for u in first["items"]] == ["a@acme.test", "owner@acme.test", "s@acme.test"]
    second = client.get(f"/api/v1/users?limit=3&cursor={first['next_cursor']}", headers=owner.auth).json
    assert [u["email"] for u in second["items"]] == ["v@acme.test"]
    assert second["next_cursor"] is None


def test_staff_and_viewer_cannot_manage_users(client: Any, helpers: Any) -> None:
    owner = helpers.register(client, "Acme", "owner@acme.test")
    create_user(client, owner.auth, "s@acme.test", "staff")
    create_user(client, owner.auth, "v@acme.test", "viewer")
    for email in ("s@acme.test", "v@acme.test"):
        auth = as_user(client, helpers, email)
        assert client.get("/api/v1/users", headers=auth).status_code == 403
        assert create_user(client, auth, "x@acme.test", "viewer").status_code == 403
        assert (
            client.patch(f"/api/v1/users/{owner.user_id}", json={"role": "viewer"}, headers=auth).status_code
            == 403
        )
    # /me tells each what its role allows (a client hides what would be refused).
    viewer = client.get("/api/v1/me", headers=as_user(client, helpers, "v@acme.test")).json["permissions"]
    assert "inventory:read" in viewer and not [p for p in viewer if p.endswith((":write", ":manage"))]
    staff = client.get("/api/v1/me", headers=as_user(client, helpers, "s@acme.test")).json["permissions"]
    assert "inventory:write" in staff and "users:manage" not in staff and "channels:manage" not in staff


def test_admin_limits(client: Any, helpers: Any) -> None:
    owner = helpers.register(client, "Acme", "owner@acme.test")
    create_user(client, owner.auth, "admin@acme.test", "admin")
    admin = as_user(client, helpers, "admin@acme.test")

    assert create_user(client, admin, "staff@acme.test", "staff").status_code == 201
    assert create_user(client, admin, "owner2@acme.test", "owner").status_code == 403
    staff_id = client.get("/api/v1/users", headers=admin).json["items"][-1]["id"]
    assert client.patch(f"/api/v1/users/{staff_id}", json={"role": "owner"}, headers=admin).status_code == 403
    assert client.patch(f"/api/v1/users/{staff_id}", json={"role": "admin"}, headers=admin).status_code == 200
    assert (
        client.patch(f"/api/v1/users/{owner.user_id}", json={"role": "staff"}, headers=admin).status_code
        == 403
    )
    assert client.delete(f"/api/v1/users/{owner.user_id}", headers=admin).status_code == 403


def test_last_owner_cannot_be_deleted_or_demoted(client: Any, helpers: Any) -> None:
    owner = helpers.register(client, "Acme", "owner@acme.test")
    demote = client.patch(f"/api/v1/users/{owner.user_id}", json={"role": "admin"}, headers=owner.auth)
    assert demote.status_code == 409
    assert demote.json["reason"] == "LAST_OWNER"
    assert client.delete(f"/api/v1/users/{owner.user_id}", headers=owner.auth).status_code == 409

    second = create_user(client, owner.auth, "owner2@acme.test", "owner").json
    assert (
        client.patch(f"/api/v1/users/{owner.user_id}", json={"role": "admin"}, headers=owner.auth).status_code
        == 200
    )
    # The demotion revoked the first owner's access token at once (token version)...
    assert client.delete(f"/api/v1/users/{second['id']}", headers=owner.auth).status_code == 401
    # ...and signed in again they are an admin, who may not touch owners.
    demoted = as_user(client, helpers, "owner@acme.test")
    assert client.delete(f"/api/v1/users/{second['id']}", headers=demoted).status_code == 403
    second_auth = as_user(client, helpers, "owner2@acme.test")
    assert client.delete(f"/api/v1/users/{second['id']}", headers=second_auth).status_code == 409


def test_users_are_tenant_scoped(client: Any, helpers: Any) -> None:
    a = helpers.register(client, "A", "owner@a.test")
    b = helpers.register(client, "B", "owner@b.test")
    staff_a = create_user(client, a.auth, "staff@a.test", "staff").json
    for response in (
        client.get(f"/api/v1/users/{staff_a['id']}", headers=b.auth),
        client.patch(f"/api/v1/users/{staff_a['id']}", json={"role": "viewer"}, headers=b.auth),
        client.delete(f"/api/v1/users/{staff_a['id']}", headers=b.auth),
        client.delete("/api/v1/users/does-not-exist", headers=b.auth),
    ):
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
    assert [u["email"] for u in client.get("/api/v1/users", headers=b.auth).json["items"]] == ["owner@b.test"]


def test_if_match_guards_user_changes(client: Any, helpers: Any) -> None:
    owner = helpers.register(client, "Acme", "owner@acme.test")
    staff = create_user(client, owner.auth, "s@acme.test", "staff")
    assert staff.headers["ETag"] == '"1"'
    user_id = staff.json["id"]
    ok = client.patch(
        f"/api/v1/users/{user_id}", json={"role": "viewer"}, headers={**owner.auth, "If-Match": '"1"'}
    )
    assert ok.status_code == 200 and ok.headers["ETag"] == '"2"'
    stale = client.patch(
        f"/api/v1/users/{user_id}", json={"role": "staff"}, headers={**owner.auth, "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    bad = client.patch(
        f"/api/v1/users/{user_id}", json={"role": "staff"}, headers={**owner.auth, "If-Match": "x"}
    )
    assert bad.status_code == 400


def test_password_change_ends_sessions_and_validates(client: Any, helpers: Any) -> None:
    owner = helpers.register(client, "Acme", "owner@acme.test")
    staff = create_user(client, owner.auth, "s@acme.test", "staff").json
    session = helpers.login(client, "s@acme.test")
    too_short = client.patch(f"/api/v1/users/{staff['id']}", json={"password": "short"}, headers=owner.auth)
    assert too_short.status_code == 400
    assert too_short.json["errors"][0]["field"] == "password"
    changed = client.patch(
        f"/api/v1/users/{staff['id']}", json={"password": "new-password-1"}, headers=owner.auth
    )
    assert changed.status_code == 200
    assert (
        client.post("/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]}).status_code
        == 401
    )
    helpers.login(client, "s@acme.test", "new-password-1")


def test_user_body_validation(client: Any, helpers: Any) -> None:
    owner = helpers.register(client, "Acme", "owner@acme.test")
    bad_role = create_user(client, owner.auth, "x@acme.test", "superuser")
    assert bad_role.status_code == 400 and bad_role.json["errors"][0]["field"] == "role"
    empty = client.patch(f"/api/v1/users/{owner.user_id}", json={}, headers=owner.auth)
    assert empty.status_code == 400
    taken = create_user(client, owner.auth, "OWNER@acme.test", "staff")
    assert taken.status_code == 409
