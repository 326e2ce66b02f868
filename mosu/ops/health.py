"""Liveness and readiness (``/healthz``, ``/readyz``): cheap checks a load balancer or an
orchestrator polls. Ready means the database answers, its schema is the newest this mosu
knows, and (when ``MOSU_EXPECT_WORKER`` says workers run) a job worker beat recently."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from mosu import migrate
from mosu.core import clock
from mosu.core.settings import Settings
from mosu.jobs.beats import last_beat


@cache
def head_revision() -> str | None:
    """The newest schema revision shipped (read from the migration scripts once)."""
    return migrate.head_revision()


@dataclass
class Readiness:
    """Each check's verdict (``ok`` or why not) and whether all passed."""

    checks: dict[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(v == "ok" for v in self.checks.values())


def readiness(engine: Engine, settings: Settings, *, now: dt.datetime | None = None) -> Readiness:
    """Check the database, its schema revision and (if expected) a worker's heartbeat."""
    found = Readiness()
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            revision = migrate.current_revision(engine)
            found.checks["database"] = "ok"
            head = head_revision()
            found.checks["schema"] = (
                "ok" if revision == head else f"at {revision or 'empty'}, newest is {head}"
            )
            if settings.expect_worker:
                with Session(bind=conn) as session:
                    seen = last_beat(session)
                found.checks["worker"] = _worker(seen, settings, now or clock.now())
    except SQLAlchemyError as exc:
        found.checks["database"] = f"unreachable: {type(exc).__name__}"
    return found


def _worker(seen: dt.datetime | None, settings: Settings, now: dt.datetime) -> str:
    if seen is None:
        return "no worker has beaten"
    silent = (now - clock.local(seen)).total_seconds()
    if silent > settings.worker_silence_seconds:
        return f"last worker heartbeat {silent:.0f} s ago"
    return "ok"
