"""A real `mosu worker` killed with SIGKILL in the middle of a race submission, finished by
another worker with a data directory of its own (another machine's disk): the run store is
the platform's database."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from mosu import race as races
from mosu.challenges.models import Submission, SubmissionState
from mosu.core.settings import Settings
from mosu.demo.loader import HOTLINE_SPLIT, load_hotline
from mosu.evals import FakeConfig, serve_in_thread
from mosu.evals.fakeserver import prompt_key
from mosu.jobs.models import JobState
from mosu.jobs.run_store import DatabaseRunStore
from mosu.race.scoring import MODEL_NAME, outcomes_of, run_name, stage_data, store_path
from tests.conftest import World
from tests.helpers.processes import job_state, worker_env, worker_process
from tests.helpers.races import (
    OPERATOR,
    answer_key,
    endpoint,
    racing_challenge,
    stage_spec,
    supplier,
)
from tests.helpers.waiting import wait_until

# one run, on PostgreSQL (the queue's claims are tested on both databases in tests/jobs)
pytestmark = [
    pytest.mark.processes,
    pytest.mark.parametrize(
        "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
    ),
]

LATENCY = 0.4  # the endpoint answers slowly: 60 samples, 16 at a time, take four rounds


def _attempts(store: DatabaseRunStore) -> dict[str, int]:
    return {i: o.attempts for i, o in store.finished(MODEL_NAME).items()}


def test_killed_worker_submission_is_finished_on_another_disk_and_repeats_no_request(
    database_url: str, db: Session, world: World, settings: Settings, tmp_path: Path
) -> None:
    version = load_hotline(db, organisation_id=None, split=HOTLINE_SPLIT)  # 60 test rows
    race = racing_challenge(db, world, version=version, teams=("甲队",))
    stage = races.add_stage(
        db,
        actor=OPERATOR,
        challenge_id=race.challenge.id,
        spec=stage_spec("初赛", version_id=version.id),
    )
    races.start_race(db, actor=OPERATOR, challenge_id=race.challenge.id)
    task = stage_data(db, stage).task
    size = len(task.samples())
    key_of = {s.id: prompt_key(task.messages(s)[-1]["content"]) for s in task.samples()}
    config = FakeConfig(
        latency=LATENCY,
        answers=answer_key(db, version),
        id_pattern=r"工单编号：(\S+)",
        choices=list(version.label_set),
        accuracy_by_model={"strong": 0.9},
    )
    env = worker_env(database_url, tmp_path, lease=1.5)
    disks = [tmp_path / "first", tmp_path / "second"]  # two machines: neither sees the other's
    with serve_in_thread(config) as (url, server):
        ep = endpoint(db, world.org_a, url, "strong")
        submission = races.submit(
            db,
            actor=supplier(world, "supplier_a", world.org_a),
            stage_id=stage.id,
            endpoint_id=ep.id,
            data_dir=settings.data_dir,
        )
        db.commit()
        assert submission.job_id is not None and size == 60
        job_id = submission.job_id
        store = DatabaseRunStore(db.get_bind(), run_name(submission))

        first_env = {**env, "MOSU_DATA_DIR": str(disks[0])}
        with worker_process(first_env, "--kind", races.SUBMISSION_JOB) as first:
            wait_until(
                lambda: store.count() >= 16 or first.poll() is not None,
                what="the first samples",
            )
            assert first.poll() is None, first.stderr.read().decode() if first.stderr else ""
            first.send_signal(signal.SIGKILL)
            first.wait()
        done_at_kill = _attempts(store)
        assert 16 <= len(done_at_kill) < size
        killed = job_state(db, job_id)
        assert killed.state == JobState.running and killed.attempts == 1

        second_env = {**env, "MOSU_DATA_DIR": str(disks[1])}
        with worker_process(second_env, "--kind", races.SUBMISSION_JOB) as second:
            wait_until(
                lambda: (
                    job_state(db, job_id).state != JobState.running or second.poll() is not None
                ),
                what="the second worker to finish the submission",
            )
            second.send_signal(signal.SIGTERM)
            assert second.wait(30) == 0, second.stderr.read().decode() if second.stderr else ""

        job = job_state(db, job_id)
        assert job.state == JobState.succeeded, job.error
        assert job.attempts == 2 and job.progress == {"done": size, "total": size}
        # every sample recorded before the kill was requested exactly as often as it was
        # recorded then, and never again by the second worker
        repeated = [i for i, n in done_at_kill.items() if server.counts[key_of[i]] != n]
        assert repeated == []

    finished = db.get(Submission, submission.id, populate_existing=True)
    assert finished is not None and finished.state is SubmissionState.succeeded
    assert finished.samples == size and finished.errors == 0
    assert finished.public_score is not None and finished.private_score is not None
    assert not any(store_path(d, finished).exists() for d in [*disks, settings.data_dir])
    outcomes = outcomes_of(settings.data_dir, finished)
    assert sorted(outcomes) == sorted(key_of) and all(o.error is None for o in outcomes.values())
    board = db.get(type(stage), stage.id, populate_existing=True)
    assert board is not None and board.leaderboard_public is not None
    assert [r["entry"] for r in board.leaderboard_public["rows"]] == ["甲队"]
