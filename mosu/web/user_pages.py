"""The operator's users page: reset a password, deactivate and reactivate a user."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from mosu.accounts import service as accounts
from mosu.accounts.deps import OperatorActor
from mosu.core.errors import Invalid
from mosu.deps import SessionDep
from mosu.permissions import Actor
from mosu.web.forms import FieldErrors, FormDep, service_errors
from mosu.web.render import language, render

router = APIRouter(include_in_schema=False)


def _users_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    errors: FieldErrors | None = None,
    error_user: int | None = None,
    status: int = 200,
) -> Response:
    context = {
        "users": accounts.list_users(session),
        "errors": errors or {},
        "error_user": error_user,
    }
    return render(request, "users.html", context, actor=actor, session=session, status=status)


@router.get("/users")
def users(request: Request, session: SessionDep, actor: OperatorActor) -> Response:
    return _users_page(request, session, actor)


@router.post("/users/{user_id}/password")
def reset_password(
    request: Request, session: SessionDep, actor: OperatorActor, user_id: int, form: FormDep
) -> Response:
    """重置密码: the operator sets a new password; the user's sessions and tokens end."""
    user = accounts.get_user(session, user_id)
    password = form.get("password")
    try:
        accounts.set_password(
            session, user=user, password=password if isinstance(password, str) else ""
        )
    except Invalid as exc:
        session.rollback()
        errors = service_errors(exc, language(request))
        return _users_page(
            request, session, actor, errors=errors, error_user=user_id, status=exc.status
        )
    session.commit()
    return RedirectResponse(f"/users#user-{user_id}", status_code=303)


def _set_active(
    request: Request, session: Session, actor: Actor, user_id: int, *, active: bool
) -> Response:
    user = accounts.get_user(session, user_id)
    try:
        accounts.set_active(session, actor=actor, user=user, active=active)
    except Invalid as exc:
        errors = service_errors(exc, language(request))
        return _users_page(
            request, session, actor, errors=errors, error_user=user_id, status=exc.status
        )
    session.commit()
    return RedirectResponse(f"/users#user-{user_id}", status_code=303)


@router.post("/users/{user_id}/deactivate")
def deactivate(
    request: Request, session: SessionDep, actor: OperatorActor, user_id: int
) -> Response:
    """停用: sign-in refused, sessions ended, tokens revoked."""
    return _set_active(request, session, actor, user_id, active=False)


@router.post("/users/{user_id}/reactivate")
def reactivate(
    request: Request, session: SessionDep, actor: OperatorActor, user_id: int
) -> Response:
    return _set_active(request, session, actor, user_id, active=True)
