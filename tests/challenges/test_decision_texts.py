"""A race's decisions (cut reasons, published rules, failures, audit lines, notices) are kept
as catalogued texts and shown in each reader's language: one language, no "中文 / English"."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu import i18n
from mosu import race as races
from mosu.accounts.models import Notification
from mosu.challenges.models import CutRule, Submission, SubmissionMode, SubmissionState
from mosu.core.settings import Settings
from mosu.notifications.service import notice_text
from mosu.race.board import ShownRow
from mosu.race.handlers import failure_text
from mosu.race.rules import parse_rule, rule_text
from mosu.race.scoring import BoardRow
from tests.conftest import LiveServer, World, client_for
from tests.helpers.races import OPERATOR, Race, racing_challenge, stage_spec

CUT_ZH = "初赛：本阶段没有成功完成的提交；规则：前 1 名晋级"
CUT_EN = "初赛: no finished submission in this stage; rule: top 1 go on"
"""The stage's name is data and stays as it is; the framing around it is the reader's."""
EN = {"Accept-Language": "en"}
CJK_FRAMING = re.compile(r"[：；，（）]|规则|晋级|名")


def _english(text: str) -> None:
    assert " / " not in text and not CJK_FRAMING.search(text.replace("初赛", "")), text


def _closed(db: Session, world: World, settings: Settings) -> Race:
    """A race whose first stage closed early with no submission: both teams cut."""
    race = racing_challenge(db, world)
    stage = races.add_stage(
        db,
        actor=OPERATOR,
        challenge_id=race.challenge.id,
        spec=stage_spec("初赛", rule=CutRule.top_k, value=1, version_id=race.version.id),
    )
    races.start_race(db, actor=OPERATOR, challenge_id=race.challenge.id)
    races.close_stage(
        db, actor=OPERATOR, stage_id=stage.id, data_dir=settings.data_dir, reason="提前结束"
    )
    db.commit()
    return race


def test_a_cut_is_told_in_the_readers_language(
    db: Session, world: World, settings: Settings, live: LiveServer
) -> None:
    race = _closed(db, world, settings)
    entry = race.entries["甲队"]
    db.refresh(entry)
    assert entry.cut_reason is not None
    assert i18n.render(entry.cut_reason, "zh") == CUT_ZH
    assert i18n.render(entry.cut_reason, "en") == CUT_EN
    _english(CUT_EN)
    # the API: the request's language (Accept-Language), else Chinese; the same field names
    path = f"/challenges/{race.challenge.id}/race"
    with client_for(live, world, None) as public:
        zh, en = public.get(path).json(), public.get(path, headers=EN).json()
    assert {e["cut_reason"] for e in zh["entries"]} == {CUT_ZH}
    assert {e["cut_reason"] for e in en["entries"]} == {CUT_EN}
    assert (zh["stages"][0]["rule"], en["stages"][0]["rule"]) == ("前 1 名晋级", "top 1 go on")
    assert en["stages"][0]["scoring_rule_text"] == "ranked by quality (the primary metric)"
    # the race page, to everyone and on the team's own panel
    page = f"{live.url}{path}"
    team = {"Authorization": f"Bearer {world.tokens['supplier_a']}"}
    for lang, reason in (("zh", CUT_ZH), ("en", CUT_EN)):
        for headers in ({}, team):
            text = httpx.get(page, headers=headers, cookies={"lang": lang}, timeout=30).text
            assert re.findall(r'<td class="cut-reason">(.*?)</td>', text) == [reason] * 2
    own = httpx.get(page, headers=team, cookies={"lang": "en"}, timeout=30).text
    assert f"Cut: {CUT_EN}" in own and "已淘汰" not in own
    # the race report: the issuer's page and its JSON
    issuer = {"Authorization": f"Bearer {world.tokens['demand']}"}
    report = f"{live.url}/challenges/{race.challenge.id}/race/report"
    report_en = httpx.get(report, headers=issuer, cookies={"lang": "en"}, timeout=30).text
    assert f"<td>{CUT_EN}</td>" in report_en and "规则" not in report_en
    with client_for(live, world, "demand") as demand:
        data = demand.get(f"{path}/report", headers=EN).json()
    assert {e["cut_reason"] for e in data["entries"]} == {CUT_EN}
    assert data["stages"][0]["rule"] == "top 1 go on"
    # the team's notice, in each reader's language
    notice = db.scalars(select(Notification).where(Notification.kind == "entry_cut")).first()
    assert notice is not None
    assert notice_text(notice, "zh")[1] == CUT_ZH
    assert notice_text(notice, "en")[1] == CUT_EN


def test_the_audit_trail_keeps_the_rules_as_texts(
    db: Session, world: World, settings: Settings, live: LiveServer
) -> None:
    race = _closed(db, world, settings)
    path = f"/challenges/{race.challenge.id}/events"
    with client_for(live, world, "operator") as operator:
        zh, en = operator.get(path).json(), operator.get(path, headers=EN).json()
    added = [next(e for e in log if e["action"] == "stage_added") for log in (zh, en)]
    assert (added[0]["details"]["rule"], added[1]["details"]["rule"]) == (
        "前 1 名晋级",
        "top 1 go on",
    )
    assert added[1]["details"]["scoring"] == "ranked by quality (the primary metric)"
    assert added[0]["details"]["scoring"] == "按质量（主指标）排名"
    assert {e["actor_organisation"] for e in zh} == {"系统"}  # the tests' operator has no user
    assert {e["actor_organisation"] for e in en} == {"System"}


def test_scoring_rules_read_in_each_language() -> None:
    bounds = parse_rule(
        {
            "constraints": [
                {"metric": "latency_p95", "op": "<=", "value": 0.5},
                {"metric": "cost_per_1k", "op": "<=", "value": 0.2},
            ]
        }
    )
    assert i18n.render(rule_text(bounds), "zh") == (
        "须满足：p95 延迟 ≤ 0.5 s；每千样本成本 ≤ ¥0.2，未满足者不排名"
    )
    assert i18n.render(rule_text(bounds), "en") == (
        "must meet: p95 latency ≤ 0.5 s; cost per 1,000 samples ≤ ¥0.2; "
        "entries that miss one are not ranked"
    )
    weights = parse_rule({"weights": {"quality": 0.75, "cost": 0.25}})
    assert i18n.render(rule_text(weights), "zh").startswith("综合分 = 0.75×质量 + 0.25×成本（")
    english = i18n.render(rule_text(weights), "en")
    assert english.startswith("composite = 0.75×quality + 0.25×cost (")
    _english(english)


def test_a_failure_is_shown_in_the_readers_language(
    db: Session, world: World, settings: Settings, live: LiveServer
) -> None:
    race = racing_challenge(db, world)
    stage = races.add_stage(
        db,
        actor=OPERATOR,
        challenge_id=race.challenge.id,
        spec=stage_spec("初赛", version_id=race.version.id),
    )
    why = failure_text("stopped: HTTP 401 from the endpoint", {"HTTP 401": 1, "not run": 9})
    failed = Submission(
        stage_id=stage.id,
        entry_id=race.entries["甲队"].id,
        mode=SubmissionMode.endpoint,
        state=SubmissionState.failed,
        failure=why,
    )
    db.add(failed)
    db.commit()
    zh = "接入点返回 HTTP 401，评测已停止：HTTP 401 × 1, not run × 9"
    en = "the endpoint answered HTTP 401; the run was stopped: HTTP 401 × 1, not run × 9"
    assert (i18n.render(why, "zh"), i18n.render(why, "en")) == (zh, en)
    with client_for(live, world, "supplier_a") as team:
        assert team.get(f"/submissions/{failed.id}").json()["failure"] == zh
        assert team.get(f"/submissions/{failed.id}", headers=EN).json()["failure"] == en
    page = f"{live.url}/challenges/{race.challenge.id}/race"
    for who in ("supplier_a", "operator"):  # the team's panel; every submission (operators)
        headers = {"Authorization": f"Bearer {world.tokens[who]}"}
        text = httpx.get(page, headers=headers, cookies={"lang": "en"}, timeout=30).text
        assert f"Reason: {en}" in text and "接入点" not in text, who
        text = httpx.get(page, headers=headers, timeout=30).text
        assert f"原因：{zh}" in text and "the endpoint answered" not in text, who
    cell = httpx.get(
        f"{live.url}/submissions/{failed.id}/state",
        headers={"Authorization": f"Bearer {world.tokens['supplier_a']}"},
        cookies={"lang": "en"},
        timeout=30,
    ).text
    assert f"Reason: {en}" in cell


def test_a_board_computed_before_texts_shows_one_side_of_its_reasons() -> None:
    old = "速度未知，无法计算综合分 / speed unknown: no composite score"
    row = BoardRow.from_json(
        {
            "entry_id": 1, "entry": "乙队", "submission_id": 1, "submitted_at": "", "rank": 0,
            "score": 0.0, "low": 0.0, "high": 0.0, "metrics": {}, "errors": 0,
            "error_reasons": {}, "unparsed": 0, "by_category": {}, "confusion": None,
            "reason": old,
        }
    )  # fmt: skip
    shown = ShownRow(row, own=False, full=False)
    assert shown.to_json("zh")["reason"] == "速度未知，无法计算综合分"
    assert shown.to_json("en")["reason"] == "speed unknown: no composite score"
