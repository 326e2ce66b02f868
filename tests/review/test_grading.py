"""Experts grade a seeded, blind sample of a closed generative stage's answers; the judge
model's agreement with them is reported and flagged (numbers checked against scikit-learn
on a hand-made example); experts see neither the entries nor the judge's grades."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sklearn.metrics import cohen_kappa_score
from sqlalchemy.orm import Session

from mosu.core.errors import Conflict, Invalid, NotFound
from mosu.core.settings import Settings
from mosu.permissions import Actor, Role
from mosu.review import grading
from mosu.review.grading import GradingRoundIn
from mosu.review.grading_results import round_results
from mosu.review.models import GradingRound, MemberState, Panel, PanelMember
from tests.conftest import LiveServer, World, api_client, client_for
from tests.helpers.grading import GradedStage, experts, graded_stage, open_round
from tests.helpers.races import OPERATOR, TASK
from tests.helpers.signin import signed_in


def _open(
    db: Session, settings: Settings, graded: GradedStage, ids: list[int], **fields: object
) -> GradingRound:
    data = GradingRoundIn.model_validate(
        {"mode": "rubric", "sample_size": 4, "experts": ids} | fields
    )
    round_ = grading.open_round(
        db, actor=OPERATOR, stage_id=graded.stage.id, data=data, data_dir=settings.data_dir
    )
    db.commit()
    return round_


def _drawn(round_: GradingRound) -> list[tuple[str, str, int, int | None]]:
    return [(i.code, i.sample_id, i.submission_id, i.other_submission_id) for i in round_.items]


def test_sample_is_reproducible_by_seed_and_blind(
    db: Session, world: World, settings: Settings
) -> None:
    graded = graded_stage(db, world, settings.data_dir)
    ids = [e.id for e in experts(db, 2)]
    first = _open(db, settings, graded, ids, seed=7)
    again = _open(db, settings, graded, ids, seed=7)
    other = _open(db, settings, graded, ids, seed=8)
    assert _drawn(first) == _drawn(again)
    assert {i.sample_id for i in other.items} != {i.sample_id for i in first.items}
    assert first.sample_size == 4 and len(first.items) == 8  # each sample: both entries
    samples = {i.sample_id for i in first.items}
    assert len(samples) == 4 and samples <= set(graded.test_ids)
    for sample in samples:
        assert len({i.submission_id for i in first.items if i.sample_id == sample}) == 2
    codes = [i.code for i in first.items]
    assert len(set(codes)) == len(codes) and all(len(c) == 6 and c.isalnum() for c in codes)
    assert first.criteria[0]["key"] == "overall" and first.scale == 10  # the judge's
    pairs = _open(db, settings, graded, ids, seed=7, mode="pairwise")
    assert len(pairs.items) == 4 and all(i.other_submission_id for i in pairs.items)
    assert _drawn(pairs) == _drawn(_open(db, settings, graded, ids, seed=7, mode="pairwise"))


def test_refuses_open_and_non_generative_stages_and_non_experts(
    db: Session, world: World, settings: Settings
) -> None:
    ids = [e.id for e in experts(db, 1)]
    classifying = graded_stage(db, world, settings.data_dir, task=TASK)
    with pytest.raises(Invalid, match="生成类"):
        _open(db, settings, classifying, ids)
    running = graded_stage(db, world, settings.data_dir, close=False)
    with pytest.raises(Conflict):
        _open(db, settings, running, ids)


def test_refuses_a_round_without_experts(db: Session, world: World, settings: Settings) -> None:
    graded = graded_stage(db, world, settings.data_dir)
    with pytest.raises(Invalid, match="不是专家"):
        _open(db, settings, graded, [world.user_ids["supplier_a"]])
    with pytest.raises(Invalid, match="已确认"):
        _open(db, settings, graded, [])  # no panel on this challenge


def _judge_grades(db: Session, graded: GradedStage, round_: GradingRound) -> dict[int, int]:
    """What the test judge gave each item: 甲队 answers exactly (10); 乙队 exactly, wordily
    (5) or wrongly (1) by the sample's place in the test split."""
    out = {}
    for item in round_.items:
        exact = item.submission.entry_id == graded.race.entries["甲队"].id
        out[item.id] = 10 if exact else (10, 5, 1)[graded.test_ids.index(item.sample_id) % 3]
    return out


