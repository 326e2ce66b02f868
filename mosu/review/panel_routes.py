"""Panel API under ``/api/v1``: draw a challenge's panel, read it as the caller may, confirm
or recuse, set the deadline, close it, and the member's blind scoring and work queue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse
from pydantic import BaseModel

from mosu.accounts.deps import OperatorActor, PublicActor, require
from mosu.challenges.catalogue import get_challenge
from mosu.challenges.models import Application
from mosu.challenges.proposals import proposal_path
from mosu.core import clock
from mosu.deps import SessionDep, SettingsDep
from mosu.permissions import Actor, Role, roles
from mosu.review import panels, scoring
from mosu.review.errors import (
    NO_PANEL_DRAWN,
    NO_SUCH_PROPOSAL,
)
from mosu.review.models import Panel
from mosu.review.panel_schemas import (
    CloseIn,
    DeadlineIn,
    PanelDrawIn,
    RecuseIn,
    ScoreIn,
    ScoreOut,
)
from mosu.review.panel_views import MemberOut, MemberView, PanelOut, member_view, panel_out
from mosu.review.queue import QueueSection, review_queue

router = APIRouter(tags=["review"])
ExpertActor = Annotated[Actor, Depends(require(roles(Role.expert)))]
ExpertOrOperator = Annotated[Actor, Depends(require(roles(Role.expert, Role.operator)))]


def _panel_of_challenge(session: SessionDep, actor: Actor, challenge_id: int) -> Panel:
    challenge = get_challenge(session, challenge_id, actor=actor)
    panel = panels.panel_of(session, challenge.id)
    if panel is None:
        raise NO_PANEL_DRAWN()
    return panel


@router.post("/challenges/{challenge_id}/panel", status_code=201)
def draw_panel(
    session: SessionDep, actor: OperatorActor, challenge_id: int, body: PanelDrawIn
) -> PanelOut:
    """Draw the panel (the challenge is shortlisting and has a rubric); 409 for a second
    panel, 422 when fewer experts are eligible than ``size`` (with the counts)."""
    panel = panels.draw_panel(
        session,
        actor=actor,
        challenge_id=challenge_id,
        size=body.size,
        field=body.field,
        seed=body.seed,
        deadline=body.deadline,
    )
    session.commit()
    return panel_out(session, actor=actor, panel=panel)


@router.get("/challenges/{challenge_id}/panel")
def get_panel(session: SessionDep, actor: PublicActor, challenge_id: int) -> PanelOut:
    """The draw for everyone (seed, candidate order, exclusions); the members' names for
    operators, and for everyone once the panel is closed; never scores."""
    panel = _panel_of_challenge(session, actor, challenge_id)
    return panel_out(session, actor=actor, panel=panel)


def _seat_out(session: SessionDep, actor: Actor, panel_id: int) -> MemberOut:
    out = panel_out(session, actor=actor, panel=panels.get_panel(session, panel_id))
    assert out.my_seat is not None
    return out.my_seat


@router.post("/panels/{panel_id}/confirm")
def confirm(session: SessionDep, actor: ExpertActor, panel_id: int) -> MemberOut:
    """The member confirms no conflict of interest (409 if the rule finds one now)."""
    panels.confirm(session, actor=actor, panel_id=panel_id)
    session.commit()
    return _seat_out(session, actor, panel_id)


class RecusalOut(BaseModel):
    """A recusal's outcome: whether a replacement was invited (``exhausted`` when no
    candidate was left); operators also see who."""

    replaced: bool
    exhausted: bool
    replacement: MemberOut | None


@router.post("/panels/{panel_id}/recuse")
def recuse(
    session: SessionDep, actor: ExpertOrOperator, panel_id: int, body: RecuseIn
) -> RecusalOut:
    """回避 with a reason (an operator names ``expert_id``); the next candidate is invited."""
    replacement = panels.recuse(
        session, actor=actor, panel_id=panel_id, reason=body.reason, expert_id=body.expert_id
    )
    session.commit()
    if replacement is None:
        return RecusalOut(replaced=False, exhausted=True, replacement=None)
    out = panel_out(session, actor=actor, panel=panels.get_panel(session, panel_id))
    shown = next((m for m in out.members or [] if m.position == replacement.position), None)
    return RecusalOut(replaced=True, exhausted=False, replacement=shown)


@router.post("/panels/{panel_id}/deadline")
def set_deadline(
    session: SessionDep, actor: OperatorActor, panel_id: int, body: DeadlineIn
) -> PanelOut:
    """Set or extend the scoring deadline (scoring after it is refused with 409)."""
    panel = panels.set_deadline(session, actor=actor, panel_id=panel_id, deadline=body.deadline)
    session.commit()
    return panel_out(session, actor=actor, panel=panel)


@router.post("/panels/{panel_id}/close")
def close(session: SessionDep, actor: OperatorActor, panel_id: int, body: CloseIn) -> PanelOut:
    """End the scoring: 409 while confirmed members have applications left to score,
    unless ``force`` with a ``reason``."""
    panel = scoring.close_panel(
        session, actor=actor, panel_id=panel_id, force=body.force, reason=body.reason
    )
    session.commit()
    return panel_out(session, actor=actor, panel=panel)


@router.get("/panels/{panel_id}/applications")
def list_applications(session: SessionDep, actor: ExpertActor, panel_id: int) -> MemberView:
    """The applications for a confirmed member (coded, masked under 双盲), with their own
    scores only."""
    return member_view(session, actor=actor, panel=panels.get_panel(session, panel_id))


@router.put("/panels/{panel_id}/applications/{application_id}/score")
def put_score(
    session: SessionDep, actor: ExpertActor, panel_id: int, application_id: int, body: ScoreIn
) -> ScoreOut:
    """Score an application per criterion with a comment (again, until the close)."""
    row = scoring.submit_score(
        session,
        actor=actor,
        panel_id=panel_id,
        application_id=application_id,
        scores=body.scores,
        comment=body.comment,
    )
    session.commit()
    return ScoreOut(
        panel_id=row.panel_id,
        application_id=row.application_id,
        scores=dict(row.scores),
        comment=row.comment,
        total=row.total,
        updated_at=clock.local(row.updated_at),
    )


def reviewed_application(
    session: SessionDep, actor: Actor, panel_id: int, application_id: int
) -> Application:
    """An application under review, for a confirmed member of its panel (else 403/404)."""
    panel = panels.get_panel(session, panel_id)
    panels.confirmed_seat(session, actor=actor, panel=panel)
    application = session.get(Application, application_id)
    if (
        application is None
        or application.challenge_id != panel.challenge_id
        or application.state not in panels.REVIEWED_STATES
        or not application.proposal_file
    ):
        raise NO_SUCH_PROPOSAL()
    return application


@router.get(
    "/panels/{panel_id}/applications/{application_id}/proposal.pdf",
    response_class=FileResponse,
)
def get_proposal(
    session: SessionDep,
    settings: SettingsDep,
    actor: ExpertActor,
    panel_id: int,
    application_id: int,
) -> FileResponse:
    """The proposal PDF as uploaded, for a confirmed member (its anonymity under 双盲 is
    the applicant's responsibility), under the blind code, not the uploaded file name."""
    application = reviewed_application(session, actor, panel_id, application_id)
    return FileResponse(
        proposal_path(settings.data_dir, application),
        media_type="application/pdf",
        filename=f"proposal-{application.id}.pdf",
        headers={"X-Content-Type-Options": "nosniff"},
    )


@router.get("/me/review-queue")
def my_queue(session: SessionDep, actor: ExpertActor) -> list[QueueSection]:
    """The expert's work queue: panels to confirm, applications to score (by deadline),
    race answers to grade."""
    return review_queue(session, actor=actor)
