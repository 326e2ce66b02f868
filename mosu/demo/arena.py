"""The demo arena (演示竞技场): replies to citizens' hotline messages, voted on blind.

Everything here is fictional and written for mosu's demo: the prompts are the demo's own
fictional hotline messages, drawn from the public splits (train, dev) of the hotline
corpus's version, never from its hidden test split, which the demo race scores on;
the four "models" are local reply functions in this module
(no real model answers), the voters' choices are simulated with a seeded generator, and
the judge is a rule-based function, not a language model. The replies go through the same
path a real endpoint's would: the evaluation engine's local-callable adapter and executor.
Four more messages carry a photo (:mod:`mosu.demo.photos`: fictional pictures drawn with
Pillow when the demo is built), which voters see beside the answers and the reply functions
and the judge are sent as an ``image_url`` part.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import re
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.accounts.models import User
from mosu.arena import service
from mosu.arena.images import PromptRow
from mosu.arena.schemas import ArenaIn, CompetitorIn, JudgeIn
from mosu.corpus.models import DatasetVersion
from mosu.corpus.reading import public_rows
from mosu.demo.photos import PHOTOS, render
from mosu.evals.images import check_image
from mosu.evals.prompts import Message, content_text
from mosu.permissions import Actor, Role

HOTLINE = Path(__file__).parent / "data" / "hotline_messages.jsonl"
ARENA_NAME = "市民留言答复竞技场（演示数据）"
PROMPTS_PER_DEPARTMENT = 2
START = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
_LOADER = Actor(user_id=None, role=Role.operator, username="demo-loader")
_TITLE = re.compile(r"标题：(.+)")


def _messages(session: Session, version: DatasetVersion) -> list[dict[str, str]]:
    """The first messages (by 编号) of each department in ``version``'s public splits."""
    chosen: dict[str, list[dict[str, str]]] = {}
    for row in sorted(public_rows(session, version), key=lambda r: r.row_id):
        group = chosen.setdefault(row.label or "", [])
        if len(group) < PROMPTS_PER_DEPARTMENT:
            group.append({"标题": str(row.fields["标题"]), "内容": str(row.fields["内容"])})
    return [row for group in chosen.values() for row in group]


_DEPARTMENT = {
    row["标题"]: row["受理部门"]
    for row in map(json.loads, HOTLINE.read_text(encoding="utf-8").splitlines())
} | {photo.title: photo.department for photo in PHOTOS}
"""The fictional replies' knowledge of the department of each message they may be asked
about (the demo arena asks only about messages of the public splits)."""


def prompt_for(row: dict[str, str]) -> str:
    return (
        "请以区政务服务热线的名义，答复下面这条市民留言。\n"
        f"标题：{row['标题']}\n内容：{row['内容']}"
    )


def photo_prompt(title: str) -> str:
    return (
        "请以区政务服务热线的名义，答复下面这条附有照片的市民留言（照片见附图）。\n"
        f"标题：{title}\n内容：请看我拍的照片，麻烦尽快处理。"
    )


def _prompt_rows(session: Session, version: DatasetVersion) -> list[PromptRow]:
    """The public messages' prompts (``p1``, ``p2``, …), then the photo messages' (``photo1``…)."""
    rows = [
        PromptRow(f"p{k}", prompt_for(row)) for k, row in enumerate(_messages(session, version), 1)
    ]
    for k, photo in enumerate(PHOTOS, 1):
        image = check_image(render(photo), where=photo.title)
        rows.append(PromptRow(f"photo{k}", photo_prompt(photo.title), image))
    return rows


def _title(messages: list[Message]) -> str:
    found = _TITLE.search(content_text(messages[-1]["content"]))
    return found.group(1).strip() if found else "您反映的问题"


def reply_thorough(messages: list[Message]) -> str:
    """周全答复 (fictional): restates, names the department, promises times, thanks."""
    title = _title(messages)
    department = _DEPARTMENT.get(title, "相关")
    return (
        f"您好！您反映的“{title}”问题已收悉。我们已将工单转交区{department}部门，"
        "承办单位将在5个工作日内与您联系并到现场核实，15个工作日内答复处理结果。"
        "如有新情况，可随时拨打热线补充。感谢您对社区治理的关心与支持！"
    )


def reply_standard(messages: list[Message]) -> str:
    """规范答复 (fictional): correct but thin."""
    department = _DEPARTMENT.get(_title(messages), "相关")
    return f"您好，您反映的问题已转{department}部门处理，请耐心等待回复。"


def reply_template(messages: list[Message]) -> str:
    """模板答复 (fictional): the same words whatever the message."""
    return "您好，来信收悉，我们会认真研究。感谢您的来信。"


