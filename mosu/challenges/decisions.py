"""The operator's decisions on applications: approve or reject, and shortlist (入围) an
approved one as an entry in the race."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mosu.challenges import lifecycle
from mosu.challenges.applications import get_application
from mosu.challenges.errors import (
    ALREADY_DECIDED,
    APPLICATION_NOT_FOR_CHALLENGE,
    CHOOSE_APPLICATIONS,
    CLOSE_APPLICATIONS_FIRST,
    NOT_DECIDABLE,
    ONLY_APPROVED_SHORTLISTED,
    ONLY_OPERATORS_DECIDE,
    ONLY_OPERATORS_SHORTLIST,
    REJECTION_NEEDS_REASON,
    SHORTLIST_ELSEWHERE,
    SHORTLIST_FULL,
)
from mosu.challenges.models import (
    Application,
    ApplicationState,
    Challenge,
    ChallengeState,
    Entry,
)
from mosu.core import clock
from mosu.core.text import Text
from mosu.notifications.service import notify
from mosu.permissions import (
    Actor,
    can_manage_challenge,
    ensure,
)

DECIDABLE = frozenset({ChallengeState.open, ChallengeState.shortlisting})

ShortlistOwner = Callable[[Session, Challenge], Text | str | None]
"""Says why a challenge's shortlist is not made one application at a time (``None``: it is);
the reason is shown in the refusal, so a catalogued :class:`Text` reads in every language."""

_SHORTLIST_OWNERS: list[ShortlistOwner] = []


def shortlisted_elsewhere(owner: ShortlistOwner) -> None:
    """Let a package built on challenges take over some challenges' shortlists (the expert
    panel's, :mod:`mosu.review.shortlist`): :func:`shortlist` then refuses with 409 and the
    owner's message unless called with ``guarded=False`` by that package."""
    if owner not in _SHORTLIST_OWNERS:
        _SHORTLIST_OWNERS.append(owner)


def decide_application(
    session: Session, *, actor: Actor, application_id: int, approve: bool, reason: str = ""
) -> Application:
    """The operator approves or rejects a submitted application (a rejection needs a reason,
    which the applying team sees)."""
    application = get_application(session, application_id, actor=actor)
    ensure(can_manage_challenge(actor), ONLY_OPERATORS_DECIDE)
    challenge = application.challenge
    if challenge.state not in DECIDABLE:
        raise NOT_DECIDABLE(details={"state": challenge.state.value})
    if application.state is not ApplicationState.submitted:
        raise ALREADY_DECIDED(details={"state": application.state.value})
    if not approve and not reason.strip():
        raise REJECTION_NEEDS_REASON(details={"field": "reason"})
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
    _notify_decision(session, application, approve)
    return application


def _notify_decision(session: Session, application: Application, approve: bool) -> None:
    """The applicant organisation hears the decision (and its reason); the challenge's
    demand-side owners hear which application was decided."""
    challenge = application.challenge
    notify(
        session,
        organisation_id=application.organisation_id,
        kind="application_approved" if approve else "application_rejected",
        params={"challenge": challenge.title, "reason": application.decision_reason},
        link=f"/applications/{application.id}",
    )
    if challenge.organisation_id != application.organisation_id:
        notify(
            session,
            organisation_id=challenge.organisation_id,
            kind="application_decided_issuer",
            params={
                "challenge": challenge.title,
                "organisation": application.organisation.name_zh,
                "verdict_zh": "通过" if approve else "驳回",
                "verdict_en": "approved" if approve else "rejected",
            },
            link=f"/challenges/{challenge.id}",
        )


def _entry_name(session: Session, challenge_id: int, base: str) -> str:
    taken = set(session.scalars(select(Entry.name).where(Entry.challenge_id == challenge_id)))
    name, n = base, 2
    while name in taken:
        name, n = f"{base} {n}", n + 1
    return name


def shortlist(
    session: Session, *, actor: Actor, application_id: int, guarded: bool = True
) -> Entry:
    """入围: an approved application becomes an entry in the race (operators, while the
    challenge is shortlisting, up to its shortlist places). ``guarded=False`` is for the
    package that owns the challenge's shortlist (see :func:`shortlisted_elsewhere`)."""
    application = get_application(session, application_id, actor=actor)
    ensure(can_manage_challenge(actor), ONLY_OPERATORS_SHORTLIST)
    challenge = application.challenge
    if challenge.state is not ChallengeState.shortlisting:
        raise CLOSE_APPLICATIONS_FIRST(
            challenge_id=challenge.id, details={"state": challenge.state.value}
        )
    if application.state is not ApplicationState.approved:
        raise ONLY_APPROVED_SHORTLISTED(details={"state": application.state.value})
    for owner in _SHORTLIST_OWNERS if guarded else ():
        why = owner(session, challenge)
        if why is not None:
            raise SHORTLIST_ELSEWHERE(reason=why)
    places = session.scalar(
        select(func.count(Application.id)).where(
            Application.challenge_id == challenge.id,
            Application.state == ApplicationState.shortlisted,
        )
    )
    if (places or 0) >= challenge.shortlist_places:
        raise SHORTLIST_FULL(places=challenge.shortlist_places)
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
    notify(
        session,
        organisation_id=lead.id,
        kind="application_shortlisted",
        params={"challenge": challenge.title, "entry": entry.name},
        link=f"/challenges/{challenge.id}/race",
    )
    return entry


def shortlist_many(
    session: Session, *, actor: Actor, challenge_id: int, application_ids: list[int]
) -> list[Entry]:
    """入围 several approved applications of one challenge in one action: all of them or,
    if any is refused, none (the caller's transaction is rolled back)."""
    ensure(can_manage_challenge(actor), ONLY_OPERATORS_SHORTLIST)
    chosen = list(dict.fromkeys(application_ids))
    if not chosen:
        raise CHOOSE_APPLICATIONS()
    entries = []
    for application_id in chosen:
        application = get_application(session, application_id, actor=actor)
        if application.challenge_id != challenge_id:
            raise APPLICATION_NOT_FOR_CHALLENGE(application_id=application_id)
        entries.append(shortlist(session, actor=actor, application_id=application_id))
    return entries
