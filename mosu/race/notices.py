"""The race's notices: who hears that a race started, a stage closed, an entry was cut, and
who won. Each team hears only of its own entry; the demand-side owners of the challenge hear
the winners."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from mosu.challenges.models import Challenge, Entry, EntryState, Stage
from mosu.notifications.kinds import when
from mosu.notifications.service import notify


def _tell_teams(
    session: Session, entries: list[Entry], kind: str, params: dict[str, Any], link: str
) -> None:
    """``kind`` to each entry's organisation, about its own entry (house baselines have no one
    to tell); a cut entry's reason goes with it."""
    for entry in entries:
        if entry.organisation_id is None or entry.baseline is not None:
            continue
        own = {**params, "entry": entry.name}
        if kind == "entry_cut" and entry.cut_reason is not None:
            own["reason"] = entry.cut_reason.to_json()  # rendered in each reader's language
        notify(session, organisation_id=entry.organisation_id, kind=kind, params=own, link=link)


def race_started(session: Session, challenge: Challenge, entries: list[Entry]) -> None:
    first = challenge.stages[0]
    racing = [e for e in entries if e.state is EntryState.active]
    params = {"challenge": challenge.title, "stage": first.name, "closes_at": when(first.closes_at)}
    _tell_teams(session, racing, "race_started", params, f"/challenges/{challenge.id}/race")


def stage_closed(session: Session, stage: Stage, kept: list[Entry], cut: list[Entry]) -> None:
    link = f"/challenges/{stage.challenge.id}/race"
    base: dict[str, Any] = {"challenge": stage.challenge.title, "stage": stage.name}
    _tell_teams(session, kept, "stage_closed", base, link)
    _tell_teams(session, cut, "entry_cut", base, link)


def decided(
    session: Session, challenge: Challenge, winners: list[Entry], others: list[Entry]
) -> None:
    link = f"/challenges/{challenge.id}/race"
    base: dict[str, Any] = {"challenge": challenge.title}
    _tell_teams(session, winners, "entry_won", base, link)
    _tell_teams(session, others, "entry_not_won", base, link)
    notify(
        session,
        organisation_id=challenge.organisation_id,
        kind="challenge_decided",
        params={"challenge": challenge.title, "winners": "、".join(e.name for e in winners)},
        link=link,
    )
