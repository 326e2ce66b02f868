"""The expert pool (专家库): expert users' fields, affiliation and declared conflicts, and
each expert's load.

Operators manage the pool; an expert keeps their own fields of expertise and title and
declares their own conflicts of interest (利益冲突声明), but whether they are in the pool
(在库) and where they work (任职单位, which decides conflicts with issuers and applicants)
are the operator's record.

Fields of expertise are free tags, as a scenario's domain (应用领域) is free text on the
board: :func:`field_suggestions` offers the domains in use, so that the pool and the board
speak the same words, and a panel is drawn from the experts carrying its field exactly.

An expert's load is counted in three grouped queries, whatever the size of the pool:

* ``seats``: seats on open panels (评审中) they have not recused from;
* ``to_score``: applications still to score: the approved (or already shortlisted)
  applications of the challenges of those panels, less the ones they have scored;
* ``to_grade``: sampled race answers still to grade: the items of open grading rounds of
  the challenges on whose panel they sit, less the ones they have graded.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, Field
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from mosu.accounts.models import User
from mosu.accounts.service import create_user
from mosu.challenges.models import REVIEWED_STATES, Application, Stage
from mosu.core.errors import Error
from mosu.permissions import EXPERT_ROLES, Actor, Role, can_manage_expert_pool, ensure, is_expert
from mosu.registry.models import Organisation
from mosu.review.errors import (
    AFFILIATION_SET_BY_OPERATORS,
    ALREADY_IN_POOL,
    FIELD_TOO_LONG,
    MANAGE_POOL_OPERATORS_ONLY,
    NO_SUCH_EXPERT,
    POOL_SET_BY_OPERATORS,
    READ_POOL_OPERATORS_ONLY,
    TITLE_TOO_LONG,
    TOO_MANY_FIELDS,
    UNKNOWN_AFFILIATION,
    UNKNOWN_CONFLICT_ORGANISATION,
    USER_NOT_EXPERT,
)
from mosu.review.models import (
    ExpertConflict,
    ExpertProfile,
    Grade,
    GradingItem,
    GradingRound,
    MemberState,
    Panel,
    PanelMember,
    PanelState,
    ReviewScore,
)
from mosu.scenarios.models import Scenario, ScenarioStatus

MAX_FIELDS = 12
FIELD_LENGTH = 40
TITLE_LENGTH = 100
SCORED_STATES = tuple(REVIEWED_STATES)
"""Applications a panel scores: those the operator approved (or already shortlisted)."""


# ---------------------------------------------------------------- schemas


class ConflictOut(BaseModel):
    """A declared conflict of interest with an organisation."""

    organisation_id: int
    organisation: str
    reason: str


class Load(BaseModel):
    """An expert's open work: panel seats, applications to score, answers to grade."""

    seats: int = 0
    to_score: int = 0
    to_grade: int = 0


class ExpertOut(BaseModel):
    """An expert user and their pool profile (``has_profile`` false: none saved yet)."""

    user_id: int
    username: str
    display_name: str
    title: str
    fields: list[str]
    affiliation_id: int | None
    affiliation: str
    in_pool: bool
    has_profile: bool
    conflicts: list[ConflictOut]
    load: Load


class ExpertIn(BaseModel):
    """A profile as the API takes it; ``in_pool`` and ``affiliation_id`` omitted keep the
    stored values (an expert editing their own profile leaves them out)."""

    fields: list[str] = Field(default_factory=list, max_length=MAX_FIELDS)
    title: str = Field(default="", max_length=TITLE_LENGTH)
    affiliation_id: int | None = None
    in_pool: bool | None = None


class ConflictIn(BaseModel):
    organisation_id: int
    reason: str = Field(default="", max_length=2000)


# ---------------------------------------------------------------- rules


