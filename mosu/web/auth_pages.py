"""Sign-in (throttled, with login CSRF protection), sign-out and the language switch."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from mosu import i18n
from mosu.accounts import service as accounts
from mosu.accounts.deps import PublicActor
from mosu.accounts.errors import WRONG_PASSWORD
from mosu.accounts.throttle import Policy
from mosu.core.errors import Forbidden, MosuError, TooManyRequests
from mosu.core.settings import Settings
from mosu.core.text import Text
from mosu.deps import SESSION_COOKIE, SessionDep, SettingsDep
from mosu.permissions import Actor
from mosu.web import login_csrf
from mosu.web.errors import FORM_EXPIRED, UNSUPPORTED_LANGUAGE
from mosu.web.forms import FormDep, text
from mosu.web.render import language, render, safe_next

router = APIRouter(include_in_schema=False)
LANG_COOKIE_SECONDS = 365 * 24 * 3600
DESK = "/desk"
"""Where signing in lands, unless it came from another page (工作台)."""


def client_address(request: Request) -> str | None:
    """The address sign-ins are throttled by: the peer uvicorn reports (behind a reverse
    proxy, the forwarded one when ``--proxy-headers`` trusts it)."""
    return request.client.host if request.client else None


def login_page(
    request: Request,
    session: Session,
    settings: Settings,
    actor: Actor,
    *,
    next: str,
    username: str = "",
    error: Text | None = None,
    status: int = 200,
    retry_after: int | None = None,
) -> Response:
    """The sign-in form, with a CSRF token bound to this browser's pre-session cookie."""
    nonce, token = login_csrf.issue(request, settings)
    context = {
        "next": next,
        "username": username,
        "error": i18n.render(error, language(request)) if error else "",
        "csrf_token": token,
        "csrf_field": login_csrf.CSRF_FIELD,
    }
    response = render(request, "login.html", context, actor=actor, session=session, status=status)
    login_csrf.remember(response, nonce, settings)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


@router.get("/login")
def login_form(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: PublicActor,
    next: str = DESK,
) -> Response:
    return login_page(request, session, settings, actor, next=safe_next(next, DESK))


@router.post("/login")
def login(
    request: Request, session: SessionDep, settings: SettingsDep, actor: PublicActor, form: FormDep
) -> Response:
    """Sign in: refused (403) without the form's CSRF token, 429 with ``Retry-After`` while
    the account or the address is locked, 401 for a wrong password."""
    username, target = text(form, "username"), safe_next(text(form, "next"), DESK)
    if target == "/":
        target = DESK  # signing in from the overview lands on the desk
    password = form.get("password")

    def again(error: MosuError) -> Response:
        retry_after = error.retry_after if isinstance(error, TooManyRequests) else None
        return login_page(
            request, session, settings, actor, next=target, username=username, error=error.text,
            status=error.status, retry_after=retry_after,
        )  # fmt: skip

    if not login_csrf.is_valid(request, settings, form.get(login_csrf.CSRF_FIELD)):
        return again(FORM_EXPIRED())
    if not username or not isinstance(password, str) or not password:
        return again(WRONG_PASSWORD())
    try:
        user = accounts.sign_in(
            session,
            username=username,
            password=password,
            address=client_address(request),
            policy=Policy.from_settings(settings),
        )
    except (TooManyRequests, Forbidden) as exc:
        return again(exc)
    if user is None:
        session.commit()  # the wrong password's count
        return again(WRONG_PASSWORD())
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
        raise UNSUPPORTED_LANGUAGE(code=code)
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
