"""One person's data under the PIPL (个人信息保护法): export it, erase it.

**Export** gathers everything mosu holds about one user into one JSON document: the account,
and every row of every table that names the user (memberships, votes, applications they
signed, audit entries they wrote, notifications, sessions, tokens, jobs …), found through
the foreign keys to ``users.id``, so a table added later is exported too. Secrets (password
and token hashes, sealed keys) are left out.

**Erasure** anonymises the person rather than deleting rows that other records rest on: the
account keeps its id under a pseudonym (``erased-`` and 12 hex digits, derived from the
secret key and the id, so the same person's facts still read as one actor), loses its
name, password, sessions, tokens, notifications, sign-in counts and expert profile details,
and is deactivated. The audit trail (challenge events, voucher ledger) keeps every fact
and amount, the acting name replaced by the pseudonym; race results, votes and scores stay
whole; no reference is left dangling.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from typing import Any

from sqlalchemy import Table, delete, select, update
from sqlalchemy.orm import Session

from mosu.accounts.errors import NO_SUCH_USER
from mosu.accounts.models import ApiToken, LoginThrottle, Notification, User, WebSession
from mosu.accounts.security import hash_password
from mosu.challenges.models import ChallengeEvent
from mosu.core import clock
from mosu.core.db import Base
from mosu.corpus.models import DatasetVersion
from mosu.review.models import ExpertProfile
from mosu.supply.models import LedgerEntry

PSEUDONYM_PREFIX = "erased-"
_SECRET_COLUMN = re.compile(r"(_hash$|secret|sealed|encrypted|api_key|ciphertext)")
EXPORT_FORMAT = "mosu.personal-data/1"


def pseudonym(secret_key: str, user_id: int) -> str:
    """The stable pseudonym of an erased user (not reversible without the secret key)."""
    digest = hmac.new(secret_key.encode(), f"user:{user_id}".encode(), hashlib.sha256)
    return PSEUDONYM_PREFIX + digest.hexdigest()[:12]


def is_erased(user: User) -> bool:
    return user.username.startswith(PSEUDONYM_PREFIX) and not user.is_active


def find_user(session: Session, who: str) -> User:
    """The user named by username or numeric id; 404 otherwise."""
    user = session.scalar(select(User).where(User.username == who))
    if user is None and who.isdigit():
        user = session.get(User, int(who))
    if user is None:
        raise NO_SUCH_USER(user=who)
    return user


def user_references() -> list[tuple[Table, str]]:
    """Every (table, column) that refers to ``users.id``."""
    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if any(fk.column.table.name == "users" for fk in column.foreign_keys):
                found.append((table, column.name))
    return found


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return clock.local(value).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool, type(None), list, dict)):
        return value
    return str(getattr(value, "value", value))


def _row(table: Table, row: Any) -> dict[str, Any]:
    return {
        column.name: _plain(row._mapping[column.name])
        for column in table.columns
        if not _SECRET_COLUMN.search(column.name)
    }


def export_person(session: Session, user: User) -> dict[str, Any]:
    """Everything mosu holds about ``user``, as one JSON-able document."""
    users: Table = User.__table__  # type: ignore[assignment]
    account = session.execute(select(users).where(users.c.id == user.id)).one()
    records: dict[str, list[dict[str, Any]]] = {}
    for table, column in user_references():
        rows = session.execute(select(table).where(table.c[column] == user.id)).all()
        if rows:
            key = f"{table.name}.{column}"
            records[key] = [_row(table, r) for r in rows]
    throttles: Table = LoginThrottle.__table__  # type: ignore[assignment]
    counted = session.execute(
        select(throttles).where(throttles.c.key == f"account:{user.username}")
    ).all()
    if counted:
        records["login_throttles.key"] = [_row(throttles, r) for r in counted]
    return {
        "format": EXPORT_FORMAT,
        "exported_at": clock.local(clock.now()).isoformat(),
        "user_id": user.id,
        "account": _row(users, account),
        "organisation": user.organisation.name_zh if user.organisation else None,
        "records": records,
    }


def erase_person(session: Session, user: User, *, secret_key: str) -> str:
    """Anonymise ``user`` as the module says; their pseudonym. The caller commits."""
    name = pseudonym(secret_key, user.id)
    old_username = user.username
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    session.execute(delete(Notification).where(Notification.user_id == user.id))
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == f"account:{old_username}"))
    for audit in (ChallengeEvent, LedgerEntry):  # the append-only tables allow this one change
        session.execute(
            update(audit)
            .where(audit.actor_id == user.id, audit.actor_name != name)
            .values(actor_name=name)
            .execution_options(synchronize_session=False)
        )
    for version in session.scalars(
        select(DatasetVersion).where(DatasetVersion.created_by_id == user.id)
    ):
        if version.provenance.get("imported_by") == old_username:
            version.provenance = {**version.provenance, "imported_by": name}
    profile = session.get(ExpertProfile, user.id)
    if profile is not None:
        profile.title, profile.fields, profile.affiliation_id = "", [], None
        profile.in_pool = False
    user.username = name
    user.display_name = ""
    user.password_hash = hash_password(secrets.token_urlsafe(32))
    user.is_active = False
    session.flush()
    return name
