"""The operator's way through a closed panel in a browser: the results with the dropped
extremes struck through, a shortlist that departs from the proposal (refused until a reason
is given), then after the race the combined decision page naming the rule's winner."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Page
from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.challenges.models import ChallengeEvent, ChallengeState
from mosu.core.settings import Settings
from tests.conftest import World
from tests.helpers.chromium import browser, page  # noqa: F401  fixtures
from tests.helpers.review import finished_race, reviewed_challenge

pytestmark = pytest.mark.browser

SCORES = {
    "甲队": [(8, 8), (8, 8), (8, 8), (8, 8), (10, 10)],
    "乙队": [(7, 7)] * 5,
    "丙队": [(7, 7)] * 5,
}
RULE = {"review_weight": 0.5, "race_weight": 0.5, "normalise": "scale", "ties": "review"}


def test_shortlist_then_combined_decision(
    db: Session, world: World, settings: Settings, request: pytest.FixtureRequest
) -> None:
    reviewed = reviewed_challenge(db, world, SCORES, combined=RULE, shortlist_places=2)
    db.commit()
    cid = reviewed.challenge.id
    apps = reviewed.applications
    tab: Page = request.getfixturevalue("page")
    tab.goto("/login?next=/challenges/" + str(cid))
    tab.fill("#f-username", "operator")
    tab.fill("#f-password", world.passwords["operator"])
    tab.click("form.stack button[type=submit]")
    tab.wait_for_url(f"**/challenges/{cid}")
    tab.click("#panel-results-link")
    tab.locator("#results-table del.dropped").first.wait_for()  # count() does not wait
    # each application drops one highest and one lowest of its five totals
    assert tab.locator("#results-table del.dropped").count() == 6
    assert "80.00" in tab.locator(f"tr.application-{apps['甲队'].id} .panel-score").inner_text()
    assert "Kendall's W" in tab.locator("#agreement").inner_text()

    tab.goto(f"/challenges/{cid}/shortlist")
    assert tab.locator("#proposed li").count() == 2
    tab.uncheck(f"input[name=application_id][value='{apps['乙队'].id}']")
    tab.check(f"input[name=application_id][value='{apps['丙队'].id}']")
    tab.click("#confirm-shortlist")
    assert "须说明理由" in tab.locator("#shortlist-form .field-error").inner_text()
    assert tab.locator("#confirmed").count() == 0
    tab.fill("textarea[name=reason]", "乙队联合体协议未盖章，按细则不予入围")
    tab.click("#confirm-shortlist")
    tab.wait_for_selector("#confirmed")

    db.expire_all()
    with ThreadPoolExecutor(1) as thread:  # the worker's event loop in a thread of its own
        entries = thread.submit(
            finished_race, db, reviewed, settings.data_dir, {"甲队": 150, "丙队": 0}
        ).result()
    db.commit()
    tab.goto(f"/challenges/{cid}/race")  # the rule names the winners: no plain decide form
    assert tab.locator("#decide-form").count() == 0
    tab.click("#decision-link")
    tab.wait_for_url(f"**/challenges/{cid}/decision")
    rows = tab.locator("#combined-table tbody tr")
    assert rows.count() == 2
    winner = entries["丙队"].id  # 0.5 × 70 + 0.5 × 100 beats 甲's 80 with half its answers wrong
    assert tab.locator(f"#entry-{winner}").get_attribute("class") == "rule-winner"
    assert tab.locator(f"input[name=entry_id][value='{winner}']").is_checked()
    tab.click("#decide-combined")
    tab.click("#confirm-yes")  # the confirmation step
    tab.wait_for_selector(f"#entry-{winner} .badge")
    db.expire_all()
    assert reviewed.challenge.state is ChallengeState.decided
    actions = db.scalars(
        select(ChallengeEvent.action).where(ChallengeEvent.challenge_id == cid)
    ).all()
    assert "shortlist_departed" in actions and "combined_decided" in actions
