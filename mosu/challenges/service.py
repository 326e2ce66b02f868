"""Challenge rules (揭榜挂帅): publishing from a scenario, the lifecycle's guards, who reads
which application, eligibility on submission, decisions and the shortlist.

Every change of a challenge's state goes through :func:`mosu.challenges.lifecycle.transition`;
every decision on an application is written to the audit log by
:func:`mosu.challenges.lifecycle.record`. The reason of a decision is shown to operators and
to the applying team only: in the audit log others see that an application (by number) was
approved or rejected, never why, and never the lead's name before it is shortlisted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Select, String, cast, func, or_, select
from sqlalchemy.orm import Session, contains_eager, joinedload, selectinload
from sqlalchemy.sql.base import ExecutableOption

from mosu import race as races
from mosu.accounts.models import Role, User
from mosu.challenges import lifecycle
from mosu.challenges.models import (
    Application,
    ApplicationMember,
    ApplicationModel,
    ApplicationState,
    Challenge,
    ChallengeEvent,
    ChallengeKind,
    ChallengeState,
    Entry,
    Stage,
)
from mosu.challenges.schemas import (
    ApplicationIn,
    ApplicationList,
    ApplicationOut,
    ChallengeIn,
    ChallengeOut,
    ChallengePatch,
    EventOut,
    ModelBrief,
    OrgBrief,
    StageBrief,
)
from mosu.core import clock
from mosu.core.errors import Conflict, Invalid, NotFound
from mosu.core.pagination import Page, like_pattern, page_args
from mosu.corpus.service import contamination_warning
from mosu.permissions import (
    Actor,
    can_apply,
    can_manage_challenge,
    can_read_all_applications,
    can_read_application,
    can_read_decision_reason,
    can_read_draft_challenge,
    can_see_usernames,
    can_withdraw_application,
    ensure,
)
from mosu.registry.models import Filing, FilingKind, FilingStatus, Model, Organisation
from mosu.registry.service import filed_model_ids
from mosu.scenarios.models import ScenarioStatus
from mosu.scenarios.service import get_scenario

PDF_MAGIC = b"%PDF-"
PROPOSAL_DIR = "proposals"
DECIDABLE = frozenset({ChallengeState.open, ChallengeState.shortlisting})
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]+")


S = TypeVar("S", bound=Select[Any])


# ---------------------------------------------------------------- challenges


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


def _live_counts(session: Session, challenge_ids: list[int]) -> dict[int, int]:
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
    counts = _live_counts(session, ids) if ids else {}
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


SYSTEM_ACTOR = "系统 / system"
ROLE_ACTOR = {
    Role.operator: "运营方 / operator",
    Role.demand: "需求方 / demand side",
    Role.supplier: "供给方 / supplier",
    Role.expert: "专家 / expert",
}


def _actor_organisations(session: Session, user_ids: set[int]) -> dict[int, str]:
    """How each acting user shows in the audit log to those who may not see usernames:
    运营方 for an operator, else the user's organisation (or role, if it has none)."""
    rows = session.execute(
        select(User.id, User.role, Organisation.name_zh)
        .outerjoin(Organisation, Organisation.id == User.organisation_id)
        .where(User.id.in_(user_ids))
    )
    return {
        user_id: (ROLE_ACTOR[role] if role is Role.operator else org_name or ROLE_ACTOR[role])
        for user_id, role, org_name in rows
    }


def events_out(session: Session, *, actor: Actor, challenge: Challenge) -> list[EventOut]:
    """The audit log as ``actor`` may read it: decision reasons for the team and operators,
    usernames for operators (everyone else sees the actor's organisation)."""
    teams = {a.id: team_of(a) for a in _applications_of(session, challenge.id)}
    shown = _actor_organisations(
        session, {e.actor_id for e in challenge.events if e.actor_id is not None}
    )
    usernames = can_see_usernames(actor)
    out = []
    for e in challenge.events:
        application_id = e.details.get("application_id")
        private = isinstance(application_id, int) and not can_read_decision_reason(
            actor, teams.get(application_id, frozenset())
        )
        out.append(
            EventOut(
                id=e.id,
                at=clock.local(e.at),
                actor_organisation=shown.get(e.actor_id or 0, SYSTEM_ACTOR),
                actor_name=e.actor_name if usernames else "",
                action=e.action,
                from_state=e.from_state,
                to_state=e.to_state,
                reason="" if private else e.reason,
                details=dict(e.details),
            )
        )
    return out


