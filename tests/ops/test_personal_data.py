"""One person's data under the PIPL: the export holds it all (no secrets), and erasure
leaves a pseudonym, whole audit facts, an unchanged ledger and no dangling reference."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from mosu.accounts.models import ApiToken, Notification, User, WebSession
from mosu.accounts.service import authenticate, start_web_session
from mosu.challenges.models import ChallengeEvent
from mosu.cli import app
from mosu.core.settings import Settings
from mosu.ops.personal_data import pseudonym, user_references
from mosu.supply.models import LedgerEntry
from tests.conftest import TEST_SECRET, World
from tests.helpers.races import shortlisting_challenge
from tests.helpers.supply import apply, approve, make_programme, member

runner = CliRunner()


def _ledger(db: Session) -> list[tuple[object, ...]]:
    return [
        tuple(r)
        for r in db.execute(
            select(LedgerEntry.kind, func.count(), func.sum(LedgerEntry.amount_fen)).group_by(
                LedgerEntry.kind
            )
        )
    ]


def _dangling(db: Session) -> list[str]:
    found = []
    for table, column in user_references():
        orphans = db.execute(
            select(func.count())
            .select_from(table)
            .where(table.c[column].is_not(None), table.c[column].not_in(select(User.id)))
        ).scalar_one()
        if orphans:
            found.append(f"{table.name}.{column}")
    return found


def test_export_then_erase(db: Session, world: World, settings: Settings, tmp_path: Path) -> None:
    operator_id = world.user_ids["operator"]
    programme = make_programme(db, world)
    buyer = member(world, "supplier_a", world.org_a)
    approve(db, world, apply(db, buyer, programme.id, world.org_b).id, reason="合同齐全")
    challenge = shortlisting_challenge(
        db, world, title="热线分拨榜", shortlist_places=2, winner_places=1
    )
    db.flush()
    db.add(
        ChallengeEvent(
            challenge_id=challenge.id,
            actor_id=operator_id,
            actor_name="operator",
            action="publish",
            reason="审核通过",
        )
    )
    db.add(Notification(user_id=operator_id, kind="test", title="您有新的申请"))
    operator = db.get(User, operator_id)
    assert operator is not None
    start_web_session(db, user=operator, hours=2)
    db.commit()
    ledger_before = _ledger(db)
    events_before = db.scalar(select(func.count()).select_from(ChallengeEvent))
    env = {"MOSU_DATABASE_URL": settings.database_url, "MOSU_SECRET_KEY": TEST_SECRET}

    out = tmp_path / "operator.json"
    exported = runner.invoke(app, ["person", "export", "operator", str(out)], env=env)
    assert exported.exit_code == 0, exported.output
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["account"]["username"] == "operator"
    assert "password_hash" not in document["account"]
    records = document["records"]
    assert records["voucher_ledger.actor_id"][0]["actor_name"] == "operator"
    assert records["challenge_events.actor_id"][0]["action"] == "publish"
    assert records["notifications.user_id"][0]["title"] == "您有新的申请"
    assert len(records["api_tokens.user_id"]) == 1
    assert "token_hash" not in records["api_tokens.user_id"][0]
    assert world.tokens["operator"] not in out.read_text(encoding="utf-8")

    erased = runner.invoke(app, ["person", "erase", "operator", "--yes"], env=env)
    assert erased.exit_code == 0, erased.output
    db.expire_all()
    name = pseudonym(TEST_SECRET, operator_id)
    user = db.get(User, operator_id)
    assert user is not None and user.username == name and not user.is_active
    assert user.display_name == ""
    assert authenticate(db, username="operator", password=world.passwords["operator"]) is None
    for table in (WebSession, ApiToken, Notification):
        assert (
            db.scalar(select(func.count()).select_from(table).where(table.user_id == operator_id))
            == 0
        )
    # the audit keeps its facts under the pseudonym; the ledger is whole
    assert _ledger(db) == ledger_before
    assert db.scalar(select(func.count()).select_from(ChallengeEvent)) == events_before
    names = set(
        db.scalars(select(LedgerEntry.actor_name).where(LedgerEntry.actor_id == operator_id))
    )
    names |= set(
        db.scalars(select(ChallengeEvent.actor_name).where(ChallengeEvent.actor_id == operator_id))
    )
    assert names == {name}
    assert _dangling(db) == []
    # the append-only tables still refuse every other change
    for sql in (
        "UPDATE voucher_ledger SET amount_fen = amount_fen + 1",
        "UPDATE voucher_ledger SET actor_name = 'someone'",
        "UPDATE challenge_events SET reason = 'changed'",
        "DELETE FROM challenge_events",
    ):
        with pytest.raises(DBAPIError):
            db.execute(text(sql))
        db.rollback()
    again = runner.invoke(app, ["person", "export", str(operator_id), str(out)], env=env)
    assert again.exit_code == 0
    after = json.loads(out.read_text(encoding="utf-8"))
    assert after["account"]["username"] == name
    assert all(
        row.get("actor_name") in (None, name) for rows in after["records"].values() for row in rows
    )
