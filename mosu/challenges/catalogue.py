"""Challenges (揭榜挂帅榜单): publishing one from a scenario, reading and listing them as each
actor may, editing a draft, and moving a challenge through its lifecycle.

Every change of a challenge's state goes through :func:`mosu.challenges.lifecycle.transition`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, String, cast, func, or_, select
from sqlalchemy.orm import Session, contains_eager, joinedload, selectinload

from mosu.challenges import lifecycle, races
from mosu.challenges.models import (
    Application,
    ApplicationState,
    Challenge,
    ChallengeEvent,
    ChallengeKind,
    ChallengeState,
    Entry,
    Stage,
)
from mosu.challenges.schemas import (
    ChallengeIn,
    ChallengeOut,
    ChallengePatch,
    StageBrief,
)
from mosu.core import clock
from mosu.core.errors import Conflict, Invalid, NotFound
from mosu.core.pagination import Page, like_pattern, page_args
from mosu.corpus.service import contamination_warning
from mosu.permissions import (
    Actor,
    can_manage_challenge,
    can_read_draft_challenge,
    ensure,
)
from mosu.registry.models import Organisation
from mosu.scenarios.models import ScenarioStatus
from mosu.scenarios.service import get_scenario

S = TypeVar("S", bound=Select[Any])


def visible(stmt: S, actor: Actor) -> S:
    """``stmt`` narrowed to challenges ``actor`` may read: drafts are the operators' and
    the issuing organisation's."""
    if actor.is_operator:
        return stmt
    shown = Challenge.state != ChallengeState.draft
    if actor.organisation_id is not None:
        shown = or_(shown, Challenge.organisation_id == actor.organisation_id)
    return stmt.where(shown)


def get_challenge(session: Session, challenge_id: int, *, actor: Actor) -> Challenge:
    """The challenge, or not found (also a draft the actor may not read)."""
    challenge = session.get(Challenge, challenge_id)
    if challenge is None or (
        challenge.state is ChallengeState.draft
        and not can_read_draft_challenge(actor, challenge.organisation_id)
    ):
        raise NotFound(f"榜单 {challenge_id} 不存在 / challenge {challenge_id} not found")
    return challenge


def stage_briefs(challenge: Challenge) -> list[StageBrief]:
    """The race's stages with the contamination warning of each pinned data set version."""
    return [
        StageBrief(
            id=s.id,
            position=s.position,
            name=s.name,
            state=s.state.value,
            opens_at=s.opens_at,
            closes_at=s.closes_at,
            dataset_version_id=s.dataset_version_id,
            contamination_warning=contamination_warning(s.dataset_version),
        )
        for s in challenge.stages
    ]


def live_counts(session: Session, challenge_ids: list[int]) -> dict[int, int]:
    """Applications that are not withdrawn, per challenge."""
    stmt = (
        select(Application.challenge_id, func.count(Application.id))
        .where(
            Application.challenge_id.in_(challenge_ids),
            Application.state != ApplicationState.withdrawn,
        )
        .group_by(Application.challenge_id)
    )
    return {challenge_id: count for challenge_id, count in session.execute(stmt)}


def _shortlisted(session: Session, challenge_ids: list[int]) -> dict[int, list[str]]:
    """Per challenge, the shortlisted lead organisations in the order they were shortlisted."""
    stmt = (
        select(Application.challenge_id, Organisation.name_zh)
        .join(Application, Application.organisation_id == Organisation.id)
        .join(Entry, Entry.application_id == Application.id)
        .where(
            Application.challenge_id.in_(challenge_ids),
            Application.state == ApplicationState.shortlisted,
        )
        .order_by(Entry.id)
    )
    found: dict[int, list[str]] = {}
    for challenge_id, name in session.execute(stmt):
        found.setdefault(challenge_id, []).append(name)
    return found


def shortlisted_names(session: Session, challenge_id: int) -> list[str]:
    """The shortlisted lead organisations, in the order they were shortlisted (public)."""
    return _shortlisted(session, [challenge_id]).get(challenge_id, [])


def challenge_outs(session: Session, challenges: Sequence[Challenge]) -> list[ChallengeOut]:
    """What anyone allowed to read the challenges sees of them (two queries for all)."""
    ids = [c.id for c in challenges]
    counts = live_counts(session, ids) if ids else {}
    shortlisted = _shortlisted(session, ids) if ids else {}
    return [
        ChallengeOut(
            id=challenge.id,
            scenario_id=challenge.scenario_id,
            scenario_title=challenge.scenario.title,
            organisation_id=challenge.organisation_id,
            organisation_name=challenge.organisation.name_zh,
            kind=challenge.kind,
            title=challenge.title,
            category=challenge.category,
            keywords=list(challenge.keywords),
            bounty_yuan=challenge.bounty_yuan,
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
            application_count=counts.get(challenge.id, 0),
            shortlisted=shortlisted.get(challenge.id, []),
            stages=stage_briefs(challenge),
        )
        for challenge in challenges
    ]


def challenge_out(session: Session, challenge: Challenge) -> ChallengeOut:
    """What anyone allowed to read the challenge sees of it."""
    return challenge_outs(session, [challenge])[0]


