"""Challenge API under ``/api/v1``: challenges (榜单), their lifecycle and audit log, and
applications (揭榜) with their proposal PDF."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from mosu.accounts.deps import OperatorActor, PublicActor, SignedInActor, require
from mosu.challenges import applications, audit, catalogue, decisions, proposals, views
from mosu.challenges.errors import BODY_NOT_JSON, IDS_NOT_WHOLE, INVALID_APPLICATION
from mosu.challenges.models import ChallengeKind, ChallengeState
from mosu.challenges.schemas import (
    ApplicationIn,
    ApplicationList,
    ApplicationOut,
    ChallengeIn,
    ChallengeOut,
    ChallengePatch,
    DecisionIn,
    EventOut,
    TransitionIn,
)
from mosu.core.pagination import MAX_PER_PAGE, Page
from mosu.deps import LanguageDep, SessionDep, SettingsDep
from mosu.permissions import Actor, Role, roles
from mosu.public_cache import PUBLIC_CACHE
from mosu.registry.lookups import filed_model_ids

router = APIRouter(tags=["challenges"])
SupplierActor = Annotated[Actor, Depends(require(roles(Role.supplier)))]
LIST_FIELDS = ("member_ids", "model_ids")

_APPLICATION_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": ApplicationIn.model_json_schema()},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "proposal": {"type": "string"},
                    "organisation_id": {"type": "integer"},
                    "member_ids": {"type": "string", "description": "repeated or comma separated"},
                    "model_ids": {"type": "string", "description": "repeated or comma separated"},
                    "proposal_file": {"type": "string", "format": "binary"},
                },
            }
        },
    },
}


def _ids(values: list[str]) -> list[int]:
    found: list[int] = []
    for value in values:
        for part in value.replace("，", ",").split(","):
            if part.strip():
                if not part.strip().isdigit():
                    raise IDS_NOT_WHOLE(value=part.strip())
                found.append(int(part))
    return found


def parse_application(data: dict[str, Any]) -> ApplicationIn:
    try:
        return ApplicationIn.model_validate(data)
    except ValidationError as exc:
        details = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        raise INVALID_APPLICATION(details=details) from None


@dataclass(frozen=True)
class ApplicationBody:
    data: ApplicationIn
    upload: proposals.ProposalFile | None


async def read_application(request: Request) -> ApplicationBody:
    """JSON, or a multipart form with an optional ``proposal_file`` (413 past the limit)."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise BODY_NOT_JSON() from None
        return ApplicationBody(parse_application(body if isinstance(body, dict) else {}), None)
    upload: proposals.ProposalFile | None = None
    data: dict[str, Any] = {}
    async with request.form(max_files=1, max_fields=60) as form:
        for name in ("proposal", "organisation_id"):
            value = form.get(name)
            if isinstance(value, str) and value.strip():
                data[name] = value
        for name in LIST_FIELDS:
            data[name] = _ids([v for v in form.getlist(name) if isinstance(v, str)])
        file = form.get("proposal_file")
        if isinstance(file, UploadFile) and file.filename:
            upload = proposals.ProposalFile(file.filename, await file.read())
    return ApplicationBody(parse_application(data), upload)


ApplicationBodyDep = Annotated[ApplicationBody, Depends(read_application)]


# ---------------------------------------------------------------- challenges


@router.get("/challenges", dependencies=[PUBLIC_CACHE])
def list_challenges(
    session: SessionDep,
    actor: PublicActor,
    q: str = "",
    kind: ChallengeKind | None = None,
    state: ChallengeState | None = None,
    category: str = "",
    scenario_id: int | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 20,
) -> Page[ChallengeOut]:
    """Published challenges for everyone; drafts for operators and the issuer."""
    return views.list_challenges(
        session,
        actor=actor,
        q=q,
        kind=kind,
        state=state,
        category=category,
        scenario_id=scenario_id,
        page=page,
        per_page=per_page,
    )


@router.post("/challenges", status_code=201)
def create_challenge(session: SessionDep, actor: OperatorActor, body: ChallengeIn) -> ChallengeOut:
    """Draft a challenge from a scenario; ``POST …/transitions {"name": "publish"}`` opens it."""
    challenge = catalogue.create_challenge(session, actor=actor, data=body)
    session.commit()
    return views.challenge_out(session, challenge)


@router.get("/challenges/{challenge_id}", dependencies=[PUBLIC_CACHE])
def get_challenge(session: SessionDep, actor: PublicActor, challenge_id: int) -> ChallengeOut:
    return views.challenge_out(session, catalogue.get_challenge(session, challenge_id, actor=actor))


@router.patch("/challenges/{challenge_id}")
def patch_challenge(
    session: SessionDep, actor: OperatorActor, challenge_id: int, body: ChallengePatch
) -> ChallengeOut:
    challenge = catalogue.update_challenge(
        session, actor=actor, challenge_id=challenge_id, data=body
    )
    session.commit()
    return views.challenge_out(session, challenge)


