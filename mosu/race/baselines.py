"""House baselines (平台基线): added by an operator, submitted by the platform.

A baseline is submitted when it is added to a racing challenge whose stage is open, when
the race starts (for each open stage), and when each later stage opens (a job at its
opening time), so its row is on every board without anyone pressing a button.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from mosu.challenges import lifecycle
from mosu.challenges.models import ChallengeState, Entry, EntryState, Stage, Submission
from mosu.core import clock
from mosu.jobs import queue
from mosu.permissions import Actor, can_run_race, ensure
from mosu.race.entries import check_unique_name, entries_of
from mosu.race.errors import (
    CHALLENGE_OVER,
    ONLY_OPERATORS_ADD_BASELINES,
    UNKNOWN_BASELINE,
)
from mosu.race.stages import (
    BASELINES,
    FINISHED_CHALLENGE,
    SYSTEM,
    StageStatus,
    get_challenge,
    stage_status,
)
from mosu.race.submissions import quota, submit

BASELINE_JOB = "challenge.submit_baselines"
NOTE = "平台基线，自动提交 / house baseline, submitted by the platform"


def add_house_entry(
    session: Session, *, actor: Actor, challenge_id: int, name: str, baseline: str
) -> Entry:
    """A reference entry run by the platform (a built-in baseline), like Kaggle's benchmarks;
    submitted at once to the stage that is open, if the challenge is racing."""
    ensure(can_run_race(actor), ONLY_OPERATORS_ADD_BASELINES)
    if baseline not in BASELINES:
        raise UNKNOWN_BASELINE(baseline=baseline, choices=", ".join(BASELINES))
    challenge = get_challenge(session, challenge_id)
    if challenge.state in FINISHED_CHALLENGE:
        raise CHALLENGE_OVER()
    check_unique_name(session, challenge.id, name)
    entry = Entry(challenge_id=challenge.id, name=name.strip(), baseline=baseline)
    session.add(entry)
    session.flush()
    lifecycle.record(
        session,
        challenge,
        actor=actor,
        action="baseline_added",
        details={"entry": entry.name, "baseline": baseline},
    )
    for stage in challenge.stages:
        submit_baselines(session, stage, entries=[entry])
    return entry


def submit_baselines(
    session: Session,
    stage: Stage,
    *,
    entries: list[Entry] | None = None,
    now: dt.datetime | None = None,
) -> list[Submission]:
    """Submit each active baseline (of ``entries``, default all the challenge's) that has no
    counted submission at ``stage``, if the challenge is racing and the stage is open."""
    moment = now or clock.now()
    if stage.challenge.state is not ChallengeState.racing:
        return []
    if stage_status(stage, moment) is not StageStatus.open:
        return []
    made = []
    for entry in entries if entries is not None else entries_of(session, stage.challenge_id):
        if entry.baseline is None or entry.state is not EntryState.active:
            continue
        if quota(session, stage, entry, moment).used_total:
            continue
        made.append(
            submit(
                session,
                actor=SYSTEM,
                stage_id=stage.id,
                entry_id=entry.id,
                data_dir=None,  # a baseline uploads no file
                note=NOTE,
                now=moment,
            )
        )
    return made


def schedule_baselines(session: Session, stage: Stage, now: dt.datetime | None = None) -> None:
    """Submit the baselines now if the stage is open, or when it opens (a job)."""
    moment = now or clock.now()
    if stage.opens_at > moment:
        job = queue.enqueue(session, kind=BASELINE_JOB, payload={"stage_id": stage.id})
        job.available_at = stage.opens_at
    else:
        submit_baselines(session, stage, now=moment)


__all__ = ["BASELINE_JOB", "NOTE", "add_house_entry", "schedule_baselines", "submit_baselines"]
