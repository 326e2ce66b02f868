"""A challenge's expert panel (评审专家组): the seeded draw, confirmations and recusals.

The draw is reproducible by anyone: the eligible pool (experts in the pool whose fields
include the panel's field, minus those with a conflict of interest) sorted by user id and
shuffled by ``random.Random(seed)`` (:func:`draw_order`). The first ``size`` candidates are
invited; a recusal invites the next candidate not yet on the panel. Before a member sees
any application they confirm no conflict, and the conflict rule is checked again then
(an applicant added after the draw cannot leave a conflicted member on the panel).
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from collections.abc import Iterable

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from mosu.accounts.models import User
from mosu.challenges import lifecycle
from mosu.challenges.catalogue import get_challenge
from mosu.challenges.models import REVIEWED_STATES as models_reviewed
from mosu.challenges.models import (
    Application,
    ApplicationMember,
    ApplicationState,
    Challenge,
    ChallengeState,
)
from mosu.core import clock
from mosu.core.text import Text
from mosu.jobs import queue
from mosu.notifications.service import notify
from mosu.permissions import Actor, can_manage_panels, can_sit_on_panels, ensure
from mosu.registry.models import Organisation
from mosu.review.conflicts import conflict, recorded
from mosu.review.errors import (
    ALREADY_RECUSED,
    CONFIRM_FIRST,
    CONFIRM_NOT_YET,
    CONFLICT_OF_INTEREST,
    DEADLINE_OPERATORS_ONLY,
    DRAW_NOT_NOW,
    DRAW_OPERATORS_ONLY,
    EXPERT_NOT_ON_PANEL,
    NO_SUCH_PANEL,
    NOT_ON_PANEL,
    PANEL_CLOSED,
    PANEL_EXISTS,
    PANEL_TOO_SMALL,
    RECUSAL_NEEDS_EXPERT,
    RECUSAL_NEEDS_REASON,
    RECUSAL_NOT_ALLOWED,
    RECUSE_ONLY_SELF,
    RUBRIC_FIRST,
    SEED_OUT_OF_RANGE,
    TOO_FEW_ELIGIBLE,
    YOU_RECUSED,
)
from mosu.review.models import (
    ExpertConflict,
    ExpertProfile,
    MemberState,
    Panel,
    PanelMember,
    PanelState,
    ReviewScore,
    Rubric,
)

MAX_SEED = 2**63
"""Seeds are drawn with ``secrets.randbits(63)`` and must fit a signed 64-bit column."""
REVIEWED_STATES = models_reviewed
"""The applications a panel scores: approved ones (still so once shortlisted or decided)."""
REMIND_JOB = "review.remind"
"""The job that reminds a panel's members 48 hours before its deadline and once after."""
REMIND_BEFORE = dt.timedelta(hours=48)


def draw_order(eligible_ids: Iterable[int], seed: int) -> list[int]:
    """The panel's candidate order: the eligible user ids sorted, then shuffled by
    ``random.Random(seed)``. Pure, so anyone holding the published seed and pool can repeat
    the draw: ``draw_order(sorted(panel.candidates), panel.seed) == panel.candidates``."""
    order = sorted(eligible_ids)
    random.Random(seed).shuffle(order)
    return order


def aware(moment: dt.datetime) -> dt.datetime:
    """A stored time made timezone-aware (SQLite drops the zone; times are stored in UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def panel_of(session: Session, challenge_id: int) -> Panel | None:
    """The challenge's panel, if one was drawn."""
    return session.scalar(select(Panel).where(Panel.challenge_id == challenge_id))


_PANEL_STATE = select(Panel.state).where(Panel.challenge_id == bindparam("challenge_id"))


def panel_state(session: Session, challenge_id: int) -> PanelState | None:
    """The state of the challenge's panel, or ``None`` before one is drawn (one small read,
    for the challenge page, which asks on every view)."""
    return session.scalar(_PANEL_STATE, {"challenge_id": challenge_id})


def get_panel(session: Session, panel_id: int) -> Panel:
    panel = session.get(Panel, panel_id)
    if panel is None:
        raise NO_SUCH_PANEL(panel_id=panel_id)
    return panel