# ---------------------------------------------------------------- applications


@dataclass(frozen=True)
class ProposalFile:
    """An uploaded proposal: the name the client gave (shown only) and the bytes."""

    filename: str
    content: bytes


def team_of(application: Application) -> frozenset[int]:
    """The lead and the consortium members."""
    return frozenset(
        {application.organisation_id} | {m.organisation_id for m in application.members}
    )


def _applications_of(
    session: Session, challenge_id: int, *options: ExecutableOption
) -> list[Application]:
    return list(
        session.scalars(
            select(Application)
            .where(Application.challenge_id == challenge_id)
            .options(selectinload(Application.members), *options)
            .order_by(Application.id)
        )
    )


def get_application(session: Session, application_id: int, *, actor: Actor) -> Application:
    """The application, or not found for anyone who may not read it (no id opens another
    team's proposal)."""
    application = session.get(Application, application_id)
    if application is None or not can_read_application(
        actor,
        challenge_organisation_id=application.challenge.organisation_id,
        team=team_of(application),
    ):
        raise NotFound(f"揭榜申请 {application_id} 不存在 / application {application_id} not found")
    return application


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


def _models_by_id(session: Session, ids: Iterable[int]) -> dict[int, Model]:
    """The models of ``ids`` with their organisations, in one round of queries."""
    found = session.scalars(
        select(Model).where(Model.id.in_(set(ids))).options(selectinload(Model.organisation))
    )
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


def readable_applications(
    session: Session, *, actor: Actor, challenge: Challenge, eager: bool = False
) -> list[Application]:
    """All applications for operators and the issuer; a supplier's own team's otherwise
    (``eager``: with their organisations, members' organisations and models loaded)."""
    options = (
        (
            selectinload(Application.members).joinedload(ApplicationMember.organisation),
            selectinload(Application.models),
            joinedload(Application.organisation),
        )
        if eager
        else ()
    )
    applications = _applications_of(session, challenge.id, *options)
    if can_read_all_applications(actor, challenge.organisation_id):
        return applications
    if actor.organisation_id is None:
        return []
    return [a for a in applications if actor.organisation_id in team_of(a)]


def list_applications(
    session: Session, *, actor: Actor, challenge: Challenge, seen: ChallengeOut | None = None
) -> ApplicationList:
    """The applications ``actor`` may read (a fixed number of queries for all of them);
    ``seen``, the challenge's :func:`challenge_out` already read, saves counting again."""
    filed = filed_model_ids(session)
    applications = readable_applications(session, actor=actor, challenge=challenge, eager=True)
    models = _models_by_id(session, (m.model_id for a in applications for m in a.models))
    entries: dict[int, int] = {}
    if applications:
        found = session.execute(
            select(Entry.application_id, Entry.id).where(
                Entry.application_id.in_([a.id for a in applications])
            )
        )
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
        total=_live_counts(session, [challenge.id]).get(challenge.id, 0),
        shortlisted=shortlisted_names(session, challenge.id),
        items=items,
    )


def _organisations(session: Session, ids: list[int]) -> dict[int, Organisation]:
    found = session.scalars(select(Organisation).where(Organisation.id.in_(ids)))
    return {o.id: o for o in found}


def _check_pdf(upload: ProposalFile, max_bytes: int) -> None:
    if len(upload.content) > max_bytes:
        raise Invalid(
            f"方案文件超过 {max_bytes // (1024 * 1024)} MB 上限 / the proposal file is too large",
            details={"field": "proposal_file"},
        )
    if not upload.content.startswith(PDF_MAGIC):
        raise Invalid(
            "方案附件须为 PDF 文件 / the proposal attachment must be a PDF",
            details={"field": "proposal_file"},
        )


def display_filename(name: str) -> str:
    """The client's file name, for showing and for the download's name only."""
    base = _UNSAFE_NAME.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    base = base[:180] or "proposal"
    return base if base.lower().endswith(".pdf") else f"{base}.pdf"


def store_proposal(data_dir: Path, upload: ProposalFile) -> tuple[str, str]:
    """Write the PDF under ``data_dir`` with a random name; (relative path, SHA-256)."""
    folder = data_dir / PROPOSAL_DIR
    folder.mkdir(parents=True, exist_ok=True)
    relative = f"{PROPOSAL_DIR}/{secrets.token_hex(16)}.pdf"
    (data_dir / relative).write_bytes(upload.content)
    return relative, hashlib.sha256(upload.content).hexdigest()


