"""Challenge pages (揭榜挂帅): the 榜单 list, publishing from a scenario, a challenge's page
with its lifecycle buttons and audit log, the application form, and an application's page
with the operator's decision and shortlist."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from mosu import i18n
from mosu.accounts.deps import OperatorActor, PublicActor, SignedInActor, require
from mosu.challenges import applications, catalogue, decisions, proposals, views
from mosu.challenges.models import ApplicationState, Challenge, ChallengeKind, ChallengeState
from mosu.challenges.schemas import MAX_MEMBERS, ApplicationIn, ChallengeIn, ChallengePatch
from mosu.core.errors import Conflict, Forbidden, Invalid, MosuError
from mosu.deps import SessionDep, SettingsDep
from mosu.i18n import N_
from mosu.permissions import Actor, Role, roles
from mosu.public_cache import PUBLIC_CACHE
from mosu.race.results import challenge_outcome
from mosu.registry.lookups import filed_model_ids
from mosu.scenarios.service import get_scenario
from mosu.web import decision_pages
from mosu.web.challenge_labels import FIELDS, TRANSITION_LABELS
from mosu.web.confirm import confirm_page, confirmed
from mosu.web.flash import flash
from mosu.web.forms import (
    GENERAL,
    FieldErrors,
    FormDep,
    as_int,
    checked,
    choice,
    optional,
    service_errors,
    tags,
    text,
    validation_errors,
)
from mosu.web.render import language, render, wants_partial

router = APIRouter(include_in_schema=False)
SupplierActor = Annotated[Actor, Depends(require(roles(Role.supplier)))]


def _common(request: Request) -> dict[str, Any]:
    lang = language(request)

    return {
        "local": lambda message: i18n.render(message, lang),
        "ChallengeKind": ChallengeKind,
        "ChallengeState": ChallengeState,
        "ApplicationState": ApplicationState,
    }


# ---------------------------------------------------------------- list


@router.get("/challenges", dependencies=[PUBLIC_CACHE])
def list_challenges(
    request: Request,
    session: SessionDep,
    actor: PublicActor,
    q: str = "",
    kind: str = "",
    state: str = "",
    category: str = "",
    page: int = 1,
) -> HTMLResponse:
    """揭榜挂帅 榜单: search and filters; an HTMX request gets just the results."""
    found = views.challenge_list(
        session,
        actor=actor,
        q=q,
        kind=choice(ChallengeKind, kind),
        state=choice(ChallengeState, state),
        category=category,
        page=page,
    )
    params = {"q": q, "kind": kind, "state": state, "category": category}
    context = {
        **_common(request),
        "result": found.result,
        "params": params,
        "categories": found.categories,
        "can_publish": found.can_publish,
    }
    template = "challenges/results.html" if wants_partial(request) else "challenges/list.html"
    return render(request, template, context, actor=actor, session=session)


# ---------------------------------------------------------------- publish and edit


def _values_of(challenge: Challenge) -> dict[str, Any]:
    return {
        "scenario_id": challenge.scenario_id,
        "kind": challenge.kind.value,
        "title": challenge.title,
        "category": challenge.category,
        "keywords": "、".join(challenge.keywords),
        "bounty_yuan": "" if challenge.bounty_yuan is None else challenge.bounty_yuan,
        "requirements": challenge.requirements,
        "valid_from": challenge.valid_from.isoformat(),
        "valid_until": challenge.valid_until.isoformat(),
        "region": challenge.region,
        "issuer": challenge.issuer,
        "require_filed_model": challenge.require_filed_model,
        "max_applications_per_org": challenge.max_applications_per_org,
        "shortlist_places": challenge.shortlist_places,
        "winner_places": challenge.winner_places,
    }


def _values_from(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {k: text(form, k) for k in FIELDS}
    values["scenario_id"] = text(form, "scenario_id")
    values["require_filed_model"] = checked(form, "require_filed_model")
    values["negotiable"] = checked(form, "negotiable")
    return values


def _payload(form: FormData) -> dict[str, Any]:
    data: dict[str, Any] = {k: optional(form, k) for k in FIELDS}
    data["keywords"] = tags(form, "keywords")
    data["category"] = text(form, "category")
    data["requirements"] = text(form, "requirements")
    data["region"] = text(form, "region")
    data["require_filed_model"] = checked(form, "require_filed_model")
    if checked(form, "negotiable"):
        data["bounty_yuan"] = None
    return data


def _form_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    challenge: Challenge | None,
    scenario_title: str,
    values: dict[str, Any],
    errors: FieldErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    values.setdefault("negotiable", values.get("bounty_yuan") in ("", None))
    context = {
        **_common(request),
        "challenge": challenge,
        "scenario_title": scenario_title,
        "values": values,
        "errors": errors or {},
    }
    return render(
        request, "challenges/form.html", context, actor=actor, session=session, status=status
    )


@router.get("/challenges/new")
def new_challenge_form(
    request: Request, session: SessionDep, actor: OperatorActor, scenario_id: int = 0
) -> HTMLResponse:
    """发布揭榜挂帅榜单, prefilled from the scenario."""
    values = views.publish_values(session, actor=actor, scenario_id=scenario_id)
    return _form_page(
        request, session, actor, challenge=None, scenario_title=values["title"], values=values
    )


@router.post("/challenges/new")
def create_challenge(
    request: Request, session: SessionDep, actor: OperatorActor, form: FormDep
) -> Response:
    lang = language(request)
    scenario = get_scenario(session, as_int(text(form, "scenario_id")) or 0, actor=actor)
    try:
        payload = {**_payload(form), "scenario_id": scenario.id}
        challenge = catalogue.create_challenge(
            session, actor=actor, data=ChallengeIn.model_validate(payload)
        )
    except ValidationError as exc:
        errors = validation_errors(exc, lang)
    except (Invalid, Conflict) as exc:
        session.rollback()
        errors = service_errors(exc, lang)
    else:
        session.commit()
        return RedirectResponse(f"/challenges/{challenge.id}", status_code=303)
    return _form_page(
        request,
        session,
        actor,
        challenge=None,
        scenario_title=scenario.title,
        values=_values_from(form),
        errors=errors,
        status=422,
    )


@router.get("/challenges/{challenge_id}/edit")
def edit_challenge_form(
    request: Request, session: SessionDep, actor: OperatorActor, challenge_id: int
) -> HTMLResponse:
    challenge = views.editable_challenge(session, actor=actor, challenge_id=challenge_id)
    return _form_page(
        request,
        session,
        actor,
        challenge=challenge,
        scenario_title=challenge.scenario.title,
        values=_values_of(challenge),
    )


@router.post("/challenges/{challenge_id}/edit")
def edit_challenge(
    request: Request, session: SessionDep, actor: OperatorActor, challenge_id: int, form: FormDep
) -> Response:
    challenge = views.editable_challenge(session, actor=actor, challenge_id=challenge_id)
    lang = language(request)
    try:
        patch = ChallengePatch.model_validate(
            {k: v for k, v in _payload(form).items() if v is not None or k == "bounty_yuan"}
        )
        catalogue.update_challenge(session, actor=actor, challenge_id=challenge.id, data=patch)
    except ValidationError as exc:
        errors = validation_errors(exc, lang)
    except (Invalid, Conflict) as exc:
        session.rollback()
        errors = service_errors(exc, lang)
    else:
        session.commit()
        return RedirectResponse(f"/challenges/{challenge.id}", status_code=303)
    return _form_page(
        request,
        session,
        actor,
        challenge=challenge,
        scenario_title=challenge.scenario.title,
        values={**_values_from(form), "scenario_id": challenge.scenario_id},
        errors=errors,
        status=422,
    )


# ---------------------------------------------------------------- detail and lifecycle


def _detail_page(
    request: Request,
    session: Session,
    actor: Actor,
    challenge_id: int,
    *,
    errors: FieldErrors | None = None,
    reason: str = "",
    status: int = 200,
) -> HTMLResponse:
    lang = language(request)
    view = views.challenge_view(session, actor=actor, challenge_id=challenge_id, lang=lang)
    context = {
        **_common(request),
        "c": view.challenge,
        "events": view.events,
        "applications": view.applications,
        "moves": [
            (t, i18n.gettext(lang, TRANSITION_LABELS.get(t.name, t.name))) for t in view.moves
        ],
        "can_apply": view.can_apply,
        "can_edit": view.can_edit,
        "errors": errors or {},
        "reason": reason,
        **decision_pages.review_section(session, actor, view.challenge),
        "outcome": challenge_outcome(session, actor, view.challenge.id),
    }
    return render(
        request, "challenges/detail.html", context, actor=actor, session=session, status=status
    )


@router.get("/challenges/{challenge_id}", dependencies=[PUBLIC_CACHE])
def challenge_detail(
    request: Request, session: SessionDep, actor: PublicActor, challenge_id: int
) -> HTMLResponse:
    """A challenge: its terms, state, stages, applications (as permitted) and audit log."""
    return _detail_page(request, session, actor, challenge_id)


@router.post("/challenges/{challenge_id}/transitions")
def post_transition(
    request: Request, session: SessionDep, actor: SignedInActor, challenge_id: int, form: FormDep
) -> Response:
    """A lifecycle button: the transition's name and the reason typed beside it."""
    challenge = catalogue.get_challenge(session, challenge_id, actor=actor)
    reason, name = text(form, "reason"), text(form, "name")
    if name == "publish" and not confirmed(form):
        return confirm_page(
            request, session, actor, form,
            title=N_("确认发布榜单"),
            message=N_("榜单“{title}”将公开发布，开始接受揭榜申请。"),
            params={"title": challenge.title},
            back=f"/challenges/{challenge.id}",
        )  # fmt: skip
    try:
        catalogue.transition_challenge(
            session, actor=actor, challenge_id=challenge.id, name=text(form, "name"), reason=reason
        )
    except (Invalid, Conflict, Forbidden) as exc:
        session.rollback()
        status = exc.status
        errors = {GENERAL: [i18n.render(exc.text, language(request))]}
        return _detail_page(
            request, session, actor, challenge_id, errors=errors, reason=reason, status=status
        )
    session.commit()
    flash(
        request,
        N_("榜单状态已更新为：{state}"),
        state=i18n.label(challenge.state, language(request)),
    )
    return RedirectResponse(f"/challenges/{challenge.id}", status_code=303)


