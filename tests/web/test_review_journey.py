"""专家评审 end to end in Chromium: the operator draws a double-blind panel on the challenge's
panel page; each of the five drawn experts confirms no conflict from their queue and scores
every approved application (blind to the applicants, and never shown another expert's
comment); the operator closes the panel, reads the results (the dropped extremes, W and
ICC), confirms the proposed shortlist; the race runs; the decision page shows each entry's
parts and the operator names the rule's winner; the challenge page says 揭榜成功 and its
audit log holds every step."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Page
from sqlalchemy.orm import Session

from mosu.accounts.service import create_user
from mosu.challenges import applications as apply_service
from mosu.challenges import catalogue, decisions
from mosu.challenges.models import Application, ChallengeState
from mosu.challenges.schemas import ApplicationIn
from mosu.core.settings import Settings
from mosu.permissions import Actor, Role
from mosu.review import panels
from mosu.review.models import Blinding, ExpertProfile, Rubric
from mosu.review.rubric import set_rubric
from mosu.review.schemas import RubricIn
from tests.conftest import World, make_org
from tests.helpers.chromium import browser, page  # noqa: F401  fixtures
from tests.helpers.review import CRITERIA, Reviewed, finished_race
from tests.helpers.scenarios import actor, make_application, make_challenge, make_model

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

FIELD = "政务服务"
SEED = 20261205
# (技术方案, 报价合理性) of each of the five experts, in the order they are drawn; totals
# 甲 80 80 90 70 100 → 83.33, 乙 70 60 70 80 50 → 66.67, 丙 60 50 60 90 40 → 56.67 once the
# highest and the lowest are dropped
SCORES = {
    "甲队": [(8, 8), (8, 8), (9, 9), (7, 7), (10, 10)],
    "乙队": [(7, 7), (6, 6), (7, 7), (8, 8), (5, 5)],
    "丙队": [(6, 6), (5, 5), (6, 6), (9, 9), (4, 4)],
}
LEADS = {"甲队": "甲智能科技有限公司", "乙队": "乙大模型有限公司", "丙队": "丙队科技有限公司"}
MASKED = (*LEADS.values(), "测试模型")  # 双盲: no applicant and no model name (测试模型N)
RULE = {"review_weight": 0.5, "race_weight": 0.5, "normalise": "scale", "ties": "review"}


def _expert(db: Session, username: str, field: str, affiliation: int | None = None) -> int:
    user = create_user(db, username=username, password=f"pw-{username}-123", role=Role.expert)
    db.add(ExpertProfile(user_id=user.id, fields=[field], affiliation_id=affiliation))
    return user.id


def _sign_in(tab: Page, username: str, password: str, next_path: str) -> None:
    tab.context.clear_cookies()
    tab.goto(f"/login?next={next_path}")
    tab.fill("#f-username", username)
    tab.fill("#f-password", password)
    tab.click("form.stack button[type=submit]")
    tab.wait_for_url(re.compile(re.escape(next_path) + "$"))


def _challenge(db: Session, world: World, settings: Settings) -> dict[str, Application]:
    """A challenge published with its double-blind rubric and combined rule, one approved
    application per team, applications closed (入围评审)."""
    operator = actor(world, "operator")
    challenge = make_challenge(
        db, world, publish=False, shortlist_places=2, winner_places=1, title="热线分拨专家评审揭榜"
    )
    data = RubricIn.model_validate(
        {"criteria": CRITERIA, "blinding": Blinding.double, "combined": RULE}
    )
    set_rubric(db, actor=operator, challenge_id=challenge.id, data=data)
    catalogue.publish(db, actor=operator, challenge_id=challenge.id)
    db.commit()
    org_c = make_org(db, 31, LEADS["丙队"])
    db.commit()
    applications = {
        "甲队": make_application(
            db,
            world,
            challenge,
            model_id=make_model(db, world.org_a),
            data_dir=settings.data_dir,
            proposal="甲方案：规则与大模型结合分拨",
        ),
        "乙队": make_application(
            db,
            world,
            challenge,
            who="supplier_b",
            model_id=make_model(db, world.org_b),
            data_dir=settings.data_dir,
            proposal="乙方案：微调分类模型",
        ),
    }
    model_c = make_model(db, org_c)
    applications["丙队"] = apply_service.apply(
        db,
        actor=Actor(user_id=None, role=Role.supplier, organisation_id=org_c, username="丙队"),
        challenge_id=challenge.id,
        data=ApplicationIn(proposal="丙方案：检索增强分拨", model_ids=[model_c]),
        proposal_file=None,
        data_dir=settings.data_dir,
        max_bytes=1024 * 1024,
    )
    for application in applications.values():
        decisions.decide_application(
            db, actor=operator, application_id=application.id, approve=True
        )
    catalogue.transition_challenge(
        db, actor=operator, challenge_id=challenge.id, name="close_applications"
    )
    db.commit()
    return applications


def test_panel_to_combined_decision_in_a_browser(
    db: Session, world: World, settings: Settings, request: pytest.FixtureRequest
) -> None:
    apps = _challenge(db, world, settings)
    challenge = next(iter(apps.values())).challenge
    cid = challenge.id
    pool = [_expert(db, f"jexp{n}", FIELD) for n in range(1, 6)]
    conflicted = _expert(db, "jexp-b", FIELD, affiliation=world.org_b)  # 乙's own
    _expert(db, "jexp-med", "医疗卫生")  # another field
    db.commit()

    tab: Page = request.getfixturevalue("page")
    operator_password = world.passwords["operator"]
    _sign_in(tab, "operator", operator_password, f"/challenges/{cid}")
    tab.click("#panel-link")
    tab.fill("#f-size", "5")
    tab.fill("#f-field", FIELD)
    tab.fill("#f-seed", str(SEED))
    tab.click("#draw-button")
    tab.wait_for_selector("#draw-record")
    assert str(SEED) in tab.locator("#panel-seed").inner_text()
    assert str(conflicted) in tab.locator("#panel-excluded").inner_text()
    assert tab.locator("#members tbody tr").count() == 5

    db.expire_all()
    panel = panels.panel_of(db, cid)
    assert panel is not None
    drawn = [m.expert_id for m in sorted(panel.members, key=lambda m: m.position)]
    assert sorted(drawn) == sorted(pool)
    names = {uid: f"jexp{pool.index(uid) + 1}" for uid in pool}

    comments: list[str] = []
    for k, expert_id in enumerate(drawn):
        username = names[expert_id]
        _sign_in(tab, username, f"pw-{username}-123", "/review")
        tab.click(f"#queue-confirm a[href='/review/panels/{panel.id}']")
        tab.click("#confirm-button")
        tab.wait_for_selector("#applications")
        for team, application in apps.items():
            seat = tab.content()
            assert not any(name in seat for name in MASKED)
            assert not any(c in seat for c in comments)
            tab.click(
                f"#applications a[href='/review/panels/{panel.id}/applications/{application.id}']"
            )
            form = tab.content()
            assert not any(name in form for name in MASKED)
            assert not any(c in form for c in comments)
            tech, price = SCORES[team][k]
            tab.fill("#f-score-tech", str(tech))
            tab.fill("#f-score-price", str(price))
            comment = f"{username}评{team}：论证充分"
            tab.fill("#f-comment", comment)
            tab.click("#submit-score")
            tab.wait_for_url(re.compile(rf"/review/panels/{panel.id}$"))
            comments.append(comment)
        tab.goto(f"/challenges/{cid}/panel-results")  # no scores before the panel closes
        shown = tab.content()
        assert not any(c in shown for c in comments)
        assert tab.locator("#results-table").count() == 0

    _sign_in(tab, "operator", operator_password, f"/challenges/{cid}/panel")
    assert tab.locator("#members tbody tr td:has-text('3 / 3')").count() == 5
    tab.click("#close-panel")
    tab.wait_for_selector("#panel-state:has-text('已结束')")

    tab.goto(f"/challenges/{cid}")
    tab.click("#panel-results-link")
    tab.wait_for_url(f"**/challenges/{cid}/panel-results")
    assert tab.locator("#results-table del.dropped").count() == 6  # 2 of 5 totals, 3 teams
    for team, score in (("甲队", "83.33"), ("乙队", "66.67"), ("丙队", "56.67")):
        row = tab.locator(f"tr.application-{apps[team].id} .panel-score")
        assert row.inner_text() == score
    assert tab.locator("#kendall-w").count() == 1 and tab.locator("#icc").count() == 1
    assert "Kendall's W" in tab.locator("#agreement").inner_text()

    tab.click(f"a[href='/challenges/{cid}/shortlist']")
    tab.wait_for_url(f"**/challenges/{cid}/shortlist")
    proposed = tab.locator("#proposed li")
    assert proposed.count() == 2
    assert "83.33" in proposed.nth(0).inner_text() and "66.67" in proposed.nth(1).inner_text()
    tab.click("#confirm-shortlist")
    tab.wait_for_selector("#confirmed")

    db.expire_all()
    rubric = db.get(Rubric, cid)
    assert rubric is not None
    reviewed = Reviewed(challenge, rubric, panel, applications=apps)
    with ThreadPoolExecutor(1) as thread:  # the worker's event loop in a thread of its own
        entries = thread.submit(
            finished_race, db, reviewed, settings.data_dir, {"甲队": 150, "乙队": 0}
        ).result()
    db.commit()
    assert set(entries) == {"甲队", "乙队"}

    tab.goto(f"/challenges/{cid}")
    tab.click("#decision-link")
    tab.wait_for_url(f"**/challenges/{cid}/decision")
    assert tab.locator("#combined-table tbody tr").count() == 2
    winner = entries["乙队"].id  # 0.5 × 66.67 + 0.5 × 100 beats 甲's half-wrong race
    cells = tab.locator(f"#entry-{winner} td.num").all_inner_texts()
    # place, panel score, race score, review part, race part, combined
    assert cells == ["1", "66.67", "1.0000", "66.67", "100.00", "83.33"]
    runner_up = tab.locator(f"#entry-{entries['甲队'].id} td.num").all_inner_texts()
    assert runner_up[0] == "2" and runner_up[1] == "83.33"
    assert float(runner_up[5]) < 83.33
    assert tab.locator(f"#entry-{winner}").get_attribute("class") == "rule-winner"
    assert tab.locator(f"input[name=entry_id][value='{winner}']").is_checked()
    tab.click("#decide-combined")
    tab.click("#confirm-yes")  # the confirmation step
    tab.wait_for_selector(f"#entry-{winner} .badge")

    tab.goto(f"/challenges/{cid}")
    assert "揭榜成功" in tab.locator("#challenge-state").inner_text()
    log = tab.locator("#audit-log").inner_text()
    for line in (
        "发布评审细则",
        "抽取评审专家组",
        "结束专家评审",
        "确认专家组建议的入围名单",
        "按综合评分规则确定揭榜单位",
    ):
        assert line in log, line
    db.expire_all()
    assert challenge.state is ChallengeState.decided
