"""Accounts API: who am I, API tokens, and users (operators)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from mosu.accounts import service, views
from mosu.accounts.deps import OperatorActor, SignedInActor
from mosu.accounts.errors import WRONG_CURRENT_PASSWORD
from mosu.accounts.schemas import (
    NewToken,
    PasswordChangeIn,
    PasswordResetIn,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
)
from mosu.accounts.throttle import Policy
from mosu.deps import SessionDep, SettingsDep

router = APIRouter(tags=["accounts"])


@router.get("/me")
def me(session: SessionDep, actor: SignedInActor) -> UserOut:
    return views.user_out(views.current_user(session, actor=actor))


@router.get("/tokens")
def list_tokens(session: SessionDep, actor: SignedInActor) -> list[TokenOut]:
    return [views.token_out(t) for t in views.api_tokens(session, actor=actor)]


@router.post("/tokens", status_code=201)
def create_token(session: SessionDep, actor: SignedInActor, body: TokenIn) -> NewToken:
    assert actor.user_id is not None
    row, token = service.create_api_token(session, user_id=actor.user_id, name=body.name)
    session.commit()
    return NewToken(**views.token_out(row).model_dump(), token=token)


@router.delete("/tokens/{token_id}")
def revoke_token(session: SessionDep, actor: SignedInActor, token_id: int) -> TokenOut:
    row = service.revoke_api_token(session, actor=actor, token_id=token_id)
    session.commit()
    return views.token_out(row)


@router.get("/users")
def list_users(session: SessionDep, actor: OperatorActor) -> list[UserOut]:
    return [views.user_out(u) for u in service.list_users(session)]


@router.post("/users", status_code=201)
def create_user(session: SessionDep, actor: OperatorActor, body: UserIn) -> UserOut:
    user = service.create_user(
        session,
        username=body.username,
        password=body.password,
        role=body.role,
        organisation_id=body.organisation_id,
        display_name=body.display_name,
    )
    session.commit()
    return views.user_out(user)


@router.post("/me/password")
def change_password(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: SignedInActor,
    body: PasswordChangeIn,
) -> UserOut:
    """Change one's own password (the current one is checked, throttled like a sign-in).
    Every web session and every API token of the user ends, the one used here included."""
    assert actor.user_id is not None
    user = service.get_user(session, actor.user_id)
    address = request.client.host if request.client else None
    if not service.verify_current_password(
        session,
        user=user,
        password=body.current_password,
        address=address,
        policy=Policy.from_settings(settings),
    ):
        session.commit()  # the wrong password's count
        raise WRONG_CURRENT_PASSWORD(details={"field": "current_password"})
    service.set_password(session, user=user, password=body.new_password)
    session.commit()
    return views.user_out(user)


@router.post("/me/logout-everywhere")
def logout_everywhere(session: SessionDep, actor: SignedInActor) -> UserOut:
    """退出所有设备: end every web session and revoke every API token of the caller."""
    assert actor.user_id is not None
    service.end_all_sessions(session, user_id=actor.user_id)
    session.commit()
    return views.user_out(service.get_user(session, actor.user_id))


@router.post("/users/{user_id}/password")
def reset_password(
    session: SessionDep, actor: OperatorActor, user_id: int, body: PasswordResetIn
) -> UserOut:
    """重置密码: set a user's password; their sessions and tokens end."""
    user = service.get_user(session, user_id)
    service.set_password(session, user=user, password=body.password)
    session.commit()
    return views.user_out(user)


@router.post("/users/{user_id}/deactivate")
def deactivate_user(session: SessionDep, actor: OperatorActor, user_id: int) -> UserOut:
    """停用: the user can no longer sign in; their sessions end and tokens are revoked."""
    user = service.set_active(
        session, actor=actor, user=service.get_user(session, user_id), active=False
    )
    session.commit()
    return views.user_out(user)


@router.post("/users/{user_id}/reactivate")
def reactivate_user(session: SessionDep, actor: OperatorActor, user_id: int) -> UserOut:
    """恢复: the user may sign in again (with new sessions and tokens)."""
    user = service.set_active(
        session, actor=actor, user=service.get_user(session, user_id), active=True
    )
    session.commit()
    return views.user_out(user)
