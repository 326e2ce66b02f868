"""Arena platform fixtures: an arena with expert prompts and pre-written answers."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy.orm import Session

from mosu.arena import service
from mosu.arena.models import Arena
from mosu.arena.schemas import ArenaIn, CompetitorIn
from mosu.permissions import Actor, Role
from tests.conftest import World

PROMPTS = [
    "小区门口的路灯坏了两个月，向谁反映？",
    "孩子入学需要准备哪些材料？",
    "楼上装修噪音每天到晚上十点，怎么办？",
    "社保卡丢了如何补办？",
    "公园里的健身器材损坏了，请安排维修。",
    "外卖电动车在人行道上骑得很快，有安全隐患。",
]
COMPETITORS = {
    # name: how it answers (the length orders them for the fake judge: 详答 > 简答 > 敷衍)
    "详答模型": lambda p: (
        f"您好！关于“{p}”，我们已转交相关部门，将在五个工作日内派人核实处理，并电话回复您办理结果。"
    ),
    "简答模型": lambda p: f"已收到“{p[:6]}…”，会转交处理。",
    "敷衍模型": lambda p: "请自行解决。",
}


def actor(world: World, who: str) -> Actor:
    role = {"operator": Role.operator, "expert": Role.expert, "demand": Role.demand}.get(
        who, Role.supplier
    )
    return Actor(user_id=world.user_ids[who], role=role, username=who)


def make_arena(db: Session, world: World, name: str = "市民留言答复竞技场", **kw: object) -> Arena:
    operator = actor(world, "operator")
    arena = service.create_arena(
        db,
        actor=operator,
        data=ArenaIn(name=name, prompts=PROMPTS, **kw),  # type: ignore[arg-type]
    )
    for model, answer in COMPETITORS.items():
        answers = {p.key: answer(p.text) for p in arena.prompts}
        service.add_competitor(
            db, actor=operator, arena=arena, data=CompetitorIn(name=model, answers=answers)
        )
    db.commit()
    return arena


def vote_many(
    db: Session,
    world: World,
    arena: Arena,
    who: str,
    n: int,
    choose: object,
    *,
    start: dt.datetime,
    gap: float = 30.0,
    think: float = 20.0,
    seed: int = 0,
) -> list[int]:
    """``n`` battles served to ``who`` and voted ``choose(battle)`` (a winner string),
    ``gap`` seconds apart, ``think`` seconds after each battle was served."""
    rng = random.Random(seed)
    voter = actor(world, who)
    ids = []
    for k in range(n):
        battle = service.serve_battle(db, actor=voter, arena=arena, rng=rng)
        served = start + dt.timedelta(seconds=k * gap)
        battle.created_at = served
        winner = choose(battle)  # type: ignore[operator]
        service.cast_vote(
            db,
            actor=voter,
            arena=arena,
            battle=battle,
            winner=winner,
            now=served + dt.timedelta(seconds=think),
        )
        ids.append(battle.id)
    db.commit()
    return ids


def longer_wins(battle: object) -> str:
    """A voter who prefers the fuller answer, as the fake judge does."""
    a = len(battle.answer_a.text)  # type: ignore[attr-defined]
    b = len(battle.answer_b.text)  # type: ignore[attr-defined]
    return "model_a" if a > b else "model_b" if b > a else "tie"
