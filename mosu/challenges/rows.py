"""The 榜单 list read as plain rows: what the list shows of each challenge and its stages,
without building ORM objects (about 0.7 × the CPU of loading them), and the one builder of
:class:`ChallengeOut` that both the rows and loaded challenges go through."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BindParameter, bindparam, select
from sqlalchemy.orm import Session

from mosu.challenges.models import Challenge, Stage
from mosu.challenges.schemas import ChallengeOut, StageBrief
from mosu.core.money import whole_yuan
from mosu.corpus.models import DatasetVersion
from mosu.corpus.screening import contamination_warning_of
from mosu.registry.models import Organisation
from mosu.scenarios.models import Scenario

_IDS: BindParameter[int] = bindparam("ids", expanding=True)
LISTED_STAGES = (
    select(
        Stage.challenge_id,
        Stage.id,
        Stage.position,
        Stage.name,
        Stage.state,
        Stage.opens_at,
        Stage.closes_at,
        Stage.dataset_version_id,
        DatasetVersion.contamination,
    )
    .join(DatasetVersion, DatasetVersion.id == Stage.dataset_version_id)
    .where(Stage.challenge_id.in_(_IDS))
    .order_by(Stage.challenge_id, Stage.position)
)
"""The stages of the listed challenges, built once."""

LIST_COLUMNS = (
    Challenge.id,
    Challenge.scenario_id,
    Challenge.organisation_id,
    Challenge.kind,
    Challenge.title,
    Challenge.category,
    Challenge.keywords,
    Challenge.bounty_fen,
    Challenge.requirements,
    Challenge.valid_from,
    Challenge.valid_until,
    Challenge.region,
    Challenge.issuer,
    Challenge.require_filed_model,
    Challenge.max_applications_per_org,
    Challenge.shortlist_places,
    Challenge.winner_places,
    Challenge.state,
    Challenge.created_at,
    Organisation.name_zh.label("organisation_name"),
    Scenario.title.label("scenario_title"),
)
"""What the 榜单 list shows of a challenge, read as plain rows (no ORM objects)."""


def stage_brief(stage: Any, contamination: dict[str, Any]) -> StageBrief:
    """One stage of the list: ``stage`` a :class:`Stage` or a row of :data:`LISTED_STAGES`,
    with its pinned version's ``contamination`` column for the warning."""
    return StageBrief(
        id=stage.id,
        position=stage.position,
        name=stage.name,
        state=stage.state.value,
        opens_at=stage.opens_at,
        closes_at=stage.closes_at,
        dataset_version_id=stage.dataset_version_id,
        contamination_warning=contamination_warning_of(contamination),
    )


def listed_stages(session: Session, challenge_ids: list[int]) -> dict[int, list[StageBrief]]:
    """Per challenge, :func:`stage_briefs` read as plain rows in one statement."""
    found: dict[int, list[StageBrief]] = {}
    for row in session.execute(LISTED_STAGES, {"ids": challenge_ids}):
        found.setdefault(row.challenge_id, []).append(stage_brief(row, row.contamination))
    return found


def challenge_out_of(
    challenge: Any,
    *,
    scenario_title: str,
    organisation_name: str,
    application_count: int,
    shortlisted: list[str],
    stages: list[StageBrief],
    winners: list[str] | None = None,
) -> ChallengeOut:
    """``challenge``: a :class:`Challenge`, or a row of :data:`LIST_COLUMNS`."""
    return ChallengeOut(
        id=challenge.id,
        scenario_id=challenge.scenario_id,
        scenario_title=scenario_title,
        organisation_id=challenge.organisation_id,
        organisation_name=organisation_name,
        kind=challenge.kind,
        title=challenge.title,
        category=challenge.category,
        keywords=list(challenge.keywords),
        bounty_yuan=whole_yuan(challenge.bounty_fen),
        requirements=challenge.requirements,
        valid_from=challenge.valid_from,
        valid_until=challenge.valid_until,
        region=challenge.region,
        issuer=challenge.issuer,
        require_filed_model=challenge.require_filed_model,
        max_applications_per_org=challenge.max_applications_per_org,
        shortlist_places=challenge.shortlist_places,
        winner_places=challenge.winner_places,
        state=challenge.state,
        created_at=challenge.created_at,
        application_count=application_count,
        shortlisted=shortlisted,
        winners=winners or [],
        stages=stages,
    )


__all__ = ["LISTED_STAGES", "LIST_COLUMNS", "challenge_out_of", "listed_stages"]
