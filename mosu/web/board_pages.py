"""Supply–demand pages (供需对接): a scenario's matches, interest, a supplier's opportunities,
case studies on an organisation's page (the notices are in :mod:`mosu.web.notice_pages`).

The scenario page loads its matching section from ``/scenarios/{id}/matches`` (HTMX), so the
scenario pages themselves stay as they are.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from mosu.accounts.deps import PublicActor, SignedInActor
from mosu.board import service, views
from mosu.board.schemas import CaseStudyIn
from mosu.core.errors import Conflict, Invalid, NotFound
from mosu.deps import SessionDep
from mosu.permissions import Actor
from mosu.registry.lookups import get_organisation
from mosu.registry.models import Layer
from mosu.scenarios.service import get_scenario
from mosu.web.errors import CHOOSE_ORGANISATION, INVALID_FORM
from mosu.web.forms import FormDep, as_int, choice, service_errors, text, validation_errors
from mosu.web.render import language, render

router = APIRouter(include_in_schema=False)


@router.get("/scenarios/{scenario_id}/matches")
def scenario_matches(
    request: Request,
    session: SessionDep,
    actor: PublicActor,
    scenario_id: int,
    filed_only: str = "",
    layer: str = "",
    region: str = "",
) -> HTMLResponse:
    """推荐供给方与模型: ranked with reasons, beside the suppliers who marked interest."""
    scenario = get_scenario(session, scenario_id, actor=actor)
    chosen = choice(Layer, layer)
    view = views.scenario_matches(
        session,
        actor=actor,
        scenario=scenario,
        filed_only=bool(filed_only),
        layers=[chosen.value] if chosen else [],
        region=region,
        lang=language(request),
    )
    context = {
        "scenario": scenario,
        "recs": view.recs,
        "params": {"filed_only": filed_only, "layer": layer, "region": region},
        "own_org": view.own_org,
        "my_interest": view.my_interest,
        "sees_all_interest": view.sees_all_interest,
        "may_mark": view.may_mark,
    }
    return render(request, "scenarios/matches.html", context, actor=actor, session=session)


def _acting_org(actor: Actor, form: FormData) -> int:
    """The organisation a form acts for: the one named (operators), else the actor's own."""
    organisation_id = as_int(text(form, "organisation_id")) or actor.organisation_id
    if organisation_id is None:
        raise CHOOSE_ORGANISATION()
    return organisation_id


def _back(scenario_id: int) -> RedirectResponse:
    return RedirectResponse(f"/scenarios/{scenario_id}#matching", status_code=303)


@router.post("/scenarios/{scenario_id}/interest")
def mark_interest(
    session: SessionDep, actor: SignedInActor, scenario_id: int, form: FormDep
) -> Response:
    """A supplier marks interest for its own organisation (operators name one)."""
    service.mark_interest(
        session,
        actor=actor,
        organisation_id=_acting_org(actor, form),
        scenario_id=scenario_id,
        note=text(form, "note")[:2000],
    )
    session.commit()
    return _back(scenario_id)


@router.post("/scenarios/{scenario_id}/interest/withdraw")
def withdraw_interest(
    session: SessionDep, actor: SignedInActor, scenario_id: int, form: FormDep
) -> Response:
    service.withdraw_interest(
        session, actor=actor, organisation_id=_acting_org(actor, form), scenario_id=scenario_id
    )
    session.commit()
    return _back(scenario_id)


@router.get("/opportunities")
def opportunities(
    request: Request, session: SessionDep, actor: SignedInActor, organisation_id: int | None = None
) -> HTMLResponse:
    """可承接的应用场景: open scenarios an organisation (by default one's own) could win."""
    view = views.opportunities(
        session, actor=actor, organisation_id=organisation_id, lang=language(request)
    )
    context = {"org": view.org, "matches": view.matches, "may_mark": view.may_mark}
    return render(request, "board/opportunities.html", context, actor=actor, session=session)


# ---------------------------------------------------------------- case studies


@router.post("/orgs/{organisation_id}/case-studies")
def add_case_study(
    request: Request, session: SessionDep, actor: SignedInActor, organisation_id: int, form: FormDep
) -> Response:
    """Add a case study from the organisation's page; errors are shown on that page."""
    lang = language(request)
    try:
        data = CaseStudyIn.model_validate(
            {
                "title": text(form, "title"),
                "customer_type": text(form, "customer_type"),
                "text": text(form, "text"),
            }
        )
        service.create_case_study(session, actor=actor, organisation_id=organisation_id, data=data)
    except ValidationError as exc:
        errors = validation_errors(exc, lang)
    except (Invalid, Conflict, NotFound) as exc:
        session.rollback()
        errors = service_errors(exc, lang)
    else:
        session.commit()
        return RedirectResponse(f"/orgs/{organisation_id}#case-studies", status_code=303)
    get_organisation(session, organisation_id)
    raise INVALID_FORM(problems="; ".join(m for field in errors.values() for m in field))


@router.post("/case-studies/{case_study_id}/delete")
def delete_case_study(session: SessionDep, actor: SignedInActor, case_study_id: int) -> Response:
    case = service.get_case_study(session, case_study_id)
    organisation_id = case.organisation_id
    service.delete_case_study(session, actor=actor, case_study_id=case_study_id)
    session.commit()
    return RedirectResponse(f"/orgs/{organisation_id}#case-studies", status_code=303)
