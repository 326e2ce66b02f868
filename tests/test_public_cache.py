"""The public micro-cache: anonymous visitors share answers of marked routes for a moment;
signed-in visitors, private routes, cookies and errors never touch it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.accounts.models import User
from mosu.accounts.service import start_web_session
from mosu.deps import SESSION_COOKIE
from mosu.public_cache import (
    MAX_BODY_BYTES,
    PUBLIC_CACHE,
    STATUS_HEADER,
    PublicCache,
    new_store,
)
from tests.conftest import World, credit_code, make_org
from tests.helpers.public_cache import Clock, cache_of


@pytest.fixture
def clock(app: FastAPI) -> Clock:
    """The app's cache, built now, with its entries timed by a hand-moved clock."""
    app.middleware_stack = app.build_middleware_stack()
    found = Clock()
    cache = cache_of(app)
    cache.entries = new_store(cache.seconds, found)
    return found


def get(app: FastAPI, path: str, **kw: object) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mosu.test") as c:
            return await c.get(path, **kw)  # type: ignore[arg-type]

    return asyncio.run(go())


def session_cookie(db: Session, username: str) -> str:
    user = db.scalars(select(User).where(User.username == username)).one()
    token = start_web_session(db, user=user, hours=1)
    db.commit()
    return token


def test_anonymous_answers_are_shared_until_they_expire(
    app: FastAPI, db: Session, world: World, clock: Clock
) -> None:
    first = get(app, "/api/v1/orgs")
    assert first.headers[STATUS_HEADER] == "miss" and first.headers["etag"]
    make_org(db, 9, "新来的模型公司")
    db.commit()
    second = get(app, "/api/v1/orgs")
    assert second.headers[STATUS_HEADER] == "hit"
    assert second.content == first.content  # within the TTL: the stored answer
    clock.now += cache_of(app).seconds + 0.01
    third = get(app, "/api/v1/orgs")
    assert third.headers[STATUS_HEADER] == "miss"
    assert "新来的模型公司" in third.text


def test_signed_in_visitors_never_get_the_cached_body(
    app: FastAPI, db: Session, world: World, clock: Clock
) -> None:
    assert get(app, "/orgs").headers[STATUS_HEADER] == "miss"
    public = get(app, "/orgs")
    assert public.headers[STATUS_HEADER] == "hit"
    cookie = session_cookie(db, "operator")
    for headers in (
        {"Cookie": f"{SESSION_COOKIE}={cookie}"},
        {"Authorization": f"Bearer {world.tokens['operator']}"},
        {"Cookie": f"{SESSION_COOKIE}=not-a-session"},
    ):
        page = get(app, "/orgs", headers=headers)
        assert page.status_code == 200
        assert STATUS_HEADER not in page.headers
    signed_in = get(app, "/orgs", headers={"Cookie": f"{SESSION_COOKIE}={cookie}"})
    assert "operator" in signed_in.text and "operator" not in public.text
    api = get(app, "/api/v1/orgs", headers={"Authorization": f"Bearer {world.tokens['operator']}"})
    assert STATUS_HEADER not in api.headers
    assert "contact" in api.text  # operators see contacts; the public's answer has none
    # nothing a signed-in visitor was answered is stored for the public
    assert get(app, "/api/v1/orgs").headers[STATUS_HEADER] == "miss"
    assert "021-6000" not in get(app, "/api/v1/orgs").text


def test_private_and_unmarked_routes_are_never_cached(
    app: FastAPI, world: World, clock: Clock
) -> None:
    for path in ("/api/v1/notifications", "/api/v1/orgs/999999", f"/orgs/{world.org_a}"):
        for _ in range(2):
            answer = get(app, path)
            assert STATUS_HEADER not in answer.headers, path
    assert get(app, "/api/v1/notifications").status_code == 401
    assert cache_of(app).renders == 0


def test_languages_and_htmx_fragments_are_kept_apart(
    app: FastAPI, world: World, clock: Clock
) -> None:
    zh = get(app, "/orgs")
    en = get(app, "/orgs", headers={"Cookie": "lang=en"})
    fragment = get(app, "/orgs", headers={"HX-Request": "true"})
    assert en.headers[STATUS_HEADER] == fragment.headers[STATUS_HEADER] == "miss"
    assert '<html lang="en">' in en.text and '<html lang="en">' not in zh.text
    assert "<html" not in fragment.text and "<html" in zh.text
    assert get(app, "/orgs", headers={"Cookie": "lang=en"}).content == en.content


