"""Debian's Chromium driven by Playwright's sync API, for the browser tests: the browser and
page fixtures (import them into the test module), the demo community, and signing in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy.orm import Session

from mosu.demo.loader import load_community
from tests.conftest import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def settled(page: Page) -> None:
    """Wait until htmx has no request in flight and has swapped and settled: until then a
    swapped-in element has no htmx listeners (and wears its predecessor's classes), so an
    event on it, a change of a select say, would be lost."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, "
        ".htmx-added')"
    )


if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@dataclass
class Community:
    """The demo community, loaded through the registry's rules, and its operator."""

    username: str
    password: str


@pytest.fixture
def community(db: Session) -> Community:
    summary = load_community(db)
    db.commit()
    username, password, _ = next(u for u in summary.users if u[2] == "operator")
    return Community(username, password)


@pytest.fixture
def page(browser: Browser, live: LiveServer) -> Iterator[Page]:
    context = browser.new_context(
        base_url=live.url, viewport={"width": 1280, "height": 900}, locale="zh-CN"
    )
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


def sign_in(page: Page, community: Community, next_path: str = "/") -> None:
    page.goto(f"/login?next={next_path}")
    page.fill("#f-username", community.username)
    page.fill("#f-password", community.password)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(re.compile(re.escape(next_path) + "$"))