def proposal_path(data_dir: Path, application: Application) -> Path:
    """Where the application's PDF lies (never outside ``data_dir``'s proposal folder)."""
    if not application.proposal_file:
        raise NotFound("该申请没有附件 / this application has no attachment")
    folder = (data_dir / PROPOSAL_DIR).resolve()
    path = (data_dir / application.proposal_file).resolve()
    if path.parent != folder or not path.is_file():
        raise NotFound("附件不存在 / the attachment is missing")
    return path


def apply(
    session: Session,
    *,
    actor: Actor,
    challenge_id: int,
    data: ApplicationIn,
    proposal_file: ProposalFile | None = None,
    data_dir: Path,
    max_bytes: int,
    today: dt.date | None = None,
) -> Application:
    """揭榜: a supplier's organisation applies as lead, with up to four members.

    Checked here: the challenge is open and within its validity window; the lead is the
    applicant's own organisation; members exist, exclude the lead and are distinct; the
    models belong to the team; a filed model when the challenge requires one; the
    organisation's quota of applications; the attachment is a PDF within the size limit.
    """
    challenge = get_challenge(session, challenge_id, actor=actor)
    lead_id = data.organisation_id or actor.organisation_id
    if lead_id is None or not can_apply(actor, lead_id):
        ensure(
            False,
            "只有供给方可以本组织为牵头单位揭榜 / "
            "a supplier applies with its own organisation as the lead",
        )
    assert lead_id is not None
    today = today or clock.today()
    if challenge.state is not ChallengeState.open:
        raise Conflict(
            "榜单当前不接受揭榜申请 / the challenge is not open for applications",
            details={"state": challenge.state.value},
        )
    if not challenge.valid_from <= today <= challenge.valid_until:
        raise Conflict(
            f"不在榜单有效期内（{challenge.valid_from} 至 {challenge.valid_until}）/ "
            "outside the challenge's validity window"
        )
    if proposal_file is not None:
        _check_pdf(proposal_file, max_bytes)
    if lead_id in data.member_ids:
        raise Invalid(
            "牵头单位不能同时是联合体成员 / the lead cannot also be a member",
            details={"field": "member_ids"},
        )
    orgs = _organisations(session, [lead_id, *data.member_ids])
    missing = [i for i in data.member_ids if i not in orgs]
    if missing:
        raise Invalid(
            f"联合体成员不存在：{missing} / unknown consortium members",
            details={"field": "member_ids"},
        )
    team = {lead_id, *data.member_ids}
    models = list(session.scalars(select(Model).where(Model.id.in_(data.model_ids))))
    foreign = sorted(set(data.model_ids) - {m.id for m in models if m.organisation_id in team})
    if foreign:
        raise Invalid(
            f"参赛模型须属于牵头单位或联合体成员：{foreign} / "
            "models must belong to the lead or a member",
            details={"field": "model_ids"},
        )
    if challenge.require_filed_model:
        filed = session.scalar(
            select(func.count(Filing.id)).where(
                Filing.model_id.in_(data.model_ids),
                Filing.kind == FilingKind.beian,
                Filing.status == FilingStatus.active,
            )
        )
        if not filed:
            raise Invalid(
                "本榜单要求至少一个已备案（备案有效）的模型 / "
                "this challenge requires a model with an active 备案 filing",
                details={"field": "model_ids"},
            )
    used = session.scalar(
        select(func.count(Application.id)).where(
            Application.challenge_id == challenge.id,
            Application.organisation_id == lead_id,
            Application.state != ApplicationState.withdrawn,
        )
    )
    if (used or 0) >= challenge.max_applications_per_org:
        raise Conflict(
            f"每个组织最多提交 {challenge.max_applications_per_org} 份申请 / "
            "your organisation has used its applications for this challenge"
        )
    application = Application(
        challenge_id=challenge.id,
        organisation_id=lead_id,
        proposal=data.proposal,
        submitted_by_id=actor.user_id,
        members=[
            ApplicationMember(organisation_id=org_id, position=n)
            for n, org_id in enumerate(data.member_ids)
        ],
        models=[ApplicationModel(model_id=model_id) for model_id in data.model_ids],
    )
    if proposal_file is not None:
        application.proposal_file, application.proposal_sha256 = store_proposal(
            data_dir, proposal_file
        )
        application.proposal_filename = display_filename(proposal_file.filename)
        application.proposal_size = len(proposal_file.content)
    session.add(application)
    session.flush()
    lifecycle.record(
        session,
        challenge,
        actor=actor,
        action="application_submitted",
        details={"application_id": application.id},
    )
    session.flush()
    return application


