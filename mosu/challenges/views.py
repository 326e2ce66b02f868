"""Challenge views: permission-aware loaders and output builders that both the API routes
(:mod:`mosu.challenges.routes`) and the HTML pages (:mod:`mosu.web.challenge_pages`) call.

Each page's view object carries capability flags (``can_apply``, ``can_decide``, …) decided
by :mod:`mosu.permissions`, so templates read flags instead of checking roles.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.responses import FileResponse
from sqlalchemy import BindParameter, String, bindparam, cast, func, or_, select
from sqlalchemy.orm import Session, joinedload, load_only, selectinload

from mosu import i18n
from mosu.challenges import lifecycle
from mosu.challenges.applications import (
    get_application,
    takes_applications,
    team_models,
    team_of,
)
from mosu.challenges.audit import events_out
from mosu.challenges.catalogue import categories, get_challenge, visible
from mosu.challenges.decisions import DECIDABLE
from mosu.challenges.errors import ALREADY_PUBLISHED, NEEDS_ORGANISATION, ONLY_OPERATORS_EDIT
from mosu.challenges.lifecycle import Transition
from mosu.challenges.models import (
    SHORTLISTED_STATES,
    Application,
    ApplicationMember,
    ApplicationState,
    Challenge,
    ChallengeKind,
    ChallengeState,
    Entry,
    Stage,
)
from mosu.challenges.proposals import proposal_path
from mosu.challenges.rows import LIST_COLUMNS, challenge_out_of, listed_stages, stage_brief
from mosu.challenges.schemas import (
    ApplicationList,
    ApplicationOut,
    ChallengeOut,
    EventOut,
    ModelBrief,
    OrgBrief,
    StageBrief,
)
from mosu.core import clock
from mosu.core.pagination import Page, like_pattern, page_args
from mosu.corpus.models import DatasetVersion
from mosu.permissions import (
    Actor,
    can_apply_now,
    can_edit_challenge,
    can_manage_challenge,
    can_read_all_applications,
    can_read_decision_reason,
    can_withdraw_application,
    ensure,
)
from mosu.registry.lookups import filed_model_ids
from mosu.registry.models import Model, Organisation
from mosu.scenarios.models import Scenario
from mosu.scenarios.service import get_scenario

# ---------------------------------------------------------------- outputs


STAGE_BRIEFS = selectinload(Challenge.stages).options(
    load_only(
        Stage.challenge_id,
        Stage.position,
        Stage.name,
        Stage.state,
        Stage.opens_at,
        Stage.closes_at,
        Stage.dataset_version_id,
    ),
    joinedload(Stage.dataset_version).load_only(DatasetVersion.contamination),
)
"""What :func:`stage_briefs` reads of the stages, without the task and boards they carry
(JSON that costs more to decode than the rest of a challenge page)."""


NAMES = (
    joinedload(Challenge.organisation).load_only(Organisation.name_zh),
    joinedload(Challenge.scenario).load_only(Scenario.title),
)
"""What :func:`challenge_outs` reads of a challenge's organisation and scenario: their names
(not the descriptions and JSON columns that a full row would decode)."""


def stage_briefs(challenge: Challenge) -> list[StageBrief]:
    """The race's stages with the contamination warning of each pinned data set version."""
    return [stage_brief(s, s.dataset_version.contamination) for s in challenge.stages]


_IDS: BindParameter[int] = bindparam("ids", expanding=True)
_LIVE_COUNTS = (
    select(Application.challenge_id, func.count(Application.id))
    .where(Application.challenge_id.in_(_IDS), Application.state != ApplicationState.withdrawn)
    .group_by(Application.challenge_id)
)
_SHORTLISTED = (
    select(Application.challenge_id, Organisation.name_zh, Application.state)
    .join(Application, Application.organisation_id == Organisation.id)
    .join(Entry, Entry.application_id == Application.id)
    .where(Application.challenge_id.in_(_IDS), Application.state.in_(SHORTLISTED_STATES))
    .order_by(Entry.id)
)
_ENTRIES = select(Entry.application_id, Entry.id).where(Entry.application_id.in_(_IDS))
"""The challenge pages' statements that take only ids, built once (building one cost about
as much as running it)."""


def live_counts(session: Session, challenge_ids: list[int]) -> dict[int, int]:
    """Applications that are not withdrawn, per challenge."""
    found = session.execute(_LIVE_COUNTS, {"ids": challenge_ids})
    return {challenge_id: count for challenge_id, count in found}