def test_rubric_agreement_and_flag_by_hand(db: Session, world: World, settings: Settings) -> None:
    graded = graded_stage(db, world, settings.data_dir)
    people = experts(db, 2)
    round_ = _open(db, settings, graded, [e.id for e in people], seed=3, sample_size=6)
    judge = _judge_grades(db, graded, round_)
    # expert1 agrees with the judge, expert2 gives one less: the means (x − 0.5) round up to x
    for item in round_.items:
        grading.grade(
            db, actor=people[0].actor, item_id=item.id, scores={"overall": judge[item.id]}
        )
        low = max(judge[item.id] - 1, 0)
        grading.grade(
            db, actor=people[1].actor, item_id=item.id, scores={"overall": low}, comment="略"
        )
    db.commit()
    results = round_results(db, round_, settings.data_dir)
    (found,) = results.criteria_agreement
    assert found.n == len(round_.items) and found.kappa == pytest.approx(1.0)
    assert not found.flagged and not results.flagged
    by_entry = {e.entry: e for e in results.entries}
    jia = by_entry["甲队"]
    assert jia.expert_mean == pytest.approx(9.5) and jia.grades == 12
    assert jia.auto_score == pytest.approx(1.0)  # ROUGE-L of exact answers
    # a second round where the experts turn the judge's grades upside down
    other = _open(db, settings, graded, [e.id for e in people], seed=4, sample_size=6)
    judge = _judge_grades(db, graded, other)
    experts_said = {}
    for item in other.items:
        a, b = 10 - judge[item.id], min(10 - judge[item.id] + 1, 10)
        experts_said[item.id] = (a, b)
        grading.grade(db, actor=people[0].actor, item_id=item.id, scores={"overall": a})
        grading.grade(db, actor=people[1].actor, item_id=item.id, scores={"overall": b})
    grading.close_round(db, actor=OPERATOR, round_id=other.id, data_dir=settings.data_dir)
    db.commit()
    results = round_results(db, other, settings.data_dir)
    (found,) = results.criteria_agreement
    order = sorted(other.items, key=lambda i: i.id)
    ours = [judge[i.id] for i in order]
    theirs = [min(int((sum(experts_said[i.id]) / 2) + 0.5), 10) for i in order]
    assert found.kappa == pytest.approx(
        cohen_kappa_score(ours, theirs, labels=list(range(11)), weights="quadratic")
    )
    assert found.kappa is not None and found.kappa < 0.4
    assert found.flagged and results.flagged and results.state == "closed"
    with pytest.raises(Conflict):
        grading.grade(db, actor=people[0].actor, item_id=order[0].id, scores={"overall": 5})


