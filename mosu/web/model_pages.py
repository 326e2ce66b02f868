"""Model pages: the searchable list, a model's page, and the create and edit forms."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from mosu.accounts.deps import PublicActor, SignedInActor
from mosu.core.errors import Conflict, Invalid
from mosu.deps import SessionDep
from mosu.desk.model_profile import model_profile
from mosu.permissions import Actor
from mosu.public_cache import PUBLIC_CACHE
from mosu.registry import ai_models, views
from mosu.registry.errors import REGISTER_OWN_MODELS
from mosu.registry.models import Modality
from mosu.registry.schemas import ModelIn, ModelOut, ModelPatch
from mosu.web.forms import (
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
    yes_no,
)
from mosu.web.render import language, render, wants_partial

router = APIRouter(include_in_schema=False)


@router.get("/models", dependencies=[PUBLIC_CACHE])
def list_models(
    request: Request,
    session: SessionDep,
    actor: PublicActor,
    q: str = "",
    modality: str = "",
    filed: str = "",
    open_weights: str = "",
    page: int = 1,
) -> HTMLResponse:
    """模型库: search and filters; an HTMX request gets just the results table."""
    result = ai_models.list_models(
        session,
        q=q,
        modality=choice(Modality, modality),
        filed=yes_no(filed),
        open_weights=yes_no(open_weights),
        page=page,
    )
    params = {"q": q, "modality": modality, "filed": filed, "open_weights": open_weights}
    context = {"result": result, "params": params, "flags": views.flags(actor)}
    template = "partials/model_results.html" if wants_partial(request) else "models/list.html"
    return render(request, template, context, actor=actor, session=session)


# ---------------------------------------------------------------- form


def _values_of(model: ModelOut) -> dict[str, Any]:
    return {
        "organisation_id": str(model.organisation_id),
        "name": model.name,
        "modality": model.modality.value,
        "open_weights": model.open_weights,
        "parameters_b": "" if model.parameters_b is None else f"{model.parameters_b:g}",
        "base_model_id": "" if model.base_model_id is None else str(model.base_model_id),
        "base_model_text": "" if model.base_model_id is not None else model.base_model_name,
        "capability_tags": "、".join(model.capability_tags),
        "description": model.description,
    }


def _values_from(form: FormData) -> dict[str, Any]:
    fields = ("organisation_id", "name", "modality", "parameters_b", "base_model_id")
    values: dict[str, Any] = {k: text(form, k) for k in fields}
    values.update(
        base_model_text=text(form, "base_model_text"),
        capability_tags=text(form, "capability_tags"),
        description=text(form, "description"),
        open_weights=checked(form, "open_weights"),
    )
    return values


def _payload(form: FormData) -> dict[str, Any]:
    return {
        "name": text(form, "name"),
        "modality": text(form, "modality"),
        "open_weights": checked(form, "open_weights"),
        "parameters_b": optional(form, "parameters_b"),
        "base_model_id": optional(form, "base_model_id"),
        "base_model_text": text(form, "base_model_text"),
        "capability_tags": tags(form, "capability_tags"),
        "description": text(form, "description"),
    }


def _form_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    model_id: int | None,
    values: dict[str, Any],
    errors: FieldErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "model_id": model_id,
        "values": values,
        "errors": errors or {},
        "organisations": views.organisation_choices(session, actor=actor)
        if model_id is None
        else [],
        "base_models": [c for c in views.model_choices(session) if c[0] != model_id],
    }
    return render(request, "models/form.html", context, actor=actor, session=session, status=status)


@router.get("/models/new")
def new_model_form(
    request: Request, session: SessionDep, actor: SignedInActor, organisation_id: str = ""
) -> HTMLResponse:
    if not views.organisation_choices(session, actor=actor):
        raise REGISTER_OWN_MODELS()
    values = _values_from(FormData())
    values.update(organisation_id=organisation_id, modality=Modality.text.value)
    return _form_page(request, session, actor, model_id=None, values=values)


@router.post("/models/new")
def create_model(
    request: Request, session: SessionDep, actor: SignedInActor, form: FormDep
) -> Response:
    lang = language(request)
    try:
        organisation_id = as_int(text(form, "organisation_id"))
        data = ModelIn.model_validate({**_payload(form), "organisation_id": organisation_id})
        model = ai_models.create_model(session, actor=actor, data=data)
    except ValidationError as exc:
        errors = validation_errors(exc, lang)
    except (Invalid, Conflict) as exc:
        session.rollback()
        errors = service_errors(exc, lang)
    else:
        session.commit()
        return RedirectResponse(f"/models/{model.id}", status_code=303)
    values = _values_from(form)
    return _form_page(
        request, session, actor, model_id=None, values=values, errors=errors, status=422
    )


@router.get("/models/{model_id}/edit")
def edit_model_form(
    request: Request, session: SessionDep, actor: SignedInActor, model_id: int
) -> HTMLResponse:
    model = views.editable_model(session, actor=actor, model_id=model_id)
    values = _values_of(ai_models.model_out(model))
    return _form_page(request, session, actor, model_id=model.id, values=values)


@router.post("/models/{model_id}/edit")
def edit_model(
    request: Request, session: SessionDep, actor: SignedInActor, model_id: int, form: FormDep
) -> Response:
    model = views.editable_model(session, actor=actor, model_id=model_id)
    lang = language(request)
    try:
        patch = ModelPatch.model_validate(_payload(form))
        ai_models.update_model(session, actor=actor, model_id=model.id, data=patch)
    except ValidationError as exc:
        errors = validation_errors(exc, lang)
    except (Invalid, Conflict) as exc:
        session.rollback()
        errors = service_errors(exc, lang)
    else:
        session.commit()
        return RedirectResponse(f"/models/{model_id}", status_code=303)
    values = _values_from(form)
    return _form_page(
        request, session, actor, model_id=model_id, values=values, errors=errors, status=422
    )


# ---------------------------------------------------------------- detail


@router.get("/models/{model_id}")
def model_detail(
    request: Request, session: SessionDep, actor: PublicActor, model_id: int
) -> HTMLResponse:
    """A model: its organisation, base model, capability tags and filings; the races it
    ran, its arena ratings, its offers and the models derived from it."""
    view = views.model_page(session, actor=actor, model_id=model_id)
    context = {
        "model": view.model,
        "profile": model_profile(
            session, actor=actor, model_id=model_id, organisation_id=view.model.organisation_id
        ),
        "can_edit": view.can_edit,
        "can_add_filing": view.can_add_filing,
    }
    return render(request, "models/detail.html", context, actor=actor, session=session)
