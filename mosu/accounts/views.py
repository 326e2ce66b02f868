"""Account views: the signed-in user, its API tokens and the operator's list of users, as
the API routes and the HTML pages both load and show them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from mosu.accounts import service
from mosu.accounts.errors import NO_SUCH_USER
from mosu.accounts.models import ApiToken, User
from mosu.accounts.schemas import TokenOut, UserOut
from mosu.permissions import Actor


def user_out(user: User) -> UserOut:
    return UserOut.model_validate(user, from_attributes=True)


def token_out(row: ApiToken) -> TokenOut:
    return TokenOut.model_validate(row, from_attributes=True)


def current_user(session: Session, *, actor: Actor) -> User:
    """The signed-in actor's own user row."""
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise NO_SUCH_USER(user=actor.user_id)
    return user


def api_tokens(session: Session, *, actor: Actor) -> list[ApiToken]:
    """The actor's own API tokens, newest first (revoked ones included)."""
    assert actor.user_id is not None
    return service.list_api_tokens(session, user_id=actor.user_id)
