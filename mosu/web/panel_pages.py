"""Expert review pages (专家评审): the expert's work queue (/review), a panel seat (confirm
or recuse, then the applications), the scoring form, and a challenge's panel page (the
operator's draw, members, progress, deadline and close; everyone's seed, candidate order
and exclusions)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from mosu import i18n
from mosu.accounts.deps import OperatorActor, PublicActor, require
from mosu.challenges.catalogue import get_challenge
from mosu.core.errors import Conflict, Forbidden, Invalid, NotFound
from mosu.deps import SessionDep
from mosu.i18n import N_
from mosu.permissions import Actor, Role, can_manage_panels, roles
from mosu.review import grading, grading_results, panels, scoring
from mosu.review.errors import NO_PANEL_DRAWN, NO_SUCH_PANEL, NO_SUCH_PROPOSAL
from mosu.review.models import MemberState, PanelState, Rubric
from mosu.review.panel_schemas import DeadlineIn, PanelDrawIn
from mosu.review.panel_views import member_view, panel_out
from mosu.review.queue import review_queue
from mosu.web.challenge_labels import ACTION_LABELS
from mosu.web.forms import (
    GENERAL,
    FieldErrors,
    FormDep,
    as_int,
    checked,
    optional,
    service_errors,
    text,
    validation_errors,
)
from mosu.web.render import language, render

router = APIRouter(include_in_schema=False)
ExpertActor = Annotated[Actor, Depends(require(roles(Role.expert)))]
REFUSALS = (Invalid, Conflict, Forbidden, NotFound)
# the review's lines in a challenge's audit log, as the challenge page names them (the
# rubric's, the panel's, the shortlist's, the combined decision's and race grading's)
ACTION_LABELS.update(
    {
        "rubric_set": N_("发布评审细则"),
        "rubric_replaced": N_("修改评审细则"),
        "panel_drawn": N_("抽取评审专家组"),
        "panel_member_confirmed": N_("评审专家确认无利益冲突"),
        "panel_member_recused": N_("评审专家回避"),
        "panel_deadline_set": N_("设置评分截止时间"),
        "panel_closed": N_("结束专家评审"),
        "shortlist_confirmed": N_("确认专家组建议的入围名单"),
        "shortlist_departed": N_("不按专家组建议确定入围名单"),
        "combined_decided": N_("按综合评分规则确定揭榜单位"),
        "combined_departed": N_("不按综合评分规则确定揭榜单位"),
        grading_results.OPENED: "发起专家复核",
        grading.CLOSED: "结束专家复核",
    }
)
MEMBER_STATES = {
    MemberState.invited: N_("专家待确认"),
    MemberState.confirmed: N_("已确认无利益冲突"),
    MemberState.recused: N_("专家已回避"),
}


def _common(request: Request) -> dict[str, Any]:
    lang = language(request)
    return {
        "local": lambda message: i18n.render(message, lang),
        "MemberState": MemberState,
        "PanelState": PanelState,
        "member_state": MEMBER_STATES,
    }


# ---------------------------------------------------------------- the expert's pages


@router.get("/review")
def queue_page(request: Request, session: SessionDep, actor: ExpertActor) -> HTMLResponse:
    """评审任务: panels to confirm and applications to score, with their deadlines."""
    context = {**_common(request), "sections": review_queue(session, actor=actor)}
    return render(request, "review/queue.html", context, actor=actor, session=session)


def _seat_page(
    request: Request,
    session: Session,
    actor: Actor,
    panel_id: int,
    *,
    errors: FieldErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    panel = panels.get_panel(session, panel_id)
    seat = panels.seat_of(panel, actor.user_id)
    if seat is None:
        raise NO_SUCH_PANEL(panel_id=panel_id)
    view = None
    errors = dict(errors or {})
    if seat.state is MemberState.confirmed:
        try:
            view = member_view(session, actor=actor, panel=panel)
        except Conflict as exc:  # a conflict found since the confirmation
            errors.setdefault(GENERAL, []).append(i18n.render(exc.text, language(request)))
    context = {
        **_common(request),
        "panel": panel,
        "challenge": panel.challenge,
        "seat": seat,
        "view": view,
        "errors": errors,
    }
    return render(
        request, "review/panel.html", context, actor=actor, session=session, status=status
    )


@router.get("/review/panels/{panel_id}")
def seat_page(
    request: Request, session: SessionDep, actor: ExpertActor, panel_id: int
) -> HTMLResponse:
    """A member's panel: confirm no conflict or recuse; once confirmed, the applications."""
    return _seat_page(request, session, actor, panel_id)


