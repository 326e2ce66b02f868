"""The account page: API tokens, model endpoints, changing the password and signing out
everywhere."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import SecretStr, ValidationError
from sqlalchemy.orm import Session

from mosu.accounts import service as accounts
from mosu.accounts import views as account_views
from mosu.accounts.deps import SignedInActor
from mosu.accounts.errors import WRONG_CURRENT_PASSWORD
from mosu.accounts.throttle import Policy
from mosu.core.credentials import CredentialBox
from mosu.core.errors import Conflict, Invalid, MosuError, TooManyRequests
from mosu.core.pagination import MAX_PER_PAGE
from mosu.deps import SESSION_COOKIE, SessionDep, SettingsDep
from mosu.evals.netpolicy import AddressPolicy
from mosu.permissions import Actor, supplier_organisation
from mosu.race.endpoint_health import endpoint_health
from mosu.registry import ai_models, endpoints
from mosu.registry import views as registry_views
from mosu.registry.endpoint_checks import check_endpoint
from mosu.registry.schemas import EndpointIn
from mosu.web.auth_pages import client_address
from mosu.web.errors import NEW_PASSWORDS_DIFFER
from mosu.web.forms import (
    FieldErrors,
    FormDep,
    as_int,
    service_errors,
    text,
    validation_errors,
)
from mosu.web.render import language, page_url, render

router = APIRouter(include_in_schema=False)


def _account_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    new_token: str = "",
    token_errors: FieldErrors | None = None,
    endpoint_errors: FieldErrors | None = None,
    endpoint_values: dict[str, str] | None = None,
    password_errors: FieldErrors | None = None,
    status: int = 200,
) -> Response:
    assert actor.user_id is not None
    context: dict[str, Any] = {
        "tokens": account_views.api_tokens(session, actor=actor),
        "new_token": new_token,
        "token_errors": token_errors or {},
        "show_endpoints": supplier_organisation(actor) is not None,
        "endpoints": [],
        "health": {},
        "org_models": [],
        "endpoint_errors": endpoint_errors or {},
        "endpoint_values": endpoint_values or {},
        "password_errors": password_errors or {},
    }
    if context["show_endpoints"]:
        context["endpoints"] = registry_views.endpoint_list(session, actor=actor)
        context["health"] = endpoint_health(session, [e.id for e in context["endpoints"]])
        context["org_models"] = ai_models.list_models(
            session, organisation_id=actor.organisation_id, per_page=MAX_PER_PAGE
        ).items
    return render(request, "account.html", context, actor=actor, session=session, status=status)


@router.get("/account")
def account(request: Request, session: SessionDep, actor: SignedInActor) -> Response:
    return _account_page(request, session, actor)


@router.post("/account/tokens")
def create_token(
    request: Request, session: SessionDep, actor: SignedInActor, form: FormDep
) -> Response:
    assert actor.user_id is not None
    try:
        _, token = accounts.create_api_token(
            session, user_id=actor.user_id, name=text(form, "name")
        )
    except Invalid as exc:
        errors = service_errors(exc, language(request))
        return _account_page(request, session, actor, token_errors=errors, status=422)
    session.commit()
    return _account_page(request, session, actor, new_token=token)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(session: SessionDep, actor: SignedInActor, token_id: int) -> Response:
    accounts.revoke_api_token(session, actor=actor, token_id=token_id)
    session.commit()
    return RedirectResponse("/account", status_code=303)


@router.post("/account/endpoints")
def create_endpoint(
    request: Request, session: SessionDep, actor: SignedInActor, form: FormDep
) -> Response:
    """A supplier registers where its model answers; the key is sealed and never shown."""
    box: CredentialBox = request.app.state.credential_box
    values = {k: text(form, k) for k in ("name", "base_url", "model_name", "model_id")}
    api_key = form.get("api_key")
    lang = language(request)
    try:
        data = EndpointIn(
            organisation_id=actor.organisation_id or 0,
            model_id=as_int(values["model_id"]),
            name=values["name"],
            base_url=values["base_url"],
            model_name=values["model_name"],
            api_key=SecretStr(api_key) if isinstance(api_key, str) and api_key else None,
        )
        policy = AddressPolicy(allow_private=request.app.state.settings.allow_private_endpoints)
        endpoints.create_endpoint(session, actor=actor, data=data, box=box, policy=policy)
    except ValidationError as exc:
        errors = validation_errors(exc, lang)
    except (Invalid, Conflict) as exc:
        session.rollback()
        errors = service_errors(exc, lang)
    else:
        session.commit()
        return RedirectResponse("/account#endpoints", status_code=303)
    return _account_page(
        request, session, actor, endpoint_errors=errors, endpoint_values=values, status=422
    )


@router.post("/account/endpoints/{endpoint_id}/test")
def test_endpoint(
    request: Request, session: SessionDep, actor: SignedInActor, endpoint_id: int
) -> Response:
    """One call to the endpoint; its status, latency and answer show beside it."""
    check_endpoint(
        session,
        actor=actor,
        endpoint_id=endpoint_id,
        box=request.app.state.credential_box,
        policy=AddressPolicy(allow_private=request.app.state.settings.allow_private_endpoints),
    )
    session.commit()
    return RedirectResponse(f"/account#endpoint-{endpoint_id}", status_code=303)


@router.post("/account/endpoints/{endpoint_id}/delete")
def delete_endpoint(session: SessionDep, actor: SignedInActor, endpoint_id: int) -> Response:
    """Remove the endpoint and its key (past submissions keep their results)."""
    endpoints.delete_endpoint(session, actor=actor, endpoint_id=endpoint_id)
    session.commit()
    return RedirectResponse("/account#endpoints", status_code=303)


def _signed_out(settings_secure: bool, target: str) -> Response:
    """Back to the sign-in page, this browser's (already ended) session cookie dropped."""
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=settings_secure
    )
    return response


