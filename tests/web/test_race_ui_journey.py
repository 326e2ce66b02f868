"""The supplier's day in Chromium: register an endpoint and test it, apply; the operator
shortlists in bulk, builds a stage with the form (previewing its prompt on a dev row), adds
a baseline and starts the race; the supplier submits, watches it run and reads its score,
and its endpoint's health on the account page."""

from __future__ import annotations

import datetime as dt
import re

from playwright.sync_api import Page
from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.challenges.models import ChallengeState, Submission, SubmissionState
from mosu.jobs.worker import WorkerPool
from tests.conftest import World
from tests.helpers.chromium import browser, page, settled
from tests.helpers.races import (
    TASK,
    answer_key,
    fake_endpoints,
    hotline_version,
    shortlisting_challenge,
)
from tests.helpers.scenarios import make_model
from tests.web.test_journey import _apply, _as, pytestmark, worker

__all__ = ["browser", "page", "pytestmark", "worker"]


def _wait_for(page: Page, selector: str, text: str, timeout: float = 15_000) -> None:
    page.wait_for_function(
        "([s, t]) => document.querySelector(s)?.innerText.includes(t)",
        arg=[selector, text],
        timeout=timeout,
    )


def test_a_supplier_races_from_the_ui(
    page: Page,
    db: Session,
    world: World,
    worker: WorkerPool,
) -> None:
    version = hotline_version(db)
    model = make_model(db, world.org_a, filed=True)
    challenge = shortlisting_challenge(
        db, world, title="热线分拨赛马", shortlist_places=3, winner_places=1
    )
    challenge.state = ChallengeState.open
    db.commit()
    path = f"/challenges/{challenge.id}"
    with fake_endpoints(answer_key(db, version), list(version.label_set)) as url:
        # the supplier registers its endpoint and tests it: one call, status and answer
        _as(page, world, "supplier_a", "/account")
        page.fill("#f-name", "甲的接入点")
        page.fill("#f-base_url", url)
        page.fill("#f-model_name", "strong")
        page.click("#endpoints form.grid-form button[type=submit]")
        page.click("#endpoints .test-endpoint")
        _wait_for(page, "#endpoints .endpoint-check", "HTTP 200")
        assert page.locator("#endpoints .check-answer").inner_text().strip()
        application = _apply(page, path, model, "甲的热线分拨方案")

        # the operator approves, closes applications and shortlists in bulk
        _as(page, world, "operator", application)
        page.fill("#decide textarea", "方案完整")
        page.click("#decide button[value=approve]")
        _wait_for(page, "#application-state", "审核通过")
        page.goto(path)
        page.click("#lifecycle button[value=close_applications]")
        _wait_for(page, "#challenge-state", "入围评审")
        page.check("#shortlist-selected input[name=application_id]")
        page.click("#shortlist-selected-button")
        _wait_for(page, "#shortlisted", "甲")

        # the operator builds the stage with the form, previewing the prompt on a dev row
        page.goto(path + "/race")
        page.click("#add-stage summary")
        now = dt.datetime.now(dt.timezone(dt.timedelta(hours=8)))
        page.fill("#add-stage input[name=name]", "初赛")
        page.fill("#add-stage input[name=opens_at]", now.strftime("%Y-%m-%dT%H:%M"))
        page.fill(
            "#add-stage input[name=closes_at]",
            (now + dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
        )
        page.fill("#add-stage input[name=cut_value]", "1")
        page.fill("#add-stage textarea[name=template]", TASK["prompt"]["template"])
        page.click("#preview-stage")
        _wait_for(page, "#stage-preview", "工单编号：")
        assert "开发集" in page.inner_text("#stage-preview")
        settled(page)
        page.click("#add-stage-button")
        page.wait_for_selector("#stage-1")
        page.click("#add-baseline summary")
        page.fill("#add-baseline input[name=name]", "多数类基线")
        page.click("#add-baseline button[type=submit]")
        page.wait_for_selector("#entries >> text=多数类基线")
        page.click("#start-race")
        _wait_for(page, "#challenge-state", "赛马")

        # the supplier submits its endpoint and watches it run to a score
        _as(page, world, "supplier_a", path + "/race")
        page.click(".my-entry .submit-form button[type=submit]")
        page.wait_for_selector(".my-entry .submission-state")
        _wait_for(page, ".my-entry .submission-state", "已完成", timeout=60_000)
        page.reload()
        score = page.locator(".my-entry .public-score").first.inner_text()
        assert re.fullmatch(r"\d+\.\d\d", score), score
    db.expire_all()
    runs = db.scalars(select(Submission).order_by(Submission.id)).all()
    assert len(runs) == 2 and runs[0].entry.baseline == "baseline:majority"  # at the start
    assert runs[1].state is SubmissionState.succeeded and runs[1].public_score is not None

    # its endpoint's health: the last submission's outcome
    page.goto("/account")
    assert "已完成" in page.inner_text("#endpoints .endpoint-health")

    # each decision on the way reached the team as a notice
    page.click("#notifications-link")
    notices = page.inner_text("#notification-list")
    for title in ("揭榜申请已通过审核", "揭榜申请已入围赛马", "“热线分拨赛马”的赛马已开始"):
        assert title in notices, (title, notices)
