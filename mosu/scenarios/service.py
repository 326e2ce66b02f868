"""Scenario rules: who posts and edits a scenario, who reads drafts, and the board's search."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Select, String, cast, func, or_, select
from sqlalchemy.orm import Session, joinedload

from mosu.core import ranking
from mosu.core.money import whole_fen
from mosu.core.pagination import Page, like_pattern, page_args
from mosu.permissions import (
    Actor,
    can_manage_scenario,
    can_read_draft_scenario,
    can_read_every_draft_scenario,
    ensure,
)
from mosu.registry.lookups import get_organisation
from mosu.registry.models import Organisation
from mosu.scenarios.errors import (
    BUDGET_INVERTED,
    EDIT_OWN_SCENARIOS,
    NO_SUCH_SCENARIO,
    ORGANISATION_REQUIRED,
    POST_NOT_ALLOWED,
    PUBLISHED_BY_CHALLENGE,
    PUBLISHED_ONLY_CLOSES,
)
from mosu.scenarios.models import Scenario, ScenarioStatus
from mosu.scenarios.schemas import ChallengeBrief, ScenarioIn, ScenarioOut, ScenarioPatch

R = TypeVar("R")


def visible(stmt: Select[R], actor: Actor) -> Select[R]:
    """``stmt`` narrowed to the scenarios ``actor`` may read (drafts: own org, operators)."""
    if can_read_every_draft_scenario(actor):
        return stmt
    shown = Scenario.status != ScenarioStatus.draft
    if actor.organisation_id is not None:
        shown = or_(shown, Scenario.organisation_id == actor.organisation_id)
    return stmt.where(shown)


ChallengeBriefs = Callable[[Scenario, Actor], list[ChallengeBrief]]
"""The challenges published from a scenario that an actor may see, oldest first."""

_challenge_briefs: list[ChallengeBriefs] = []


def shows_challenges(briefs: ChallengeBriefs) -> None:
    """Let the challenges (built on scenarios) list a scenario's published challenges in its
    output; scenarios never import them. Registered when :mod:`mosu.challenges` loads."""
    _challenge_briefs[:] = [briefs]


def scenario_out(scenario: Scenario, *, actor: Actor) -> ScenarioOut:
    if not _challenge_briefs:
        raise LookupError("mosu.challenges is not loaded: a scenario's challenges are unknown")
    return ScenarioOut(
        id=scenario.id,
        organisation_id=scenario.organisation_id,
        organisation_name=scenario.organisation.name_zh,
        title=scenario.title,
        description=scenario.description,
        domain=scenario.domain,
        capabilities=list(scenario.capabilities),
        data_available=scenario.data_available,
        budget_min_yuan=scenario.budget_min_yuan,
        budget_max_yuan=scenario.budget_max_yuan,
        region=scenario.region,
        deadline=scenario.deadline,
        status=scenario.status,
        created_at=scenario.created_at,
        updated_at=scenario.updated_at,
        challenges=_challenge_briefs[0](scenario, actor),
    )


def list_scenarios(
    session: Session,
    *,
    actor: Actor,
    q: str = "",
    domain: str = "",
    region: str = "",
    status: ScenarioStatus | None = None,
    organisation_id: int | None = None,
    budget_min_yuan: int | None = None,
    budget_max_yuan: int | None = None,
    page: int = 1,
    per_page: int = 20,
) -> Page[ScenarioOut]:
    """The scenario board. ``q`` is a Chinese full-text search through the matching engine
    (title, domain, capabilities, description, data), best first, with substring matches
    (also of the organisation's name) behind. The budget filter keeps scenarios with a stated
    budget whose range meets ``budget_min_yuan``..``budget_max_yuan``."""
    page, per_page = page_args(page, per_page)
    stmt = visible(select(Scenario).join(Scenario.organisation), actor)
    ranked: list[int] = []
    if q.strip():
        pattern = like_pattern(q.strip())
        ranked = ranking.rank(session, "scenarios", q.strip())
        stmt = stmt.where(
            or_(
                Scenario.id.in_(ranked),
                Scenario.title.ilike(pattern, escape="\\"),
                Scenario.description.ilike(pattern, escape="\\"),
                Scenario.domain.ilike(pattern, escape="\\"),
                Scenario.data_available.ilike(pattern, escape="\\"),
                cast(Scenario.capabilities, String).ilike(pattern, escape="\\"),
                Organisation.name_zh.ilike(pattern, escape="\\"),
            )
        )
    if domain.strip():
        stmt = stmt.where(Scenario.domain == domain.strip())
    if region.strip():
        stmt = stmt.where(Scenario.region == region.strip())
    if status is not None:
        stmt = stmt.where(Scenario.status == status)
    if organisation_id is not None:
        stmt = stmt.where(Scenario.organisation_id == organisation_id)
    low, high = whole_fen(budget_min_yuan), whole_fen(budget_max_yuan)
    if low is not None or high is not None:
        stmt = stmt.where(
            or_(Scenario.budget_min_fen.is_not(None), Scenario.budget_max_fen.is_not(None))
        )
    if low is not None:
        stmt = stmt.where(or_(Scenario.budget_max_fen.is_(None), Scenario.budget_max_fen >= low))
    if high is not None:
        stmt = stmt.where(or_(Scenario.budget_min_fen.is_(None), Scenario.budget_min_fen <= high))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = ranking.page_rows(
        session,
        stmt.order_by(Scenario.created_at.desc(), Scenario.id.desc()),
        Scenario,
        ranked,
        page=page,
        per_page=per_page,
        options=(joinedload(Scenario.organisation),),
    )
    items = [scenario_out(s, actor=actor) for s in rows]
    return Page(items=items, total=total, page=page, per_page=per_page)


def facets(session: Session, *, actor: Actor) -> dict[str, list[str]]:
    """The domains and regions in use on the board, for its filter menus."""
    domains = session.scalars(
        visible(select(Scenario.domain).where(Scenario.domain != "").distinct(), actor)
    )
    regions = session.scalars(
        visible(select(Scenario.region).where(Scenario.region != "").distinct(), actor)
    )
    return {"domains": sorted(domains), "regions": sorted(regions)}


def get_scenario(session: Session, scenario_id: int, *, actor: Actor) -> Scenario:
    """The scenario, or not found (also when it is a draft the actor may not read)."""
    scenario = session.get(Scenario, scenario_id)
    if scenario is None or (
        scenario.status is ScenarioStatus.draft
        and not can_read_draft_scenario(actor, scenario.organisation_id)
    ):
        raise NO_SUCH_SCENARIO(scenario_id=scenario_id)
    return scenario


def create_scenario(session: Session, *, actor: Actor, data: ScenarioIn) -> Scenario:
    """Post a scenario for the author's organisation (operators name any organisation)."""
    organisation_id = data.organisation_id or actor.organisation_id
    if organisation_id is None:
        raise ORGANISATION_REQUIRED(details={"field": "organisation_id"})
    get_organisation(session, organisation_id)
    ensure(can_manage_scenario(actor, organisation_id), POST_NOT_ALLOWED)
    values = data.model_dump(exclude={"organisation_id"})
    scenario = Scenario(**values, organisation_id=organisation_id, created_by_id=actor.user_id)
    session.add(scenario)
    session.flush()
    return scenario


def update_scenario(
    session: Session, *, actor: Actor, scenario_id: int, data: ScenarioPatch
) -> Scenario:
    scenario = get_scenario(session, scenario_id, actor=actor)
    ensure(can_manage_scenario(actor, scenario.organisation_id), EDIT_OWN_SCENARIOS)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("status") is ScenarioStatus.published:
        raise PUBLISHED_BY_CHALLENGE(details={"field": "status"})
    if (
        scenario.status is ScenarioStatus.published
        and changes.get("status", ScenarioStatus.closed) is not ScenarioStatus.closed
    ):
        raise PUBLISHED_ONLY_CLOSES(details={"field": "status"})
    for key, value in changes.items():
        setattr(scenario, key, value)
    low, high = scenario.budget_min_fen, scenario.budget_max_fen
    if low is not None and high is not None and low > high:
        raise BUDGET_INVERTED(details={"field": "budget_min_yuan"})
    session.flush()
    return scenario
