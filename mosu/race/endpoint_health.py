"""An endpoint's health as its races saw it (接入点健康): the last submission that called it
and the share of calls that erred in its recent submissions."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.challenges.models import Submission, SubmissionState
from mosu.core.text import Text

RECENT = 5
"""How many of an endpoint's latest finished submissions the error rate counts."""


@dataclass(frozen=True)
class EndpointHealth:
    """``last_state`` and ``last_failure`` of the latest finished submission; ``error_rate``
    over the samples of the latest :data:`RECENT` ones (None before any)."""

    last_state: str
    last_failure: Text | None
    error_rate: float | None
    submissions: int


def endpoint_health(session: Session, endpoint_ids: list[int]) -> dict[int, EndpointHealth]:
    """Health of each endpoint that has finished submissions (one query)."""
    if not endpoint_ids:
        return {}
    rows = session.execute(
        select(
            Submission.endpoint_id,
            Submission.state,
            Submission.failure,
            Submission.errors,
            Submission.samples,
        )
        .where(
            Submission.endpoint_id.in_(endpoint_ids),
            Submission.state.in_([SubmissionState.succeeded.value, SubmissionState.failed.value]),
        )
        .order_by(Submission.endpoint_id, Submission.id.desc())
    ).all()
    recent: dict[int, list[tuple[SubmissionState, Text | None, int, int]]] = {}
    for endpoint_id, state, failure, errors, samples in rows:
        if endpoint_id is None:
            continue
        kept = recent.setdefault(endpoint_id, [])
        if len(kept) < RECENT:
            kept.append((state, failure, errors or 0, samples or 0))
    health = {}
    for endpoint_id, kept in recent.items():
        samples = sum(k[3] for k in kept)
        health[endpoint_id] = EndpointHealth(
            last_state=kept[0][0].value,
            last_failure=kept[0][1],
            error_rate=sum(k[2] for k in kept) / samples if samples else None,
            submissions=len(kept),
        )
    return health


__all__ = ["RECENT", "EndpointHealth", "endpoint_health"]