def withdraw(
    session: Session, *, actor: Actor, application_id: int, reason: str = ""
) -> Application:
    """The applicant takes back a submitted application (before any decision)."""
    application = get_application(session, application_id, actor=actor)
    ensure(
        can_withdraw_application(actor, application.organisation_id),
        "只有牵头单位可以撤回申请 / only the lead may withdraw",
    )
    if application.state is not ApplicationState.submitted:
        raise Conflict(
            "只能撤回待审核的申请 / only a submitted application can be withdrawn",
            details={"state": application.state.value},
        )
    application.state = ApplicationState.withdrawn
    lifecycle.record(
        session,
        application.challenge,
        actor=actor,
        action="application_withdrawn",
        reason=reason,
        details={"application_id": application.id},
    )
    session.flush()
    return application


def decide_application(
    session: Session, *, actor: Actor, application_id: int, approve: bool, reason: str = ""
) -> Application:
    """The operator approves or rejects a submitted application (a rejection needs a reason,
    which the applying team sees)."""
    application = get_application(session, application_id, actor=actor)
    ensure(can_manage_challenge(actor), "只有运营方可以审核申请 / only operators decide")
    challenge = application.challenge
    if challenge.state not in DECIDABLE:
        raise Conflict(
            "榜单当前状态不能审核申请 / applications cannot be decided in this state",
            details={"state": challenge.state.value},
        )
    if application.state is not ApplicationState.submitted:
        raise Conflict(
            "该申请已处理 / the application was already decided",
            details={"state": application.state.value},
        )
    if not approve and not reason.strip():
        raise Invalid("驳回须填写原因 / a rejection needs a reason", details={"field": "reason"})
    application.state = ApplicationState.approved if approve else ApplicationState.rejected
    application.decision_reason = reason.strip()
    application.decided_by_id = actor.user_id
    application.decided_at = clock.now()
    lifecycle.record(
        session,
        challenge,
        actor=actor,
        action="application_approved" if approve else "application_rejected",
        reason=reason,
        details={"application_id": application.id},
    )
    session.flush()
    return application


def _entry_name(session: Session, challenge_id: int, base: str) -> str:
    taken = set(session.scalars(select(Entry.name).where(Entry.challenge_id == challenge_id)))
    name, n = base, 2
    while name in taken:
        name, n = f"{base} {n}", n + 1
    return name


def shortlist(session: Session, *, actor: Actor, application_id: int) -> Entry:
    """入围: an approved application becomes an entry in the race (operators, while the
    challenge is shortlisting, up to its shortlist places)."""
    application = get_application(session, application_id, actor=actor)
    ensure(can_manage_challenge(actor), "只有运营方可以确定入围 / only operators shortlist")
    challenge = application.challenge
    if challenge.state is not ChallengeState.shortlisting:
        raise Conflict(
            "请先截止揭榜申请，再确定入围 / close applications before shortlisting",
            details={"state": challenge.state.value},
        )
    if application.state is not ApplicationState.approved:
        raise Conflict(
            "只有审核通过的申请可以入围 / only approved applications can be shortlisted",
            details={"state": application.state.value},
        )
    places = session.scalar(
        select(func.count(Application.id)).where(
            Application.challenge_id == challenge.id,
            Application.state == ApplicationState.shortlisted,
        )
    )
    if (places or 0) >= challenge.shortlist_places:
        raise Conflict(f"入围名额（{challenge.shortlist_places}）已满 / the shortlist is full")
    application.state = ApplicationState.shortlisted
    lead = application.organisation
    entry = Entry(
        challenge_id=challenge.id,
        application_id=application.id,
        organisation_id=lead.id,
        name=_entry_name(session, challenge.id, lead.name_zh),
    )
    session.add(entry)
    session.flush()
    lifecycle.record(
        session,
        challenge,
        actor=actor,
        action="application_shortlisted",
        details={
            "application_id": application.id,
            "entry_id": entry.id,
            "organisation": lead.name_zh,
        },
    )
    session.flush()
    return entry


def team_models(session: Session, organisation_ids: list[int]) -> list[Model]:
    """The models an application of these organisations could race."""
    if not organisation_ids:
        return []
    return list(
        session.scalars(
            select(Model)
            .where(Model.organisation_id.in_(organisation_ids))
            .options(selectinload(Model.organisation))
            .order_by(Model.organisation_id, Model.name)
        )
    )
