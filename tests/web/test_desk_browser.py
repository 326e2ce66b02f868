"""The day of each role from the desk (工作台), in Chromium: every item leads to where it is
done, an action's message shows after its redirect, naming winners waits for a confirmation,
the results are announced on the challenge's page, and each decision's notice is delivered to
the teams and the issuer."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Page
from sqlalchemy.orm import Session

from mosu.challenges.models import ApplicationState, ChallengeState
from mosu.core.settings import Settings
from mosu.review.shortlist import confirm_shortlist
from tests.conftest import World
from tests.helpers.chromium import Community, browser, page, sign_in
from tests.helpers.review import finished_race, reviewed_challenge
from tests.helpers.scenarios import actor, make_application, make_challenge, make_model

__all__ = ["browser", "page"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


def _desk(page: Page, world: World, who: str) -> None:
    """Sign in from the login page with no destination: the desk is where it lands."""
    page.context.clear_cookies()
    sign_in(page, Community(who, world.passwords[who]), "/desk")
    page.wait_for_selector("#desk-counts")


def _notice(page: Page, world: World, who: str, title: str) -> None:
    """``who`` signs in, sees an unread count in the header, and finds the notice delivered."""
    _desk(page, world, who)
    assert int(page.inner_text("#unread-count")) >= 1
    page.click("#notifications-link")
    page.wait_for_selector("#notification-list")
    assert title in page.inner_text("#notification-list")


def _count(page: Page, key: str) -> int:
    return int(page.inner_text(f"#desk-counts [data-key={key}] .count"))


def test_the_operator_and_the_issuer_from_the_desk(
    page: Page, world: World, db: Session, settings: Settings
) -> None:
    waiting = make_challenge(db, world, title="政务热线问答揭榜")
    application = make_application(
        db, world, waiting, model_id=make_model(db, world.org_b), data_dir=settings.data_dir,
        who="supplier_b",
    )  # fmt: skip
    reviewed = reviewed_challenge(db, world, {"甲队": [(9, 8)], "乙队": [(6, 6)]})
    cid = reviewed.challenge.id
    ids = [a.id for a in reviewed.applications.values()]
    confirm_shortlist(db, actor=actor(world, "operator"), challenge_id=cid, application_ids=ids)
    with ThreadPoolExecutor(1) as thread:  # the worker's event loop in a thread of its own
        entries = thread.submit(
            finished_race, db, reviewed, settings.data_dir, {"甲队": 0, "乙队": 60}
        ).result()
    db.commit()

    # the operator's desk: the application waiting leads to its page; deciding says so
    _desk(page, world, "operator")
    assert _count(page, "applications") == 1
    page.click(f"#desk-applications a[href='/applications/{application.id}']")
    page.wait_for_url(f"**/applications/{application.id}")
    page.fill("#decide textarea", "方案完整")
    page.click("#decide button[value=approve]")
    page.wait_for_selector("#flash")
    assert page.inner_text("#flash") == "已通过该申请"
    page.click("#desk-link")
    page.wait_for_selector("#desk-counts")
    assert _count(page, "applications") == 0 and page.locator("#flash").count() == 0
    _notice(page, world, "supplier_b", "您对“政务热线问答揭榜”的揭榜申请已通过审核")
    _desk(page, world, "operator")

    # naming the winner asks first, then announces the results
    page.goto(f"/challenges/{cid}/race")
    page.check(f"#decide-form input[value='{entries['甲队'].id}']")
    page.fill("#decide-form input[name=reason]", "决赛第一，方案评分最高")
    page.click("#decide")
    page.wait_for_selector("#confirm")
    db.refresh(reviewed.challenge)
    assert reviewed.challenge.state is ChallengeState.racing  # nothing written yet
    page.click("#confirm-yes")
    page.wait_for_selector("#flash")
    assert page.inner_text("#flash") == "已确定揭榜单位"
    states = page.locator("#entries .entry-state").all_inner_texts()
    assert sorted(states) == ["揭榜成功", "未入选"]
    db.expire_all()
    assert reviewed.applications["甲队"].state is ApplicationState.won
    assert reviewed.applications["乙队"].state is ApplicationState.not_selected

    # the issuer's desk leads to its challenge, whose page shows the winner and the board
    _desk(page, world, "demand")
    page.click(f"#desk-challenges a[href='/challenges/{cid}']")
    page.wait_for_selector("#results")
    assert "甲智能科技有限公司" in page.inner_text("#winners")
    assert "决赛第一" in page.inner_text("#decision-reason")
    board = page.inner_text("#final-board")
    assert board.index("甲智能科技有限公司") < board.index("乙大模型有限公司")
    page.goto("/challenges")
    assert "甲智能科技有限公司" in page.inner_text(".winners")
    title = reviewed.challenge.title
    _notice(page, world, "demand", f"“{title}”已确定揭榜单位")
    _notice(page, world, "supplier_a", f"恭喜！“甲智能科技有限公司”在“{title}”中揭榜成功")
    _notice(page, world, "supplier_b", f"“{title}”已确定揭榜单位，“乙大模型有限公司”未获胜")


def test_the_expert_from_the_desk(page: Page, world: World, db: Session) -> None:
    reviewed = reviewed_challenge(db, world, {"甲队": [(8, 7)], "乙队": []}, closed=False)
    db.commit()
    _desk(page, world, "expert")
    assert _count(page, "review-score") == 1
    page.click("#desk-review-score .desk-items a")
    page.wait_for_url(re.compile(rf"/review/panels/{reviewed.panel.id}$"))