def list_challenges(
    session: Session,
    *,
    actor: Actor,
    q: str = "",
    kind: ChallengeKind | None = None,
    state: ChallengeState | None = None,
    category: str = "",
    scenario_id: int | None = None,
    page: int = 1,
    per_page: int = 20,
) -> Page[ChallengeOut]:
    """The 榜单 list: search title, requirements, keywords, issuer and organisation."""
    page, per_page = page_args(page, per_page)
    stmt = visible(select(Challenge).join(Challenge.organisation), actor)
    if q.strip():
        pattern = like_pattern(q.strip())
        stmt = stmt.where(
            or_(
                Challenge.title.ilike(pattern, escape="\\"),
                Challenge.requirements.ilike(pattern, escape="\\"),
                Challenge.category.ilike(pattern, escape="\\"),
                Challenge.issuer.ilike(pattern, escape="\\"),
                cast(Challenge.keywords, String).ilike(pattern, escape="\\"),
                Organisation.name_zh.ilike(pattern, escape="\\"),
            )
        )
    if kind is not None:
        stmt = stmt.where(Challenge.kind == kind)
    if state is not None:
        stmt = stmt.where(Challenge.state == state)
    if category.strip():
        stmt = stmt.where(Challenge.category == category.strip())
    if scenario_id is not None:
        stmt = stmt.where(Challenge.scenario_id == scenario_id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.options(
            contains_eager(Challenge.organisation),  # joined above, for the search
            joinedload(Challenge.scenario),
            selectinload(Challenge.stages).joinedload(Stage.dataset_version),
        )
        .order_by(Challenge.created_at.desc(), Challenge.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    items = challenge_outs(session, list(rows))
    return Page(items=items, total=total, page=page, per_page=per_page)


def categories(session: Session, *, actor: Actor) -> list[str]:
    """The categories in use among the challenges ``actor`` may read (for the filter)."""
    stmt = select(Challenge.category).where(Challenge.category != "").distinct()
    return sorted(session.scalars(visible(stmt, actor)))


def create_challenge(session: Session, *, actor: Actor, data: ChallengeIn) -> Challenge:
    """Draft a challenge from a scenario (operators); the scenario's organisation issues it."""
    ensure(
        can_manage_challenge(actor), "只有运营方可以发布榜单 / only operators publish challenges"
    )
    scenario = get_scenario(session, data.scenario_id, actor=actor)
    if scenario.status is ScenarioStatus.closed:
        raise Conflict("应用场景已关闭 / the scenario is closed", details={"field": "scenario_id"})
    challenge = Challenge(
        **data.model_dump(),
        organisation_id=scenario.organisation_id,
        state=ChallengeState.draft,
        created_by_id=actor.user_id,
    )
    session.add(challenge)
    session.flush()
    lifecycle.record(
        session,
        challenge,
        actor=actor,
        action="created",
        to_state=ChallengeState.draft,
        details={"scenario_id": scenario.id},
    )
    session.flush()
    return challenge


def update_challenge(
    session: Session, *, actor: Actor, challenge_id: int, data: ChallengePatch
) -> Challenge:
    """Change a draft (operators); a published challenge's terms are fixed."""
    challenge = get_challenge(session, challenge_id, actor=actor)
    ensure(can_manage_challenge(actor), "只有运营方可以修改榜单 / only operators edit challenges")
    if challenge.state is not ChallengeState.draft:
        raise Conflict(
            "榜单已发布，不能再修改 / a published challenge cannot be changed",
            details={"state": challenge.state.value},
        )
    for key, value in data.model_dump(exclude_unset=True).items():
        setattr(challenge, key, value)
    if challenge.valid_from > challenge.valid_until:
        raise Invalid(
            "有效期的开始晚于结束 / the validity window ends before it starts",
            details={"field": "valid_until"},
        )
    if challenge.winner_places > challenge.shortlist_places:
        raise Invalid(
            "揭榜名额不能多于入围名额 / more winner places than shortlist places",
            details={"field": "winner_places"},
        )
    session.flush()
    return challenge


def transition_challenge(
    session: Session,
    *,
    actor: Actor,
    challenge_id: int,
    name: str,
    reason: str = "",
    today: dt.date | None = None,
) -> ChallengeEvent:
    """Move a challenge by the named transition (403 wrong party, 409 wrong state).

    ``start_race`` is the race's own start (it schedules each stage's close); ``decide``
    names winners, so it is made on the race (``POST …/race/decide``), not here.
    """
    challenge = get_challenge(session, challenge_id, actor=actor)
    move = lifecycle.TRANSITIONS.get(name)
    allowed = move is not None and bool(move.parties & lifecycle.parties_of(actor, challenge))
    if allowed and move is not None and challenge.state in move.sources:
        if name == "publish" and challenge.valid_until < (today or clock.today()):
            raise Conflict(
                "有效期已过，请先修改有效期 / the validity window has passed; change it first",
                details={"field": "valid_until"},
            )
        if name == "decide":
            raise Conflict(
                "请在赛马页面选择揭榜单位 / name the winners on the race "
                f"(POST /api/v1/challenges/{challenge.id}/race/decide)"
            )
        if name == "start_race":
            races.start_race(session, actor=actor, challenge_id=challenge.id, reason=reason)
            session.flush()
            return _last_event(session, challenge.id)
    event = lifecycle.transition(session, challenge, name, actor=actor, reason=reason)
    if name == "publish":
        challenge.scenario.status = ScenarioStatus.published
    session.flush()
    return event


def _last_event(session: Session, challenge_id: int) -> ChallengeEvent:
    event = session.scalars(
        select(ChallengeEvent)
        .where(ChallengeEvent.challenge_id == challenge_id)
        .order_by(ChallengeEvent.id.desc())
        .limit(1)
    ).one()
    return event


def publish(
    session: Session, *, actor: Actor, challenge_id: int, reason: str = ""
) -> ChallengeEvent:
    """Open a draft for applications (待揭榜); its scenario becomes 已发榜."""
    return transition_challenge(
        session, actor=actor, challenge_id=challenge_id, name="publish", reason=reason
    )
