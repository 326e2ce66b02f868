"""Organisation pages: the searchable list, a profile, and the create and edit forms."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from mosu.accounts.deps import OperatorActor, PublicActor, SignedInActor
from mosu.board import views as board_views
from mosu.core.errors import Conflict, Invalid
from mosu.deps import SessionDep
from mosu.permissions import (
    Actor,
    can_set_standing,
)
from mosu.public_cache import PUBLIC_CACHE
from mosu.registry import organisations, views
from mosu.registry.models import Layer, Organisation, Tier
from mosu.registry.schemas import OrganisationIn, OrganisationPatch
from mosu.web.forms import (
    FieldErrors,
    FormDep,
    checked,
    choice,
    optional,
    service_errors,
    tags,
    text,
    validation_errors,
    yes_no,
)
from mosu.web.render import language, render, wants_partial

router = APIRouter(include_in_schema=False)
STANDING = organisations.STANDING_FIELDS


@router.get("/orgs", dependencies=[PUBLIC_CACHE])
def list_orgs(
    request: Request,
    session: SessionDep,
    actor: PublicActor,
    q: str = "",
    tier: str = "",
    layer: str = "",
    resident: str = "",
    page: int = 1,
) -> HTMLResponse:
    """企业机构: search and filters; an HTMX request gets just the results table."""
    result = organisations.list_organisations(
        session,
        actor=actor,
        q=q,
        tier=choice(Tier, tier),
        layer=choice(Layer, layer),
        resident=yes_no(resident),
        page=page,
    )
    params = {"q": q, "tier": tier, "layer": layer, "resident": resident}
    context = {"result": result, "params": params, "flags": views.flags(actor)}
    template = "partials/org_results.html" if wants_partial(request) else "orgs/list.html"
    return render(request, template, context, actor=actor, session=session)


# ---------------------------------------------------------------- form


def _values_of(org: Organisation) -> dict[str, Any]:
    return {
        "name_zh": org.name_zh,
        "name_en": org.name_en,
        "credit_code": org.credit_code,
        "tier": org.tier.value,
        "layers": list(org.layers),
        "resident": org.resident,
        "resident_since": org.resident_since.isoformat() if org.resident_since else "",
        "website": org.website,
        "description": org.description,
        "regions": "、".join(org.regions),
        "contact_name": org.contact_name,
        "contact_phone": org.contact_phone,
        "contact_email": org.contact_email,
    }


def _values_from(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {
        k: text(form, k)
        for k in (
            "name_zh",
            "name_en",
            "credit_code",
            "tier",
            "resident_since",
            "website",
            "description",
            "regions",
            "contact_name",
            "contact_phone",
            "contact_email",
        )
    }
    values["layers"] = [v for v in form.getlist("layers") if isinstance(v, str)]
    values["resident"] = checked(form, "resident")
    return values


def _payload(form: FormData, *, standing: bool) -> dict[str, Any]:
    """What the form says, in the shape of :class:`OrganisationIn`; standing only for operators."""
    data: dict[str, Any] = {
        "name_en": text(form, "name_en"),
        "layers": [v for v in form.getlist("layers") if isinstance(v, str)],
        "website": text(form, "website"),
        "description": text(form, "description"),
        "regions": tags(form, "regions"),
        "contact": {
            "name": text(form, "contact_name"),
            "phone": text(form, "contact_phone"),
            "email": text(form, "contact_email"),
        },
    }
    if standing:
        data.update(
            name_zh=text(form, "name_zh"),
            credit_code=text(form, "credit_code"),
            tier=text(form, "tier") or Tier.other.value,
            resident=checked(form, "resident"),
            resident_since=optional(form, "resident_since"),
        )
    return data


def _form_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    org_id: int | None,
    values: dict[str, Any],
    errors: FieldErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "org_id": org_id,
        "values": values,
        "errors": errors or {},
        "standing": can_set_standing(actor),
    }
    return render(request, "orgs/form.html", context, actor=actor, session=session, status=status)


_EMPTY: dict[str, Any] = {
    **dict.fromkeys(
        (
            "name_zh",
            "name_en",
            "credit_code",
            "resident_since",
            "website",
            "description",
            "regions",
            "contact_name",
            "contact_phone",
            "contact_email",
        ),
        "",
    ),
    "tier": Tier.other.value,
    "layers": [],
    "resident": False,
}


@router.get("/orgs/new")
def new_org_form(request: Request, session: SessionDep, actor: OperatorActor) -> HTMLResponse:
    return _form_page(request, session, actor, org_id=None, values=dict(_EMPTY))


@router.post("/orgs/new")
def create_org(
    request: Request, session: SessionDep, actor: OperatorActor, form: FormDep
) -> Response:
    lang = language(request)
    try:
        data = OrganisationIn.model_validate(_payload(form, standing=True))
        org = organisations.create_organisation(session, actor=actor, data=data)
    except ValidationError as exc:
        errors = validation_errors(exc, lang)
    except (Invalid, Conflict) as exc:
        session.rollback()
        errors = service_errors(exc, lang)
    else:
        session.commit()
        return RedirectResponse(f"/orgs/{org.id}", status_code=303)
    return _form_page(
        request, session, actor, org_id=None, values=_values_from(form), errors=errors, status=422
    )


@router.get("/orgs/{organisation_id}/edit")
def edit_org_form(
    request: Request, session: SessionDep, actor: SignedInActor, organisation_id: int
) -> HTMLResponse:
    org = views.editable_organisation(session, actor=actor, organisation_id=organisation_id)
    return _form_page(request, session, actor, org_id=org.id, values=_values_of(org))


@router.post("/orgs/{organisation_id}/edit")
def edit_org(
    request: Request,
    session: SessionDep,
    actor: SignedInActor,
    organisation_id: int,
    form: FormDep,
) -> Response:
    org = views.editable_organisation(session, actor=actor, organisation_id=organisation_id)
    lang = language(request)
    try:
        patch = OrganisationPatch.model_validate(_payload(form, standing=can_set_standing(actor)))
        organisations.update_organisation(session, actor=actor, organisation_id=org.id, data=patch)
    except ValidationError as exc:
        errors = validation_errors(exc, lang)
    except (Invalid, Conflict) as exc:
        session.rollback()
        errors = service_errors(exc, lang)
    else:
        session.commit()
        return RedirectResponse(f"/orgs/{org.id}", status_code=303)
    values, submitted = _values_of(org), _values_from(form)
    standing = can_set_standing(actor)
    values.update({k: v for k, v in submitted.items() if standing or k not in STANDING})
    return _form_page(
        request, session, actor, org_id=org.id, values=values, errors=errors, status=422
    )


# ---------------------------------------------------------------- profile


@router.get("/orgs/{organisation_id}")
def org_detail(
    request: Request, session: SessionDep, actor: PublicActor, organisation_id: int
) -> HTMLResponse:
    """An organisation's profile, its models and filings; contacts only where permitted."""
    view = views.organisation_page(session, actor=actor, organisation_id=organisation_id)
    board = board_views.organisation_board(session, actor=actor, organisation_id=view.org.id)
    context = {
        "org": view.org,
        "models": view.models,
        "filings": view.filings,
        "can_edit": view.can_edit,
        "can_add_model": view.can_add_model,
        "can_add_filing": view.can_add_filing,
        "case_studies": board.case_studies,
        "can_edit_cases": board.can_edit_cases,
        "org_matches": board.matches,
    }
    return render(request, "orgs/detail.html", context, actor=actor, session=session)
