"""Sign-in, sign-out, the language switch and the account page (tokens, model endpoints)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import SecretStr, ValidationError
from sqlalchemy.orm import Session

from mosu import i18n
from mosu.accounts import service as accounts
from mosu.accounts.models import Role
from mosu.accounts.security import CredentialBox
from mosu.deps import SESSION_COOKIE, PublicActor, SessionDep, SettingsDep, SignedInActor
from mosu.errors import Conflict, Invalid, NotFound
from mosu.evals.netpolicy import AddressPolicy
from mosu.permissions import Actor
from mosu.registry import service as registry
from mosu.registry.schemas import EndpointIn
from mosu.web.forms import (
    FieldErrors,
    FormDep,
    as_int,
    service_errors,
    text,
    validation_errors,
)
from mosu.web.render import language, render, safe_next

router = APIRouter(include_in_schema=False)
LANG_COOKIE_SECONDS = 365 * 24 * 3600


@router.get("/login")
def login_form(request: Request, actor: PublicActor, next: str = "/") -> Response:
    return render(
        request,
        "login.html",
        {"next": safe_next(next), "failed": False, "username": ""},
        actor=actor,
    )


@router.post("/login")
def login(
    request: Request, session: SessionDep, settings: SettingsDep, actor: PublicActor, form: FormDep
) -> Response:
    username, target = text(form, "username"), safe_next(text(form, "next"))
    password = form.get("password")
    user = None
    if username and isinstance(password, str) and password:
        user = accounts.authenticate(session, username=username, password=password)
    if user is None:
        context = {"next": target, "failed": True, "username": username}
        return render(request, "login.html", context, actor=actor, status=401)
    token = accounts.start_web_session(session, user=user, hours=settings.session_hours)
    session.commit()
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    return response


@router.post("/logout")
def logout(
    request: Request, session: SessionDep, settings: SettingsDep, actor: PublicActor
) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.end_web_session(session, token=token)
        session.commit()
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=settings.cookie_secure
    )
    return response


@router.get("/lang/{code}")
def switch_language(
    code: str, settings: SettingsDep, actor: PublicActor, next: str = "/"
) -> Response:
    """Remember the visitor's language in a cookie and go back where they were."""
    if code not in i18n.LANGUAGES:
        raise NotFound(f"不支持的语言 {code} / unsupported language {code}")
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        i18n.LANG_COOKIE,
        code,
        max_age=LANG_COOKIE_SECONDS,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    return response


# ---------------------------------------------------------------- account


def _account_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    new_token: str = "",
    token_errors: FieldErrors | None = None,
    endpoint_errors: FieldErrors | None = None,
    endpoint_values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    assert actor.user_id is not None
    context: dict[str, Any] = {
        "tokens": accounts.list_api_tokens(session, user_id=actor.user_id),
        "new_token": new_token,
        "token_errors": token_errors or {},
        "show_endpoints": actor.role is Role.supplier and actor.organisation_id is not None,
        "endpoints": [],
        "org_models": [],
        "endpoint_errors": endpoint_errors or {},
        "endpoint_values": endpoint_values or {},
    }
    if context["show_endpoints"]:
        context["endpoints"] = [
            registry.endpoint_out(e) for e in registry.list_endpoints(session, actor=actor)
        ]
        context["org_models"] = registry.list_models(
            session, organisation_id=actor.organisation_id, per_page=registry.MAX_PER_PAGE
        ).items
    return render(request, "account.html", context, actor=actor, status=status)


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
        registry.create_endpoint(session, actor=actor, data=data, box=box, policy=policy)
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
