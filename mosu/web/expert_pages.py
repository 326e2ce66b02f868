"""The expert pool's pages (专家库): the operator's list with each expert's load, the pool's
import and export, one expert's profile; the expert's own profile and conflict
declarations; and a challenge's review rubric form (评审细则, while the challenge is a draft).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from mosu import i18n
from mosu.accounts.deps import OperatorActor, require
from mosu.challenges import views as challenge_views
from mosu.core.errors import Forbidden, Invalid
from mosu.core.limits import ReadLimits
from mosu.deps import SessionDep, SettingsDep
from mosu.permissions import Actor, Role, roles
from mosu.review import pool, pool_io, rubric
from mosu.review.models import Blinding
from mosu.review.schemas import RubricIn
from mosu.web.forms import FieldErrors, FormDep, as_int, service_errors, tags, text, yes_no
from mosu.web.render import language, render

router = APIRouter(include_in_schema=False)
ExpertActor = Annotated[Actor, Depends(require(roles(Role.expert)))]
CRITERIA_ROWS = 6
"""Criterion rows on the rubric form (a rubric has at most 20; six cover every real call)."""


# ---------------------------------------------------------------- the operator's pool


def _pool_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    report: pool_io.PoolImportReport | None = None,
    error: str = "",
    status: int = 200,
) -> HTMLResponse:
    params = request.query_params
    in_pool = yes_no(params.get("in_pool"))
    context = {
        "experts": pool.list_pool(
            session,
            actor=actor,
            field=params.get("field", ""),
            in_pool=in_pool,
            q=params.get("q", ""),
        ),
        "params": {
            "field": params.get("field", ""),
            "in_pool": params.get("in_pool", ""),
            "q": params.get("q", ""),
        },
        "suggestions": pool.field_suggestions(session),
        "report": report,
        "error": error,
        "exports": [
            ("xlsx", "/api/v1/experts/export?format=xlsx"),
            ("csv", "/api/v1/experts/export?format=csv"),
        ],
    }
    return render(
        request, "review/experts.html", context, actor=actor, session=session, status=status
    )


@router.get("/experts")
def experts(request: Request, session: SessionDep, actor: OperatorActor) -> HTMLResponse:
    """专家库: every expert with fields, affiliation, conflicts, load and in-pool flag."""
    return _pool_page(request, session, actor)


@router.post("/experts/import")
def import_experts(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: OperatorActor,
    form: FormDep,
) -> HTMLResponse:
    """Import the pool from xlsx or CSV: written only when every row is good."""
    lang = language(request)
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        return _pool_page(
            request, session, actor, error=i18n.gettext(lang, "请选择文件"), status=422
        )
    report = pool_io.import_pool(
        session,
        actor=actor,
        filename=file.filename,
        content=file.file.read(),  # within the body limit
        sheet=text(form, "sheet") or None,
        limits=ReadLimits.from_settings(settings),
    )
    if report.ok:
        session.commit()
    else:
        session.rollback()
    return _pool_page(request, session, actor, report=report, status=200 if report.ok else 422)


# ---------------------------------------------------------------- one profile


def _profile_page(
    request: Request,
    session: Session,
    actor: Actor,
    user_id: int,
    *,
    own: bool,
    errors: FieldErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "e": pool.get_expert(session, actor=actor, user_id=user_id),
        "own": own,
        "action": "/expert/profile" if own else f"/experts/{user_id}",
        "organisations": pool.organisation_choices(session),
        "suggestions": pool.field_suggestions(session),
        "errors": errors or {},
    }
    return render(
        request, "review/expert.html", context, actor=actor, session=session, status=status
    )


def _save(
    request: Request,
    session: Session,
    actor: Actor,
    user_id: int,
    form: FormData,
    *,
    own: bool,
) -> Response:
    stored = pool.get_expert(session, actor=actor, user_id=user_id)
    try:
        pool.save_profile(
            session,
            actor=actor,
            user_id=user_id,
            fields=tags(form, "fields"),
            title=text(form, "title"),
            affiliation_id=stored.affiliation_id if own else as_int(text(form, "affiliation_id")),
            in_pool=(stored.in_pool or not stored.has_profile)
            if own
            else text(form, "in_pool") == "1",
        )
    except (Invalid, Forbidden) as exc:
        session.rollback()
        errors = service_errors(exc, language(request))
        return _profile_page(
            request, session, actor, user_id, own=own, errors=errors, status=exc.status
        )
    session.commit()
    return RedirectResponse("/expert/profile" if own else f"/experts/{user_id}", status_code=303)


def _conflict(
    request: Request,
    session: Session,
    actor: Actor,
    user_id: int,
    form: FormData,
    *,
    own: bool,
    remove: int | None = None,
) -> Response:
    try:
        if remove is not None:
            pool.remove_conflict(session, actor=actor, expert_id=user_id, organisation_id=remove)
        else:
            pool.declare_conflict(
                session,
                actor=actor,
                expert_id=user_id,
                organisation_id=as_int(text(form, "organisation_id")) or 0,
                reason=text(form, "reason"),
            )
    except Invalid as exc:
        session.rollback()
        errors = service_errors(exc, language(request))
        return _profile_page(
            request, session, actor, user_id, own=own, errors=errors, status=exc.status
        )
    session.commit()
    back = "/expert/profile" if own else f"/experts/{user_id}"
    return RedirectResponse(f"{back}#conflicts", status_code=303)


@router.get("/experts/{user_id}")
def expert_form(
    request: Request, session: SessionDep, actor: OperatorActor, user_id: int
) -> HTMLResponse:
    """An expert's profile for the operator to edit (fields, title, affiliation, 在库)."""
    return _profile_page(request, session, actor, user_id, own=False)


