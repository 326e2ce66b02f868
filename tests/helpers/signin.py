"""Signing in over HTTP as a browser does: fetch the form (its CSRF token and pre-session
cookie), post it back, and send ``Origin`` with every write."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.conftest import TLS, LiveServer, World

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def browser(live: LiveServer) -> httpx.Client:
    """An HTTP client that, like a browser, names this site as the ``Origin`` of its requests."""
    return httpx.Client(
        base_url=live.url,
        timeout=30,
        follow_redirects=False,
        headers={"Origin": live.url},
        verify=TLS,
    )


def csrf_token(client: httpx.Client) -> str:
    """The token of a fresh login form (the client keeps the cookie it is bound to)."""
    page = client.get("/login")
    assert page.status_code == 200, page.text
    found = CSRF_INPUT.search(page.text)
    assert found is not None, "the login form has no CSRF token"
    return found.group(1)


def sign_in(client: httpx.Client, username: str, password: str, next: str = "/") -> httpx.Response:
    """``POST /login`` through the form, as a browser submits it."""
    data = {"username": username, "password": password, "next": next}
    return client.post("/login", data={**data, "csrf_token": csrf_token(client)})


@contextmanager
def signed_in(live: LiveServer, world: World, who: str) -> Iterator[httpx.Client]:
    """A client signed in as the world's ``who``."""
    with browser(live) as client:
        response = sign_in(client, who, world.passwords[who])
        assert response.status_code == 303, response.text
        yield client
