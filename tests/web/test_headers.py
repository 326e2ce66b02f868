"""Security headers (mosu/web/headers.py) over real HTTP: CSP and friends on every answer,
``no-store`` on what a signed-in visitor gets, the public micro-cache left as it was."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import Headers

from mosu.accounts.models import User
from mosu.accounts.service import start_web_session
from mosu.deps import SESSION_COOKIE, carries_credentials
from mosu.public_cache import new_store
from mosu.web.headers import CONTENT_SECURITY_POLICY
from tests.conftest import LiveServer, World
from tests.helpers.public_cache import Clock, cache_of

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
"""Headers do not depend on the database."""


def assert_security_headers(response: httpx.Response) -> None:
    csp = response.headers["content-security-policy"]
    assert csp == CONTENT_SECURITY_POLICY
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'" and "unsafe-eval" not in csp
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-frame-options"] == "DENY"


@SQLITE
def test_signed_in_answers_are_not_stored_anonymous_ones_stay_cacheable(
    app: FastAPI, live: LiveServer, world: World, db: Session
) -> None:
    app.middleware_stack = app.build_middleware_stack()
    cache = cache_of(app)
    cache.entries = new_store(cache.seconds, Clock())  # stopped: nothing expires meanwhile
    operator = db.scalars(select(User).where(User.username == "operator")).one()
    cookie = start_web_session(db, user=operator, hours=1)
    db.commit()
    with httpx.Client(base_url=live.url, timeout=30) as anonymous:
        first = anonymous.get("/")
        again = anonymous.get("/")
        assert first.headers["x-mosu-cache"] == "miss" and again.headers["x-mosu-cache"] == "hit"
        for response in (first, again):
            assert_security_headers(response)
            assert "cache-control" not in response.headers
        api = anonymous.get("/api/v1/orgs")
        assert_security_headers(api)
        static = anonymous.get("/static/mosu.js")
        assert_security_headers(static)
        assert static.headers["content-type"].startswith("text/javascript")
    with httpx.Client(base_url=live.url, timeout=30, cookies={SESSION_COOKIE: cookie}) as web:
        page = web.get("/")
        assert page.status_code == 200 and "x-mosu-cache" not in page.headers
        assert_security_headers(page)
        assert page.headers["cache-control"] == "no-store"
        assert web.get("/account").headers["cache-control"] == "no-store"
        assert web.get("/static/mosu.css").headers["cache-control"] == "no-cache"
    token = world.tokens["operator"]
    with httpx.Client(
        base_url=live.url, timeout=30, headers={"Authorization": f"Bearer {token}"}
    ) as api_client:
        me = api_client.get("/api/v1/me")
        assert me.status_code == 200 and me.headers["cache-control"] == "no-store"
        assert_security_headers(me)


@SQLITE
def test_an_answer_that_sets_a_cookie_is_not_stored(live: LiveServer) -> None:
    with httpx.Client(base_url=live.url, timeout=30) as anonymous:
        switched = anonymous.get("/lang/en?next=/")
        assert "set-cookie" in switched.headers
        assert switched.headers["cache-control"] == "no-store"


def test_credentials_are_told_as_the_public_cache_tells_them() -> None:
    assert carries_credentials(Headers({"authorization": "Bearer x"}))
    assert carries_credentials(Headers({"cookie": f"lang=en; {SESSION_COOKIE}=abc"}))
    assert not carries_credentials(Headers({"cookie": "lang=en"}))
    assert not carries_credentials(Headers({"cookie": f"{SESSION_COOKIE}="}))
