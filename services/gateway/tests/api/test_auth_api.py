"""Auth endpoints over the real gateway database (SQLite and PostgreSQL) and Redis."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from gateway.auth import TokenCodec
from gateway.domain import Role

pytestmark = pytest.mark.redis

SECRET = "test-secret-" + "x" * 40


@pytest.fixture
def app(app_factory: Any, database_url: str) -> Any:
    return app_factory(database_url)


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert body["title"]
    return body


def test_register_creates_tenant_and_owner(client: Any, helpers: Any) -> None:
    response = client.post(
        "/api/v1/auth/register",
        json={"tenant_name": "Acme", "email": " Owner@Example.COM ", "password": "correct-horse"},
    )
    assert response.status_code == 201
    body = response.json
    assert body["user"]["email"] == "owner@example.com"
    assert body["user"]["role"] == "owner"
    assert body["user"]["created_at"].endswith("Z")
    assert body["tenant_id"] and body["access_token"] and body["refresh_token"]

    me = client.get("/api/v1/me", headers=helpers.bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json["tenant"] == {
        "id": body["tenant_id"],
        "name": "Acme",
        "created_at": me.json["tenant"]["created_at"],
    }
    assert me.json["user"]["id"] == body["user"]["id"]
    # An owner may do everything; the list is the policy's (gateway.domain.POLICY), sorted.
    assert "users:manage" in me.json["permissions"] and "catalog:write" in me.json["permissions"]
    assert me.json["permissions"] == sorted(me.json["permissions"])


def test_register_rejects_duplicate_email_case_insensitively(client: Any, helpers: Any) -> None:
    helpers.register(client, "Acme", "dup@example.com")
    response = client.post(
        "/api/v1/auth/register",
        json={"tenant_name": "Other", "email": "DUP@example.com", "password": "correct-horse"},
    )
    assert assert_problem(response, 409)["reason"] == "EMAIL_TAKEN"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"tenant_name": "A", "email": "a@example.com", "password": "short"}, "password"),
        ({"tenant_name": "A", "email": "not-an-email", "password": "correct-horse"}, "email"),
        ({"tenant_name": "A", "email": "a@example.com"}, "password"),
        ({"tenant_name": "A", "email": "a@example.com", "password": "correct-horse", "plan": "gold"}, "plan"),
        ({"tenant_name": "   ", "email": "a@example.com", "password": "correct-horse"}, "tenant_name"),
    ],
)
def test_register_validation_names_the_field(client: Any, payload: dict[str, Any], field: str) -> None:
    body = assert_problem(client.post("/api/v1/auth/register", json=payload), 400)
    assert field in [error["field"] for error in body["errors"]]


def test_login_returns_bearer_pair_and_rejects_wrong_password(client: Any, helpers: Any) -> None:
    helpers.register(client, "Acme", "login@example.com")
    body = helpers.login(client, "LOGIN@example.com")
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}

    wrong = client.post("/api/v1/auth/login", json={"email": "login@example.com", "password": "wrong-pass"})
    problem = assert_problem(wrong, 401)
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
    unknown = client.post(
        "/api/v1/auth/login", json={"email": "nobody@example.com", "password": "wrong-pass"}
    )
    # Same answer for an unknown account as for a wrong password: no account enumeration.
    assert assert_problem(unknown, 401)["detail"] == problem["detail"]


def test_wrong_passwords_slow_the_attacker_not_the_owner(client: Any, helpers: Any) -> None:
    """Old behaviour: five wrong passwords locked the account for everyone for 15 minutes."""
    helpers.register(client, "Acme", "rl@example.com")

    def attempt(password: str, ip: str) -> Any:
        return client.post(
            "/api/v1/auth/login",
            json={"email": "rl@example.com", "password": password},
            environ_base={"REMOTE_ADDR": ip},
        )

    for _ in range(6):
        assert attempt("wrong-pass", "203.0.113.7").status_code == 401
    limited = attempt("correct-horse", "203.0.113.7")  # the attacker's address waits
    assert_problem(limited, 429)
    assert 0 < int(limited.headers["Retry-After"]) <= 2
    assert attempt("correct-horse", "198.51.100.1").status_code == 200  # the owner does not


def test_login_is_rate_limited_per_ip(app_factory: Any, database_url: str, helpers: Any) -> None:
    client = app_factory(database_url, login_max_attempts_per_ip=3).test_client()
    for n in range(3):
        response = client.post("/api/v1/auth/login", json={"email": f"u{n}@example.com", "password": "x" * 8})
        assert response.status_code == 401
    limited = client.post("/api/v1/auth/login", json={"email": "u9@example.com", "password": "x" * 8})
    assert_problem(limited, 429)
    assert "Retry-After" in limited.headers


def test_registrations_are_rate_limited_per_ip(app_factory: Any, database_url: str) -> None:
    client = app_factory(database_url, register_max_per_ip=3).test_client()

    def register(n: int, ip: str) -> Any:
        body = {"tenant_name": f"T{n}", "email": f"r{n}@example.com", "password": "correct-horse"}
        return client.post("/api/v1/auth/register", json=body, environ_base={"REMOTE_ADDR": ip})

    assert [register(n, "203.0.113.5").status_code for n in range(3)] == [201, 201, 201]
    limited = register(3, "203.0.113.5")
    assert_problem(limited, 429)
    assert int(limited.headers["Retry-After"]) > 0
    assert register(4, "203.0.113.6").status_code == 201


def test_trusted_proxies_decide_the_client_ip(app_factory: Any, database_url: str) -> None:
    """GATEWAY_TRUSTED_PROXIES=0 ignores X-Forwarded-For; 1 trusts the nearest proxy's entry."""

    def login(client: Any, forwarded: str) -> int:
        body = {"email": "nobody@example.com", "password": "x" * 8}
        headers = {"X-Forwarded-For": forwarded}
        return client.post("/api/v1/auth/login", json=body, headers=headers).status_code

    direct = app_factory(database_url, login_max_attempts_per_ip=2).test_client()
    # Spoofed headers do not buy a fresh limit: every attempt is the peer's.
    assert [login(direct, f"192.0.2.{n}") for n in range(3)] == [401, 401, 429]

    proxied = app_factory(database_url, login_max_attempts_per_ip=2, trusted_proxies=1).test_client()
    assert [login(proxied, "198.51.100.20") for _ in range(3)] == [401, 401, 429]
    assert login(proxied, "spoofed, 198.51.100.21") == 401  # only the proxy's own entry counts
    assert login(proxied, "198.51.100.21") == 401
    assert login(proxied, "198.51.100.21") == 429


