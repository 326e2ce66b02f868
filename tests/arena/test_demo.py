"""The demo arena: fictional replies, simulated votes, flags and a rule-based judge."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from mosu.arena import board, service
from mosu.demo.arena import ARENA_NAME, COMPETITORS
from mosu.demo.loader import load_community

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_demo_community_has_a_voted_arena(db: Session) -> None:
    load_community(db)
    db.commit()
    arena = service.find_arena(db, ARENA_NAME)
    out = service.arena_out(db, arena)
    assert "演示" in out.description and all("演示" in c.name for c in out.competitors)
    assert out.prompts == 12 and all(c.answers == 12 for c in out.competitors)
    assert out.human_votes == 102 and out.judge_votes == 102
    flags = {f.username: f for f in board.voter_flags(db, arena)}
    assert flags["supplier2"].one_sided and flags["supplier2"].too_fast
    assert not flags["expert1"].one_sided and not flags["expert1"].too_fast
    rated = board.arena_board(db, arena)
    assert rated.board is not None and rated.excluded_voters == 1
    order = [r.model for r in rated.board.rows()]
    assert order[0] == "周全答复（演示）" and order[-1] == "跑题答复（演示）"
    assert set(order) == set(COMPETITORS)
    (judge,) = board.agreement(db, arena)
    assert judge.battles == 90 and judge.rate is not None and judge.rate > 0.5
