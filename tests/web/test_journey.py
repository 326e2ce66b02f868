"""The whole 揭榜挂帅 journey in Chromium: a scenario becomes a published challenge, two
suppliers apply (one as a consortium), the operator shortlists, the race runs against fake
endpoints (one failing a share of calls), the stage cuts an entry, the final leaderboard
appears and the operator names the winner."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page
from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.challenges.models import Challenge, ChallengeState, Entry, EntryState, Submission
from mosu.core.settings import Settings
from mosu.jobs.worker import WorkerPool
from mosu.startup import run_in_thread
from tests.conftest import World
from tests.helpers.chromium import Community, browser, page, settled, sign_in
from tests.helpers.races import answer_key, endpoint, fake_endpoints, hotline_version
from tests.helpers.scenarios import PDF, make_model, make_scenario

__all__ = ["browser", "page"]
pytestmark = [
    pytest.mark.loopback_endpoints,
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

TASK_YAML = """\
prompt:
  system: 判断市民留言应由哪个部门受理，只回答部门名称。
  template: |-
    工单编号：{{ 编号 }}
    标题：{{ 标题 }}
    内容：{{ 内容 }}
parser: label
scorers: [accuracy, macro_f1]
"""


@pytest.fixture
def worker(settings: Settings) -> Iterator[WorkerPool]:
    pool = run_in_thread(settings)
    yield pool
    pool.stop()


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def _as(page: Page, world: World, who: str, path: str) -> None:
    page.context.clear_cookies()
    sign_in(page, Community(who, world.passwords[who]), path)


def _apply(page: Page, challenge_path: str, model: int, proposal: str, member: str = "") -> str:
    page.goto(challenge_path + "/apply")
    page.wait_for_selector("#apply-form")
    if member:
        page.select_option("#f-member-0", label=member)
    page.wait_for_selector(f"#models-field input[value='{model}']")
    settled(page)
    page.check(f"#models-field input[value='{model}']")
    page.fill("#f-proposal", proposal)
    page.set_input_files(
        "#f-proposal_file",
        files=[{"name": "方案.pdf", "mimeType": "application/pdf", "buffer": PDF}],
    )
    page.click("#apply-form button[type=submit]")
    page.wait_for_selector("#proposal")
    return _path(page.url)


def test_scenario_to_award_in_a_browser(
    page: Page, db: Session, world: World, worker: WorkerPool
) -> None:
    version = hotline_version(db)
    answers = answer_key(db, version)
    labels = list(version.label_set)
    scenario = make_scenario(db, world)
    model_a = make_model(db, world.org_a, filed=True)
    model_b = make_model(db, world.org_b, filed=True)
    db.commit()
    with (
        fake_endpoints(answers, labels) as clean,
        fake_endpoints(answers, labels, faults={"rate_limit": 0.1, "server_error": 0.1}) as flaky,
    ):
        endpoint(db, world.org_a, clean, "strong")
        endpoint(db, world.org_b, flaky, "weak")
        db.commit()

        # the operator publishes a challenge from the scenario
        _as(page, world, "operator", f"/scenarios/{scenario.id}")
        page.click("#publish-challenge")
        page.wait_for_selector("#challenge-form")
        page.select_option("#f-kind", "government")
        page.fill("#f-title", "热线工单分拨揭榜挂帅")
        page.fill("#f-shortlist_places", "2")
        page.click("#challenge-form button[type=submit]")
        page.wait_for_selector("#lifecycle")
        page.click("#lifecycle button[value=publish]")
        page.click("#confirm-yes")  # the confirmation step
        page.wait_for_function(
            "() => document.querySelector('#challenge-state')?.innerText.includes('待揭榜')"
        )
        challenge = _path(page.url)

        # supplier_a applies leading a consortium with org_b; supplier_b applies alone
        _as(page, world, "supplier_a", challenge)
        consortium = _apply(page, challenge, model_a, "甲乙联合体方案", member="乙大模型有限公司")
        _as(page, world, "supplier_b", challenge)
        alone = _apply(page, challenge, model_b, "乙单独揭榜方案")

        # the operator approves both, closes applications and shortlists both
        _as(page, world, "operator", consortium)
        for application in (consortium, alone):
            page.goto(application)
            page.fill("#decide textarea", "方案完整")
            page.click("#decide button[value=approve]")
            page.wait_for_function(
                "() => document.querySelector('#application-state')?.innerText.includes('审核通过')"
            )
        page.goto(challenge)
        page.click("#lifecycle button[value=close_applications]")
        page.wait_for_function(
            "() => document.querySelector('#challenge-state')?.innerText.includes('入围评审')"
        )
        for application in (consortium, alone):
            page.goto(application)
            page.click("#shortlist button")
            page.wait_for_function(
                "() => document.querySelector('#application-state')?.innerText.includes('入围')"
            )

        # the operator sets up a stage on the race page and starts the race
        page.goto(challenge + "/race")
        page.click("#add-stage summary")
        now = dt.datetime.now(dt.timezone(dt.timedelta(hours=8)))
        # ten minutes ago, but not before today began in Beijing: the challenge's window
        # starts today, and a stage opening yesterday is refused (as it was just after midnight)
        opens = max(now - dt.timedelta(minutes=10), now.replace(hour=0, minute=0))
        page.fill("#add-stage input[name=name]", "初赛")
        page.select_option("#add-stage select[name=mode]", "endpoint")
        page.fill("#add-stage input[name=opens_at]", opens.strftime("%Y-%m-%dT%H:%M"))
        page.fill(
            "#add-stage input[name=closes_at]",
            (now + dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
        )
        page.select_option("#add-stage select[name=cut_rule]", "top_k")
        page.fill("#add-stage input[name=cut_value]", "1")
        page.click("#add-stage details.advanced summary")  # the YAML path
        page.fill("#add-stage textarea[name=task]", TASK_YAML)
        page.click("#add-stage button[type=submit]")
        page.wait_for_selector("#stage-1")
        page.click("#start-race")
        page.wait_for_function(
            "() => document.querySelector('#challenge-state')?.innerText.includes('赛马')"
        )

        # each team submits its endpoint and watches the state change live
        for who in ("supplier_a", "supplier_b"):
            _as(page, world, who, challenge + "/race")
            page.click(".my-entry .submit-form button[type=submit]")
            page.wait_for_selector(".submission-state")
        page.wait_for_function(
            "() => document.querySelector('.submission-state')?.innerText.includes('已完成')",
            timeout=60_000,
        )
        # org_b is in both teams: supplier_b sees both submissions finish
        page.wait_for_function(
            "() => [...document.querySelectorAll('.submission-state')].length == 2 && "
            "[...document.querySelectorAll('.submission-state')].every("
            "e => e.innerText.includes('已完成'))",
            timeout=60_000,
        )
        page.reload()
        public_board = page.inner_text("#public-1")
        assert "甲智能科技有限公司" in public_board and "乙大模型有限公司" in public_board

        # the operator closes the stage: the final board appears, 乙 is cut
        _as(page, world, "operator", challenge + "/race")
        page.fill(".close-stage input[name=reason]", "旅程测试提前结算")
        page.click(".close-stage button")
        page.click("#confirm-yes")  # the confirmation step
        page.wait_for_selector("#final-1")
        final = page.inner_text("#final-1")
        assert final.index("甲智能科技有限公司") < final.index("乙大模型有限公司")
        assert "已淘汰" in page.inner_text("#entries")

        # the operator names the winner
        page.check("#decide-form input[type=checkbox]")
        page.fill("#decide-form input[name=reason]", "初赛第一")
        page.click("#decide")
        page.click("#confirm-yes")  # the confirmation step
        page.wait_for_function(
            "() => document.querySelector('#challenge-state')?.innerText.includes('揭榜成功')"
        )

    # supplier_b reads why it was cut; the flaky endpoint's errors were counted
    _as(page, world, "supplier_b", challenge + "/race")
    assert "前 1 名晋级" in page.inner_text(
        ".my-entry", timeout=5000
    ) or "前 1 名晋级" in page.inner_text("#entries")
    db.expire_all()
    won = db.scalars(select(Entry).where(Entry.state == EntryState.winner)).one()
    assert won.name == "甲智能科技有限公司"
    record = db.scalars(select(Challenge)).one()
    assert record.state is ChallengeState.decided
    flaky_run = db.scalars(select(Submission).where(Submission.entry_id != won.id)).one()
    assert flaky_run.state.value == "succeeded"
