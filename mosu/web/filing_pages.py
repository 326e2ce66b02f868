"""Filing pages (备案登记): the list with its filters and the form for a new filing."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from mosu.accounts.deps import PublicActor, SignedInActor
from mosu.core.errors import Conflict, Invalid
from mosu.deps import SessionDep
from mosu.permissions import Actor
from mosu.public_cache import PUBLIC_CACHE
from mosu.registry import filings, views
from mosu.registry.errors import FILE_OWN_MODELS
from mosu.registry.models import FilingKind, FilingStatus
from mosu.registry.schemas import FilingIn
from mosu.web.forms import (
    FieldErrors,
    FormDep,
    choice,
    optional,
    service_errors,
    text,
    validation_errors,
)
from mosu.web.render import language, render, wants_partial

router = APIRouter(include_in_schema=False)
FIELDS = ("model_id", "kind", "number", "filed_on", "status", "based_on_model_id")


@router.get("/filings", dependencies=[PUBLIC_CACHE])
def list_filings(
    request: Request,
    session: SessionDep,
    actor: PublicActor,
    q: str = "",
    kind: str = "",
    status: str = "",
    page: int = 1,
) -> HTMLResponse:
    result = filings.list_filings(
        session,
        q=q,
        kind=choice(FilingKind, kind),
        status=choice(FilingStatus, status),
        page=page,
    )
    params = {"q": q, "kind": kind, "status": status}
    context = {"result": result, "params": params, "flags": views.flags(actor)}
    template = "partials/filing_results.html" if wants_partial(request) else "filings/list.html"
    return render(request, template, context, actor=actor, session=session)


def _form_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    values: dict[str, Any],
    errors: FieldErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "values": values,
        "errors": errors or {},
        "models": views.fileable_model_choices(session, actor=actor),
        "filed_models": views.filed_model_choices(session),
    }
    return render(
        request, "filings/form.html", context, actor=actor, session=session, status=status
    )


@router.get("/filings/new")
def new_filing_form(
    request: Request, session: SessionDep, actor: SignedInActor, model_id: str = ""
) -> HTMLResponse:
    if not views.fileable_model_choices(session, actor=actor):
        raise FILE_OWN_MODELS()
    values = dict.fromkeys(FIELDS, "")
    values.update(model_id=model_id, kind=FilingKind.beian.value, status="active")
    return _form_page(request, session, actor, values=values)


@router.post("/filings/new")
def create_filing(
    request: Request, session: SessionDep, actor: SignedInActor, form: FormDep
) -> Response:
    lang = language(request)
    values = {k: text(form, k) for k in FIELDS}
    try:
        submitted = {k: v for k in FIELDS if (v := optional(form, k)) is not None}
        data = FilingIn.model_validate(submitted)
        filing = filings.create_filing(session, actor=actor, data=data)
    except ValidationError as exc:
        errors = validation_errors(exc, lang)
    except (Invalid, Conflict) as exc:
        session.rollback()
        errors = service_errors(exc, lang)
    else:
        session.commit()
        return RedirectResponse(f"/models/{filing.model_id}", status_code=303)
    return _form_page(request, session, actor, values=values, errors=errors, status=422)