def _shortlisted(
    session: Session, challenge_ids: list[int], winners: dict[int, list[str]] | None = None
) -> dict[int, list[str]]:
    """Per challenge, the shortlisted lead organisations in the order they were shortlisted
    (and, into ``winners``, those named winners at the decision: 揭榜成功)."""
    found: dict[int, list[str]] = {}
    for challenge_id, name, state in session.execute(_SHORTLISTED, {"ids": challenge_ids}):
        found.setdefault(challenge_id, []).append(name)
        if winners is not None and state is ApplicationState.won:
            winners.setdefault(challenge_id, []).append(name)
    return found


def shortlisted_names(session: Session, challenge_id: int) -> list[str]:
    """The shortlisted lead organisations, in the order they were shortlisted (public)."""
    return _shortlisted(session, [challenge_id]).get(challenge_id, [])


def challenge_outs(session: Session, challenges: Sequence[Challenge]) -> list[ChallengeOut]:
    """What anyone allowed to read the challenges sees of them (two queries for all)."""
    ids = [c.id for c in challenges]
    counts = live_counts(session, ids) if ids else {}
    winners: dict[int, list[str]] = {}
    shortlisted = _shortlisted(session, ids, winners) if ids else {}
    return [
        challenge_out_of(
            challenge,
            scenario_title=challenge.scenario.title,
            organisation_name=challenge.organisation.name_zh,
            application_count=counts.get(challenge.id, 0),
            shortlisted=shortlisted.get(challenge.id, []),
            winners=winners.get(challenge.id, []),
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
    counted = stmt.with_only_columns(Challenge.id).subquery()
    total = session.scalar(select(func.count()).select_from(counted)) or 0
    rows = session.execute(
        stmt.with_only_columns(*LIST_COLUMNS)
        .join(Scenario, Scenario.id == Challenge.scenario_id)
        .order_by(Challenge.created_at.desc(), Challenge.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    ids = [row.id for row in rows]
    counts = live_counts(session, ids) if ids else {}
    winners: dict[int, list[str]] = {}
    shortlisted = _shortlisted(session, ids, winners) if ids else {}
    stages = listed_stages(session, ids) if ids else {}
    items = [
        challenge_out_of(
            row,
            scenario_title=row.scenario_title,
            organisation_name=row.organisation_name,
            application_count=counts.get(row.id, 0),
            shortlisted=shortlisted.get(row.id, []),
            winners=winners.get(row.id, []),
            stages=stages.get(row.id, []),
        )
        for row in rows
    ]
    return Page(items=items, total=total, page=page, per_page=per_page)


def application_out(
    application: Application, *, actor: Actor, filed_ids: set[int]
) -> ApplicationOut:
    session = Session.object_session(application)
    assert session is not None
    models = _models_by_id(session, [m.model_id for m in application.models])
    entry_id = session.scalar(select(Entry.id).where(Entry.application_id == application.id))
    return _application_out(
        application, actor=actor, filed_ids=filed_ids, models=models, entry_id=entry_id
    )


_MODELS = (
    select(Model)
    .where(Model.id.in_(bindparam("ids", expanding=True)))
    .options(load_only(Model.name), joinedload(Model.organisation).load_only(Organisation.name_zh))
)


def _models_by_id(session: Session, ids: Iterable[int]) -> dict[int, Model]:
    """The models of ``ids`` with their organisations' names, in one query."""
    found = session.scalars(_MODELS, {"ids": list(set(ids))})
    return {m.id: m for m in found}


def _application_out(
    application: Application,
    *,
    actor: Actor,
    filed_ids: set[int],
    models: Mapping[int, Model],
    entry_id: int | None,
) -> ApplicationOut:
    return ApplicationOut(
        id=application.id,
        challenge_id=application.challenge_id,
        organisation_id=application.organisation_id,
        organisation_name=application.organisation.name_zh,
        members=[
            OrgBrief(id=m.organisation_id, name=m.organisation.name_zh) for m in application.members
        ],
        models=[
            ModelBrief(
                id=m.id,
                name=m.name,
                organisation_name=m.organisation.name_zh,
                filed=m.id in filed_ids,
            )
            for m in sorted(
                (models[a.model_id] for a in application.models if a.model_id in models),
                key=lambda m: m.id,
            )
        ],
        proposal=application.proposal,
        proposal_filename=application.proposal_filename,
        proposal_size=application.proposal_size,
        proposal_sha256=application.proposal_sha256,
        state=application.state,
        decision_reason=(
            application.decision_reason
            if can_read_decision_reason(actor, team_of(application))
            else None
        ),
        decided_at=application.decided_at,
        created_at=application.created_at,
        entry_id=entry_id,
    )


EAGER_APPLICATIONS = (
    selectinload(Application.members)
    .joinedload(ApplicationMember.organisation)
    .load_only(Organisation.name_zh),
    selectinload(Application.models),
    joinedload(Application.organisation).load_only(Organisation.name_zh),
)
"""Load an application's models and the names of its and its members' organisations with it."""
_EVERY_APPLICATION = (
    select(Application)
    .where(Application.challenge_id == bindparam("challenge_id"))
    .options(*EAGER_APPLICATIONS)
    .order_by(Application.id)
)
"""A challenge's applications with :data:`EAGER_APPLICATIONS`, built once."""


def every_application(session: Session, challenge_id: int) -> list[Application]:
    """All the challenge's applications, read with :data:`EAGER_APPLICATIONS`."""
    return list(session.scalars(_EVERY_APPLICATION, {"challenge_id": challenge_id}))


def readable_applications(
    actor: Actor, challenge: Challenge, every: Sequence[Application]
) -> list[Application]:
    """Of all the challenge's applications, ``every``: all for operators and the issuer, a
    supplier's own team's otherwise."""
    if can_read_all_applications(actor, challenge.organisation_id):
        return list(every)
    if actor.organisation_id is None:
        return []
    return [a for a in every if actor.organisation_id in team_of(a)]


def list_applications(
    session: Session,
    *,
    actor: Actor,
    challenge: Challenge,
    seen: ChallengeOut | None = None,
    every: Sequence[Application] | None = None,
) -> ApplicationList:
    """The applications ``actor`` may read (a fixed number of queries for all of them);
    ``seen``, the challenge's :func:`challenge_out` already read, saves counting again, and
    ``every``, all its applications read with :data:`EAGER_APPLICATIONS`, reading them."""
    filed = filed_model_ids(session)
    if every is None:
        every = every_application(session, challenge.id)
    applications = readable_applications(actor, challenge, every)
    models = _models_by_id(session, (m.model_id for a in applications for m in a.models))
    entries: dict[int, int] = {}
    if applications:
        found = session.execute(_ENTRIES, {"ids": [a.id for a in applications]})
        entries = {a: e for a, e in found if a is not None}
    items = [
        _application_out(a, actor=actor, filed_ids=filed, models=models, entry_id=entries.get(a.id))
        for a in applications
    ]
    if seen is not None:
        return ApplicationList(
            total=seen.application_count, shortlisted=list(seen.shortlisted), items=items
        )
    return ApplicationList(
        total=live_counts(session, [challenge.id]).get(challenge.id, 0),
        shortlisted=shortlisted_names(session, challenge.id),
        items=items,
    )


# ---------------------------------------------------------------- page views


@dataclass(frozen=True)
class ChallengeList:
    """The 榜单 page: one page of results, the categories in use, and whether the reader
    may publish a new challenge (from a scenario)."""

    result: Page[ChallengeOut]
    categories: list[str]
    can_publish: bool


def challenge_list(
    session: Session,
    *,
    actor: Actor,
    q: str = "",
    kind: ChallengeKind | None = None,
    state: ChallengeState | None = None,
    category: str = "",
    page: int = 1,
) -> ChallengeList:
    result = list_challenges(
        session, actor=actor, q=q, kind=kind, state=state, category=category, page=page
    )
    return ChallengeList(
        result=result,
        categories=categories(session, actor=actor),
        can_publish=can_manage_challenge(actor),
    )


def publish_values(session: Session, *, actor: Actor, scenario_id: int) -> dict[str, Any]:
    """The 发布榜单 form's values taken from the scenario."""
    scenario = get_scenario(session, scenario_id, actor=actor)
    today = clock.today()
    until = scenario.deadline if scenario.deadline and scenario.deadline > today else None
    return {
        "scenario_id": scenario.id,
        "kind": ChallengeKind.enterprise.value,
        "title": scenario.title,
        "category": scenario.domain,
        "keywords": "、".join(scenario.capabilities),
        "bounty_yuan": "" if scenario.budget_max_yuan is None else scenario.budget_max_yuan,
        "requirements": "\n\n".join(
            p for p in (scenario.description, scenario.data_available) if p
        ),
        "valid_from": today.isoformat(),
        "valid_until": (until or today + dt.timedelta(days=30)).isoformat(),
        "region": scenario.region,
        "issuer": scenario.organisation.name_zh,
        "require_filed_model": False,
        "max_applications_per_org": 1,
        "shortlist_places": 5,
        "winner_places": 1,
    }


@dataclass(frozen=True)
class ChallengeView:
    """A challenge's page as ``actor`` may see it, with the moves it may make."""

    challenge: ChallengeOut
    events: list[EventOut]
    applications: ApplicationList
    moves: list[Transition]
    can_apply: bool
    can_edit: bool


def challenge_view(
    session: Session, *, actor: Actor, challenge_id: int, lang: i18n.Language = "zh"
) -> ChallengeView:
    """The challenge (404 for a draft the actor may not read) with its audit log, the
    applications the actor may read, and its lifecycle buttons (``decide`` is the race's)."""
    challenge = get_challenge(
        session,
        challenge_id,
        actor=actor,
        options=(*NAMES, STAGE_BRIEFS, selectinload(Challenge.events)),
    )
    seen = challenge_out(session, challenge)
    every = every_application(session, challenge.id)  # read once for both
    return ChallengeView(
        challenge=seen,
        events=events_out(session, actor=actor, challenge=challenge, applications=every, lang=lang),
        applications=list_applications(
            session, actor=actor, challenge=challenge, seen=seen, every=every
        ),
        moves=[t for t in lifecycle.available(actor, challenge) if t.name != "decide"],
        can_apply=can_apply_now(
            actor, takes_applications=takes_applications(challenge, clock.today())
        ),
        can_edit=can_edit_challenge(actor, draft=challenge.state is ChallengeState.draft),
    )


def editable_challenge(session: Session, *, actor: Actor, challenge_id: int) -> Challenge:
    """A draft the actor may edit (403 for others, 409 once published)."""
    challenge = get_challenge(session, challenge_id, actor=actor)
    ensure(can_manage_challenge(actor), ONLY_OPERATORS_EDIT)
    if challenge.state is not ChallengeState.draft:
        raise ALREADY_PUBLISHED()
    return challenge


@dataclass(frozen=True)
class ApplyForm:
    """The 揭榜 form: the lead (the applicant's organisation), the organisations that may join
    as members, the team's models and which are filed, and whether it takes applications."""

    challenge: Challenge
    lead: Organisation | None
    organisations: list[Organisation]
    models: list[Model]
    filed: set[int]
    can_apply: bool


def applicable(session: Session, *, actor: Actor, challenge_id: int) -> Challenge:
    """The challenge, for an applicant with an organisation (403 without one)."""
    challenge = get_challenge(session, challenge_id, actor=actor)
    ensure(actor.organisation_id is not None, NEEDS_ORGANISATION)
    return challenge


def team_choices(session: Session, *, actor: Actor, member_ids: list[int]) -> list[Model]:
    """The models the applicant's organisation and the chosen members could race."""
    assert actor.organisation_id is not None
    return team_models(session, [actor.organisation_id, *member_ids])


def apply_form(
    session: Session, *, actor: Actor, challenge: Challenge, member_ids: list[int]
) -> ApplyForm:
    assert actor.organisation_id is not None
    lead_id = actor.organisation_id
    return ApplyForm(
        challenge=challenge,
        lead=session.get(Organisation, lead_id),
        organisations=list(
            session.scalars(
                select(Organisation)
                .where(Organisation.id != lead_id)
                .order_by(Organisation.name_zh)
            )
        ),
        models=team_choices(session, actor=actor, member_ids=member_ids),
        filed=filed_model_ids(session),
        can_apply=can_apply_now(
            actor, takes_applications=takes_applications(challenge, clock.today())
        ),
    )


@dataclass(frozen=True)
class ApplicationView:
    """An application's page: what the actor may read of it and the buttons it may press."""

    application: ApplicationOut
    challenge: Challenge
    can_decide: bool
    can_shortlist: bool
    can_withdraw: bool


def application_view(session: Session, *, actor: Actor, application_id: int) -> ApplicationView:
    """The application (404 for anyone who may not read it) with the actor's capabilities."""
    application = get_application(session, application_id, actor=actor)
    challenge = application.challenge
    manages = can_manage_challenge(actor)
    return ApplicationView(
        application=application_out(application, actor=actor, filed_ids=filed_model_ids(session)),
        challenge=challenge,
        can_decide=manages
        and application.state is ApplicationState.submitted
        and challenge.state in DECIDABLE,
        can_shortlist=manages
        and application.state is ApplicationState.approved
        and challenge.state is ChallengeState.shortlisting,
        can_withdraw=can_withdraw_application(actor, application.organisation_id)
        and application.state is ApplicationState.submitted,
    )


def proposal_download(
    session: Session, *, data_dir: Path, actor: Actor, application_id: int
) -> FileResponse:
    """The proposal PDF as a download, for whoever may read the application (else 404)."""
    application = get_application(session, application_id, actor=actor)
    return FileResponse(
        proposal_path(data_dir, application),
        media_type="application/pdf",
        filename=application.proposal_filename or None,
        headers={"X-Content-Type-Options": "nosniff"},
    )