def test_pairwise_agreement_by_hand(db: Session, world: World, settings: Settings) -> None:
    graded = graded_stage(db, world, settings.data_dir)
    people = experts(db, 3)
    round_ = _open(
        db,
        settings,
        graded,
        [e.id for e in people],
        seed=5,
        mode="pairwise",
        sample_size=9,
        min_agreement=0.9,
    )
    jia = graded.race.entries["甲队"].id
    expected_judge, expected_experts = [], []
    for item in sorted(round_.items, key=lambda i: i.id):
        assert item.other_submission is not None
        a_is_jia = item.submission.entry_id == jia
        other_grade = (10, 5, 1)[graded.test_ids.index(item.sample_id) % 3]
        ga, gb = (10, other_grade) if a_is_jia else (other_grade, 10)
        expected_judge.append("tie" if ga == gb else "a" if ga > gb else "b")
        # two experts always prefer 甲队's answer, one always says tie: the majority is 甲队
        jia_side = "a" if a_is_jia else "b"
        for e, choice in zip(people, (jia_side, jia_side, "tie"), strict=True):
            grading.grade(db, actor=e.actor, item_id=item.id, preference=choice)
        expected_experts.append(jia_side)
    db.commit()
    results = round_results(db, round_, settings.data_dir)
    assert results.pairwise is not None
    rate = sum(x == y for x, y in zip(expected_judge, expected_experts, strict=True)) / 9
    assert results.pairwise.n == 9 and results.pairwise.rate == pytest.approx(rate)
    assert results.pairwise.kappa == pytest.approx(
        cohen_kappa_score(expected_judge, expected_experts, labels=["a", "b", "tie"])
    )
    assert 0 < rate < 0.9 and results.flagged  # the judge calls a tie where 乙队 is exact
    shares = {e.entry: e.expert_mean for e in results.entries}
    assert shares == {"甲队": 1.0, "乙队": 0.0}


def test_the_confirmed_panel_grades_by_default(
    db: Session, world: World, settings: Settings
) -> None:
    graded = graded_stage(db, world, settings.data_dir)
    people = experts(db, 3)
    panel = Panel(challenge_id=graded.race.challenge.id, size=3, seed=1, candidates=[])
    db.add(panel)
    db.flush()
    for position, (e, state) in enumerate(
        zip(
            people, (MemberState.confirmed, MemberState.recused, MemberState.confirmed), strict=True
        )
    ):
        db.add(PanelMember(panel_id=panel.id, expert_id=e.id, position=position, state=state))
    db.flush()
    round_ = _open(db, settings, graded, [], seed=1)  # [] names nobody: the panel grades
    assert grading.round_experts(db, round_) == [people[0].id, people[2].id]
    with pytest.raises(NotFound):  # the recused member has no item
        grading.grade(db, actor=people[1].actor, item_id=round_.items[0].id, scores={"overall": 3})