def reviewed_applications(session: Session, challenge_id: int) -> list[Application]:
    """The applications the panel scores, by id."""
    return list(
        session.scalars(
            select(Application)
            .where(
                Application.challenge_id == challenge_id,
                Application.state.in_(REVIEWED_STATES),
            )
            .order_by(Application.id)
        )
    )


def applicant_organisations(session: Session, challenge_id: int) -> dict[int, str]:
    """Every organisation on an application that is not withdrawn (leads and consortium
    members), with its name: whom a member may not be tied to."""
    live = (
        select(Application.id)
        .where(
            Application.challenge_id == challenge_id,
            Application.state != ApplicationState.withdrawn,
        )
        .scalar_subquery()
    )
    leads = select(Organisation.id, Organisation.name_zh).join(
        Application, Application.organisation_id == Organisation.id
    )
    members = select(Organisation.id, Organisation.name_zh).join(
        ApplicationMember, ApplicationMember.organisation_id == Organisation.id
    )
    found: dict[int, str] = {}
    for stmt in (
        leads.where(Application.id.in_(live)),
        members.where(ApplicationMember.application_id.in_(live)),
    ):
        found.update({k: v for k, v in session.execute(stmt)})
    return found


def _declared(session: Session, expert_id: int) -> set[int]:
    return set(
        session.scalars(
            select(ExpertConflict.organisation_id).where(ExpertConflict.expert_id == expert_id)
        )
    )


def conflict_now(session: Session, *, expert_id: int, challenge: Challenge) -> Text | None:
    """Why the expert must step aside from the challenge today, or ``None``."""
    profile = session.get(ExpertProfile, expert_id)
    return conflict(
        affiliation_id=profile.affiliation_id if profile else None,
        declared=_declared(session, expert_id),
        issuer_id=challenge.organisation_id,
        applicants=applicant_organisations(session, challenge.id),
    )


def _invite(session: Session, panel: Panel, expert_id: int) -> PanelMember:
    member = PanelMember(
        expert_id=expert_id,
        position=panel.candidates.index(expert_id),
        state=MemberState.invited,
    )
    panel.members.append(member)
    notify(
        session,
        user_ids=[expert_id],
        kind="review_invited",
        params={"challenge": panel.challenge.title},
        link=f"/review/panels/{panel.id}",
    )
    return member


DRAWING_STATES = frozenset({ChallengeState.open, ChallengeState.shortlisting})
"""When a panel may be drawn: from publication until the shortlist is settled."""


def eligible_pool(
    session: Session, challenge: Challenge, field: str
) -> tuple[list[int], dict[str, str]]:
    """The experts in the pool (active, in ``field`` unless it is "") who may sit on the
    challenge's panel, by user id, and those excluded for a conflict (user id → why)."""
    profiles = session.scalars(
        select(ExpertProfile)
        .join(User, User.id == ExpertProfile.user_id)
        .where(ExpertProfile.in_pool.is_(True), User.is_active.is_(True))
        .order_by(ExpertProfile.user_id)
    )
    applicants = applicant_organisations(session, challenge.id)
    eligible: list[int] = []
    excluded: dict[str, str] = {}
    for profile in profiles:
        if field and field not in profile.fields:
            continue
        why = conflict(
            affiliation_id=profile.affiliation_id,
            declared=_declared(session, profile.user_id),
            issuer_id=challenge.organisation_id,
            applicants=applicants,
        )
        if why is None:
            eligible.append(profile.user_id)
        else:
            excluded[str(profile.user_id)] = recorded(why)
    return eligible, excluded


