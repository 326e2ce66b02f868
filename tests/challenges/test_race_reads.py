"""Reads don't write: the worker keeps a submission's state in step with its job, in the
job's own transaction, so reading a submission (API or polling page) changes nothing."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

import mosu.race.handlers  # noqa: F401  registers the race's job handlers and hooks
from mosu import migrate
from mosu import race as races
from mosu.challenges.models import Submission, SubmissionState
from mosu.core import clock
from mosu.core.db import Base
from mosu.core.settings import Settings
from mosu.core.text import Bilingual
from mosu.jobs import queue
from mosu.jobs.models import Job
from mosu.race.scoring import stage_data
from tests.conftest import LiveServer, World, client_for
from tests.helpers.migrations import migrate_to
from tests.helpers.races import (
    answer_key,
    predictions_file,
    predictions_race,
    racing_challenge,
    supplier,
)

SIGN_IN = {"api_tokens"}  # signing in records a token's last use, on every request


def _database(session: Session) -> dict[str, list[str]]:
    """Every row of every table but the sign-in records, read on a connection of its own."""
    with session.get_bind().connect() as conn:
        return {
            table.name: sorted(repr(tuple(row)) for row in conn.execute(select(table)))
            for table in Base.metadata.sorted_tables
            if table.name not in SIGN_IN
        }


def _reads(live: LiveServer, world: World, challenge_id: int, submission_id: int) -> Any:
    """The submission as its team reads it: the API, the polling cell and the race page."""
    api = client_for(live, world, "supplier_a")
    page = httpx.Client(base_url=live.url, headers=api.headers, timeout=30)
    with api, page:
        out = api.get(f"/submissions/{submission_id}")
        cell = page.get(f"/submissions/{submission_id}/state")
        operator = client_for(live, world, "operator")
        with httpx.Client(base_url=live.url, headers=operator.headers, timeout=30) as op:
            race_page = op.get(f"/challenges/{challenge_id}/race")
        operator.close()
    assert out.status_code == cell.status_code == race_page.status_code == 200
    return out.json(), cell.text


def test_reading_a_submission_writes_nothing_and_shows_its_jobs_state(
    db: Session, world: World, settings: Settings, live: LiveServer
) -> None:
    race = racing_challenge(db, world)
    stage = predictions_race(db, race)
    ids = [s.id for s in stage_data(db, stage).task.samples()]
    submission = races.submit(
        db,
        actor=supplier(world, "supplier_a", world.org_a),
        stage_id=stage.id,
        data_dir=settings.data_dir,
        predictions=predictions_file(answer_key(db, race.version), ids),
    )
    db.commit()
    engine = db.get_bind()
    job = queue.claim(
        engine,  # type: ignore[arg-type]
        worker_id="w",
        kinds=[races.SUBMISSION_JOB],
        lease_seconds=600,
    )
    assert job is not None and job.id == submission.job_id
    db.expire_all()
    assert db.scalars(select(Submission)).one().state is SubmissionState.running

    before = _database(db)
    out, cell = _reads(live, world, race.challenge.id, submission.id)
    assert out["state"] == "running" and "评测中" in cell
    assert _database(db) == before

    queue.fail(engine, job.id, "w", error="the endpoint broke", retry=False)  # type: ignore[arg-type]
    db.expire_all()
    failed = db.scalars(select(Submission)).one()
    assert failed.state is SubmissionState.failed and failed.finished_at is not None
    assert str(failed.failure) == "the endpoint broke"

    before = _database(db)
    out, cell = _reads(live, world, race.challenge.id, submission.id)
    assert out["state"] == "failed" and out["failure"] == "the endpoint broke"
    assert "失败" in cell and "the endpoint broke" in cell
    assert _database(db) == before
    assert races.pending(db, stage) == 0


def test_the_upgrade_gives_unread_submissions_their_jobs_states(
    db: Session, world: World, settings: Settings, database_url: str
) -> None:
    """Migration 0012: submissions whose jobs ended before the worker wrote their states."""
    race = racing_challenge(db, world)
    stage = predictions_race(db, race)
    ids = [s.id for s in stage_data(db, stage).task.samples()]
    team = supplier(world, "supplier_a", world.org_a)
    subs = [
        races.submit(
            db,
            actor=team,
            stage_id=stage.id,
            data_dir=settings.data_dir,
            predictions=predictions_file(answer_key(db, race.version), ids),
        )
        for _ in range(3)
    ]
    db.commit()
    # as an older worker left them: jobs ended, submissions still queued
    ended = {
        subs[0].job_id: ("failed", "the endpoint broke"),
        subs[1].job_id: ("cancelled", None),
        subs[2].job_id: ("running", None),
    }
    for job_id, (state, error) in ended.items():
        db.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(state=state, error=error, finished_at=clock.now())
            .execution_options(synchronize_session=False)
        )
    db.commit()
    db.close()
    migrate_to(database_url, "0022")  # the failure a string again, as 0012 wrote it
    db.execute(text("UPDATE alembic_version SET version_num = '0011'"))
    db.commit()
    engine = db.get_bind()
    migrate.upgrade(engine, "0012")  # type: ignore[arg-type]
    assert migrate.current_revision(engine) == "0012"  # type: ignore[arg-type]
    db.execute(text("UPDATE alembic_version SET version_num = '0022'"))
    db.commit()
    db.close()
    migrate_to(database_url, "head")  # 0023 keeps the failure as a text
    db.expire_all()
    failed, cancelled, running = (db.get(Submission, s.id) for s in subs)
    assert failed is not None and failed.state is SubmissionState.failed
    assert failed.failure == Bilingual("the endpoint broke") and failed.finished_at is not None
    assert cancelled is not None and cancelled.state is SubmissionState.cancelled
    assert cancelled.finished_at is not None
    assert running is not None and running.state is SubmissionState.running
    assert running.finished_at is None