def test_refresh_rotates_and_reuse_kills_the_family(client: Any, helpers: Any) -> None:
    session = helpers.register(client, "Acme", "rot@example.com")
    first = session.refresh_token

    rotated = client.post("/api/v1/auth/refresh", json={"refresh_token": first})
    assert rotated.status_code == 200
    second = rotated.json["refresh_token"]
    assert second != first
    assert client.get("/api/v1/me", headers=helpers.bearer(rotated.json["access_token"])).status_code == 200

    # The old token is dead, and presenting it is treated as theft: the family is revoked...
    assert_problem(client.post("/api/v1/auth/refresh", json={"refresh_token": first}), 401)
    # ...so the newest token of the family no longer works either.
    assert_problem(client.post("/api/v1/auth/refresh", json={"refresh_token": second}), 401)
    # A separate login (a new family) is unaffected.
    other = helpers.login(client, "rot@example.com")
    assert (
        client.post("/api/v1/auth/refresh", json={"refresh_token": other["refresh_token"]}).status_code == 200
    )


def test_concurrent_refreshes_have_exactly_one_winner(app: Any, helpers: Any) -> None:
    session = helpers.register(app.test_client(), "Acme", "race@example.com")
    barrier = threading.Barrier(4)
    statuses: list[int] = []
    lock = threading.Lock()

    def refresh() -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post("/api/v1/auth/refresh", json={"refresh_token": session.refresh_token})
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=refresh) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 401, 401, 401]


