"""Accounts API over real HTTP: who am I, tokens shown once and revocable, users for operators."""

from __future__ import annotations

import datetime as dt

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.accounts.models import ApiToken, User, WebSession
from mosu.accounts.service import start_web_session
from mosu.core import clock
from mosu.deps import SESSION_COOKIE
from tests.conftest import LiveServer, World, client_for
from tests.helpers.api import assert_error


def test_me_and_unauthenticated(live: LiveServer, world: World) -> None:
    with client_for(live, world, "supplier_a") as client:
        me = client.get("/me").json()
    assert me["username"] == "supplier_a"
    assert me["role"] == "supplier" and me["organisation_id"] == world.org_a
    assert "password_hash" not in me
    with client_for(live, world, None) as client:
        assert_error(client.get("/me"), 401, "core.sign_in")
        assert_error(
            client.get("/me", headers={"Authorization": "Bearer mosu_nonsense"}),
            401,
            "accounts.invalid_token",
        )


def test_token_shown_once_then_revoked(live: LiveServer, world: World, db: Session) -> None:
    with client_for(live, world, "demand") as client:
        created = client.post("/tokens", json={"name": "laptop"})
        assert created.status_code == 201
        body = created.json()
        token = body["token"]
        assert token.startswith(body["prefix"]) and body["revoked_at"] is None

        listed = client.get("/tokens")
        assert listed.status_code == 200
        assert {t["name"] for t in listed.json()} == {"tests", "laptop"}
        assert token not in listed.text and "token" not in listed.json()[0]
        assert token not in "".join(db.scalars(select(ApiToken.token_hash)))

        new = httpx.Client(
            base_url=client.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        with new:
            assert new.get("/me").json()["username"] == "demand"
            revoked = client.delete(f"/tokens/{body['id']}")
            assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
            assert_error(new.get("/me"), 401, "accounts.invalid_token")
            assert_error(new.get("/orgs"), 401, "accounts.invalid_token")  # even on public routes
        assert client.get("/me").status_code == 200  # the other token still works


def test_token_name_validated(live: LiveServer, world: World) -> None:
    with client_for(live, world, "expert") as client:
        assert_error(client.post("/tokens", json={"name": ""}), 422, "core.invalid_request")
        extra = client.post("/tokens", json={"name": "x", "extra": 1})
        assert_error(extra, 422, "core.invalid_request")


def test_cannot_revoke_anothers_token(live: LiveServer, world: World, db: Session) -> None:
    theirs = db.scalar(select(ApiToken.id).where(ApiToken.user_id == world.user_ids["supplier_a"]))
    with client_for(live, world, "supplier_b") as client:
        assert_error(client.delete(f"/tokens/{theirs}"), 404, "accounts.no_such_token")
        assert_error(client.delete("/tokens/999999"), 404, "accounts.no_such_token")
    with client_for(live, world, "supplier_a") as client:
        assert client.get("/me").status_code == 200


def test_users_api_is_operator_only(live: LiveServer, world: World) -> None:
    new_user = {
        "username": "newsupplier",
        "password": "a-long-password",
        "role": "supplier",
        "organisation_id": world.org_b,
    }
    for who in ("supplier_a", "demand", "expert"):
        with client_for(live, world, who) as client:
            assert_error(client.get("/users"), 403, "core.role_not_allowed")
            assert_error(client.post("/users", json=new_user), 403, "core.role_not_allowed")
    with client_for(live, world, None) as client:
        assert_error(client.get("/users"), 401, "core.sign_in")
    with client_for(live, world, "operator") as client:
        created = client.post("/users", json=new_user)
        assert created.status_code == 201, created.text
        assert created.json()["organisation_id"] == world.org_b
        assert_error(client.post("/users", json=new_user), 409, "accounts.username_taken")
        spaced = client.post("/users", json={**new_user, "username": "x y"})
        assert_error(spaced, 422, "accounts.bad_username")
        assert_error(
            client.post("/users", json={**new_user, "username": "zed", "password": "short"}),
            422,
            "accounts.password_too_short",
        )
        listing = client.get("/users")
    assert listing.status_code == 200
    assert {u["username"] for u in listing.json()} >= {"operator", "supplier_a", "newsupplier"}
    assert "$argon2" not in listing.text and "pw-" not in listing.text


def test_session_cookie_identifies_until_it_expires(
    live: LiveServer, world: World, db: Session
) -> None:
    user = db.get(User, world.user_ids["expert"])
    assert user is not None
    cookie = start_web_session(db, user=user, hours=1)
    db.commit()
    with httpx.Client(
        base_url=live.url + "/api/v1", cookies={SESSION_COOKIE: cookie}, timeout=30
    ) as client:
        assert client.get("/me").json()["username"] == "expert"
        # a cross-site write riding on the cookie is refused
        assert_error(
            client.post("/tokens", json={"name": "x"}, headers={"Origin": "https://evil.example"}),
            403,
            "accounts.cross_site",
        )
        row = db.scalar(select(WebSession).where(WebSession.user_id == user.id))
        assert row is not None
        row.expires_at = clock.now() - dt.timedelta(minutes=1)
        db.commit()
        assert_error(client.get("/me"), 401, "core.sign_in")
