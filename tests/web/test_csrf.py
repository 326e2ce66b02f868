"""Login CSRF tokens and the Origin check on cookie-authenticated writes, over real HTTP."""

from __future__ import annotations

import httpx
import pytest
from starlette.requests import Request

from mosu.accounts.deps import _same_origin, origin_of
from mosu.deps import SESSION_COOKIE
from tests.conftest import LiveServer, World, client_for
from tests.helpers.signin import browser, csrf_token, sign_in


def _request(headers: dict[str, str], scheme: str = "http", host: str = "mosu.example") -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in {"host": host, **headers}.items()]
    return Request(
        {"type": "http", "method": "POST", "scheme": scheme, "path": "/x", "headers": raw}
    )


def test_origin_of_fills_default_ports() -> None:
    assert origin_of("https://mosu.example") == ("https", "mosu.example", 443)
    assert origin_of("HTTP://Mosu.Example:80/page?q=1") == ("http", "mosu.example", 80)
    assert origin_of("http://mosu.example:8000") == ("http", "mosu.example", 8000)
    for bad in ("null", "", "mosu.example", "ftp://mosu.example", "http://h:99999"):
        assert origin_of(bad) is None


@pytest.mark.parametrize(
    ("headers", "scheme", "same"),
    [
        ({"origin": "http://mosu.example"}, "http", True),
        ({"origin": "http://mosu.example:80"}, "http", True),
        ({"origin": "https://mosu.example"}, "https", True),
        ({"origin": "https://mosu.example"}, "http", False),  # scheme differs
        ({"origin": "http://mosu.example"}, "https", False),
        ({"origin": "http://mosu.example:8080"}, "http", False),  # port differs
        ({"origin": "http://evil.example"}, "http", False),
        ({"origin": "http://mosu.example.evil.example"}, "http", False),
        ({"origin": "null"}, "http", False),
        ({}, "http", False),  # neither Origin nor Referer
        ({"referer": "http://mosu.example/orgs?tier=core"}, "http", True),
        ({"referer": "https://evil.example/mosu.example"}, "http", False),
    ],
)
def test_same_origin_compares_scheme_host_and_port(
    headers: dict[str, str], scheme: str, same: bool
) -> None:
    assert _same_origin(_request(headers, scheme)) is same


def test_login_without_the_forms_token_is_refused(live: LiveServer, world: World) -> None:
    data = {"username": "operator", "password": world.passwords["operator"], "next": "/"}
    with browser(live) as client:
        bare = client.post("/login", data=data)
        assert bare.status_code == 403 and "登录表单已过期" in bare.text
        assert SESSION_COOKIE not in client.cookies
        forged = client.post("/login", data={**data, "csrf_token": "0" * 64})
        assert forged.status_code == 403 and SESSION_COOKIE not in client.cookies
        # the refusal carries a fresh form whose token works
        token = csrf_token(client)
        assert client.post("/login", data={**data, "csrf_token": token}).status_code == 303
    # a token lifted from one browser is worthless with another browser's cookie
    with browser(live) as attacker, browser(live) as victim:
        stolen = csrf_token(attacker)
        csrf_token(victim)
        refused = victim.post("/login", data={**data, "csrf_token": stolen})
        assert refused.status_code == 403 and SESSION_COOKIE not in victim.cookies


def test_cookie_writes_need_this_sites_origin(live: LiveServer, world: World) -> None:
    with browser(live) as client:
        assert sign_in(client, "supplier_a", world.passwords["supplier_a"]).status_code == 303
        cookies = dict(client.cookies)
    https_twin = live.url.replace("http://", "https://")
    other_port = live.url.rsplit(":", 1)[0] + ":1"
    refused = [
        {"Origin": "http://evil.example"},
        {"Origin": https_twin},  # same host and port, other scheme
        {"Origin": other_port},
        {"Origin": "null"},
        {},  # no Origin and no Referer
        {"Referer": "http://evil.example/account"},
    ]
    for headers in refused:
        with httpx.Client(base_url=live.url, cookies=cookies, headers=headers, timeout=30) as c:
            for path, data in (("/account/tokens", {"name": "csrf"}), ("/logout", {})):
                answer = c.post(path, data=data)
                assert answer.status_code == 403, (headers, path, answer.status_code)
            api = c.post("/api/v1/tokens", json={"name": "csrf"})
            assert api.status_code == 403 and api.json()["error"]["code"] == "accounts.cross_site"
    with httpx.Client(base_url=live.url, cookies=cookies, timeout=30) as c:
        same = c.post(
            "/account/tokens", data={"name": "ok"}, headers={"Referer": live.url + "/account"}
        )
        assert same.status_code == 200 and "mosu_" in same.text
        assert c.get("/account").status_code == 200  # reads need no Origin
    # a bearer token is not a browser's ambient credential: no Origin needed
    with client_for(live, world, "supplier_a") as c:
        assert c.post("/tokens", json={"name": "cli"}).status_code == 201
