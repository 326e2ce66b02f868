"""Migration 0011 moves scenario budgets and challenge bounties from whole yuan to fen, and
back, with the rows they hold, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import World
from tests.helpers.migrations import migrate_to
from tests.helpers.scenarios import make_challenge, make_scenario

SCENARIOS = "SELECT id, {low}, {high} FROM scenarios ORDER BY id"
CHALLENGES = "SELECT id, {bounty} FROM challenges ORDER BY id"


def _rows(db: Session, sql: str, **names: str) -> list[tuple[object, ...]]:
    rows = [tuple(r) for r in db.execute(text(sql.format(**names))).all()]
    db.commit()
    return rows


def test_budgets_and_bounties_move_to_fen_and_back(
    db: Session, world: World, database_url: str
) -> None:
    ranged = make_scenario(db, world, budget_min_yuan=100_000, budget_max_yuan=2_000_000_000)
    open_ended = make_scenario(db, world, budget_max_yuan=0)
    challenge = make_challenge(db, world, bounty_yuan=800_000)
    negotiable = make_challenge(db, world, bounty_yuan=None)
    assert ranged.budget_max_fen == 200_000_000_000  # past 32 bits: BIGINT
    db.commit()
    db.close()

    migrate_to(database_url, "0010")
    yuan = {"low": "budget_min_yuan", "high": "budget_max_yuan", "bounty": "bounty_yuan"}
    scenarios = dict((r[0], r[1:]) for r in _rows(db, SCENARIOS, **yuan))
    assert scenarios[ranged.id] == (100_000, 2_000_000_000)
    assert scenarios[open_ended.id] == (None, 0)
    bounties = dict(_rows(db, CHALLENGES, **yuan))
    assert bounties[challenge.id] == 800_000 and bounties[negotiable.id] is None

    db.execute(text("UPDATE scenarios SET budget_min_yuan = 7 WHERE id = :i"), {"i": open_ended.id})
    db.commit()
    db.close()
    migrate_to(database_url, "head")
    fen = {"low": "budget_min_fen", "high": "budget_max_fen", "bounty": "bounty_fen"}
    scenarios = dict((r[0], r[1:]) for r in _rows(db, SCENARIOS, **fen))
    assert scenarios[ranged.id] == (10_000_000, 200_000_000_000)
    assert scenarios[open_ended.id] == (700, 0)
    bounties = dict(_rows(db, CHALLENGES, **fen))
    assert bounties[challenge.id] == 80_000_000 and bounties[negotiable.id] is None
    db.expire_all()
    assert db.get(type(challenge), challenge.id).bounty_yuan == 800_000  # type: ignore[union-attr]