def draw_panel(
    session: Session,
    *,
    actor: Actor,
    challenge_id: int,
    size: int,
    field: str = "",
    seed: int | None = None,
    deadline: dt.datetime | None = None,
) -> Panel:
    """Draw the challenge's panel (operators, once a rubric is published, while the
    challenge takes applications or is shortlisting): ``size`` experts by a seeded shuffle
    of the eligible pool, recorded. Drawn early, the members wait: they confirm once
    applications close, when the conflict rule can see every applicant."""
    ensure(can_manage_panels(actor), DRAW_OPERATORS_ONLY)
    challenge = get_challenge(session, challenge_id, actor=actor)
    if challenge.state not in DRAWING_STATES:
        raise DRAW_NOT_NOW(details={"state": challenge.state.value})
    if session.get(Rubric, challenge.id) is None:
        raise RUBRIC_FIRST()
    if panel_of(session, challenge.id) is not None:
        raise PANEL_EXISTS()
    if size < 1:
        raise PANEL_TOO_SMALL(details={"field": "size"})
    if seed is not None and not 0 <= seed < MAX_SEED:
        raise SEED_OUT_OF_RANGE(details={"field": "seed"})
    field = field.strip()
    eligible, excluded = eligible_pool(session, challenge, field)
    if len(eligible) < size:
        raise TOO_FEW_ELIGIBLE(
            eligible=len(eligible),
            size=size,
            details={"eligible": len(eligible), "size": size, "excluded": len(excluded)},
        )
    seed = secrets.randbits(63) if seed is None else seed
    panel = Panel(
        challenge=challenge,
        size=size,
        field=field,
        seed=seed,
        candidates=draw_order(eligible, seed),
        excluded=excluded,
        deadline=deadline,
        state=PanelState.open,
        drawn_by_id=actor.user_id,
    )
    session.add(panel)
    session.flush()
    for expert_id in panel.candidates[:size]:
        _invite(session, panel, expert_id)
    lifecycle.record(
        session,
        challenge,
        actor=actor,
        action="panel_drawn",
        details={
            "panel_id": panel.id,
            "size": size,
            "field": field,
            "seed": str(seed),
            "eligible": len(eligible),
            "excluded": len(excluded),
        },
    )
    session.flush()
    schedule_reminders(session, panel)
    return panel


def seat_of(panel: Panel, expert_id: int | None) -> PanelMember | None:
    """The expert's seat on the panel (the latest, recused or not), if any."""
    return next((m for m in panel.members if m.expert_id == expert_id), None)


def _open(panel: Panel) -> None:
    if panel.state is not PanelState.open:
        raise PANEL_CLOSED()


def confirm(session: Session, *, actor: Actor, panel_id: int) -> PanelMember:
    """The member confirms no conflict of interest (确认无利益冲突), before seeing any
    application; refused if the conflict rule finds one now."""
    panel = get_panel(session, panel_id)
    member = seat_of(panel, actor.user_id)
    if member is None or not can_sit_on_panels(actor):
        raise NOT_ON_PANEL()
    _open(panel)
    if member.state is MemberState.recused:
        raise YOU_RECUSED()
    if panel.challenge.state is not ChallengeState.shortlisting:
        raise CONFIRM_NOT_YET(details={"state": panel.challenge.state.value})
    why = conflict_now(session, expert_id=member.expert_id, challenge=panel.challenge)
    if why is not None:
        raise CONFLICT_OF_INTEREST(reason=why, details={"conflict": recorded(why)})
    if member.state is MemberState.confirmed:
        return member
    member.state = MemberState.confirmed
    member.answered_at = clock.now()
    lifecycle.record(
        session,
        panel.challenge,
        actor=actor,
        action="panel_member_confirmed",
        details={"panel_id": panel.id, "position": member.position},
    )
    session.flush()
    return member


def confirmed_seat(session: Session, *, actor: Actor, panel: Panel) -> PanelMember:
    """The actor's confirmed seat, checked against the conflict rule again (an applicant
    added since the confirmation is caught here); else 403 or 409."""
    member = seat_of(panel, actor.user_id)
    if member is None or not can_sit_on_panels(actor) or member.state is MemberState.recused:
        raise NOT_ON_PANEL()
    if member.state is not MemberState.confirmed:
        raise CONFIRM_FIRST()
    why = conflict_now(session, expert_id=member.expert_id, challenge=panel.challenge)
    if why is not None:
        raise CONFLICT_OF_INTEREST(reason=why, details={"conflict": recorded(why)})
    return member