@router.post("/experts/{user_id}")
def save_expert(
    request: Request, session: SessionDep, actor: OperatorActor, user_id: int, form: FormDep
) -> Response:
    return _save(request, session, actor, user_id, form, own=False)


@router.post("/experts/{user_id}/conflicts")
def add_expert_conflict(
    request: Request, session: SessionDep, actor: OperatorActor, user_id: int, form: FormDep
) -> Response:
    return _conflict(request, session, actor, user_id, form, own=False)


@router.post("/experts/{user_id}/conflicts/{organisation_id}/delete")
def remove_expert_conflict(
    request: Request,
    session: SessionDep,
    actor: OperatorActor,
    user_id: int,
    organisation_id: int,
    form: FormDep,
) -> Response:
    return _conflict(request, session, actor, user_id, form, own=False, remove=organisation_id)


def _me(actor: Actor) -> int:
    assert actor.user_id is not None  # the route requires a signed-in expert
    return actor.user_id


@router.get("/expert/profile")
def own_profile(request: Request, session: SessionDep, actor: ExpertActor) -> HTMLResponse:
    """The expert's own profile (fields, title) and conflict declarations (利益冲突声明)."""
    return _profile_page(request, session, actor, _me(actor), own=True)


@router.post("/expert/profile")
def save_own_profile(
    request: Request, session: SessionDep, actor: ExpertActor, form: FormDep
) -> Response:
    return _save(request, session, actor, _me(actor), form, own=True)


@router.post("/expert/conflicts")
def declare_own_conflict(
    request: Request, session: SessionDep, actor: ExpertActor, form: FormDep
) -> Response:
    return _conflict(request, session, actor, _me(actor), form, own=True)


@router.post("/expert/conflicts/{organisation_id}/delete")
def remove_own_conflict(
    request: Request, session: SessionDep, actor: ExpertActor, organisation_id: int, form: FormDep
) -> Response:
    return _conflict(request, session, actor, _me(actor), form, own=True, remove=organisation_id)


# ---------------------------------------------------------------- the rubric form


_BLANK = {"key": "", "name": "", "weight": "", "description": ""}