@router.post("/account/password")
def change_password(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: SignedInActor,
    form: FormDep,
) -> Response:
    """A new password (the current one is asked, throttled like a sign-in); every session,
    this one included, and every API token end, so the user signs in again."""
    assert actor.user_id is not None
    user = account_views.current_user(session, actor=actor)
    current, new = form.get("current_password"), form.get("new_password")
    lang = language(request)
    error: MosuError | None = None
    if not isinstance(current, str) or not isinstance(new, str) or not current:
        error = WRONG_CURRENT_PASSWORD(details={"field": "current_password"})
    elif new != form.get("new_password_again"):
        error = NEW_PASSWORDS_DIFFER(details={"field": "new_password_again"})
    else:
        try:
            ok = accounts.verify_current_password(
                session,
                user=user,
                password=current,
                address=client_address(request),
                policy=Policy.from_settings(settings),
            )
            if not ok:
                session.commit()  # the wrong password's count
                error = WRONG_CURRENT_PASSWORD(details={"field": "current_password"})
            else:
                accounts.set_password(session, user=user, password=new)
        except TooManyRequests as exc:
            error = exc
        except Invalid as exc:
            session.rollback()
            error = Invalid(exc.text, details={"field": "new_password"}, code=exc.code)
    if error is not None:
        status = error.status
        response = _account_page(
            request, session, actor, password_errors=service_errors(error, lang), status=status
        )
        if isinstance(error, TooManyRequests):
            response.headers["Retry-After"] = str(error.retry_after)
        return response
    session.commit()
    return _signed_out(settings.cookie_secure, page_url("/login", {"next": "/account"}))


@router.post("/account/logout-everywhere")
def logout_everywhere(session: SessionDep, settings: SettingsDep, actor: SignedInActor) -> Response:
    """退出所有设备: every web session of the user ends and every API token is revoked."""
    assert actor.user_id is not None
    accounts.end_all_sessions(session, user_id=actor.user_id)
    session.commit()
    return _signed_out(settings.cookie_secure, "/")
