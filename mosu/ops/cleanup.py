"""The retention clean-up (数据保留清理): a job the workers queue every
``MOSU_CLEANUP_INTERVAL_HOURS`` that deletes what mosu no longer needs to keep:

* web sessions that ended more than ``MOSU_RETENTION_SESSION_DAYS`` ago;
* notifications read more than ``MOSU_RETENTION_NOTIFICATION_DAYS`` ago;
* uploads no row uses any more, older than ``MOSU_RETENTION_UPLOAD_DAYS``: a failed
  import kept for resubmission (``imports/``), and proposals and contracts that were
  replaced (files under ``proposals/`` and ``supply/`` no application names).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.accounts.service import delete_sessions_ended_before
from mosu.challenges.models import Application
from mosu.core import clock
from mosu.core.settings import Settings
from mosu.jobs.beats import Periodic, scheduled
from mosu.jobs.worker import JobContext, handler
from mosu.notifications.service import delete_read_before
from mosu.supply.models import VoucherApplication

CLEANUP_JOB = "ops.cleanup"
log = logging.getLogger("mosu.ops")


@dataclass(frozen=True)
class Retention:
    """How many days each kind of record is kept."""

    session_days: int
    notification_days: int
    upload_days: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Retention:
        return cls(
            settings.retention_session_days,
            settings.retention_notification_days,
            settings.retention_upload_days,
        )


@dataclass(frozen=True)
class Cleaned:
    """What one clean-up deleted."""

    sessions: int
    notifications: int
    uploads: int


def clean_up(
    session: Session, *, retention: Retention, data_dir: Path, now: dt.datetime | None = None
) -> Cleaned:
    """Delete what the retention settings no longer keep; the caller commits."""
    moment = now or clock.now()
    sessions = delete_sessions_ended_before(
        session, before=moment - dt.timedelta(days=retention.session_days)
    )
    notifications = delete_read_before(
        session, before=moment - dt.timedelta(days=retention.notification_days)
    )
    uploads = _unused_uploads(session, data_dir, moment - dt.timedelta(days=retention.upload_days))
    for path in uploads:
        path.unlink(missing_ok=True)
    return Cleaned(sessions, notifications, len(uploads))


def _unused_uploads(session: Session, data_dir: Path, before: dt.datetime) -> list[Path]:
    """Files older than ``before`` that no row names: stashed imports, replaced proposals
    and contracts."""
    cutoff = before.timestamp()
    used = {
        Path(name).name
        for name in session.scalars(
            select(Application.proposal_file).where(Application.proposal_file.is_not(None))
        )
        if name
    }
    used |= {
        name
        for name in session.scalars(
            select(VoucherApplication.attachment_path).where(
                VoucherApplication.attachment_path.is_not(None)
            )
        )
        if name
    }
    found = []
    for area, referenced in (("imports", False), ("proposals", True), ("supply", True)):
        folder = data_dir / area
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if not path.is_file() or path.name.startswith("."):
                continue
            if referenced and path.name in used:
                continue
            if path.stat().st_mtime < cutoff:
                found.append(path)
    return found


@scheduled(CLEANUP_JOB)
def cleanup_schedule(settings: Settings) -> Periodic:
    """The clean-up, every ``cleanup_interval_hours``, with the retention in its payload."""
    return Periodic(
        CLEANUP_JOB,
        every=settings.cleanup_interval_hours * 3600,
        payload=asdict(Retention.from_settings(settings)),
    )


@handler(CLEANUP_JOB)
def cleanup_job(ctx: JobContext) -> dict[str, Any]:
    """Run the clean-up with the retention the job was queued with."""
    retention = Retention(**{k: int(v) for k, v in ctx.payload.items()})
    if ctx.engine is None:
        raise RuntimeError("the clean-up runs in a worker, with its engine")
    with Session(ctx.engine) as session:
        cleaned = clean_up(session, retention=retention, data_dir=ctx.data_dir)
        session.commit()
    log.info(
        "retention clean-up: %s sessions, %s notifications, %s uploads deleted",
        cleaned.sessions,
        cleaned.notifications,
        cleaned.uploads,
    )
    return asdict(cleaned)