def _seat_act(
    request: Request, session: Session, actor: Actor, panel_id: int, action: Callable[[], object]
) -> Response:
    try:
        action()
    except REFUSALS as exc:
        session.rollback()
        errors = service_errors(exc, language(request))
        return _seat_page(request, session, actor, panel_id, errors=errors, status=exc.status)
    session.commit()
    return RedirectResponse(f"/review/panels/{panel_id}", status_code=303)


@router.post("/review/panels/{panel_id}/confirm")
def confirm_page(
    request: Request, session: SessionDep, actor: ExpertActor, panel_id: int
) -> Response:
    return _seat_act(
        request,
        session,
        actor,
        panel_id,
        lambda: panels.confirm(session, actor=actor, panel_id=panel_id),
    )


@router.post("/review/panels/{panel_id}/recuse")
def recuse_page(
    request: Request, session: SessionDep, actor: ExpertActor, panel_id: int, form: FormDep
) -> Response:
    return _seat_act(
        request,
        session,
        actor,
        panel_id,
        lambda: panels.recuse(session, actor=actor, panel_id=panel_id, reason=text(form, "reason")),
    )


def _score_page(
    request: Request,
    session: Session,
    actor: Actor,
    panel_id: int,
    application_id: int,
    *,
    errors: FieldErrors | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    panel = panels.get_panel(session, panel_id)
    view = member_view(session, actor=actor, panel=panel)
    item = next((i for i in view.items if i.id == application_id), None)
    if item is None:
        raise NO_SUCH_PROPOSAL()
    if values is None:
        values = {"comment": item.my_score.comment if item.my_score else ""}
        for key, score in (item.my_score.scores if item.my_score else {}).items():
            values[key] = f"{score:g}"
    context = {
        **_common(request),
        "view": view,
        "item": item,
        "values": values,
        "errors": errors or {},
    }
    return render(
        request, "review/score.html", context, actor=actor, session=session, status=status
    )


@router.get("/review/panels/{panel_id}/applications/{application_id}")
def score_form(
    request: Request, session: SessionDep, actor: ExpertActor, panel_id: int, application_id: int
) -> HTMLResponse:
    """The scoring form: each criterion with its description and range, and a comment."""
    return _score_page(request, session, actor, panel_id, application_id)


def _scores_from(form: FormData, rubric: Rubric | None) -> tuple[dict[str, float], FieldErrors]:
    scores: dict[str, float] = {}
    errors: FieldErrors = {}
    for criterion in rubric.criteria if rubric else []:
        key = str(criterion["key"])
        raw = text(form, f"score_{key}")
        try:
            scores[key] = float(raw)
        except ValueError:
            errors[key] = [N_("须为数字")]
    return scores, errors


@router.post("/review/panels/{panel_id}/applications/{application_id}")
def submit_score_page(
    request: Request,
    session: SessionDep,
    actor: ExpertActor,
    panel_id: int,
    application_id: int,
    form: FormDep,
) -> Response:
    panel = panels.get_panel(session, panel_id)
    lang = language(request)
    rubric = session.get(Rubric, panel.challenge_id)
    values = {k[len("score_") :]: text(form, k) for k in form if k.startswith("score_")}
    values["comment"] = text(form, "comment")
    scores, errors = _scores_from(form, rubric)
    errors = {k: [i18n.gettext(lang, m) for m in v] for k, v in errors.items()}
    if not errors:
        try:
            scoring.submit_score(
                session,
                actor=actor,
                panel_id=panel_id,
                application_id=application_id,
                scores=scores,
                comment=values["comment"],
            )
        except REFUSALS as exc:
            session.rollback()
            errors = service_errors(exc, lang)
            key = exc.details.get("key") if isinstance(exc.details, dict) else None
            if key:
                errors = {str(key): errors.pop(GENERAL, [])}
    if errors:
        return _score_page(
            request,
            session,
            actor,
            panel_id,
            application_id,
            errors=errors,
            values=values,
            status=422,
        )
    session.commit()
    return RedirectResponse(f"/review/panels/{panel_id}", status_code=303)


# ---------------------------------------------------------------- a challenge's panel


def _panel_page(
    request: Request,
    session: Session,
    actor: Actor,
    challenge_id: int,
    *,
    errors: FieldErrors | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    challenge = get_challenge(session, challenge_id, actor=actor)
    panel = panels.panel_of(session, challenge.id)
    out = panel_out(session, actor=actor, panel=panel) if panel else None
    context = {
        **_common(request),
        "challenge": challenge,
        "panel": out,
        "manage": can_manage_panels(actor),
        "can_draw": can_manage_panels(actor)
        and panel is None
        and challenge.state in panels.DRAWING_STATES,
        "has_rubric": session.get(Rubric, challenge.id) is not None,
        "errors": errors or {},
        "values": values or {},
    }
    return render(
        request, "review/challenge_panel.html", context, actor=actor, session=session, status=status
    )


@router.get("/challenges/{challenge_id}/panel")
def challenge_panel_page(
    request: Request, session: SessionDep, actor: PublicActor, challenge_id: int
) -> HTMLResponse:
    """评审专家组: the draw for everyone; members, progress and the operator's controls."""
    return _panel_page(request, session, actor, challenge_id)


def _operator_act(
    request: Request,
    session: Session,
    actor: Actor,
    challenge_id: int,
    action: Callable[[], object],
    values: dict[str, str] | None = None,
) -> Response:
    try:
        action()
    except REFUSALS as exc:
        session.rollback()
        errors = service_errors(exc, language(request))
        return _panel_page(
            request, session, actor, challenge_id, errors=errors, values=values, status=exc.status
        )
    except ValidationError as exc:
        errors = validation_errors(exc, language(request))
        return _panel_page(
            request, session, actor, challenge_id, errors=errors, values=values, status=422
        )
    session.commit()
    return RedirectResponse(f"/challenges/{challenge_id}/panel", status_code=303)


def _deadline(form: FormData) -> str | None:
    """The form's ``datetime-local`` value (Beijing time), or ``None`` when empty."""
    return optional(form, "deadline")


@router.post("/challenges/{challenge_id}/panel")
def draw_page(
    request: Request, session: SessionDep, actor: OperatorActor, challenge_id: int, form: FormDep
) -> Response:
    values = {k: text(form, k) for k in ("size", "field", "seed", "deadline")}

    def draw() -> None:
        data = PanelDrawIn.model_validate(
            {
                "size": values["size"] or None,
                "field": values["field"],
                "seed": values["seed"] or None,
                "deadline": _deadline(form),
            }
        )
        panels.draw_panel(
            session,
            actor=actor,
            challenge_id=challenge_id,
            size=data.size,
            field=data.field,
            seed=data.seed,
            deadline=data.deadline,
        )

    return _operator_act(request, session, actor, challenge_id, draw, values)


def _panel_id(session: Session, actor: Actor, challenge_id: int) -> int:
    challenge = get_challenge(session, challenge_id, actor=actor)
    panel = panels.panel_of(session, challenge.id)
    if panel is None:
        raise NO_PANEL_DRAWN()
    return panel.id


@router.post("/challenges/{challenge_id}/panel/deadline")
def deadline_page(
    request: Request, session: SessionDep, actor: OperatorActor, challenge_id: int, form: FormDep
) -> Response:
    panel_id = _panel_id(session, actor, challenge_id)

    def set_deadline() -> None:
        data = DeadlineIn.model_validate({"deadline": _deadline(form)})
        panels.set_deadline(session, actor=actor, panel_id=panel_id, deadline=data.deadline)

    return _operator_act(request, session, actor, challenge_id, set_deadline)


@router.post("/challenges/{challenge_id}/panel/close")
def close_page(
    request: Request, session: SessionDep, actor: OperatorActor, challenge_id: int, form: FormDep
) -> Response:
    panel_id = _panel_id(session, actor, challenge_id)
    return _operator_act(
        request,
        session,
        actor,
        challenge_id,
        lambda: scoring.close_panel(
            session,
            actor=actor,
            panel_id=panel_id,
            force=checked(form, "force"),
            reason=text(form, "reason"),
        ),
    )


@router.post("/challenges/{challenge_id}/panel/recuse")
def operator_recuse_page(
    request: Request, session: SessionDep, actor: OperatorActor, challenge_id: int, form: FormDep
) -> Response:
    """The operator records a member's recusal for them, with the reason."""
    panel_id = _panel_id(session, actor, challenge_id)
    return _operator_act(
        request,
        session,
        actor,
        challenge_id,
        lambda: panels.recuse(
            session,
            actor=actor,
            panel_id=panel_id,
            reason=text(form, "reason"),
            expert_id=as_int(text(form, "expert_id")),
        ),
    )
