"""The race's notices: who hears that a race started, a stage closed, an entry was cut, and
who won. Each team hears only of its own entry; the demand-side owners of the challenge hear
the winners."""

from __future__ import annotations

from sqlalchemy.orm import Session

from mosu.challenges.models import Challenge, Entry, EntryState, Stage
from mosu.notifications.kinds import when
from mosu.notifications.service import notify


def _teams(entries: list[Entry]) -> list[Entry]:
    """Entries of organisations (house baselines have no one to tell)."""
    return [e for e in entries if e.organisation_id is not None and e.baseline is None]


def race_started(session: Session, challenge: Challenge, entries: list[Entry]) -> None:
    first = challenge.stages[0]
    for entry in _teams([e for e in entries if e.state is EntryState.active]):
        notify(
            session,
            organisation_id=entry.organisation_id,
            kind="race_started",
            params={
                "challenge": challenge.title,
                "stage": first.name,
                "closes_at": when(first.closes_at),
            },
            link=f"/challenges/{challenge.id}/race",
        )


def stage_closed(session: Session, stage: Stage, kept: list[Entry], cut: list[Entry]) -> None:
    challenge = stage.challenge
    link = f"/challenges/{challenge.id}/race"
    base = {"challenge": challenge.title, "stage": stage.name}
    for entry in _teams(kept):
        notify(
            session,
            organisation_id=entry.organisation_id,
            kind="stage_closed",
            params={**base, "entry": entry.name},
            link=link,
        )
    for entry in _teams(cut):
        notify(
            session,
            organisation_id=entry.organisation_id,
            kind="entry_cut",
            params={**base, "entry": entry.name, "reason": entry.cut_reason},
            link=link,
        )


def decided(
    session: Session, challenge: Challenge, winners: list[Entry], others: list[Entry]
) -> None:
    link = f"/challenges/{challenge.id}/race"
    for entry in _teams(winners):
        notify(
            session,
            organisation_id=entry.organisation_id,
            kind="entry_won",
            params={"challenge": challenge.title, "entry": entry.name},
            link=link,
        )
    for entry in _teams(others):
        notify(
            session,
            organisation_id=entry.organisation_id,
            kind="entry_not_won",
            params={"challenge": challenge.title, "entry": entry.name},
            link=link,
        )
    notify(
        session,
        organisation_id=challenge.organisation_id,
        kind="challenge_decided",
        params={"challenge": challenge.title, "winners": "、".join(e.name for e in winners)},
        link=link,
    )