def clean_fields(fields: Iterable[str]) -> list[str]:
    """Fields of expertise as stored: trimmed, width-normalised (NFKC), distinct, in order."""
    out: list[str] = []
    for raw in fields:
        tag = unicodedata.normalize("NFKC", str(raw)).strip()
        if not tag:
            continue
        if len(tag) > FIELD_LENGTH:
            raise FIELD_TOO_LONG(field=tag[:20], limit=FIELD_LENGTH)
        if tag not in out:
            out.append(tag)
    if len(out) > MAX_FIELDS:
        raise TOO_MANY_FIELDS(limit=MAX_FIELDS)
    return out


def expert_user(session: Session, user_id: int) -> User:
    """The expert user ``user_id``, or 404 (also for a user who is not an expert)."""
    user = session.get(User, user_id)
    if user is None or not is_expert(user.role):
        raise NO_SUCH_EXPERT(user_id=user_id)
    return user


def _ensure_self_or_operator(actor: Actor, user_id: int) -> None:
    """An expert's profile and conflicts: operators, and the expert themself (to anyone else
    the expert does not exist: who is in the pool is not public)."""
    if not can_manage_expert_pool(actor) and actor.user_id != user_id:
        raise NO_SUCH_EXPERT(user_id=user_id)


def _organisation(session: Session, organisation_id: int, unknown: Error) -> Organisation:
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise unknown(organisation_id=organisation_id)
    return org


def save_profile(
    session: Session,
    *,
    actor: Actor,
    user_id: int,
    fields: Sequence[str],
    title: str = "",
    affiliation_id: int | None = None,
    in_pool: bool = True,
) -> ExpertProfile:
    """Create or update the expert's profile.

    Operators set everything; an expert sets their own fields and title, and gets 403 for
    a change of ``in_pool`` or ``affiliation_id`` (pass the stored values). The affiliation
    must be a registered organisation.
    """
    _ensure_self_or_operator(actor, user_id)
    expert_user(session, user_id)
    profile = session.get(ExpertProfile, user_id)
    stored_pool = profile.in_pool if profile is not None else True
    stored_affiliation = profile.affiliation_id if profile is not None else None
    if not can_manage_expert_pool(actor):
        if in_pool != stored_pool:
            raise POOL_SET_BY_OPERATORS()
        if affiliation_id != stored_affiliation:
            raise AFFILIATION_SET_BY_OPERATORS()
    if affiliation_id is not None:
        _organisation(session, affiliation_id, UNKNOWN_AFFILIATION)
    if len(title) > TITLE_LENGTH:
        raise TITLE_TOO_LONG(limit=TITLE_LENGTH)
    if profile is None:
        profile = ExpertProfile(user_id=user_id)
        session.add(profile)
    profile.fields = clean_fields(fields)
    profile.title = title.strip()
    profile.affiliation_id = affiliation_id
    profile.in_pool = in_pool
    session.flush()
    return profile


def add_expert(
    session: Session,
    *,
    actor: Actor,
    username: str,
    display_name: str = "",
    fields: Sequence[str] = (),
    title: str = "",
    affiliation_id: int | None = None,
    in_pool: bool = True,
) -> ExpertProfile:
    """Put an expert in the pool (operators): a new expert user is created when ``username``
    is new (without a usable password until an operator sets one); an existing user must be
    an expert without a profile yet."""
    ensure(can_manage_expert_pool(actor), MANAGE_POOL_OPERATORS_ONLY)
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        user = create_user(
            session, username=username, password=None, role=Role.expert, display_name=display_name
        )
    elif not is_expert(user.role):
        raise USER_NOT_EXPERT(username=username)
    elif session.get(ExpertProfile, user.id) is not None:
        raise ALREADY_IN_POOL(username=username)
    return save_profile(
        session,
        actor=actor,
        user_id=user.id,
        fields=fields,
        title=title,
        affiliation_id=affiliation_id,
        in_pool=in_pool,
    )


