"""Scenario board pages (应用场景): the searchable list, a scenario's page, and the forms.

The detail page renders ``scenarios/detail.html``, whose ``extra`` block is where later
sections (supplier matching) plug in.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from mosu.accounts.deps import PublicActor, require
from mosu.core.errors import Conflict, Invalid, NotFound
from mosu.deps import SessionDep
from mosu.permissions import (
    SCENARIO_AUTHORS,
    Actor,
    can_manage_scenario,
    can_post_scenario,
    ensure,
)
from mosu.scenarios import service, views
from mosu.scenarios.errors import EDIT_OWN_SCENARIOS
from mosu.scenarios.models import Scenario, ScenarioStatus
from mosu.scenarios.schemas import ScenarioIn, ScenarioPatch
from mosu.web.forms import (
    FieldErrors,
    FormDep,
    as_int,
    choice,
    optional,
    service_errors,
    tags,
    text,
    validation_errors,
)
from mosu.web.render import language, render, wants_partial

router = APIRouter(include_in_schema=False)
AuthorActor = Annotated[Actor, Depends(require(SCENARIO_AUTHORS))]
TEXT_FIELDS = (
    "title",
    "description",
    "domain",
    "capabilities",
    "data_available",
    "budget_min_yuan",
    "budget_max_yuan",
    "region",
    "deadline",
    "status",
    "organisation_id",
)
EDITABLE_STATUSES = (ScenarioStatus.draft, ScenarioStatus.open, ScenarioStatus.closed)


@router.get("/scenarios")
def list_scenarios(
    request: Request,
    session: SessionDep,
    actor: PublicActor,
    q: str = "",
    domain: str = "",
    region: str = "",
    status: str = "",
    budget_min: str = "",
    budget_max: str = "",
    page: int = 1,
) -> HTMLResponse:
    """应用场景: Chinese full-text search and filters; an HTMX request gets just the results."""
    result = service.list_scenarios(
        session,
        actor=actor,
        q=q,
        domain=domain,
        region=region,
        status=choice(ScenarioStatus, status),
        budget_min_yuan=as_int(budget_min),
        budget_max_yuan=as_int(budget_max),
        page=page,
    )
    params = {
        "q": q,
        "domain": domain,
        "region": region,
        "status": status,
        "budget_min": budget_min,
        "budget_max": budget_max,
    }
    context = {
        "result": result,
        "params": params,
        "facets": service.facets(session, actor=actor),
        "ScenarioStatus": ScenarioStatus,
        "can_post": can_post_scenario(actor),
    }
    template = "scenarios/results.html" if wants_partial(request) else "scenarios/list.html"
    return render(request, template, context, actor=actor, session=session)


def _values_of(scenario: Scenario | None) -> dict[str, Any]:
    if scenario is None:
        values: dict[str, Any] = dict.fromkeys(TEXT_FIELDS, "")
        values["status"] = ScenarioStatus.open.value
        return values
    return {
        "title": scenario.title,
        "description": scenario.description,
        "domain": scenario.domain,
        "capabilities": "、".join(scenario.capabilities),
        "data_available": scenario.data_available,
        "budget_min_yuan": "" if scenario.budget_min_yuan is None else scenario.budget_min_yuan,
        "budget_max_yuan": "" if scenario.budget_max_yuan is None else scenario.budget_max_yuan,
        "region": scenario.region,
        "deadline": scenario.deadline.isoformat() if scenario.deadline else "",
        "status": scenario.status.value,
        "organisation_id": scenario.organisation_id,
    }


def _payload(form: FormData) -> dict[str, Any]:
    return {
        "title": text(form, "title"),
        "description": text(form, "description"),
        "domain": text(form, "domain"),
        "capabilities": tags(form, "capabilities"),
        "data_available": text(form, "data_available"),
        "budget_min_yuan": optional(form, "budget_min_yuan"),
        "budget_max_yuan": optional(form, "budget_max_yuan"),
        "region": text(form, "region"),
        "deadline": optional(form, "deadline"),
        "status": text(form, "status") or ScenarioStatus.open.value,
    }


def _form_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    scenario: Scenario | None,
    values: dict[str, Any],
    errors: FieldErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    organisations = views.organisation_choices(session, actor=actor, scenario=scenario)
    context = {
        "scenario": scenario,
        "values": values,
        "errors": errors or {},
        "organisations": organisations,
        "statuses": EDITABLE_STATUSES,
    }
    return render(
        request, "scenarios/form.html", context, actor=actor, session=session, status=status
    )


@router.get("/scenarios/new")
def new_scenario_form(request: Request, session: SessionDep, actor: AuthorActor) -> HTMLResponse:
    return _form_page(request, session, actor, scenario=None, values=_values_of(None))


@router.post("/scenarios/new")
def create_scenario(
    request: Request, session: SessionDep, actor: AuthorActor, form: FormDep
) -> Response:
    lang = language(request)
    values = {k: text(form, k) for k in TEXT_FIELDS}
    try:
        payload = _payload(form)
        payload["organisation_id"] = as_int(text(form, "organisation_id"))
        scenario = service.create_scenario(
            session, actor=actor, data=ScenarioIn.model_validate(payload)
        )
    except ValidationError as exc:
        errors = validation_errors(exc, lang)
    except (Invalid, Conflict, NotFound) as exc:
        session.rollback()
        errors = service_errors(exc, lang)
    else:
        session.commit()
        return RedirectResponse(f"/scenarios/{scenario.id}", status_code=303)
    return _form_page(
        request, session, actor, scenario=None, values=values, errors=errors, status=422
    )


def _editable(session: Session, actor: Actor, scenario_id: int) -> Scenario:
    scenario = service.get_scenario(session, scenario_id, actor=actor)
    ensure(can_manage_scenario(actor, scenario.organisation_id), EDIT_OWN_SCENARIOS)
    return scenario


@router.get("/scenarios/{scenario_id}/edit")
def edit_scenario_form(
    request: Request, session: SessionDep, actor: AuthorActor, scenario_id: int
) -> HTMLResponse:
    scenario = _editable(session, actor, scenario_id)
    return _form_page(request, session, actor, scenario=scenario, values=_values_of(scenario))


@router.post("/scenarios/{scenario_id}/edit")
def edit_scenario(
    request: Request, session: SessionDep, actor: AuthorActor, scenario_id: int, form: FormDep
) -> Response:
    scenario = _editable(session, actor, scenario_id)
    lang = language(request)
    payload = _payload(form)
    if scenario.status is ScenarioStatus.published and payload["status"] == "published":
        payload.pop("status")
    try:
        patch = ScenarioPatch.model_validate(payload)
        service.update_scenario(session, actor=actor, scenario_id=scenario.id, data=patch)
    except ValidationError as exc:
        errors = validation_errors(exc, lang)
    except (Invalid, Conflict) as exc:
        session.rollback()
        errors = service_errors(exc, lang)
    else:
        session.commit()
        return RedirectResponse(f"/scenarios/{scenario.id}", status_code=303)
    values = {**_values_of(scenario), **{k: text(form, k) for k in TEXT_FIELDS if k in form}}
    return _form_page(
        request, session, actor, scenario=scenario, values=values, errors=errors, status=422
    )


@router.get("/scenarios/{scenario_id}")
def scenario_detail(
    request: Request, session: SessionDep, actor: PublicActor, scenario_id: int
) -> HTMLResponse:
    """A scenario, the challenges published from it, and (for operators) the way to publish."""
    view = views.scenario_view(session, actor=actor, scenario_id=scenario_id)
    context = {"s": view.out, "can_edit": view.can_edit, "can_publish": view.can_publish}
    return render(request, "scenarios/detail.html", context, actor=actor, session=session)