def test_one_render_for_many_visitors_and_an_etag(app: FastAPI, world: World) -> None:
    async def many() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mosu.test") as c:
            return await asyncio.gather(*(c.get("/challenges") for _ in range(30)))

    answers = asyncio.run(many())
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1
    assert cache_of(app).renders == 1
    etag = answers[0].headers["etag"]
    unchanged = get(app, "/challenges", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert get(app, "/challenges", headers={"If-None-Match": '"other"'}).status_code == 200


def test_a_signed_in_write_clears_the_cache_and_others_do_not(
    app: FastAPI, world: World, clock: Clock
) -> None:
    get(app, "/api/v1/orgs")
    assert get(app, "/api/v1/orgs").headers[STATUS_HEADER] == "hit"

    def post(path: str, **kw: object) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://mosu.test") as c:
                return await c.post(path, **kw)  # type: ignore[arg-type]

        return asyncio.run(go())

    # anonymous, or refused: nothing the public sees changed, so no render is lost
    assert post("/login", data={"username": "nobody", "password": "wrong"}).status_code < 500
    assert (
        post("/api/v1/orgs", json={}, headers={"Authorization": "Bearer junk"}).status_code == 401
    )
    assert get(app, "/api/v1/orgs").headers[STATUS_HEADER] == "hit"
    org = {
        "name_zh": "丁新写入有限公司",
        "credit_code": credit_code(9),
        "tier": "cluster",
        "layers": ["model"],
    }
    operator = {"Authorization": f"Bearer {world.tokens['operator']}"}
    made = post("/api/v1/orgs", json=org, headers=operator)
    assert made.status_code == 201, made.text
    fresh = get(app, "/api/v1/orgs")
    assert fresh.headers[STATUS_HEADER] == "miss" and "丁新写入" in fresh.text


@pytest.fixture
def tiny() -> Iterator[FastAPI]:
    """A marked route that sets a cookie, one that fails, and one that may be kept."""
    app = FastAPI()

    @app.get("/cookie", dependencies=[PUBLIC_CACHE])
    def cookie(response: Response) -> dict[str, str]:
        response.set_cookie("flavour", "oat")
        return {"ok": "yes"}

    @app.get("/missing", dependencies=[PUBLIC_CACHE], status_code=404)
    def missing() -> dict[str, str]:
        return {"ok": "no"}

    @app.get("/fine", dependencies=[PUBLIC_CACHE])
    def fine() -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/large", dependencies=[PUBLIC_CACHE])
    def large() -> Response:
        return Response(b"x" * (MAX_BODY_BYTES + 1), media_type="text/plain")

    app.add_middleware(PublicCache, seconds=5)
    yield app


def test_answers_that_set_cookies_fail_or_are_large_are_not_kept(tiny: FastAPI) -> None:
    assert len(get(tiny, "/large").content) == MAX_BODY_BYTES + 1
    for path in ("/cookie", "/missing", "/large"):
        for _ in range(2):
            assert STATUS_HEADER not in get(tiny, path).headers
    assert get(tiny, "/fine").headers[STATUS_HEADER] == "miss"
    assert get(tiny, "/fine").headers[STATUS_HEADER] == "hit"
    assert cache_of(tiny).renders == 1


def test_zero_seconds_turns_the_cache_off() -> None:
    app = FastAPI()

    @app.get("/fine", dependencies=[PUBLIC_CACHE])
    def fine() -> dict[str, str]:
        return {"ok": "yes"}

    app.add_middleware(PublicCache, seconds=0)
    assert all(STATUS_HEADER not in get(app, "/fine").headers for _ in range(2))


def test_an_answer_rendered_during_a_write_is_not_kept() -> None:
    app = FastAPI()
    entered, release = asyncio.Event(), asyncio.Event()

    @app.get("/slow", dependencies=[PUBLIC_CACHE])
    async def slow() -> dict[str, str]:
        entered.set()
        await release.wait()
        return {"ok": "yes"}

    @app.post("/write")
    async def write() -> dict[str, str]:
        release.set()
        return {"ok": "written"}

    app.add_middleware(PublicCache, seconds=5)

    async def race() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mosu.test") as c:
            read = asyncio.create_task(c.get("/slow"))
            await entered.wait()  # the render is under way when the write comes
            await c.post("/write", headers={"Authorization": "Bearer a-signed-in-writer"})
            return await read, await c.get("/slow")

    during, after = asyncio.run(race())
    assert during.status_code == 200 and during.headers[STATUS_HEADER] == "miss"
    assert after.headers[STATUS_HEADER] == "miss"  # the first answer was not kept
    assert cache_of(app).renders == 1
