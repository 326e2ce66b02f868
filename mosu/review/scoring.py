"""Blind scoring (盲评): a confirmed member scores each application per criterion of the
published rubric, with a comment, until the panel closes or its deadline passes.

The weighted total of one expert's scores is on 0–100:
``Σ weight × (score − score_min) / (score_max − score_min)`` with weights summing to 100.
No one but the scorer reads a score before the panel closes (see
:mod:`mosu.review.panel_views`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.challenges import lifecycle
from mosu.challenges.models import Application
from mosu.core import clock
from mosu.permissions import Actor, can_manage_panels, ensure
from mosu.review.errors import (
    CLOSE_PANEL_OPERATORS_ONLY,
    COMMENT_TOO_SHORT,
    FORCED_CLOSE_NEEDS_REASON,
    NOT_UNDER_REVIEW,
    PANEL_CLOSED,
    PAST_DEADLINE,
    RUBRIC_MISSING,
    SCORE_EVERY_CRITERION,
    SCORE_IN_HALF_POINTS,
    SCORE_NOT_NUMBER,
    SCORE_OUT_OF_RANGE,
    SCORES_MISSING,
)
from mosu.review.models import MemberState, Panel, PanelState, ReviewScore, Rubric
from mosu.review.panels import (
    REVIEWED_STATES,
    confirmed_seat,
    get_panel,
    past_deadline,
    reviewed_applications,
)

MIN_COMMENT = 5
"""A comment (评审意见) says why, in at least this many characters."""


def weighted_total(
    criteria: Sequence[Mapping[str, Any]], scores: Mapping[str, float], low: int, high: int
) -> float:
    """Σ weight × (score − low) / (high − low), on 0–100 (weights sum to 100)."""
    span = high - low
    total = sum(float(c["weight"]) * (scores[c["key"]] - low) / span for c in criteria)
    return round(total, 6)


def check_scores(rubric: Rubric, scores: Mapping[str, float]) -> dict[str, float]:
    """The scores, one per criterion of the rubric, each within its range in half points;
    else 422 naming what is wrong."""
    keys = [str(c["key"]) for c in rubric.criteria]
    missing = [k for k in keys if k not in scores]
    unknown = sorted(set(scores) - set(keys))
    if missing or unknown:
        raise SCORE_EVERY_CRITERION(details={"missing": missing, "unknown": unknown})
    checked: dict[str, float] = {}
    for key in keys:
        value = scores[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SCORE_NOT_NUMBER(key=key, details={"key": key})
        number = float(value)
        if not math.isfinite(number) or not rubric.score_min <= number <= rubric.score_max:
            raise SCORE_OUT_OF_RANGE(
                key=key, low=rubric.score_min, high=rubric.score_max, details={"key": key}
            )
        if number * 2 != int(number * 2):
            raise SCORE_IN_HALF_POINTS(key=key, details={"key": key})
        checked[key] = number
    return checked


def submit_score(
    session: Session,
    *,
    actor: Actor,
    panel_id: int,
    application_id: int,
    scores: dict[str, float],
    comment: str,
) -> ReviewScore:
    """A confirmed member scores (or re-scores, until the close) one application under
    review; refused after the deadline until the operator extends it."""
    panel = get_panel(session, panel_id)
    member = confirmed_seat(session, actor=actor, panel=panel)
    if panel.state is not PanelState.open:
        raise PANEL_CLOSED()
    if past_deadline(panel):
        raise PAST_DEADLINE()
    application = session.get(Application, application_id)
    if (
        application is None
        or application.challenge_id != panel.challenge_id
        or application.state not in REVIEWED_STATES
    ):
        raise NOT_UNDER_REVIEW(application_id=application_id)
    rubric = session.get(Rubric, panel.challenge_id)
    if rubric is None:
        raise RUBRIC_MISSING()
    checked = check_scores(rubric, scores)
    text = comment.strip()
    if len(text) < MIN_COMMENT:
        raise COMMENT_TOO_SHORT(n=MIN_COMMENT, details={"field": "comment"})
    total = weighted_total(rubric.criteria, checked, rubric.score_min, rubric.score_max)
    row = session.scalar(
        select(ReviewScore).where(
            ReviewScore.panel_id == panel.id,
            ReviewScore.expert_id == member.expert_id,
            ReviewScore.application_id == application.id,
        )
    )
    if row is None:
        row = ReviewScore(
            panel_id=panel.id, expert_id=member.expert_id, application_id=application.id
        )
        session.add(row)
    row.scores = checked
    row.comment = text
    row.total = total
    row.updated_at = clock.now()
    session.flush()
    return row


def unscored(session: Session, panel: Panel) -> dict[int, list[int]]:
    """Each confirmed member's applications still without a score (expert id → ids)."""
    applications = [a.id for a in reviewed_applications(session, panel.challenge_id)]
    done: dict[int, set[int]] = {}
    for expert_id, application_id in session.execute(
        select(ReviewScore.expert_id, ReviewScore.application_id).where(
            ReviewScore.panel_id == panel.id
        )
    ):
        done.setdefault(expert_id, set()).add(application_id)
    missing: dict[int, list[int]] = {}
    for member in panel.members:
        if member.state is MemberState.confirmed:
            left = [a for a in applications if a not in done.get(member.expert_id, set())]
            if left:
                missing[member.expert_id] = left
    return missing


def close_panel(
    session: Session, *, actor: Actor, panel_id: int, force: bool = False, reason: str = ""
) -> Panel:
    """End the scoring (operators): refused while a confirmed member has applications left
    to score, unless ``force`` with a recorded reason. The scores become final and shown."""
    ensure(can_manage_panels(actor), CLOSE_PANEL_OPERATORS_ONLY)
    panel = get_panel(session, panel_id)
    if panel.state is not PanelState.open:
        raise PANEL_CLOSED()
    missing = unscored(session, panel)
    left = sum(len(v) for v in missing.values())
    if missing and not force:
        raise SCORES_MISSING(
            left=left, details={"missing": {str(k): v for k, v in missing.items()}}
        )
    if missing and not reason.strip():
        raise FORCED_CLOSE_NEEDS_REASON(details={"field": "reason"})
    panel.state = PanelState.closed
    panel.closed_at = clock.now()
    lifecycle.record(
        session,
        panel.challenge,
        actor=actor,
        action="panel_closed",
        reason=reason if missing else "",
        details={"panel_id": panel.id, "forced": bool(missing), "missing_scores": left},
    )
    session.flush()
    return panel


__all__ = [
    "MIN_COMMENT",
    "check_scores",
    "close_panel",
    "submit_score",
    "unscored",
    "weighted_total",
]
