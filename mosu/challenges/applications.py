"""Applications (揭榜): who reads which application, eligibility on submission, withdrawing,
and the models a team could race.

Every decision on an application is written to the audit log by
:func:`mosu.challenges.lifecycle.record`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.base import ExecutableOption

from mosu.challenges import lifecycle
from mosu.challenges.catalogue import get_challenge
from mosu.challenges.errors import (
    APPLICATIONS_USED,
    FILED_MODEL_REQUIRED,
    FOREIGN_MODELS,
    LEAD_IS_MEMBER,
    NO_SUCH_APPLICATION,
    NOT_TAKING_APPLICATIONS,
    ONLY_LEAD_WITHDRAWS,
    ONLY_SUBMITTED_WITHDRAWN,
    ONLY_SUPPLIERS_LEAD,
    OUTSIDE_WINDOW,
    UNKNOWN_MEMBERS,
)
from mosu.challenges.models import (
    Application,
    ApplicationMember,
    ApplicationModel,
    ApplicationState,
    Challenge,
    ChallengeState,
)
from mosu.challenges.proposals import ProposalFile, check_proposal, display_filename, store_proposal
from mosu.challenges.schemas import (
    ApplicationIn,
)
from mosu.core import clock
from mosu.permissions import (
    Actor,
    can_apply,
    can_read_application,
    can_withdraw_application,
    ensure,
)
from mosu.registry.models import Filing, FilingKind, FilingStatus, Model, Organisation


def team_of(application: Application) -> frozenset[int]:
    """The lead and the consortium members."""
    return frozenset(
        {application.organisation_id} | {m.organisation_id for m in application.members}
    )


def applications_of(
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
        raise NO_SUCH_APPLICATION(application_id=application_id)
    return application


def _organisations(session: Session, ids: list[int]) -> dict[int, Organisation]:
    found = session.scalars(select(Organisation).where(Organisation.id.in_(ids)))
    return {o.id: o for o in found}


def takes_applications(challenge: Challenge, today: dt.date) -> bool:
    """Whether the challenge is open and ``today`` lies within its validity window."""
    return (
        challenge.state is ChallengeState.open
        and challenge.valid_from <= today <= challenge.valid_until
    )


def ensure_open(challenge: Challenge, today: dt.date) -> None:
    """409 unless the challenge takes applications ``today``."""
    if challenge.state is not ChallengeState.open:
        raise NOT_TAKING_APPLICATIONS(details={"state": challenge.state.value})
    if not challenge.valid_from <= today <= challenge.valid_until:
        raise OUTSIDE_WINDOW(valid_from=challenge.valid_from, valid_until=challenge.valid_until)


def _listed(ids: list[int]) -> str:
    return ", ".join(map(str, ids))


def _check_team(session: Session, challenge: Challenge, lead_id: int, data: ApplicationIn) -> None:
    """Members exist, exclude the lead; models belong to the team; a filed model if required."""
    if lead_id in data.member_ids:
        raise LEAD_IS_MEMBER(details={"field": "member_ids"})
    orgs = _organisations(session, [lead_id, *data.member_ids])
    missing = [i for i in data.member_ids if i not in orgs]
    if missing:
        raise UNKNOWN_MEMBERS(ids=_listed(missing), details={"field": "member_ids"})
    team = {lead_id, *data.member_ids}
    models = list(session.scalars(select(Model).where(Model.id.in_(data.model_ids))))
    foreign = sorted(set(data.model_ids) - {m.id for m in models if m.organisation_id in team})
    if foreign:
        raise FOREIGN_MODELS(ids=_listed(foreign), details={"field": "model_ids"})
    if challenge.require_filed_model:
        filed = session.scalar(
            select(func.count(Filing.id)).where(
                Filing.model_id.in_(data.model_ids),
                Filing.kind == FilingKind.beian,
                Filing.status == FilingStatus.active,
            )
        )
        if not filed:
            raise FILED_MODEL_REQUIRED(details={"field": "model_ids"})


def _check_quota(session: Session, challenge: Challenge, lead_id: int) -> None:
    """409 once the lead has used its applications for this challenge."""
    used = session.scalar(
        select(func.count(Application.id)).where(
            Application.challenge_id == challenge.id,
            Application.organisation_id == lead_id,
            Application.state != ApplicationState.withdrawn,
        )
    )
    if (used or 0) >= challenge.max_applications_per_org:
        raise APPLICATIONS_USED(limit=challenge.max_applications_per_org)


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
        raise ONLY_SUPPLIERS_LEAD()
    ensure_open(challenge, today or clock.today())
    if proposal_file is not None:
        check_proposal(proposal_file, max_bytes)
    _check_team(session, challenge, lead_id, data)
    _check_quota(session, challenge, lead_id)
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
        stored = store_proposal(session, data_dir, proposal_file)
        application.proposal_file, application.proposal_sha256 = stored.name, stored.sha256
        application.proposal_filename = display_filename(proposal_file.filename)
        application.proposal_size = stored.size
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
    ensure(can_withdraw_application(actor, application.organisation_id), ONLY_LEAD_WITHDRAWS)
    if application.state is not ApplicationState.submitted:
        raise ONLY_SUBMITTED_WITHDRAWN(details={"state": application.state.value})
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