def test_logout_revokes_refresh_family_and_access_token(client: Any, helpers: Any) -> None:
    session = helpers.register(client, "Acme", "bye@example.com")
    response = client.post(
        "/api/v1/auth/logout", json={"refresh_token": session.refresh_token}, headers=session.auth
    )
    assert response.status_code == 204
    assert response.data == b""
    assert_problem(client.post("/api/v1/auth/refresh", json={"refresh_token": session.refresh_token}), 401)
    assert_problem(client.get("/api/v1/me", headers=session.auth), 401)


def test_logout_needs_a_token(client: Any) -> None:
    assert_problem(client.post("/api/v1/auth/logout", json={"refresh_token": "x"}), 401)


def test_refresh_picks_up_the_current_role(client: Any, helpers: Any) -> None:
    owner = helpers.register(client, "Acme", "boss@example.com")
    created = client.post(
        "/api/v1/users",
        json={"email": "clerk@example.com", "password": "correct-horse", "role": "staff"},
        headers=owner.auth,
    )
    assert created.status_code == 201
    clerk = helpers.login(client, "clerk@example.com")
    assert_problem(client.get("/api/v1/users", headers=helpers.bearer(clerk["access_token"])), 403)

    promoted = client.patch(f"/api/v1/users/{created.json['id']}", json={"role": "admin"}, headers=owner.auth)
    assert promoted.status_code == 200
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": clerk["refresh_token"]}).json
    claims = jwt.decode(refreshed["access_token"], options={"verify_signature": False})
    assert claims["role"] == "admin"
    assert client.get("/api/v1/users", headers=helpers.bearer(refreshed["access_token"])).status_code == 200


def test_deleted_user_cannot_refresh(client: Any, helpers: Any) -> None:
    owner = helpers.register(client, "Acme", "own@example.com")
    created = client.post(
        "/api/v1/users",
        json={"email": "temp@example.com", "password": "correct-horse", "role": "viewer"},
        headers=owner.auth,
    ).json
    temp = helpers.login(client, "temp@example.com")
    assert client.delete(f"/api/v1/users/{created['id']}", headers=owner.auth).status_code == 204
    assert_problem(client.post("/api/v1/auth/refresh", json={"refresh_token": temp["refresh_token"]}), 401)


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda s: "not-a-jwt", id="garbage"),
        pytest.param(
            lambda s: TokenCodec("another-secret-" + "y" * 40, 900).issue_access(
                s.user_id, s.tenant_id, Role.OWNER
            ),
            id="forged",
        ),
        pytest.param(
            lambda s: TokenCodec(
                SECRET, 900, clock=lambda: datetime.now(UTC) - timedelta(hours=1)
            ).issue_access(s.user_id, s.tenant_id, Role.OWNER),
            id="expired",
        ),
        pytest.param(lambda s: s.refresh_token, id="refresh-token-as-bearer"),
        pytest.param(
            lambda s: jwt.encode(
                {**jwt.decode(s.access_token, options={"verify_signature": False}), "typ": "refresh"},
                SECRET,
                algorithm="HS256",
            ),
            id="wrong-typ",
        ),
        pytest.param(
            lambda s: jwt.encode(
                jwt.decode(s.access_token, options={"verify_signature": False}), None, algorithm="none"
            ),
            id="alg-none",
        ),
    ],
)
def test_bad_tokens_get_401(client: Any, helpers: Any, make_token: Any) -> None:
    session = helpers.register(client, "Acme", "tok@example.com")
    response = client.get("/api/v1/me", headers=helpers.bearer(make_token(session)))
    assert_problem(response, 401)


def test_missing_or_non_bearer_authorization_is_401(client: Any) -> None:
    assert_problem(client.get("/api/v1/me"), 401)
    assert_problem(client.get("/api/v1/me", headers={"Authorization": "Basic dTpw"}), 401)
