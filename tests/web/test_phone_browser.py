"""The main pages on a 390 px phone in Debian's Chromium, in both languages: nothing wider
than the screen (tables scroll inside their own box), and the menu folds behind a button."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy.orm import Session

from mosu.core import clock
from mosu.core.settings import Settings
from mosu.review.shortlist import confirm_shortlist
from tests.conftest import LiveServer, World
from tests.helpers.arena import longer_wins, make_arena, vote_many
from tests.helpers.chromium import Community, browser, sign_in
from tests.helpers.review import finished_race, reviewed_challenge
from tests.helpers.scenarios import actor

__all__ = ["browser"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

PHONE = {"width": 390, "height": 844}
WIDEST = "() => document.documentElement.scrollWidth"


def _pages(db: Session, world: World, settings: Settings) -> tuple[list[str], list[str]]:
    """A finished race, an arena with votes: the main pages (seen in both languages), and
    more (in Chinese)."""
    reviewed = reviewed_challenge(db, world, {"甲队": [(9, 8)], "乙队": [(6, 6)]})
    cid = reviewed.challenge.id
    ids = [a.id for a in reviewed.applications.values()]
    confirm_shortlist(db, actor=actor(world, "operator"), challenge_id=cid, application_ids=ids)
    with ThreadPoolExecutor(1) as thread:  # the worker's event loop in a thread of its own
        thread.submit(finished_race, db, reviewed, settings.data_dir, {"甲队": 0, "乙队": 3})
        thread.shutdown(wait=True)
    arena = make_arena(db, world)
    start = clock.now() - dt.timedelta(hours=1)
    vote_many(db, world, arena, "expert", 4, longer_wins, start=start)
    db.commit()
    main = [
        "/",
        "/orgs",
        "/challenges",
        f"/challenges/{cid}",
        f"/challenges/{cid}/race",
        f"/arena/{arena.id}/vote",
        f"/arena/{arena.id}",
        "/supply",
        "/desk",
    ]
    more = ["/scenarios", f"/challenges/{cid}/race/report"]
    return main, more


def _fits(page: Page, path: str) -> None:
    page.goto(path, wait_until="domcontentloaded")  # deferred scripts (charts) have run
    widest = page.evaluate(WIDEST)
    assert widest <= PHONE["width"], f"{path}: {widest} px wide on a {PHONE['width']} px phone"


def test_main_pages_fit_a_phone_in_both_languages(
    browser: Browser, live: LiveServer, world: World, db: Session, settings: Settings
) -> None:
    main, more = _pages(db, world, settings)
    context = browser.new_context(base_url=live.url, viewport=PHONE, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in(page, Community("operator", world.passwords["operator"]), "/desk")
        menu = page.locator("nav.mainnav")
        assert not menu.is_visible()  # folded behind the button
        page.click("label[for=nav-toggle]")
        assert menu.is_visible() and page.evaluate(WIDEST) <= PHONE["width"]
        page.click("label[for=nav-toggle]")
        assert not menu.is_visible()
        for path in main + more:
            _fits(page, path)
        # the last is the race report: confusion matrices shaded, with their counts
        cells = page.locator("table.confusion td[class*=shade-]")
        assert cells.count() > 0 and all(t.isdigit() for t in cells.all_text_contents())
        assert page.locator("table.confusion th[scope=row]").count() > 0
        page.goto("/lang/en?next=/")
        for path in main:
            _fits(page, path)
        assert page.locator("a.skip-link").get_attribute("href") == "#main"
    finally:
        context.close()