def _replacement(session: Session, panel: Panel) -> PanelMember | None:
    on_panel = {m.expert_id for m in panel.members}
    for expert_id in panel.candidates:
        if expert_id in on_panel:
            continue
        profile = session.get(ExpertProfile, expert_id)
        if profile is None or not profile.in_pool:
            continue
        if conflict_now(session, expert_id=expert_id, challenge=panel.challenge) is not None:
            continue
        return _invite(session, panel, expert_id)
    return None


def recuse(
    session: Session,
    *,
    actor: Actor,
    panel_id: int,
    reason: str,
    expert_id: int | None = None,
) -> PanelMember | None:
    """回避: a member steps aside with a reason (an operator may record it for them, naming
    ``expert_id``); the next candidate not yet on the panel is invited. Returns that
    replacement, or ``None`` when the candidates are exhausted. Scores the member gave are
    withdrawn with them."""
    panel = get_panel(session, panel_id)
    if can_manage_panels(actor):
        if expert_id is None:
            raise RECUSAL_NEEDS_EXPERT(details={"field": "expert_id"})
    elif can_sit_on_panels(actor):
        if expert_id not in (None, actor.user_id):
            raise RECUSE_ONLY_SELF()
        expert_id = actor.user_id
    else:
        raise RECUSAL_NOT_ALLOWED()
    member = seat_of(panel, expert_id)
    if member is None:
        raise EXPERT_NOT_ON_PANEL()
    _open(panel)
    if member.state is MemberState.recused:
        raise ALREADY_RECUSED()
    if not reason.strip():
        raise RECUSAL_NEEDS_REASON(details={"field": "reason"})
    member.state = MemberState.recused
    member.answered_at = clock.now()
    member.recusal_reason = reason.strip()
    withdrawn = session.execute(
        delete(ReviewScore).where(
            ReviewScore.panel_id == panel.id, ReviewScore.expert_id == member.expert_id
        )
    )
    replacement = _replacement(session, panel)
    lifecycle.record(
        session,
        panel.challenge,
        actor=actor,
        action="panel_member_recused",
        details={
            "panel_id": panel.id,
            "position": member.position,
            "replacement_position": replacement.position if replacement else None,
            "exhausted": replacement is None,
            "scores_withdrawn": int(getattr(withdrawn, "rowcount", 0) or 0),
        },
    )
    session.flush()
    return replacement


def set_deadline(
    session: Session, *, actor: Actor, panel_id: int, deadline: dt.datetime | None
) -> Panel:
    """Set, extend or clear the panel's scoring deadline (operators, while it is open)."""
    ensure(can_manage_panels(actor), DEADLINE_OPERATORS_ONLY)
    panel = get_panel(session, panel_id)
    _open(panel)
    panel.deadline = deadline
    lifecycle.record(
        session,
        panel.challenge,
        actor=actor,
        action="panel_deadline_set",
        details={
            "panel_id": panel.id,
            "deadline": clock.local(deadline).isoformat() if deadline else None,
        },
    )
    session.flush()
    schedule_reminders(session, panel)
    return panel


def schedule_reminders(session: Session, panel: Panel) -> None:
    """Queue the panel's reminders: 48 hours before its deadline and at the deadline (a
    reminder already sent for this deadline is not sent again, so extra jobs are harmless)."""
    if panel.deadline is None:
        return
    deadline = aware(panel.deadline)
    for moment in (deadline - REMIND_BEFORE, deadline):
        job = queue.enqueue(session, kind=REMIND_JOB, payload={"panel_id": panel.id})
        job.available_at = max(moment, clock.now())


def past_deadline(panel: Panel, now: dt.datetime | None = None) -> bool:
    return panel.deadline is not None and (now or clock.now()) >= aware(panel.deadline)


__all__ = [
    "MAX_SEED",
    "REMIND_BEFORE",
    "REMIND_JOB",
    "REVIEWED_STATES",
    "applicant_organisations",
    "aware",
    "confirm",
    "confirmed_seat",
    "conflict_now",
    "draw_order",
    "draw_panel",
    "eligible_pool",
    "get_panel",
    "panel_of",
    "panel_state",
    "past_deadline",
    "recuse",
    "reviewed_applications",
    "schedule_reminders",
    "seat_of",
    "set_deadline",
]
