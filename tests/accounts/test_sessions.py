"""Password change, operator reset, deactivation and signing out everywhere end every web
session and revoke every API token of the user: over the API, the web pages and the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.accounts.models import ApiToken, User, WebSession
from mosu.accounts.service import create_api_token
from tests.conftest import LiveServer, World, api_client, client_for
from tests.helpers.api import assert_error
from tests.helpers.signin import browser, sign_in

NEW_PASSWORD = "a-brand-new-passphrase"


@contextmanager
def web_session(live: LiveServer, world: World, who: str) -> Iterator[httpx.Client]:
    with browser(live) as client:
        assert sign_in(client, who, world.passwords[who]).status_code == 303
        assert client.get("/account").status_code == 200
        yield client


def second_token(db: Session, world: World, who: str) -> str:
    _, token = create_api_token(db, user_id=world.user_ids[who], name="second")
    db.commit()
    return token


def assert_all_ended(live: LiveServer, db: Session, user_id: int, *tokens: str) -> None:
    for token in tokens:
        with api_client(live, token) as client:
            assert_error(client.get("/me"), 401, "accounts.invalid_token")
    db.expire_all()
    assert db.scalar(select(WebSession.id).where(WebSession.user_id == user_id)) is None
    live_tokens = select(ApiToken.id).where(
        ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None)
    )
    assert db.scalar(live_tokens) is None


def test_changing_the_password_ends_sessions_and_tokens(
    live: LiveServer, world: World, db: Session
) -> None:
    other = second_token(db, world, "supplier_a")
    with (
        web_session(live, world, "supplier_a") as web,
        client_for(live, world, "supplier_a") as api,
    ):
        wrong = api.post(
            "/me/password",
            json={"current_password": "nope-nope-nope", "new_password": NEW_PASSWORD},
        )
        assert_error(wrong, 422, "accounts.wrong_current_password")
        assert "当前密码不正确" in wrong.json()["error"]["message"]
        weak = api.post(
            "/me/password",
            json={"current_password": world.passwords["supplier_a"], "new_password": "woaini1314"},
        )
        assert_error(weak, 422, "accounts.password_too_common")
        assert "过于常见" in weak.json()["error"]["message"]
        weak = api.post(
            "/me/password",
            json={"current_password": world.passwords["supplier_a"], "new_password": "woaini1314"},
            headers={"Accept-Language": "en"},
        )
        assert "too common" in weak.json()["error"]["message"]
        assert api.get("/me").status_code == 200  # refusals end nothing
        changed = api.post(
            "/me/password",
            json={"current_password": world.passwords["supplier_a"], "new_password": NEW_PASSWORD},
        )
        assert changed.status_code == 200, changed.text
        assert web.get("/account").status_code == 303  # the browser is signed out
    assert_all_ended(live, db, world.user_ids["supplier_a"], world.tokens["supplier_a"], other)
    with browser(live) as client:
        assert sign_in(client, "supplier_a", world.passwords["supplier_a"]).status_code == 401
        assert sign_in(client, "supplier_a", NEW_PASSWORD).status_code == 303


def test_log_out_everywhere(live: LiveServer, world: World, db: Session) -> None:
    other = second_token(db, world, "demand")
    with web_session(live, world, "demand") as web, client_for(live, world, "demand") as api:
        answer = api.post("/me/logout-everywhere")
        assert answer.status_code == 200 and answer.json()["username"] == "demand"
        assert web.get("/account").status_code == 303
    assert_all_ended(live, db, world.user_ids["demand"], world.tokens["demand"], other)


def test_operator_resets_deactivates_and_reactivates(
    live: LiveServer, world: World, db: Session
) -> None:
    expert = world.user_ids["expert"]
    with web_session(live, world, "expert") as web, client_for(live, world, "operator") as op:
        assert_error(
            op.post(f"/users/{expert}/password", json={"password": "1qaz2wsx3edc"}),
            422,
            "accounts.password_too_common",
        )
        reset = op.post(f"/users/{expert}/password", json={"password": NEW_PASSWORD})
        assert reset.status_code == 200, reset.text
        assert web.get("/account").status_code == 303
    assert_all_ended(live, db, expert, world.tokens["expert"])

    fresh = second_token(db, world, "expert")
    with (
        web_session_with(live, "expert", NEW_PASSWORD) as web,
        client_for(live, world, "operator") as op,
    ):
        answer = op.post(f"/users/{expert}/deactivate")
        assert answer.status_code == 200 and answer.json()["is_active"] is False
        assert web.get("/account").status_code == 303
        myself = op.post(f"/users/{world.user_ids['operator']}/deactivate")
        assert_error(myself, 422, "accounts.cannot_deactivate_self")
        assert_error(op.post("/users/999999/deactivate"), 404, "accounts.no_such_user")
        assert_all_ended(live, db, expert, fresh)
        with browser(live) as client:
            refused = sign_in(client, "expert", NEW_PASSWORD)
            assert refused.status_code == 403 and "账号已停用" in refused.text
            # a wrong password says nothing about the account's state
            wrong = sign_in(client, "expert", "not-the-password")
            assert wrong.status_code == 401 and "停用" not in wrong.text
        assert op.post(f"/users/{expert}/reactivate").json()["is_active"] is True
    with browser(live) as client:
        assert sign_in(client, "expert", NEW_PASSWORD).status_code == 303


@contextmanager
def web_session_with(live: LiveServer, who: str, password: str) -> Iterator[httpx.Client]:
    with browser(live) as client:
        assert sign_in(client, who, password).status_code == 303
        yield client


def test_account_page_changes_the_password_and_signs_out_everywhere(
    live: LiveServer, world: World, db: Session
) -> None:
    with web_session(live, world, "supplier_b") as web:
        page = web.get("/account").text
        assert (
            'action="/account/password"' in page and 'action="/account/logout-everywhere"' in page
        )
        form = {
            "current_password": world.passwords["supplier_b"],
            "new_password": "qwertyuiop123",
            "new_password_again": "qwertyuiop123",
        }
        weak = web.post("/account/password", data=form)
        assert weak.status_code == 422 and "密码过于常见" in weak.text
        differ = web.post("/account/password", data={**form, "new_password": NEW_PASSWORD})
        assert differ.status_code == 422 and "不一致" in differ.text
        wrong = web.post(
            "/account/password",
            data={**form, "current_password": "nope", "new_password": NEW_PASSWORD,
                  "new_password_again": NEW_PASSWORD},
        )  # fmt: skip
        assert wrong.status_code == 422 and "当前密码不正确" in wrong.text
        done = web.post(
            "/account/password",
            data={**form, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD},
        )
        assert done.status_code == 303 and done.headers["location"].startswith("/login")
        assert web.get("/account").status_code == 303
    assert_all_ended(live, db, world.user_ids["supplier_b"], world.tokens["supplier_b"])
    with web_session_with(live, "supplier_b", NEW_PASSWORD) as web:
        out = web.post("/account/logout-everywhere")
        assert out.status_code == 303
        assert web.get("/account").status_code == 303
    assert_all_ended(live, db, world.user_ids["supplier_b"])


def test_users_page_is_the_operators(live: LiveServer, world: World, db: Session) -> None:
    demand = world.user_ids["demand"]
    with web_session(live, world, "supplier_a") as supplier:
        assert supplier.get("/users").status_code == 403
        assert supplier.post(f"/users/{demand}/deactivate").status_code == 403
    with web_session(live, world, "operator") as op:
        page = op.get("/users")
        assert page.status_code == 200 and f'id="user-{demand}"' in page.text
        weak = op.post(f"/users/{demand}/password", data={"password": "password"})
        assert weak.status_code == 422 and "至少 10 个字符" in weak.text
        assert op.post(f"/users/{demand}/deactivate").status_code == 303
        db.expire_all()
        user = db.get(User, demand)
        assert user is not None and not user.is_active
        assert "已停用" in op.get("/users").text
        assert op.post(f"/users/{demand}/reactivate").status_code == 303
        assert (
            op.post(f"/users/{demand}/password", data={"password": NEW_PASSWORD}).status_code == 303
        )
    with browser(live) as client:
        assert sign_in(client, "demand", NEW_PASSWORD).status_code == 303
