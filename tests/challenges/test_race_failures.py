"""Failing endpoints in a race run as jobs: stopped at once, shown with the reason and no
score, refused when private, and limited by the team's failure budget."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

import mosu.race.handlers  # noqa: F401  registers the race's job handlers
from mosu import i18n
from mosu import race as races
from mosu.challenges.models import Stage, SubmissionState
from mosu.core.errors import Conflict
from mosu.core.settings import Settings
from mosu.evals.fakeserver import FakeConfig, serve_in_thread
from mosu.jobs.worker import Worker
from tests.conftest import LiveServer, World, client_for
from tests.helpers.races import (
    OPERATOR,
    Race,
    answer_key,
    drain,
    endpoint,
    racing_challenge,
    stage_spec,
    supplier,
)


def _racing(db: Session, world: World) -> tuple[Race, Stage]:
    race = racing_challenge(db, world)
    stage = races.add_stage(
        db,
        actor=OPERATOR,
        challenge_id=race.challenge.id,
        spec=stage_spec("初赛", version_id=race.version.id, daily=10, total=10),
    )
    races.start_race(db, actor=OPERATOR, challenge_id=race.challenge.id)
    return race, stage


def _config(db: Session, race: Race) -> FakeConfig:
    """A fake endpoint that wants a key the registered endpoint does not send: HTTP 401."""
    return FakeConfig(
        answers=answer_key(db, race.version), id_pattern=r"工单编号：(\S+)", api_key="the-key"
    )


def test_a_wrong_key_stops_the_submission_after_one_request(
    db: Session, world: World, settings: Settings
) -> None:
    race, stage = _racing(db, world)
    sa = supplier(world, "supplier_a", world.org_a)
    with serve_in_thread(_config(db, race)) as (url, server):
        keyless = endpoint(db, world.org_a, url, "strong")
        submission = races.submit(
            db, actor=sa, stage_id=stage.id, endpoint_id=keyless.id, data_dir=settings.data_dir
        )
        drain(db, settings.data_dir, [races.SUBMISSION_JOB])
        assert server.received == 1  # before: one for every sample
    db.refresh(submission)
    assert submission.state is SubmissionState.failed
    assert submission.failure is not None
    errors = f"HTTP 401 × 1, not run × {submission.samples - 1}"
    assert i18n.render(submission.failure, "zh") == f"接入点返回 HTTP 401，评测已停止：{errors}"
    assert i18n.render(submission.failure, "en") == (
        f"the endpoint answered HTTP 401; the run was stopped: {errors}"
    )
    assert submission.public_score is None and submission.private_score is None
    board = races.view_board(db, sa, race.challenge, races.stage_board(stage, "public"))
    assert board is None or board.rows == []  # a failed submission is never ranked


def test_the_failure_budget_refuses_a_team_that_keeps_failing(
    db: Session, world: World, settings: Settings
) -> None:
    race, stage = _racing(db, world)
    sa = supplier(world, "supplier_a", world.org_a)
    with serve_in_thread(_config(db, race)) as (url, server):
        keyless = endpoint(db, world.org_a, url, "strong")
        for _ in range(2):
            races.submit(
                db,
                actor=sa,
                stage_id=stage.id,
                endpoint_id=keyless.id,
                data_dir=settings.data_dir,
                failure_limit=2,
            )
            drain(db, settings.data_dir, [races.SUBMISSION_JOB])
        with pytest.raises(Conflict, match=r"本阶段已有 2 次提交失败（上限 2 次）") as refused:
            races.submit(
                db,
                actor=sa,
                stage_id=stage.id,
                endpoint_id=keyless.id,
                data_dir=settings.data_dir,
                failure_limit=2,
            )
        assert server.received == 2
    assert refused.value.code == "race.failure_budget_spent"
    assert refused.value.details == {"failure_limit": 2, "failed": 2}
    quota = races.quota(db, stage, race.entries["甲队"], failure_limit=2)
    assert (quota.failed, quota.used_total, quota.left) == (2, 0, 0)


def test_a_loopback_endpoint_is_never_called_unless_allowed(
    db: Session, world: World, settings: Settings
) -> None:
    """A worker with the platform's default policy refuses the address before connecting,
    even for an endpoint registered while private endpoints were allowed."""
    race, stage = _racing(db, world)
    sa = supplier(world, "supplier_a", world.org_a)
    with serve_in_thread(_config(db, race)) as (url, server):
        ep = endpoint(db, world.org_a, url, "strong")
        submission = races.submit(
            db, actor=sa, stage_id=stage.id, endpoint_id=ep.id, data_dir=settings.data_dir
        )
        db.commit()
        worker = Worker(db.get_bind(), data_dir=settings.data_dir, kinds=[races.SUBMISSION_JOB])  # type: ignore[arg-type]
        assert worker.run_once()
        assert server.received == 0
    db.expire_all()
    assert submission.state is SubmissionState.failed
    assert submission.failure is not None
    zh, en = (i18n.render(submission.failure, lang) for lang in ("zh", "en"))
    assert zh.startswith("接入点无法调用：") and en.startswith("the endpoint cannot be called: ")
    assert "loopback address" in en and submission.public_score is None


def test_the_budget_is_refused_over_http(
    db: Session, world: World, settings: Settings, live: LiveServer
) -> None:
    race, stage = _racing(db, world)
    with serve_in_thread(_config(db, race)) as (url, fake):
        keyless = endpoint(db, world.org_a, url, "strong")
        db.commit()
        with client_for(live, world, "supplier_a") as client:
            limit = settings.submission_failure_limit
            for _ in range(limit):
                made = client.post(
                    f"/stages/{stage.id}/submissions", json={"endpoint_id": keyless.id}
                )
                assert made.status_code == 201, made.text
                drain(db, settings.data_dir, [races.SUBMISSION_JOB])
            mine = client.get(f"/stages/{stage.id}/submissions").json()
            assert mine["quotas"][0]["failed"] == limit and mine["quotas"][0]["left"] == 0
            refused = client.post(
                f"/stages/{stage.id}/submissions",
                json={"endpoint_id": keyless.id},
                headers={"Accept-Language": "en"},
            )
        assert fake.received == limit
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "race.failure_budget_spent"
    assert error["message"].startswith(f"Failure budget spent: {limit} submissions failed")
    assert error["details"] == {"failure_limit": limit, "failed": limit}
    assert races.quota(db, stage, race.entries["甲队"]).failed == limit
