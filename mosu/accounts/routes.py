"""Accounts API: who am I, API tokens, and users (operators)."""

from __future__ import annotations

from fastapi import APIRouter

from mosu.accounts import service
from mosu.accounts.models import ApiToken, User
from mosu.accounts.schemas import NewToken, TokenIn, TokenOut, UserIn, UserOut
from mosu.deps import OperatorActor, SessionDep, SignedInActor
from mosu.errors import NotFound

router = APIRouter(tags=["accounts"])


def _user_out(user: User) -> UserOut:
    return UserOut.model_validate(user, from_attributes=True)


def _token_out(row: ApiToken) -> TokenOut:
    return TokenOut.model_validate(row, from_attributes=True)


@router.get("/me")
def me(session: SessionDep, actor: SignedInActor) -> UserOut:
    user = session.get(User, actor.user_id)
    if user is None:
        raise NotFound("用户不存在")
    return _user_out(user)


@router.get("/tokens")
def list_tokens(session: SessionDep, actor: SignedInActor) -> list[TokenOut]:
    assert actor.user_id is not None
    return [_token_out(t) for t in service.list_api_tokens(session, user_id=actor.user_id)]


@router.post("/tokens", status_code=201)
def create_token(session: SessionDep, actor: SignedInActor, body: TokenIn) -> NewToken:
    assert actor.user_id is not None
    row, token = service.create_api_token(session, user_id=actor.user_id, name=body.name)
    session.commit()
    return NewToken(**_token_out(row).model_dump(), token=token)


@router.delete("/tokens/{token_id}")
def revoke_token(session: SessionDep, actor: SignedInActor, token_id: int) -> TokenOut:
    row = service.revoke_api_token(session, actor=actor, token_id=token_id)
    session.commit()
    return _token_out(row)


@router.get("/users")
def list_users(session: SessionDep, actor: OperatorActor) -> list[UserOut]:
    return [_user_out(u) for u in service.list_users(session)]


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
    return _user_out(user)