def declare_conflict(
    session: Session, *, actor: Actor, expert_id: int, organisation_id: int, reason: str = ""
) -> ExpertConflict:
    """Declare (or re-word) the expert's conflict of interest with an organisation: the
    expert themself, or an operator. Declaring it again updates its reason."""
    _ensure_self_or_operator(actor, expert_id)
    expert_user(session, expert_id)
    _organisation(session, organisation_id, UNKNOWN_CONFLICT_ORGANISATION)
    found = session.scalar(
        select(ExpertConflict).where(
            ExpertConflict.expert_id == expert_id,
            ExpertConflict.organisation_id == organisation_id,
        )
    )
    if found is None:
        found = ExpertConflict(expert_id=expert_id, organisation_id=organisation_id)
        session.add(found)
    found.reason = reason.strip()
    session.flush()
    return found


def remove_conflict(
    session: Session, *, actor: Actor, expert_id: int, organisation_id: int
) -> bool:
    """Withdraw a declared conflict (the expert themself, or an operator); whether there
    was one. Panels already drawn keep the exclusions they recorded."""
    _ensure_self_or_operator(actor, expert_id)
    expert_user(session, expert_id)
    found = session.scalar(
        select(ExpertConflict).where(
            ExpertConflict.expert_id == expert_id,
            ExpertConflict.organisation_id == organisation_id,
        )
    )
    if found is None:
        return False
    session.delete(found)
    session.flush()
    return True


# ---------------------------------------------------------------- load


def loads(session: Session, expert_ids: Sequence[int] | None = None) -> dict[int, Load]:
    """Each expert's load (see the module's docstring), in three grouped queries; experts
    with no open work are absent. ``expert_ids`` narrows it; ``None`` counts everyone."""
    seated = and_(
        PanelMember.panel_id == Panel.id,
        Panel.state == PanelState.open,
        PanelMember.state != MemberState.recused,
    )
    narrow = [PanelMember.expert_id.in_(expert_ids)] if expert_ids is not None else []
    out: dict[int, Load] = {}

    seats = select(PanelMember.expert_id, func.count()).where(seated, *narrow)
    for expert_id, n in session.execute(seats.group_by(PanelMember.expert_id)):
        out.setdefault(expert_id, Load()).seats = n

    scored = (
        select(PanelMember.expert_id, func.count())
        .select_from(PanelMember)
        .join(Panel, seated)
        .join(
            Application,
            and_(
                Application.challenge_id == Panel.challenge_id,
                Application.state.in_(SCORED_STATES),
            ),
        )
        .outerjoin(
            ReviewScore,
            and_(
                ReviewScore.panel_id == Panel.id,
                ReviewScore.expert_id == PanelMember.expert_id,
                ReviewScore.application_id == Application.id,
            ),
        )
        .where(ReviewScore.id.is_(None), *narrow)
        .group_by(PanelMember.expert_id)
    )
    for expert_id, n in session.execute(scored):
        out.setdefault(expert_id, Load()).to_score = n

    seated_any = and_(PanelMember.panel_id == Panel.id, PanelMember.state != MemberState.recused)
    grading = (
        select(PanelMember.expert_id, func.count())
        .select_from(PanelMember)
        .join(Panel, seated_any)
        .join(Stage, Stage.challenge_id == Panel.challenge_id)
        .join(
            GradingRound,
            and_(GradingRound.stage_id == Stage.id, GradingRound.state == PanelState.open),
        )
        .join(GradingItem, GradingItem.round_id == GradingRound.id)
        .outerjoin(
            Grade,
            and_(Grade.item_id == GradingItem.id, Grade.expert_id == PanelMember.expert_id),
        )
        .where(Grade.id.is_(None), *narrow)
        .group_by(PanelMember.expert_id)
    )
    for expert_id, n in session.execute(grading):
        out.setdefault(expert_id, Load()).to_grade = n
    return out


# ---------------------------------------------------------------- reading


