"""Account rules: users, sign-in sessions and API tokens."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import bindparam, delete, func, inspect, select, update
from sqlalchemy.orm import Session

from mosu.accounts import throttle
from mosu.accounts.errors import (
    BAD_TOKEN_NAME,
    BAD_USERNAME,
    CANNOT_DEACTIVATE_SELF,
    DEACTIVATED,
    NO_SUCH_ORGANISATION,
    NO_SUCH_TOKEN,
    NO_SUCH_USER,
    ORGANISATION_NEEDED,
    USERNAME_TAKEN,
)
from mosu.accounts.models import ApiToken, Notification, User, WebSession
from mosu.accounts.passwords import check_password
from mosu.accounts.security import (
    hash_password,
    new_token,
    token_digest,
    unusable_hash,
    verify_password,
)
from mosu.core import clock
from mosu.permissions import Actor, Role, can_revoke_token, role_needs_organisation

_USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")


def valid_username(username: str) -> bool:
    """3–64 letters, digits, dots, underscores or hyphens."""
    return _USERNAME_RE.match(username) is not None


def actor_for(user: User) -> Actor:
    return Actor(
        user_id=user.id,
        role=user.role,
        organisation_id=user.organisation_id,
        username=user.username,
    )


def _organisation_exists(session: Session, organisation_id: int) -> bool:
    """Whether the organisation exists; its class is the one ``User.organisation`` maps (the
    registry's), so accounts need not import the registry that builds on them."""
    organisation = inspect(User).relationships["organisation"].mapper.class_
    return session.get(organisation, organisation_id) is not None


def create_user(
    session: Session,
    *,
    username: str,
    password: str | None,
    role: Role,
    organisation_id: int | None = None,
    display_name: str = "",
) -> User:
    """A new active user; operators may stand alone, every other role needs an organisation.

    ``password=None`` gives an account no password opens (an expert imported into the
    pool) until an operator sets one (重置密码)."""
    if not valid_username(username):
        raise BAD_USERNAME()
    if password is not None:
        check_password(password)
    if role_needs_organisation(role) and organisation_id is None:
        raise ORGANISATION_NEEDED()
    if organisation_id is not None and not _organisation_exists(session, organisation_id):
        raise NO_SUCH_ORGANISATION(organisation_id=organisation_id)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise USERNAME_TAKEN(username=username)
    user = User(
        username=username,
        password_hash=hash_password(password) if password is not None else unusable_hash(),
        role=role,
        organisation_id=organisation_id,
        display_name=display_name or username,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, *, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.is_active:
        verify_password(_DUMMY_HASH, password)  # same work whether or not the user exists
        return None
    return user if verify_password(user.password_hash, password) else None


_DUMMY_HASH = hash_password("not-a-real-password")


def _guarded_verify(
    session: Session,
    *,
    keys: throttle.Keys,
    password_hash: str | None,
    password: str,
    policy: throttle.Policy,
) -> bool:
    """Check ``password`` unless a key is locked (then 429, nothing hashed); a wrong one is
    counted under both keys, a right one clears the account's count. The caller commits."""
    now = clock.now()
    throttle.check(session, keys, now=now)
    ok = verify_password(password_hash or _DUMMY_HASH, password) and password_hash is not None
    if ok:
        throttle.clear_account(session, keys)
    else:
        throttle.record_failure(session, keys, policy, now=now)
    return ok


def sign_in(
    session: Session,
    *,
    username: str,
    password: str,
    address: str | None,
    policy: throttle.Policy,
) -> User | None:
    """The user whose password this is, or ``None`` (the failure is counted; commit it).

    Raises :class:`~mosu.core.errors.TooManyRequests` while the account or the address is locked,
    and :class:`~mosu.core.errors.Forbidden` for a deactivated account's right password.
    """
    user = session.scalar(select(User).where(User.username == username))
    keys = throttle.Keys.of(username, address)
    hash_ = user.password_hash if user is not None else None
    if not _guarded_verify(
        session, keys=keys, password_hash=hash_, password=password, policy=policy
    ):
        return None
    assert user is not None
    if not user.is_active:
        raise DEACTIVATED()
    return user


def verify_current_password(
    session: Session, *, user: User, password: str, address: str | None, policy: throttle.Policy
) -> bool:
    """Whether ``password`` is ``user``'s, throttled like a sign-in (commit the count)."""
    keys = throttle.Keys.of(user.username, address)
    return _guarded_verify(
        session, keys=keys, password_hash=user.password_hash, password=password, policy=policy
    )


def end_all_sessions(session: Session, *, user_id: int) -> None:
    """Sign ``user_id`` out everywhere: every web session ends, every API token is revoked."""
    session.execute(delete(WebSession).where(WebSession.user_id == user_id))
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )
    session.flush()
    session.expire_all()


def set_password(session: Session, *, user: User, password: str) -> None:
    """A new password under the rule (at least 10 characters, not a common one); every
    session and token of the user ends, so whoever knew the old one is out."""
    check_password(password)
    user.password_hash = hash_password(password)
    session.flush()
    end_all_sessions(session, user_id=user.id)


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NO_SUCH_USER(user=user_id)
    return user


def set_active(session: Session, *, actor: Actor, user: User, active: bool) -> User:
    """Deactivate (sessions end, tokens are revoked, sign-in refused) or reactivate a user.

    An operator cannot deactivate themselves: someone must remain to reactivate others."""
    if not active and user.id == actor.user_id:
        raise CANNOT_DEACTIVATE_SELF()
    user.is_active = active
    session.flush()
    if not active:
        end_all_sessions(session, user_id=user.id)
    return user


def start_web_session(session: Session, *, user: User, hours: int) -> str:
    """Record a login and return the cookie token (only its digest is stored)."""
    token = new_token()
    session.add(
        WebSession(
            token_hash=token_digest(token),
            user_id=user.id,
            expires_at=clock.now() + dt.timedelta(hours=hours),
        )
    )
    session.flush()
    return token


def end_web_session(session: Session, *, token: str) -> None:
    row = session.scalar(select(WebSession).where(WebSession.token_hash == token_digest(token)))
    if row is not None:
        session.delete(row)
        session.flush()


def user_for_web_token(session: Session, token: str) -> User | None:
    """The active user whose unexpired web session ``token`` is, read in one query."""
    found = visitor_for_web_token(session, token)
    return found[0] if found is not None else None


_UNREAD = (
    select(func.count())
    .where(Notification.user_id == User.id, Notification.read_at.is_(None))
    .scalar_subquery()
)
_VISITOR = (
    select(User, _UNREAD)
    .join(WebSession, WebSession.user_id == User.id)
    .where(
        WebSession.token_hash == bindparam("token_hash"),
        WebSession.expires_at > bindparam("now"),
        User.is_active.is_(True),
    )
)
_VISITING_ACTOR = _VISITOR.with_only_columns(
    User.id, User.role, User.organisation_id, User.username, _UNREAD
)
"""Built once: every signed-in page runs it, and building it cost as much as running it."""


def visitor_for_web_token(session: Session, token: str) -> tuple[User, int] | None:
    """The active user whose unexpired web session ``token`` is, with their unread
    notifications (the badge in every page's header), in one query."""
    row = session.execute(_VISITOR, {"token_hash": token_digest(token), "now": clock.now()}).first()
    return (row[0], row[1]) if row is not None else None


def visiting_actor(session: Session, token: str) -> tuple[Actor, int] | None:
    """What :func:`visitor_for_web_token` finds, as the :class:`Actor` that :func:`actor_for`
    makes of the user: read as plain columns, without building a ``User`` (every signed-in
    request runs it)."""
    parameters = {"token_hash": token_digest(token), "now": clock.now()}
    row = session.execute(_VISITING_ACTOR, parameters).first()
    if row is None:
        return None
    user_id, role, organisation_id, username, unread = row
    actor = Actor(user_id=user_id, role=role, organisation_id=organisation_id, username=username)
    return actor, unread


def user_for_api_token(session: Session, token: str) -> User | None:
    row = session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == token_digest(token), ApiToken.revoked_at.is_(None)
        )
    )
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    now = clock.now()
    if row.last_used_at is None or now - row.last_used_at > dt.timedelta(minutes=1):
        row.last_used_at = now
        session.commit()
    return user


def create_api_token(session: Session, *, user_id: int, name: str) -> tuple[ApiToken, str]:
    """A new token for ``user_id``; the plaintext is returned once and never stored."""
    name = name.strip()
    if not name or len(name) > 100:
        raise BAD_TOKEN_NAME()
    token = new_token()
    row = ApiToken(user_id=user_id, name=name, token_hash=token_digest(token), prefix=token[:12])
    session.add(row)
    session.flush()
    return row, token


def list_api_tokens(session: Session, *, user_id: int) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc())
        )
    )


def revoke_api_token(session: Session, *, actor: Actor, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None or not can_revoke_token(actor, row.user_id):
        raise NO_SUCH_TOKEN()
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        session.flush()
    return row


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))


def delete_sessions_ended_before(session: Session, *, before: dt.datetime) -> int:
    """Delete web sessions that expired before ``before`` (the retention clean-up)."""
    result = session.execute(delete(WebSession).where(WebSession.expires_at < before))
    return int(result.rowcount)  # type: ignore[attr-defined]
