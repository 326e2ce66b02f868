"""The race on the service level: stages, limits, public/private boards, cuts, winners."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import mosu.race.handlers  # noqa: F401  registers the race's job handlers
from mosu import race as races
from mosu.challenges.models import (
    ApplicationState,
    ChallengeEvent,
    ChallengeState,
    CutRule,
    EntryState,
    StageState,
    Submission,
    SubmissionMode,
    SubmissionState,
)
from mosu.core.errors import Conflict, Forbidden, Invalid, NotFound
from mosu.core.settings import Settings
from mosu.jobs.models import Job
from mosu.race.entries import shown_state
from mosu.race.results import outcome
from mosu.race.scoring import is_public, outcomes_of, stage_data
from tests.conftest import World
from tests.helpers.races import (
    OPERATOR,
    answer_key,
    drain,
    endpoint,
    fake_endpoints,
    predictions_file,
    racing_challenge,
    stage_spec,
    supplier,
)


def test_public_part_is_a_fixed_seeded_share() -> None:
    ids = [f"id-{i}" for i in range(4000)]
    share = sum(is_public(7, i, 0.3) for i in ids) / len(ids)
    assert 0.27 < share < 0.33
    assert [is_public(7, i, 0.3) for i in ids[:50]] == [is_public(7, i, 0.3) for i in ids[:50]]
    assert [is_public(7, i, 0.3) for i in ids[:200]] != [is_public(8, i, 0.3) for i in ids[:200]]


def test_a_stage_refuses_a_task_that_does_not_fit_its_data(db: Session, world: World) -> None:
    race = racing_challenge(db, world)
    spec = stage_spec("初赛", version_id=race.version.id)
    bad = races.StageSpec(
        **{**spec.__dict__, "task": {**spec.task, "prompt": {"template": "{{ 不存在 }}"}}}
    )
    with pytest.raises(Invalid, match="不存在"):
        races.add_stage(db, actor=OPERATOR, challenge_id=race.challenge.id, spec=bad)
    bad = races.StageSpec(**{**spec.__dict__, "task": {**spec.task, "scorers": ["nonsense"]}})
    with pytest.raises(Invalid, match="nonsense"):
        races.add_stage(db, actor=OPERATOR, challenge_id=race.challenge.id, spec=bad)
    supplier_a = supplier(world, "supplier_a", world.org_a)
    with pytest.raises(Forbidden):
        races.add_stage(db, actor=supplier_a, challenge_id=race.challenge.id, spec=spec)


def test_two_stage_race_cuts_and_names_a_winner(
    db: Session, world: World, settings: Settings
) -> None:
    race = racing_challenge(db, world)
    answers = answer_key(db, race.version)
    labels = list(race.version.label_set)
    baseline = races.add_house_entry(
        db,
        actor=OPERATOR,
        challenge_id=race.challenge.id,
        name="TF-IDF 基线",
        baseline="baseline:tfidf",
    )
    first = races.add_stage(
        db,
        actor=OPERATOR,
        challenge_id=race.challenge.id,
        spec=stage_spec("初赛", rule=CutRule.top_k, value=2, version_id=race.version.id),
    )
    second = races.add_stage(
        db,
        actor=OPERATOR,
        challenge_id=race.challenge.id,
        spec=stage_spec(
            "决赛",
            rule=CutRule.not_worse,
            version_id=race.version.id,
            opens=first.closes_at,
        ),
    )
    a, b = race.entries["甲队"], race.entries["乙队"]
    assert shown_state(a, race.challenge.state) == "待开赛"  # shortlisted, not yet racing
    races.start_race(db, actor=OPERATOR, challenge_id=race.challenge.id)
    assert race.challenge.state is ChallengeState.racing
    assert shown_state(a, race.challenge.state) == "比赛中"
    closes = db.scalars(select(Job).where(Job.kind == races.CLOSE_JOB)).all()
    assert sorted(j.available_at for j in closes) == [first.closes_at, second.closes_at]
    # the baseline was submitted to the open stage when the race started, and will be to
    # the next when it opens
    started = db.scalars(select(Submission).where(Submission.entry_id == baseline.id)).one()
    assert started.stage_id == first.id and started.note == races.baselines.NOTE
    opening = db.scalars(select(Job).where(Job.kind == races.BASELINE_JOB)).one()
    assert opening.available_at == second.opens_at

    sa = supplier(world, "supplier_a", world.org_a)
    sb = supplier(world, "supplier_b", world.org_b)
    with fake_endpoints(answers, labels) as url:
        ep_a = endpoint(db, world.org_a, url, "strong")
        ep_b = endpoint(db, world.org_b, url, "weak")
        with pytest.raises(NotFound):  # another team's endpoint
            races.submit(
                db, actor=sb, stage_id=first.id, endpoint_id=ep_a.id, data_dir=settings.data_dir
            )
        races.submit(
            db, actor=sa, stage_id=first.id, endpoint_id=ep_a.id, data_dir=settings.data_dir
        )
        races.submit(
            db, actor=sb, stage_id=first.id, endpoint_id=ep_b.id, data_dir=settings.data_dir
        )
        assert drain(db, settings.data_dir, [races.SUBMISSION_JOB]) == 3  # the baseline's too
    subs = {s.entry_id: s for s in db.scalars(select(Submission))}
    assert {s.state for s in subs.values()} == {SubmissionState.succeeded}
    assert subs[a.id].public_score > subs[b.id].public_score
    public = first.leaderboard_public
    assert public is not None
    names = [r["entry"] for r in public["rows"]]  # the baseline, submitted first, may tie
    assert names.index("甲队") < names.index("乙队") and names[-1] == "乙队"
    assert all(r["low"] <= r["score"] <= r["high"] for r in public["rows"])
    data = stage_data(db, first)
    assert public["samples"] == len(data.public)
    typed = races.stage_board(first, "public")
    assert typed is not None and typed.to_json() == public  # the typed board keeps its JSON
    assert set(public) == {"rows", "primary", "samples", "replicates", "method"} | {
        "comparisons",
        "part",
        "computed_at",
        "unranked",
        "min_coverage",
        "rule",
    }

    # a supplier sees its own row in full and others' public scores only
    shown = races.view_board(db, sb, race.challenge, races.stage_board(first, "public"))
    assert shown is not None
    view = shown.to_json()
    mine = next(r for r in view["rows"] if r["entry"] == "乙队")
    other = next(r for r in view["rows"] if r["entry"] == "甲队")
    assert "by_category" in mine and "by_category" not in other and "submission_id" not in other
    assert "comparisons" not in view

    with pytest.raises(Forbidden):
        races.close_stage(db, actor=sa, stage_id=first.id, data_dir=settings.data_dir)
    with pytest.raises(Invalid, match="原因"):
        races.close_stage(db, actor=OPERATOR, stage_id=first.id, data_dir=settings.data_dir)
    races.close_stage(
        db, actor=OPERATOR, stage_id=first.id, data_dir=settings.data_dir, reason="演示提前结束"
    )
    assert first.state is StageState.closed and first.leaderboard_final is not None
    final = first.leaderboard_final["rows"]
    assert final[-1]["entry"] == "乙队" and len(final) == 3
    db.flush()
    assert b.state is EntryState.cut and str(b.cut_reason).startswith("初赛：")
    assert "前 2 名" in str(b.cut_reason)
    with pytest.raises(Conflict, match="淘汰"):
        races.submit(
            db,
            actor=sb,
            stage_id=second.id,
            endpoint_id=ep_b.id,
            data_dir=settings.data_dir,
            now=second.opens_at + dt.timedelta(minutes=1),
        )

    # stage two: not significantly worse than the best goes on
    with fake_endpoints(answers, labels) as url:
        ep_a2 = endpoint(db, world.org_a, url, "strong")
        races.submit(
            db,
            actor=sa,
            stage_id=second.id,
            endpoint_id=ep_a2.id,
            data_dir=settings.data_dir,
            now=second.opens_at + dt.timedelta(minutes=1),
        )
        opened = second.opens_at + dt.timedelta(minutes=1)
        assert [s.entry_id for s in races.submit_baselines(db, second, now=opened)] == [baseline.id]
        assert races.submit_baselines(db, second, now=opened) == []  # once per stage
        drain(db, settings.data_dir, [races.SUBMISSION_JOB])
    races.close_stage(
        db,
        actor=OPERATOR,
        stage_id=second.id,
        data_dir=settings.data_dir,
        reason="测试",
        now=second.opens_at + dt.timedelta(minutes=30),
    )
    with pytest.raises(Invalid, match="基线"):
        races.decide(db, actor=OPERATOR, challenge_id=race.challenge.id, entry_ids=[baseline.id])
    races.decide(
        db, actor=OPERATOR, challenge_id=race.challenge.id, entry_ids=[a.id], reason="决赛第一"
    )
    assert race.challenge.state is ChallengeState.decided and a.state is EntryState.winner
    # the decision moves every team on: 揭榜成功 for the winner, 未入选 for the rest
    assert a.application is not None and a.application.state is ApplicationState.won
    assert b.application is not None and b.application.state is ApplicationState.not_selected
    assert baseline.state is EntryState.not_selected
    assert [shown_state(e, race.challenge.state) for e in (a, b, baseline)] == [
        "揭榜成功",
        "已淘汰",
        "未入选",
    ]
    result = outcome(db, OPERATOR, race.challenge)
    assert result is not None and result.reason == "决赛第一" and result.stage == "决赛"
    assert [(w.name, w.position) for w in result.winners] == [("甲队", 1)]
    assert result.board is not None and result.board.rows[0].row.entry == "甲队"
    actions = [e.action for e in db.scalars(select(ChallengeEvent).order_by(ChallengeEvent.id))]
    assert actions[-4:] == ["start_race", "stage_closed", "stage_closed", "decide"]


def test_limits_count_per_team_and_skip_failed_runs(
    db: Session, world: World, settings: Settings
) -> None:
    race = racing_challenge(db, world)
    answers = answer_key(db, race.version)
    stage = races.add_stage(
        db,
        actor=OPERATOR,
        challenge_id=race.challenge.id,
        spec=stage_spec(
            "初赛", mode=SubmissionMode.predictions, version_id=race.version.id, daily=2, total=3
        ),
    )
    races.start_race(db, actor=OPERATOR, challenge_id=race.challenge.id)
    ids = [s.id for s in stage_data(db, stage).task.samples()]
    sa = supplier(world, "supplier_a", world.org_a)
    # a bad file is refused with every problem and does not count
    bad = predictions_file(answers, ids[:-1]) + b'{"id": "nope", "prediction": "x"}\nnot json\n'
    with pytest.raises(Invalid) as refused:
        races.submit(db, actor=sa, stage_id=stage.id, predictions=bad, data_dir=settings.data_dir)
    lines = {p["line"] for p in refused.value.details}
    assert 0 in lines and len(refused.value.details) == 3
    first = races.submit(
        db,
        actor=sa,
        stage_id=stage.id,
        predictions=predictions_file(answers, ids, wrong=10),
        data_dir=settings.data_dir,
    )
    second = races.submit(
        db,
        actor=sa,
        stage_id=stage.id,
        predictions=predictions_file(answers, ids),
        data_dir=settings.data_dir,
    )
    with pytest.raises(Conflict, match="今日") as limited:
        races.submit(
            db,
            actor=sa,
            stage_id=stage.id,
            predictions=predictions_file(answers, ids),
            data_dir=settings.data_dir,
        )
    assert "resets_at" in limited.value.details
    # the same team under another user is the same team: supplier_b is another team
    sb = supplier(world, "supplier_b", world.org_b)
    races.submit(
        db,
        actor=sb,
        stage_id=stage.id,
        predictions=predictions_file(answers, ids),
        data_dir=settings.data_dir,
    )
    races.cancel_submission(db, actor=sa, submission_id=second.id)
    third = races.submit(
        db,
        actor=sa,
        stage_id=stage.id,
        predictions=predictions_file(answers, ids),
        data_dir=settings.data_dir,
    )
    quota = races.quota(db, stage, race.entries["甲队"])
    assert (quota.used_today, quota.used_total) == (2, 2)
    tomorrow = quota.resets_at + dt.timedelta(minutes=1)
    assert races.quota(db, stage, race.entries["甲队"], tomorrow).used_today == 0
    drain(db, settings.data_dir, [races.SUBMISSION_JOB])
    db.refresh(first), db.refresh(third)
    assert third.public_score == 1.0 and first.public_score is not None and first.public_score < 1
    # ties: supplier_b's identical perfect file was submitted before third, so it ranks first
    rows = stage.leaderboard_public["rows"]
    assert [r["entry"] for r in rows[:2]] == ["乙队", "甲队"] and rows[0]["score"] == rows[1][
        "score"
    ]
    # selecting the worse submission makes it count for the final ranking
    with pytest.raises(NotFound):
        races.select_submissions(
            db, actor=sa, stage_id=stage.id, entry_id=race.entries["甲队"].id, submission_ids=[999]
        )
    races.select_submissions(
        db, actor=sa, stage_id=stage.id, entry_id=race.entries["甲队"].id, submission_ids=[first.id]
    )
    counted = races.counted(db, stage, "private")
    assert counted[race.entries["甲队"].id].id == first.id
    with pytest.raises(Forbidden):
        races.select_submissions(
            db, actor=sb, stage_id=stage.id, entry_id=race.entries["甲队"].id, submission_ids=[]
        )


@pytest.mark.slow
def test_a_dead_endpoint_is_a_failed_run_stopped_after_five_attempts(
    db: Session, world: World, settings: Settings, tmp_path: Path, quick_retries: None
) -> None:
    race = racing_challenge(db, world)
    stage = races.add_stage(
        db,
        actor=OPERATOR,
        challenge_id=race.challenge.id,
        spec=stage_spec("初赛", version_id=race.version.id),
    )
    races.start_race(db, actor=OPERATOR, challenge_id=race.challenge.id)
    dead = endpoint(db, world.org_a, "http://127.0.0.1:9/v1", "strong")
    sa = supplier(world, "supplier_a", world.org_a)
    submission = races.submit(
        db, actor=sa, stage_id=stage.id, endpoint_id=dead.id, data_dir=settings.data_dir
    )
    drain(db, settings.data_dir, [races.SUBMISSION_JOB])
    db.refresh(submission)
    assert submission.state is SubmissionState.failed
    assert str(submission.failure) == (
        "接入点不可达（连续 5 次无应答），评测已停止："
        f"endpoint unreachable × 1, not run × {submission.samples - 1}"
    )  # no address, port or socket error
    assert submission.public_score is None and submission.private_score is None
    quota = races.quota(db, stage, race.entries["甲队"])
    assert (quota.used_total, quota.failed) == (0, 1)
    outcomes = outcomes_of(settings.data_dir, submission)
    # one sample tried 5 times, the rest never sent (before: 5 attempts for every sample)
    assert len(outcomes) == 1 and sum(o.attempts for o in outcomes.values()) == 5


def test_a_stage_draws_its_evaluation_compute_from_a_pool(
    db: Session, world: World, settings: Settings
) -> None:
    from mosu.supply.models import ComputeUsage
    from mosu.supply.offers import create_pool
    from mosu.supply.schemas import PoolIn

    race = racing_challenge(db, world)
    pool = create_pool(
        db,
        actor=OPERATOR,
        data=PoolIn(
            organisation_id=world.org_a,
            name="评测算力池",
            accelerator="A800",
            card_count=8,
            price="12.50",  # type: ignore[arg-type]
            available_from=dt.date(2026, 1, 1),
        ),
    )
    spec = stage_spec("初赛", version_id=race.version.id)
    with pytest.raises(NotFound):
        races.add_stage(
            db,
            actor=OPERATOR,
            challenge_id=race.challenge.id,
            spec=races.StageSpec(**{**spec.__dict__, "compute_pool_id": 99999}),
        )
    races.add_stage(
        db,
        actor=OPERATOR,
        challenge_id=race.challenge.id,
        spec=races.StageSpec(**{**spec.__dict__, "compute_pool_id": pool.id}),
    )
    races.start_race(db, actor=OPERATOR, challenge_id=race.challenge.id)
    baseline = races.add_house_entry(
        db,
        actor=OPERATOR,
        challenge_id=race.challenge.id,
        name="多数类",
        baseline="baseline:majority",
    )
    submission = db.scalars(  # added to a racing challenge: submitted to the open stage
        select(Submission).where(Submission.entry_id == baseline.id)
    ).one()
    drain(db, settings.data_dir, [races.SUBMISSION_JOB])
    usage = db.scalars(select(ComputeUsage)).one()
    assert usage.pool_id == pool.id and usage.card_seconds >= 1
    assert (usage.reference_kind, usage.reference_id) == ("race_submission", str(submission.id))