@router.post("/challenges/{challenge_id}/transitions")
def post_transition(
    session: SessionDep,
    lang: LanguageDep,
    actor: SignedInActor,
    challenge_id: int,
    body: TransitionIn,
) -> EventOut:
    """Move the challenge: ``publish``, ``close_applications``, ``start_race``, ``decide``,
    ``start_delivery``, ``accept`` or ``close`` (a reason required). 403 for a party that
    may not, 409 in the wrong state. Answers with the audit line written."""
    event = catalogue.transition_challenge(
        session, actor=actor, challenge_id=challenge_id, name=body.name, reason=body.reason
    )
    session.commit()
    challenge = catalogue.get_challenge(session, challenge_id, actor=actor)
    return next(
        e
        for e in audit.events_out(session, actor=actor, challenge=challenge, lang=lang)
        if e.id == event.id
    )


@router.get("/challenges/{challenge_id}/events")
def list_events(
    session: SessionDep, lang: LanguageDep, actor: PublicActor, challenge_id: int
) -> list[EventOut]:
    """The append-only audit log (times in Asia/Shanghai); decision reasons are shown to
    operators and the applying team only."""
    challenge = catalogue.get_challenge(session, challenge_id, actor=actor)
    return audit.events_out(session, actor=actor, challenge=challenge, lang=lang)


# ---------------------------------------------------------------- applications


@router.get("/challenges/{challenge_id}/applications")
def list_applications(
    session: SessionDep, actor: PublicActor, challenge_id: int
) -> ApplicationList:
    """Everyone: the count and the shortlisted leads. Operators and the issuer: every
    application. A supplier: its own team's."""
    challenge = catalogue.get_challenge(session, challenge_id, actor=actor)
    return views.list_applications(session, actor=actor, challenge=challenge)


@router.post(
    "/challenges/{challenge_id}/applications",
    status_code=201,
    openapi_extra={"requestBody": _APPLICATION_BODY},
    responses={413: {"description": "upload too large"}},
)
def create_application(
    session: SessionDep,
    settings: SettingsDep,
    actor: SupplierActor,
    challenge_id: int,
    body: ApplicationBodyDep,
) -> ApplicationOut:
    """揭榜 as JSON (:class:`ApplicationIn`) or multipart with a ``proposal_file`` PDF."""
    application = applications.apply(
        session,
        actor=actor,
        challenge_id=challenge_id,
        data=body.data,
        proposal_file=body.upload,
        data_dir=settings.data_dir,
        max_bytes=settings.max_upload_mb * 1024 * 1024,
    )
    session.commit()
    return views.application_out(application, actor=actor, filed_ids=filed_model_ids(session))


@router.get("/applications/{application_id}")
def get_application(
    session: SessionDep, actor: SignedInActor, application_id: int
) -> ApplicationOut:
    application = applications.get_application(session, application_id, actor=actor)
    return views.application_out(application, actor=actor, filed_ids=filed_model_ids(session))


@router.get("/applications/{application_id}/proposal.pdf", response_class=FileResponse)
def get_proposal(
    session: SessionDep, settings: SettingsDep, actor: SignedInActor, application_id: int
) -> FileResponse:
    """The proposal PDF, for whoever may read the application."""
    return views.proposal_download(
        session, data_dir=settings.data_dir, actor=actor, application_id=application_id
    )


@router.post("/applications/{application_id}/withdraw")
def withdraw_application(
    session: SessionDep, actor: SupplierActor, application_id: int
) -> ApplicationOut:
    application = applications.withdraw(session, actor=actor, application_id=application_id)
    session.commit()
    return views.application_out(application, actor=actor, filed_ids=filed_model_ids(session))


@router.post("/applications/{application_id}/decision")
def decide_application(
    session: SessionDep, actor: OperatorActor, application_id: int, body: DecisionIn
) -> ApplicationOut:
    """Approve or reject (``reason`` required) a submitted application."""
    application = decisions.decide_application(
        session,
        actor=actor,
        application_id=application_id,
        approve=body.decision == "approve",
        reason=body.reason,
    )
    session.commit()
    return views.application_out(application, actor=actor, filed_ids=filed_model_ids(session))


@router.post("/applications/{application_id}/shortlist")
def shortlist_application(
    session: SessionDep, actor: OperatorActor, application_id: int
) -> ApplicationOut:
    """入围: the approved application becomes an entry in the challenge's race."""
    decisions.shortlist(session, actor=actor, application_id=application_id)
    session.commit()
    application = applications.get_application(session, application_id, actor=actor)
    return views.application_out(application, actor=actor, filed_ids=filed_model_ids(session))