def reply_off_topic(messages: list[Message]) -> str:
    """跑题答复 (fictional): misreads the request."""
    return "建议您与对方自行协商解决，协商不成可向法院起诉。"


COMPETITORS = {
    "周全答复（演示）": ("reply_thorough", 1.2),
    "规范答复（演示）": ("reply_standard", 0.5),
    "模板答复（演示）": ("reply_template", -0.4),
    "跑题答复（演示）": ("reply_off_topic", -1.3),
}
"""Name: (reply function, the strength simulated voters prefer it by)."""


def _score(answer: str) -> int:
    return sum(
        (
            "部门" in answer,
            "工作日" in answer,
            "感谢" in answer,
            "“" in answer,
            "处理" in answer,
            "协商" not in answer,
        )
    )


def rule_judge(messages: list[Message]) -> str:
    """A rule-based demo judge (not a language model): counts the marks of a good reply
    (a department, a time limit, thanks, the question restated, handling, no brush-off)."""
    text = content_text(messages[-1]["content"])
    a = text.split("<<<回答A>>>", 1)[-1].split("<<<回答A结束>>>", 1)[0]
    b = text.split("<<<回答B>>>", 1)[-1].split("<<<回答B结束>>>", 1)[0]
    sa, sb = _score(a), _score(b)
    return "[[A]]" if sa > sb else "[[B]]" if sb > sa else "[[C]]"


def _simulated_choice(rng: random.Random, a: str, b: str) -> str:
    strength = {name: s for name, (_, s) in COMPETITORS.items()}
    gap = strength[a] - strength[b]
    p_a = 1.0 / (1.0 + math.exp(-gap))
    tie = 0.25 * 2 * min(p_a, 1 - p_a)
    u = rng.random()
    if u < tie:
        return "tie (bothbad)" if min(strength[a], strength[b]) < 0 else "tie"
    return "model_a" if rng.random() < (p_a - tie / 2) / (1 - tie) else "model_b"


def _vote(
    session: Session,
    arena_id: int,
    voter: User,
    n: int,
    rng: random.Random,
    *,
    think: tuple[float, float],
    one_sided: bool = False,
) -> None:
    arena = service.get_arena(session, arena_id)
    actor = Actor(user_id=voter.id, role=voter.role, username=voter.username)
    for k in range(n):
        battle = service.serve_battle(session, actor=actor, arena=arena, rng=rng)
        served = START + dt.timedelta(minutes=k, seconds=voter.id * 7)
        battle.created_at = served
        winner = (
            "model_a"
            if one_sided
            else _simulated_choice(rng, battle.competitor_a.name, battle.competitor_b.name)
        )
        now = served + dt.timedelta(seconds=rng.uniform(*think))
        service.cast_vote(session, actor=actor, arena=arena, battle=battle, winner=winner, now=now)


def load_demo_arena(session: Session, *, version: DatasetVersion, seed: int = 2026) -> int:
    """The demo arena on the public messages of the hotline corpus's ``version``, with
    answers, simulated votes (one of the voters one-sided and hurried, so the flags show)
    and a rule-based judge's votes; flush, not commit."""
    rows = _prompt_rows(session, version)
    arena = service.create_arena(
        session,
        actor=_LOADER,
        data=ArenaIn(
            name=ARENA_NAME,
            description=(
                "演示数据：虚构的热线留言（取自语料的公开划分，不含隐藏测试集），"
                "四个本地回复函数（非真实模型）作答，投票为模拟，裁判为规则函数；"
                "附图为演示用虚构图片。"
            ),
            prompts=[row.text for row in rows],
        ),
        rows=rows,
    )
    arena.dataset_version_id = version.id
    for name, (function, _) in COMPETITORS.items():
        service.add_competitor(
            session,
            actor=_LOADER,
            arena=arena,
            data=CompetitorIn(name=name, spec=f"python:mosu.demo.arena:{function}"),
            local=True,
        )
    service.generate_answers(session, actor=_LOADER, arena=arena)
    users = {u.username: u for u in session.scalars(select(User))}
    rng = random.Random(seed)
    for username in ("expert1", "demand1", "operator"):
        if username in users:
            _vote(session, arena.id, users[username], 30, rng, think=(25.0, 70.0))
    if "supplier2" in users:
        _vote(session, arena.id, users["supplier2"], 12, rng, think=(1.0, 3.0), one_sided=True)
    service.run_judge(
        session,
        actor=_LOADER,
        arena=arena,
        data=JudgeIn(name="规则裁判（演示）", spec="python:mosu.demo.arena:rule_judge"),
        local=True,
    )
    session.flush()
    return arena.id