# ---------------------------------------------------------------- applying


async def limited_form(request: Request) -> AsyncIterator[FormData]:
    """The application form (its size bounded by :class:`mosu.uploads.BodyLimit`)."""
    async with request.form(max_files=1, max_fields=60) as form:
        yield form


LimitedFormDep = Annotated[FormData, Depends(limited_form)]


def _int_list(values: list[Any]) -> list[int]:
    return [int(v) for v in values if isinstance(v, str) and v.strip().isdigit()]


def _apply_page(
    request: Request,
    session: Session,
    actor: Actor,
    challenge: Challenge,
    *,
    values: dict[str, Any],
    errors: FieldErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    form = views.apply_form(
        session, actor=actor, challenge=challenge, member_ids=values["member_ids"]
    )
    context = {
        **_common(request),
        "c": challenge,
        "lead": form.lead,
        "organisations": form.organisations,
        "models": form.models,
        "filed": form.filed,
        "values": values,
        "member_slots": MAX_MEMBERS,
        "errors": errors or {},
        "max_mb": request.app.state.settings.max_upload_mb,
    }
    return render(
        request, "challenges/apply.html", context, actor=actor, session=session, status=status
    )


@router.get("/challenges/{challenge_id}/apply")
def apply_form(
    request: Request, session: SessionDep, actor: SupplierActor, challenge_id: int
) -> HTMLResponse:
    """揭榜: the lead is the applicant's organisation; up to four consortium members."""
    challenge = views.applicable(session, actor=actor, challenge_id=challenge_id)
    values = {"proposal": "", "member_ids": [], "model_ids": []}
    errors: FieldErrors = {}
    if not views.apply_form(session, actor=actor, challenge=challenge, member_ids=[]).can_apply:
        closed = i18n.gettext(language(request), "本榜单当前不接受揭榜申请")
        errors[GENERAL] = [closed]
    return _apply_page(request, session, actor, challenge, values=values, errors=errors)


@router.get("/challenges/{challenge_id}/apply/models")
def apply_models(
    request: Request, session: SessionDep, actor: SupplierActor, challenge_id: int
) -> HTMLResponse:
    """The models field for the chosen members (an HTMX swap when a member changes)."""
    challenge = views.applicable(session, actor=actor, challenge_id=challenge_id)
    members = _int_list(request.query_params.getlist("member_ids"))
    chosen = _int_list(request.query_params.getlist("model_ids"))
    context = {
        "models": views.team_choices(session, actor=actor, member_ids=members),
        "filed": filed_model_ids(session),
        "values": {"model_ids": chosen},
        "errors": {},
        "c": challenge,
    }
    return render(request, "challenges/apply_models.html", context, actor=actor, session=session)


@router.post("/challenges/{challenge_id}/apply")
def apply(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: SupplierActor,
    challenge_id: int,
    form: LimitedFormDep,
) -> Response:
    challenge = views.applicable(session, actor=actor, challenge_id=challenge_id)
    lang = language(request)
    members = _int_list(form.getlist("member_ids"))
    values = {
        "proposal": text(form, "proposal"),
        "member_ids": members,
        "model_ids": _int_list(form.getlist("model_ids")),
    }
    upload = form.get("proposal_file")
    proposal_file = None
    if isinstance(upload, UploadFile) and upload.filename:
        proposal_file = proposals.ProposalFile(upload.filename, upload.file.read())
    try:
        data = ApplicationIn.model_validate(
            {
                "proposal": values["proposal"],
                "member_ids": members,
                "model_ids": values["model_ids"],
            }
        )
        application = applications.apply(
            session,
            actor=actor,
            challenge_id=challenge.id,
            data=data,
            proposal_file=proposal_file,
            data_dir=settings.data_dir,
            max_bytes=settings.max_upload_mb * 1024 * 1024,
        )
    except ValidationError as exc:
        errors = validation_errors(exc, lang)
    except MosuError as exc:
        session.rollback()
        errors = service_errors(exc, lang)
    else:
        session.commit()
        return RedirectResponse(f"/applications/{application.id}", status_code=303)
    return _apply_page(request, session, actor, challenge, values=values, errors=errors, status=422)


# ---------------------------------------------------------------- an application


def _application_page(
    request: Request,
    session: Session,
    actor: Actor,
    application_id: int,
    *,
    errors: FieldErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    view = views.application_view(session, actor=actor, application_id=application_id)
    context = {
        **_common(request),
        "a": view.application,
        "c": view.challenge,
        "can_decide": view.can_decide,
        "can_shortlist": view.can_shortlist,
        "can_withdraw": view.can_withdraw,
        "errors": errors or {},
    }
    return render(
        request, "challenges/application.html", context, actor=actor, session=session, status=status
    )


@router.get("/applications/{application_id}")
def application_detail(
    request: Request, session: SessionDep, actor: SignedInActor, application_id: int
) -> HTMLResponse:
    """An application, for operators, the issuer, and the applying team only."""
    return _application_page(request, session, actor, application_id)


def _act(
    request: Request,
    session: Session,
    actor: Actor,
    application_id: int,
    action: Any,
    done: str = "",
) -> Response:
    """Run ``action``; back to the application's page (saying ``done``), or the page with
    the refusal."""
    application = applications.get_application(session, application_id, actor=actor)
    try:
        action()
    except (Invalid, Conflict, Forbidden) as exc:
        session.rollback()
        errors = service_errors(exc, language(request))
        return _application_page(
            request, session, actor, application_id, errors=errors, status=exc.status
        )
    session.commit()
    if done:
        flash(request, done)
    return RedirectResponse(f"/applications/{application.id}", status_code=303)


@router.post("/applications/{application_id}/decision")
def decide(
    request: Request, session: SessionDep, actor: OperatorActor, application_id: int, form: FormDep
) -> Response:
    """通过 or 不通过 (a reason required), from the buttons on the application's page."""
    return _act(
        request,
        session,
        actor,
        application_id,
        lambda: decisions.decide_application(
            session,
            actor=actor,
            application_id=application_id,
            approve=text(form, "decision") == "approve",
            reason=text(form, "reason"),
        ),
        done=N_("已通过该申请") if text(form, "decision") == "approve" else N_("已驳回该申请"),
    )


@router.post("/applications/{application_id}/shortlist")
def shortlist(
    request: Request, session: SessionDep, actor: OperatorActor, application_id: int
) -> Response:
    return _act(
        request,
        session,
        actor,
        application_id,
        lambda: decisions.shortlist(session, actor=actor, application_id=application_id),
        done=N_("已确定入围"),
    )


@router.post("/applications/{application_id}/withdraw")
def withdraw(
    request: Request, session: SessionDep, actor: SupplierActor, application_id: int, form: FormDep
) -> Response:
    return _act(
        request,
        session,
        actor,
        application_id,
        lambda: applications.withdraw(
            session, actor=actor, application_id=application_id, reason=text(form, "reason")
        ),
    )


@router.get("/applications/{application_id}/proposal.pdf")
def proposal_pdf(
    session: SessionDep, settings: SettingsDep, actor: SignedInActor, application_id: int
) -> FileResponse:
    """The proposal PDF, for whoever may read the application."""
    return views.proposal_download(
        session, data_dir=settings.data_dir, actor=actor, application_id=application_id
    )
