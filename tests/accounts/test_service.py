"""Account rules: argon2 passwords, hashed tokens, sessions that expire, revocation."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from argon2 import Type, extract_parameters
from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.accounts import service
from mosu.accounts.models import ApiToken, User, WebSession
from mosu.accounts.security import hash_password, token_digest, verify_password
from mosu.core import clock
from mosu.core.credentials import CredentialBox
from mosu.core.errors import Conflict, Invalid, NotFound
from mosu.permissions import Role
from tests.conftest import World


def test_password_is_stored_as_argon2_only(db: Session, world: World) -> None:
    user = service.create_user(db, username="newbie", password="correct horse", role=Role.expert)
    db.commit()
    stored = db.scalar(select(User.password_hash).where(User.id == user.id))
    assert stored is not None and stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert verify_password(stored, "correct horse")
    assert not verify_password(stored, "correct horsE")
    assert not verify_password("not a hash", "correct horse")


@pytest.mark.production_hashing
def test_production_hashing_cost() -> None:
    """The hasher mosu ships with (not the cheap one the tests use) meets OWASP's minimum."""
    params = extract_parameters(service._DUMMY_HASH)
    assert params.type is Type.ID
    assert params.time_cost >= 2 and params.memory_cost >= 19 * 1024


def test_same_password_hashes_differently() -> None:
    assert hash_password("same-password") != hash_password("same-password")


def test_authenticate(db: Session, world: World) -> None:
    ok = service.authenticate(db, username="supplier_a", password=world.passwords["supplier_a"])
    assert ok is not None and ok.id == world.user_ids["supplier_a"]
    assert service.authenticate(db, username="supplier_a", password="wrong-password") is None
    assert service.authenticate(db, username="nobody", password="whatever-123") is None
    user = db.get(User, world.user_ids["supplier_a"])
    assert user is not None
    user.is_active = False
    db.flush()
    assert (
        service.authenticate(db, username="supplier_a", password=world.passwords["supplier_a"])
        is None
    )


def test_create_user_refuses_bad_input(db: Session, world: World) -> None:
    cases: list[tuple[dict[str, object], type[Exception]]] = [
        ({"username": "ab", "role": Role.expert}, Invalid),
        ({"username": "has space", "role": Role.expert}, Invalid),
        ({"username": "shorty", "password": "1234567", "role": Role.expert}, Invalid),
        ({"username": "lonely", "role": Role.supplier}, Invalid),
        ({"username": "lonely", "role": Role.demand}, Invalid),
        ({"username": "ghost", "role": Role.supplier, "organisation_id": 99999}, NotFound),
        ({"username": "operator", "role": Role.operator}, Conflict),
    ]
    for kwargs, error in cases:
        with pytest.raises(error):
            service.create_user(db, **{"password": "long-enough", **kwargs})  # type: ignore[arg-type]
    assert db.scalar(select(User.id).where(User.username == "lonely")) is None


def test_api_token_is_stored_as_sha256_only(db: Session, world: World) -> None:
    row, token = service.create_api_token(db, user_id=world.user_ids["demand"], name="cli")
    db.commit()
    assert token.startswith("mosu_") and len(token) > 40
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() == token_digest(token)
    assert row.prefix == token[:12]
    stored = db.execute(select(ApiToken.token_hash, ApiToken.prefix, ApiToken.name)).all()
    assert all(token not in "".join(map(str, r)) for r in stored)
    assert service.user_for_api_token(db, token) is not None


def test_token_names_are_checked(db: Session, world: World) -> None:
    with pytest.raises(Invalid):
        service.create_api_token(db, user_id=world.user_ids["demand"], name="   ")


def test_revoked_token_no_longer_identifies(db: Session, world: World) -> None:
    token = world.tokens["expert"]
    user = service.user_for_api_token(db, token)
    assert user is not None and user.username == "expert"
    row = db.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(token)))
    assert row is not None and row.last_used_at is not None
    actor = service.actor_for(user)
    service.revoke_api_token(db, actor=actor, token_id=row.id)
    db.commit()
    assert service.user_for_api_token(db, token) is None
    assert service.user_for_api_token(db, token + "x") is None


def test_a_user_cannot_revoke_anothers_token(db: Session, world: World) -> None:
    victim = db.scalar(select(ApiToken).where(ApiToken.user_id == world.user_ids["supplier_a"]))
    assert victim is not None
    intruder = db.get(User, world.user_ids["supplier_b"])
    assert intruder is not None
    with pytest.raises(NotFound):
        service.revoke_api_token(db, actor=service.actor_for(intruder), token_id=victim.id)
    assert victim.revoked_at is None
    operator = db.get(User, world.user_ids["operator"])
    assert operator is not None
    service.revoke_api_token(db, actor=service.actor_for(operator), token_id=victim.id)
    assert victim.revoked_at is not None


def test_tokens_of_inactive_users_are_refused(db: Session, world: World) -> None:
    user = db.get(User, world.user_ids["demand"])
    assert user is not None
    user.is_active = False
    db.commit()
    assert service.user_for_api_token(db, world.tokens["demand"]) is None


def test_web_session_lifecycle_and_expiry(db: Session, world: World) -> None:
    user = db.get(User, world.user_ids["supplier_b"])
    assert user is not None
    token = service.start_web_session(db, user=user, hours=2)
    db.commit()
    row = db.scalar(select(WebSession).where(WebSession.user_id == user.id))
    assert row is not None and row.token_hash == token_digest(token)
    assert dt.timedelta(hours=1, minutes=59) < row.expires_at - clock.now() <= dt.timedelta(hours=2)
    found = service.user_for_web_token(db, token)
    assert found is not None and found.id == user.id

    row.expires_at = clock.now() - dt.timedelta(seconds=1)
    db.commit()
    assert service.user_for_web_token(db, token) is None

    row.expires_at = clock.now() + dt.timedelta(hours=1)
    db.commit()
    service.end_web_session(db, token=token)
    db.commit()
    assert service.user_for_web_token(db, token) is None
    service.end_web_session(db, token=token)  # ending twice is harmless


def test_credential_box_round_trip_and_key_binding() -> None:
    box = CredentialBox("first-secret-0123456789")
    sealed = box.seal("sk-secret-XYZ")
    assert b"sk-secret-XYZ" not in sealed
    assert box.open(sealed) == "sk-secret-XYZ"
    assert box.seal("sk-secret-XYZ") != sealed  # fresh IV each time
    with pytest.raises(ValueError, match="secret key"):
        CredentialBox("other-secret-0123456789").open(sealed)