def _out(
    user: User,
    profile: ExpertProfile | None,
    conflicts: Sequence[ExpertConflict],
    load: Load | None,
) -> ExpertOut:
    return ExpertOut(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        title=profile.title if profile else "",
        fields=list(profile.fields) if profile else [],
        affiliation_id=profile.affiliation_id if profile else None,
        affiliation=profile.affiliation.name_zh if profile and profile.affiliation else "",
        in_pool=profile.in_pool if profile else False,
        has_profile=profile is not None,
        conflicts=[
            ConflictOut(
                organisation_id=c.organisation_id,
                organisation=c.organisation.name_zh,
                reason=c.reason,
            )
            for c in conflicts
        ],
        load=load or Load(),
    )


def profiles_of(session: Session, user_ids: Sequence[int]) -> dict[int, ExpertProfile]:
    """The experts' profiles (with their affiliations), by user id."""
    rows = session.scalars(
        select(ExpertProfile)
        .where(ExpertProfile.user_id.in_(user_ids))
        .options(selectinload(ExpertProfile.affiliation))
    )
    return {p.user_id: p for p in rows}


def conflicts_of(session: Session, user_ids: Sequence[int]) -> dict[int, list[ExpertConflict]]:
    """The experts' declared conflicts (with their organisations), by user id: declared
    with or without a profile."""
    rows = session.scalars(
        select(ExpertConflict)
        .where(ExpertConflict.expert_id.in_(user_ids))
        .options(selectinload(ExpertConflict.organisation))
        .order_by(ExpertConflict.id)
    )
    out: dict[int, list[ExpertConflict]] = {}
    for row in rows:
        out.setdefault(row.expert_id, []).append(row)
    return out


def list_pool(
    session: Session,
    *,
    actor: Actor,
    field: str = "",
    in_pool: bool | None = None,
    q: str = "",
) -> list[ExpertOut]:
    """Every expert user (operators only), with profile, conflicts and load, by name.

    ``field`` keeps experts carrying that field exactly; ``in_pool`` those in (or out of)
    the pool (an expert without a profile is out); ``q`` searches username and name.
    """
    ensure(can_manage_expert_pool(actor), READ_POOL_OPERATORS_ONLY)
    stmt = select(User).where(User.role.in_(EXPERT_ROLES))
    if q.strip():
        pattern = (
            "%" + q.strip().replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
        )
        stmt = stmt.where(
            or_(
                User.username.ilike(pattern, escape="\\"),
                User.display_name.ilike(pattern, escape="\\"),
            )
        )
    users = list(session.scalars(stmt.order_by(User.display_name, User.id)))
    ids = [u.id for u in users]
    profiles, conflicts, counted = (
        profiles_of(session, ids),
        conflicts_of(session, ids),
        loads(session, ids),
    )
    wanted = clean_fields([field]) if field.strip() else []
    out = []
    for user in users:
        row = _out(user, profiles.get(user.id), conflicts.get(user.id, []), counted.get(user.id))
        if wanted and wanted[0] not in row.fields:
            continue
        if in_pool is not None and row.in_pool != in_pool:
            continue
        out.append(row)
    return out


def get_expert(session: Session, *, actor: Actor, user_id: int) -> ExpertOut:
    """One expert's profile, conflicts and load: operators and the expert themself."""
    _ensure_self_or_operator(actor, user_id)
    user = expert_user(session, user_id)
    return _out(
        user,
        profiles_of(session, [user_id]).get(user_id),
        conflicts_of(session, [user_id]).get(user_id, []),
        loads(session, [user_id]).get(user_id),
    )


def field_suggestions(session: Session) -> list[str]:
    """Fields to offer in forms: the board's scenario domains and the pool's fields in use."""
    domains = select(Scenario.domain).where(
        Scenario.domain != "", Scenario.status != ScenarioStatus.draft
    )
    words = set(session.scalars(domains.distinct()))
    for fields in session.scalars(select(ExpertProfile.fields)):
        words.update(fields or [])
    return sorted(words)


def organisation_choices(session: Session) -> list[tuple[int, str]]:
    """Registered organisations (id, name) for the affiliation and conflict menus."""
    rows = session.execute(
        select(Organisation.id, Organisation.name_zh).order_by(Organisation.name_zh)
    )
    return [(org_id, name) for org_id, name in rows]
