"""The retention clean-up: queued by a worker's beat, run as a job, deleting only what the
retention settings no longer keep; the job outcome counter moves."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.accounts.models import Notification, WebSession
from mosu.challenges.models import Application
from mosu.core.settings import Settings
from mosu.jobs.models import Job, JobState
from mosu.jobs.worker import Worker
from mosu.ops.cleanup import CLEANUP_JOB, cleanup_job, cleanup_schedule
from mosu.supply.models import VoucherApplication
from tests.conftest import World


def _old_file(path: Path, days: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF-1.4 test")
    moment = (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).timestamp()
    os.utime(path, (moment, moment))
    return path


def _finished(outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "mosu_jobs_finished_total", {"kind": CLEANUP_JOB, "outcome": outcome}
    )
    return value or 0.0


def test_the_scheduled_clean_up_deletes_only_what_retention_lets_go(
    db: Session, world: World, settings: Settings
) -> None:
    now = dt.datetime.now(dt.UTC)
    user = world.user_ids["supplier_a"]
    db.add_all(
        [
            WebSession(token_hash="a" * 64, user_id=user, expires_at=now - dt.timedelta(days=40)),
            WebSession(token_hash="b" * 64, user_id=user, expires_at=now + dt.timedelta(hours=2)),
            Notification(
                user_id=user, kind="t", title="old read", read_at=now - dt.timedelta(days=200)
            ),
            Notification(
                user_id=user, kind="t", title="old unread", created_at=now - dt.timedelta(days=400)
            ),
            Notification(
                user_id=user, kind="t", title="recent read", read_at=now - dt.timedelta(days=3)
            ),
        ]
    )
    db.commit()
    data = settings.data_dir
    stale_import = _old_file(data / "imports" / "upload-old.bin", days=30)
    fresh_import = _old_file(data / "imports" / "upload-new.bin", days=1)
    replaced = _old_file(data / "proposals" / "proposal-replaced.pdf", days=30)
    contract = _old_file(data / "supply" / "application-1-x.pdf", days=30)
    assert db.scalar(select(Application)) is None and db.scalar(select(VoucherApplication)) is None

    before = _finished("succeeded")
    worker = Worker(
        db.get_bind(),  # type: ignore[arg-type]
        handlers={CLEANUP_JOB: cleanup_job},
        data_dir=data,
        periodic=[cleanup_schedule(settings)],
    )
    worker.beat()
    worker._last_beat = None
    worker.beat()  # due once: a second beat queues nothing more
    jobs = db.scalars(select(Job).where(Job.kind == CLEANUP_JOB)).all()
    assert len(jobs) == 1
    assert worker.run_once()
    db.expire_all()
    job = db.get(Job, jobs[0].id)
    assert job is not None and job.state is JobState.succeeded, job.error
    assert job.result == {"sessions": 1, "notifications": 1, "uploads": 3}
    assert _finished("succeeded") == before + 1
    titles = set(db.scalars(select(Notification.title)))
    assert titles == {"old unread", "recent read"}
    assert [s.token_hash for s in db.scalars(select(WebSession))] == ["b" * 64]
    assert fresh_import.exists()
    assert not stale_import.exists() and not replaced.exists() and not contract.exists()
