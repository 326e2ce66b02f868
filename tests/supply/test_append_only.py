"""Append-only in the database: raw UPDATE and DELETE of the voucher ledger and the challenge
audit log fail on SQLite and PostgreSQL (triggers of migration 0009), cascades from parent rows
too, while the ordinary paths that add rows go on; and migration 0010 recomputes contract keys."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from mosu import migrate
from mosu.challenges.models import ChallengeEvent
from mosu.core.db import make_engine
from mosu.supply import ledger
from mosu.supply.models import LedgerEntry
from tests.conftest import World
from tests.helpers import scenarios as factory
from tests.helpers.supply import Supply, apply, approve, make_programme

RAW = [
    "UPDATE voucher_ledger SET amount_fen = amount_fen + 1",
    "UPDATE voucher_ledger SET note = 'changed' WHERE id = {ledger}",
    "DELETE FROM voucher_ledger WHERE id = {ledger}",
    "DELETE FROM voucher_ledger",
    "UPDATE challenge_events SET reason = 'rewritten'",
    "DELETE FROM challenge_events WHERE id = {event}",
    # cascades and SET NULL from parent rows are refused as well
    "DELETE FROM challenges WHERE id = {challenge}",
    "DELETE FROM users WHERE id = {operator}",
]


def _append(supply: Supply) -> dict[str, int]:
    db, world = supply.db, supply.world
    programme = make_programme(db, world)
    approve(db, world, apply(db, supply.buyer, programme.id, world.org_b).id)
    challenge = factory.make_challenge(db, world)
    db.commit()
    ledger = db.query(LedgerEntry).one()
    event = db.query(ChallengeEvent).filter_by(challenge_id=challenge.id).first()
    assert event is not None and ledger.actor_id == world.user_ids["operator"]
    return {
        "ledger": ledger.id,
        "event": event.id,
        "challenge": challenge.id,
        "operator": world.user_ids["operator"],
    }


def _counts(db: Session) -> tuple[int, int, int]:
    return (
        int(db.execute(text("SELECT count(*) FROM voucher_ledger")).scalar_one()),
        int(db.execute(text("SELECT sum(amount_fen) FROM voucher_ledger")).scalar_one()),
        int(db.execute(text("SELECT count(*) FROM challenge_events")).scalar_one()),
    )


@pytest.mark.parametrize("statement", RAW)
def test_raw_updates_and_deletes_fail(supply: Supply, statement: str) -> None:
    db = supply.db
    ids = _append(supply)
    before = _counts(db)
    with pytest.raises(DBAPIError, match="append-only"):
        db.execute(text(statement.format(**ids)))
    db.rollback()
    assert _counts(db) == before


def test_appending_goes_on(supply: Supply) -> None:
    """Approvals, payouts and audit lines still add rows; the books still add up."""
    db, world = supply.db, supply.world
    _append(supply)
    programme = make_programme(db, world)
    approve(db, world, apply(db, supply.buyer, programme.id, world.org_b).id)
    factory.make_challenge(db, world)
    db.commit()
    assert _counts(db)[0] == 2
    db.expire_all()  # the committed totals were raised by statements, not through the objects
    assert ledger.ledger_problems(db) == []


def test_contract_keys_are_recomputed_by_the_migration(
    supply: Supply, database_url: str, world: World
) -> None:
    """Two applications that the old key kept apart (a zero-width space) and one whose key
    only changes form: after 0010 the first two are one contract, reported by the check."""
    db = supply.db
    programme = make_programme(db, world)
    a = apply(db, supply.buyer, programme.id, world.org_b, contract_number="SH-2025 777")
    b = apply(db, supply.buyer, programme.id, world.org_b, contract_number="placeholder")
    c = apply(db, supply.buyer, programme.id, world.org_b, contract_number="HT/2025/001")
    seller = world.org_b
    old = {
        a.id: ("SH-2025 777", f"{seller}:sh-2025777"),
        b.id: ("SH-2025 7\u200b77", f"{seller}:sh-20257\u200b77"),
        c.id: ("HT/2025/001", f"{seller}:ht/2025/001"),
    }
    for app_id, (number, key) in old.items():
        db.execute(
            text(
                "UPDATE voucher_applications SET contract_number = :n, contract_key = :k "
                "WHERE id = :i"
            ),
            {"n": number, "k": key, "i": app_id},
        )
    db.execute(text("UPDATE alembic_version SET version_num = '0009'"))
    db.commit()
    engine = make_engine(database_url)
    migrate.upgrade(engine, "0010")  # the schema is already past it: 0010 alone runs again
    engine.dispose()
    db.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": migrate.head_revision()})
    db.commit()
    db.expire_all()
    keys = dict(
        db.execute(
            text("SELECT id, contract_key FROM voucher_applications WHERE programme_id = :p"),
            {"p": programme.id},
        ).all()
    )
    assert keys == {
        a.id: f"{seller}:sh2025777",
        b.id: f"{seller}:sh2025777#{b.id}",
        c.id: f"{seller}:ht2025001",
    }
    assert ledger.contracts_standing_twice(db) == [
        f"{programme.name}: applications #{a.id}, #{b.id} are one contract (SH-2025 777)"
    ]
