"""The arena's voting page and leaderboard in Debian's Chromium: keyboard votes, a
phone-sized screen, names revealed only after the vote."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import update
from sqlalchemy.orm import Session

from mosu.arena.models import Vote
from mosu.core import clock
from tests.conftest import LiveServer, World
from tests.helpers.arena import COMPETITORS, longer_wins, make_arena, vote_many
from tests.helpers.arena_images import make_image_arena
from tests.helpers.chromium import browser  # noqa: F401 - the shared Chromium fixture

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


def _page(browser: Browser, live: LiveServer, viewport: dict[str, int]) -> Iterator[Page]:  # noqa: F811
    context = browser.new_context(base_url=live.url, viewport=viewport, locale="zh-CN")
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def desktop(browser: Browser, live: LiveServer) -> Iterator[Page]:  # noqa: F811
    yield from _page(browser, live, {"width": 1280, "height": 900})


@pytest.fixture
def phone(browser: Browser, live: LiveServer) -> Iterator[Page]:  # noqa: F811
    yield from _page(browser, live, {"width": 375, "height": 667})


def sign_in(page: Page, world: World, who: str, next_path: str) -> None:
    page.goto(f"/login?next={next_path}")
    page.fill("#f-username", who)
    page.fill("#f-password", world.passwords[who])
    page.click("form button[type=submit]")
    page.wait_for_url(f"**{next_path}")


def test_keyboard_voting_reveals_names_after_each_vote(
    desktop: Page, db: Session, world: World
) -> None:
    arena = make_arena(db, world)
    page = desktop
    sign_in(page, world, "expert", f"/arena/{arena.id}/vote")
    names = list(COMPETITORS)
    for key, expected in (
        ("1", "你选了 A"),
        ("b", "你选了 B"),
        ("3", "你选了平局"),
        ("4", "你选了都不好"),
    ):
        page.wait_for_selector("#vote-form")
        body = page.inner_text("main")
        assert not any(n in body for n in names), "names are hidden before the vote"
        page.keyboard.press(key)
        page.wait_for_selector("#reveal")
        assert expected in page.inner_text("#reveal")
        shown = {page.inner_text("#model-a"), page.inner_text("#model-b")}
        assert shown <= set(names) and len(shown) == 2
        page.keyboard.press("n")
    page.wait_for_selector("#vote-form")
    page.goto(f"/arena/{arena.id}")
    assert "已排除 1 位被标记投票者的票" in page.inner_text("main"), "a keyboard script is too fast"
    start = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    vote_many(db, world, arena, "demand", 6, longer_wins, start=start)
    page.goto(f"/arena/{arena.id}")
    page.wait_for_selector("#arena-board tbody tr")
    assert page.locator("#arena-board tbody tr").count() >= 2
    page.wait_for_selector("#chart-intervals .main-svg")
    page.wait_for_selector("#chart-heatmap .main-svg")


def test_voting_on_a_phone(phone: Page, db: Session, world: World) -> None:
    arena = make_arena(db, world)
    page = phone
    sign_in(page, world, "demand", f"/arena/{arena.id}/vote")
    page.wait_for_selector("#vote-form")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "nothing runs off the side of a phone screen"
    a = page.locator("#answer-a").bounding_box()
    b = page.locator("#answer-b").bounding_box()
    assert a is not None and b is not None and b["y"] >= a["y"] + a["height"], "answers stack"
    button = page.get_by_role("button", name="B 更好")
    box = button.bounding_box()
    assert box is not None and box["height"] >= 40 and box["x"] + box["width"] <= 375
    button.click()
    page.wait_for_selector("#reveal")
    assert "你选了 B" in page.inner_text("#reveal")


def test_an_anonymous_voter_votes_waits_and_returns(
    desktop: Page, db: Session, world: World
) -> None:
    arena = make_arena(db, world, votes_per_minute=2)
    page = desktop
    page.goto(f"/arena/{arena.id}/vote")
    page.click("#start-anonymous")
    page.wait_for_selector("#vote-form")
    assert "已收到 0 票" in page.inner_text("#vote-counter")
    page.get_by_role("button", name="A 更好").click()
    page.wait_for_selector("#reveal")
    assert "你已投 1 票" in page.inner_text("#vote-counter")
    reloaded = page.reload()
    assert reloaded is not None and reloaded.status == 200, "reloading after a vote is fine"
    assert "你选了 A" in page.inner_text("#reveal")
    page.keyboard.press("n")
    page.wait_for_selector("#vote-form")
    page.keyboard.press("2")
    page.wait_for_selector("#reveal")
    assert "已收到 2 票" in page.inner_text("#vote-counter")
    # the first vote was cast 55 seconds ago: the limit lifts in about 5 seconds
    db.execute(
        update(Vote)
        .where(Vote.guest_id.is_not(None))
        .values(created_at=clock.now() - dt.timedelta(seconds=55))
    )
    db.commit()
    page.keyboard.press("n")
    page.wait_for_selector("#vote-form")
    page.keyboard.press("3")
    page.wait_for_selector("#countdown")
    start = page.inner_text("#countdown")
    assert 2 <= int(start) <= 5
    expect(page.locator("#countdown")).to_have_text(str(int(start) - 1))
    page.wait_for_selector("#vote-form", timeout=20_000)
    assert page.url.endswith(f"/arena/{arena.id}/vote")
    page.keyboard.press("3")
    page.wait_for_selector("#reveal")
    assert "你已投 3 票" in page.inner_text("#vote-counter")
    assert "你选了平局" in page.inner_text("#reveal")


def test_the_prompt_image_shows_beside_the_answers(
    desktop: Page, db: Session, world: World
) -> None:
    """The image loads from its same-origin URL under the CSP (decoded: naturalWidth > 0),
    beside the two answers on a wide screen, scaled to the width on a phone."""
    arena = make_image_arena(db, world, text_prompt=False)
    page = desktop
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"/arena/{arena.id}/vote")
    page.click("#start-anonymous")
    page.wait_for_selector("#vote-form")
    loaded = (
        "() => { const i = document.querySelector('#prompt-image img');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    page.wait_for_function(loaded)
    assert errors == [], "no CSP violation, no failed load"
    image = page.locator("#prompt-image").bounding_box()
    a = page.locator("#answer-a").bounding_box()
    b = page.locator("#answer-b").bounding_box()
    assert image is not None and a is not None and b is not None
    assert image["x"] + image["width"] <= a["x"] < b["x"], "image, then answer A, then B"
    assert abs(image["y"] - a["y"]) < 2 and abs(a["y"] - b["y"]) < 2, "side by side"
    page.set_viewport_size({"width": 375, "height": 667})
    page.reload()
    page.wait_for_function(loaded)
    natural = page.evaluate("document.querySelector('#prompt-image img').naturalWidth")
    shown = page.locator("#prompt-image img").bounding_box()
    assert shown is not None and natural in (480, 400), "both images are wider than a phone"
    assert shown["width"] < 375 and shown["width"] < natural, "scaled down to the width"
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "nothing runs off the side of a phone screen"
    a = page.locator("#answer-a").bounding_box()
    assert a is not None and a["y"] >= shown["y"] + shown["height"], "the answers follow it"
