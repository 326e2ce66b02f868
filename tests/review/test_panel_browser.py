"""In a browser: an expert opens their queue, confirms no conflict, and scores an
application on the scoring form (the form refuses an out-of-range score first)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page
from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.core.settings import Settings
from mosu.review import panels
from mosu.review.models import Blinding, ReviewScore
from tests.conftest import World
from tests.helpers.chromium import browser, page  # noqa: F401  fixtures
from tests.helpers.review_panels import CRITERIA, make_expert, ready_challenge
from tests.helpers.scenarios import actor, make_model

pytestmark = pytest.mark.browser


def test_an_expert_confirms_and_scores_on_the_page(
    db: Session, world: World, settings: Settings, request: pytest.FixtureRequest
) -> None:
    model = make_model(db, world.org_a)
    ready = ready_challenge(
        db, world, model_id=model, data_dir=settings.data_dir, blinding=Blinding.double
    )
    expert = make_expert(db, fields=("浏览器",))
    panel = panels.draw_panel(
        db, actor=actor(world, "operator"), challenge_id=ready.challenge.id, size=1
    )
    db.commit()
    tab: Page = request.getfixturevalue("page")
    tab.goto("/login?next=/review")
    tab.fill("#f-username", expert.username)
    tab.fill("#f-password", expert.password)
    tab.click("form.stack button[type=submit]")
    tab.wait_for_url(re.compile(r"/review$"))
    tab.click("#review-link")
    tab.click(f"#queue-confirm a[href='/review/panels/{panel.id}']")
    tab.click("#confirm-button")
    tab.wait_for_selector("#applications")
    assert "甲智能科技有限公司" not in tab.content()  # 双盲
    tab.click("#applications a:has-text('申报材料 A')")
    for c in CRITERIA:
        assert c["description"] in tab.locator("#score").inner_text()
        tab.fill(f"#f-score-{c['key']}", "7.5")
    tab.fill("#f-comment", "技术路线清晰，落地计划可行")
    # past the browser's own range check, to see the server's refusal
    tab.evaluate("document.querySelector('#score form').noValidate = true")
    tab.fill("#f-score-tech", "10.5")
    tab.click("#submit-score")
    assert "tech 的分值须在 0–10 之间" in tab.locator("#score").inner_text()
    tab.fill("#f-score-tech", "9")
    tab.click("#submit-score")
    tab.wait_for_url(re.compile(rf"/review/panels/{panel.id}$"))
    # 40·0.9 + 20·0.75 + 30·0.75 + 10·0.75 = 36 + 15 + 22.5 + 7.5
    assert "81.0" in tab.locator("#applications").inner_text()
    db.expire_all()
    row = db.scalars(select(ReviewScore)).one()
    assert row.total == 81.0 and row.comment == "技术路线清晰，落地计划可行"