def test_experts_see_only_their_blind_items(
    live: LiveServer, app: FastAPI, world: World, db: Session
) -> None:
    """An expert's items carry codes, questions and answers: no entry, team, organisation,
    submission or judge grade, on any grading route, before or after grading; a round is
    404 to experts not on it; results appear once the round closes."""
    data_dir = app.state.settings.data_dir
    graded = graded_stage(db, world, data_dir)
    (outsider,) = experts(db, 1)
    with client_for(live, world, "operator") as op:
        made = op.post(
            f"/stages/{graded.stage.id}/grading-rounds",
            json={
                "mode": "pairwise",
                "sample_size": 3,
                "seed": 11,
                "experts": [world.user_ids["expert"]],
            },
        )
        assert made.status_code == 201, made.text
        round_id = made.json()["id"]
        assert op.get(f"/stages/{graded.stage.id}/grading").json()["rounds"] == []
    submissions = {i.submission_id for i in db.get(GradingRound, round_id).items}  # type: ignore[union-attr]
    secrets = ["甲队", "乙队", "甲智能", "乙大模型", "评分：", "judge", "entry", "submission"]
    with client_for(live, world, "expert") as expert:
        queue = expert.get("/me/grading-queue").json()
        assert [(q["round_id"], q["items"], q["graded"]) for q in queue] == [(round_id, 3, 0)]
        sections = {s["key"]: s for s in expert.get("/me/review-queue").json()}
        (waiting,) = sections["grade"]["items"]  # the expert's one queue lists the round too
        assert waiting["link"] == f"/grading-rounds/{round_id}" and "3" in waiting["detail"]
        shown = expert.get(f"/grading-rounds/{round_id}/items")
        assert shown.status_code == 200
        items = shown.json()["items"]
        assert len(items) == 3 and all(i["answer_a"] and i["answer_b"] for i in items)
        for item in items:
            assert set(item) == {
                "id",
                "code",
                "question",
                "answer_a",
                "answer_b",
                "scores",
                "preference",
                "comment",
            }
            put = expert.put(f"/grading-items/{item['id']}/grade", json={"preference": "a"})
            assert put.status_code == 200, put.text
        bad = expert.put(f"/grading-items/{items[0]['id']}/grade", json={"preference": "x"})
        assert bad.status_code == 422
        again = expert.get(f"/grading-rounds/{round_id}/items").text
        for text in (shown.text, again, expert.get("/me/grading-queue").text):
            assert not any(s in text for s in secrets), text
            assert not any(f'"submission_id":{s}' in text for s in submissions)
        assert expert.get(f"/stages/{graded.stage.id}/grading").json()["rounds"] == []
        assert expert.post(f"/grading-rounds/{round_id}/close").status_code == 403
        sections = {s["key"]: s for s in expert.get("/me/review-queue").json()}
        assert sections["grade"]["items"] == []  # all graded: nothing left in the queue
    with api_client(live, outsider.token) as other:
        assert other.get(f"/grading-rounds/{round_id}/items").status_code == 404
        assert (
            other.put(
                f"/grading-items/{items[0]['id']}/grade", json={"preference": "a"}
            ).status_code
            == 404
        )
        assert other.get("/me/grading-queue").json() == []
    with client_for(live, world, "supplier_a") as supplier:
        assert supplier.get(f"/grading-rounds/{round_id}/items").status_code == 403
    with client_for(live, world, "operator") as op:
        closed = op.post(f"/grading-rounds/{round_id}/close")
        assert closed.status_code == 200, closed.text
    results = httpx.get(f"{live.url}/api/v1/stages/{graded.stage.id}/grading", timeout=30).json()
    (shown_round,) = results["rounds"]
    assert shown_round["judge"] and shown_round["pairwise"]["n"] == 3
    assert {e["entry"] for e in shown_round["entries"]} == {"甲队", "乙队"}


def test_pages_show_grades_beside_the_score_and_the_flag(
    live: LiveServer, app: FastAPI, world: World, db: Session
) -> None:
    """The expert's page shows codes and answers, no team; after the round closes the race
    page shows each entry's mean expert grade beside its automatic score, and the flag."""
    data_dir = app.state.settings.data_dir
    graded = graded_stage(db, world, data_dir)
    expert = Actor(user_id=world.user_ids["expert"], role=Role.expert)
    round_ = open_round(
        db, graded.stage.id, data_dir, [world.user_ids["expert"]], min_agreement=0.99
    )
    with signed_in(live, world, "expert") as session:
        page = session.get(f"/grading-rounds/{round_.id}")
        assert page.status_code == 200
        assert all(i.code in page.text for i in round_.items)
        assert "甲队" not in page.text and "乙队" not in page.text and "评分：" not in page.text
        assert f"/grading-rounds/{round_.id}" in session.get("/grading").text
        first = round_.items[0]
        saved = session.post(
            f"/grading-items/{first.id}/grade", data={"score_overall": "9", "comment": "清楚"}
        )
        assert saved.status_code == 303 and saved.headers["location"].endswith(f"#item-{first.id}")
    for item in round_.items[1:]:
        grading.grade(db, actor=expert, item_id=item.id, scores={"overall": 0})
    grading.close_round(db, actor=OPERATOR, round_id=round_.id, data_dir=data_dir)
    db.commit()
    race = httpx.get(f"{live.url}/challenges/{graded.race.challenge.id}/race", timeout=30).text
    part = race[race.index('id="grading-1"') :]
    assert "评审模型与专家一致性偏低" in part
    assert "甲队" in part and "/ 10" in part and "κ" in part
    log = httpx.get(f"{live.url}/challenges/{graded.race.challenge.id}", timeout=30).text
    assert "发起专家复核" in log and "结束专家复核" in log  # the audit log names the round's lines
    assert grading.CLOSED not in log