def rubric_values(session: Session, challenge_id: int) -> dict[str, Any]:
    """The rubric form's values: the stored rubric, or an empty one."""
    stored = rubric.rubric_of(session, challenge_id)
    criteria = list(stored.criteria) if stored else []
    combined = (stored.combined or {}) if stored else {}
    return {
        "criteria": criteria + [_BLANK] * max(0, CRITERIA_ROWS - len(criteria)),
        "score_min": stored.score_min if stored else 0,
        "score_max": stored.score_max if stored else 10,
        "blinding": (stored.blinding if stored else Blinding.single).value,
        "dispersion_threshold": stored.dispersion_threshold if stored else 20,
        "review_weight": combined.get("review_weight", ""),
        "race_weight": combined.get("race_weight", ""),
        "normalise": combined.get("normalise", "scale"),
        "ties": combined.get("ties", "review"),
    }


def _rubric_from(form: FormData) -> tuple[dict[str, Any], dict[str, Any]]:
    """The payload for :class:`RubricIn` and the values to show again."""
    criteria = []
    shown = []
    for i in range(CRITERIA_ROWS):
        row = {k: text(form, f"c{i}_{k}") for k in ("key", "name", "weight", "description")}
        shown.append(row)
        if any(row.values()):
            criteria.append(row)
    values = {
        "criteria": shown,
        **{
            k: text(form, k) for k in ("score_min", "score_max", "blinding", "dispersion_threshold")
        },
        **{k: text(form, k) for k in ("review_weight", "race_weight", "normalise", "ties")},
    }
    payload: dict[str, Any] = {
        "criteria": criteria,
        **{
            k: values[k]
            for k in ("score_min", "score_max", "blinding", "dispersion_threshold")
            if values[k]
        },
    }
    if values["review_weight"] or values["race_weight"]:
        payload["combined"] = {
            "review_weight": values["review_weight"] or 0,
            "race_weight": values["race_weight"] or 0,
            "normalise": values["normalise"] or "scale",
            "ties": values["ties"] or "review",
        }
    return payload, values


def _rubric_page(
    request: Request,
    session: Session,
    actor: Actor,
    challenge_id: int,
    *,
    values: dict[str, Any] | None = None,
    errors: list[str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    challenge = challenge_views.editable_challenge(session, actor=actor, challenge_id=challenge_id)
    context = {
        "c": challenge,
        "values": values or rubric_values(session, challenge_id),
        "errors": errors or [],
        "rubric": rubric.shown_rubric(session, actor=actor, challenge=challenge),
    }
    return render(
        request, "review/rubric_form.html", context, actor=actor, session=session, status=status
    )


@router.get("/challenges/{challenge_id}/rubric")
def rubric_form(
    request: Request, session: SessionDep, actor: OperatorActor, challenge_id: int
) -> HTMLResponse:
    """评审细则: the operator sets a draft challenge's rubric (fixed once published)."""
    return _rubric_page(request, session, actor, challenge_id)


@router.post("/challenges/{challenge_id}/rubric")
def save_rubric(
    request: Request, session: SessionDep, actor: OperatorActor, challenge_id: int, form: FormDep
) -> Response:
    lang = language(request)
    payload, values = _rubric_from(form)
    try:
        data = RubricIn.model_validate(payload)
        rubric.set_rubric(session, actor=actor, challenge_id=challenge_id, data=data)
    except ValidationError as exc:
        messages = [
            i18n.validation_message(e["type"], e["msg"], lang, e.get("ctx"))
            + (f"（{'.'.join(str(x) for x in e['loc'])}）" if e["loc"] else "")
            for e in exc.errors()
        ]
        return _rubric_page(
            request, session, actor, challenge_id, values=values, errors=messages, status=422
        )
    except Invalid as exc:
        session.rollback()
        message = i18n.render(exc.text, lang)
        return _rubric_page(
            request,
            session,
            actor,
            challenge_id,
            values=values,
            errors=[message],
            status=exc.status,
        )
    session.commit()
    return RedirectResponse(f"/challenges/{challenge_id}#rubric", status_code=303)
