"""The demo arena: fictional replies, simulated votes, flags and a rule-based judge."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.arena import board, service
from mosu.corpus.models import PUBLIC_SPLITS, DatasetRow
from mosu.demo.arena import ARENA_NAME, COMPETITORS
from mosu.demo.loader import load_community

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_demo_community_has_a_voted_arena(db: Session) -> None:
    load_community(db)
    db.commit()
    arena = service.find_arena(db, ARENA_NAME)
    out = service.arena_out(db, arena)
    assert "演示" in out.description and all("演示" in c.name for c in out.competitors)
    assert out.prompts == 16 and all(c.answers == 16 for c in out.competitors)
    photos = [p for p in arena.prompts if p.image is not None]
    assert [p.key for p in photos] == ["photo1", "photo2", "photo3", "photo4"]
    assert all(p.image.format == "PNG" and p.image.width == 240 for p in photos if p.image)
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


def test_demo_arena_prompts_come_from_the_public_splits_only(db: Session) -> None:
    """Issue 14: hidden test rows (D0102, D0126, D0127 among them) became arena prompts, and
    a competitor's answer named the hidden label. Prompts come from train and dev only."""
    load_community(db)
    db.commit()
    arena = service.find_arena(db, ARENA_NAME)
    assert arena.dataset_version_id is not None
    rows = db.scalars(select(DatasetRow).where(DatasetRow.version_id == arena.dataset_version_id))
    split_of = {str(r.fields["标题"]): r.split for r in rows}
    texts = [p for p in arena.prompts if p.image_sha256 is None]  # the photos are drawn
    titles = [p.text.split("标题：", 1)[1].split("\n", 1)[0] for p in texts]
    assert len(titles) == 12 and all(split_of[t] in PUBLIC_SPLITS for t in titles)
    hidden = db.scalars(
        select(DatasetRow).where(
            DatasetRow.version_id == arena.dataset_version_id,
            DatasetRow.row_id.in_(("D0102", "D0126", "D0127")),
        )
    ).all()
    assert [r.split for r in hidden] == ["test", "test", "test"]
    shown = " ".join(p.text for p in arena.prompts)
    assert not any(str(r.fields["内容"]) in shown for r in hidden)
