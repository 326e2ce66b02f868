"""The arena's rules (竞技场): arenas, competitors, answers, blind battles, votes, judges.

Votes are aggregated and rated in :mod:`mosu.arena.board`; this module decides who may
see and do what on a battle. A battle's pairing is shown to its voter only after the vote.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence

from sqlalchemy import bindparam, func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mosu.arena import board
from mosu.arena.calls import call_models
from mosu.arena.judge import combine, judge_messages, parse_verdict
from mosu.arena.matchmaking import choose_next_battle
from mosu.arena.models import Answer, Arena, ArenaPrompt, Battle, Competitor, Vote
from mosu.arena.schemas import (
    AnswersReport,
    ArenaIn,
    ArenaOut,
    BattleOut,
    CompetitorIn,
    CompetitorKind,
    CompetitorOut,
    JudgeIn,
    JudgeReport,
)
from mosu.core import clock
from mosu.core.credentials import CredentialBox
from mosu.core.errors import Conflict, Invalid, MosuError, NotFound
from mosu.corpus.models import DatasetVersion
from mosu.corpus.reading import public_rows
from mosu.evals.errors import ModelSpecError
from mosu.evals.models.base import Model
from mosu.evals.models.openai_compat import OpenAIChatModel
from mosu.evals.models.specs import build_model
from mosu.evals.netpolicy import STRICT, AddressPolicy, URLRefused
from mosu.permissions import Actor, can_manage_arena, can_vote, ensure
from mosu.registry.endpoints import endpoint_api_key
from mosu.registry.lookups import get_model
from mosu.registry.models import ModelEndpoint

MAX_DRAWS = 20
"""Pairs drawn from the matchmaker before falling back to any pair that shares a prompt."""


class RateLimited(MosuError):
    """A voter past the arena's votes per minute."""

    status = 429
    code = "rate_limited"


# ---------------------------------------------------------------- arenas


def get_arena(session: Session, arena_id: int) -> Arena:
    arena = session.get(Arena, arena_id)
    if arena is None:
        raise NotFound(f"竞技场 {arena_id} 不存在")
    return arena


def find_arena(session: Session, ref: str) -> Arena:
    """An arena by id or by name (for the CLI)."""
    arena = session.scalar(select(Arena).where(Arena.name == ref))
    if arena is None and ref.isdigit():
        arena = session.get(Arena, int(ref))
    if arena is None:
        raise NotFound(f"竞技场 {ref!r} 不存在")
    return arena


def list_arenas(session: Session) -> list[Arena]:
    return list(session.scalars(select(Arena).order_by(Arena.id)))


def _source_prompts(session: Session, data: ArenaIn) -> list[tuple[str, str]]:
    source = data.source
    assert source is not None
    version = session.get(DatasetVersion, source.dataset_version_id)
    if version is None:
        raise NotFound(f"数据集版本 {source.dataset_version_id} 不存在")
    rows = public_rows(session, version, splits=source.splits, limit=source.limit)
    prompts = []
    for row in rows:
        names = source.fields or list(row.fields)
        text = "\n".join(str(row.fields[n]) for n in names if row.fields.get(n) not in (None, ""))
        if text.strip():
            prompts.append((row.row_id, text.strip()))
    if not prompts:
        raise Invalid("所选数据集版本与划分中没有可用的提示 / no prompts in the chosen splits")
    return prompts


def create_arena(session: Session, *, actor: Actor, data: ArenaIn) -> Arena:
    """An arena with expert-written prompts (keyed ``p1``, ``p2``, …) or a data set's rows.

    Only public splits (train, dev) may become prompts: voters read them.
    """
    ensure(can_manage_arena(actor), "只有运营方可以创建竞技场")
    if session.scalar(select(Arena.id).where(Arena.name == data.name)) is not None:
        raise Conflict(f"已有名为“{data.name}”的竞技场", details={"field": "name"})
    if data.source is not None:
        prompts = _source_prompts(session, data)
    else:
        prompts = [(f"p{k}", text) for k, text in enumerate(dict.fromkeys(data.prompts), 1)]
    arena = Arena(
        name=data.name,
        description=data.description,
        dataset_version_id=data.source.dataset_version_id if data.source else None,
        votes_per_minute=data.votes_per_minute,
        read_chars_per_second=data.read_chars_per_second,
        created_by_id=actor.user_id,
    )
    arena.prompts = [ArenaPrompt(key=key, text=text) for key, text in prompts]
    session.add(arena)
    session.flush()
    return arena


_ANSWERED = (
    select(Answer.competitor_id, func.count())
    .where(Answer.text.is_not(None))
    .group_by(Answer.competitor_id)
)
_FAILED = (
    select(Answer.competitor_id, func.count())
    .where(Answer.text.is_(None))
    .group_by(Answer.competitor_id)
)
_VOTES_BY_SOURCE = (
    select(Vote.source, func.count())
    .join(Battle, Vote.battle_id == Battle.id)
    .where(Battle.arena_id == bindparam("arena_id"))
    .group_by(Vote.source)
)
_PROMPTS = select(func.count()).where(ArenaPrompt.arena_id == bindparam("arena_id"))
"""What :func:`arena_out` counts, built once (building one cost about as much as running it)."""


def _prompt_count(session: Session, arena: Arena) -> int:
    """How many prompts ``arena`` has: counted by the database unless they are loaded (the
    list of arenas need not read every prompt's text to count them)."""
    if "prompts" not in inspect(arena).unloaded:
        return len(arena.prompts)
    return session.scalar(_PROMPTS, {"arena_id": arena.id}) or 0


def arena_out(session: Session, arena: Arena) -> ArenaOut:
    answered = dict(session.execute(_ANSWERED).all())
    failed = dict(session.execute(_FAILED).all())
    by_source = dict(session.execute(_VOTES_BY_SOURCE, {"arena_id": arena.id}).all())
    return ArenaOut(
        id=arena.id,
        name=arena.name,
        description=arena.description,
        prompts=_prompt_count(session, arena),
        competitors=[
            CompetitorOut(
                id=c.id,
                name=c.name,
                model_id=c.model_id,
                kind=_kind(c),
                answers=answered.get(c.id, 0),
                errors=failed.get(c.id, 0),
            )
            for c in arena.competitors
        ],
        human_votes=by_source.get("human", 0),
        judge_votes=by_source.get("judge", 0),
        imported_votes=by_source.get("imported", 0),
        votes_per_minute=arena.votes_per_minute,
        read_chars_per_second=arena.read_chars_per_second,
        created_at=arena.created_at,
    )


def _kind(c: Competitor) -> CompetitorKind:
    if c.endpoint_id is not None:
        return "endpoint"
    if c.spec:
        return "spec"
    return "answers" if c.note != board.EXTERNAL_NOTE else "external"


# ---------------------------------------------------------------- competitors and answers


def check_remote_spec(spec: str, policy: AddressPolicy = STRICT) -> None:
    """Specs given over the API may only name an OpenAI-compatible URL that ``policy``
    allows (``MOSU_ALLOW_PRIVATE_ENDPOINTS``), never a local callable (code on the server)
    or a server environment variable holding a key."""
    if not spec.startswith("openai:") or "key_env=" in spec or "key_ref=" in spec:
        raise Invalid(
            "接口只接受不带 key_env/key_ref 的 openai: 规格；带密钥的模型请登记接入点 / "
            "only openai: specs without key_env/key_ref; register an endpoint for keys",
            details={"field": "spec"},
        )
    try:
        build_model(spec, environ={}, policy=policy)
    except ModelSpecError as exc:
        raise Invalid(str(exc), details={"field": "spec"}) from None


def add_competitor(
    session: Session,
    *,
    actor: Actor,
    arena: Arena,
    data: CompetitorIn,
    local: bool = False,
    policy: AddressPolicy = STRICT,
) -> Competitor:
    """A competitor; ``local`` (library callers only) allows ``python:`` and ``baseline:`` specs."""
    ensure(can_manage_arena(actor), "只有运营方可以管理竞技场")
    if any(c.name == data.name for c in arena.competitors):
        raise Conflict(f"本竞技场已有名为“{data.name}”的参赛模型", details={"field": "name"})
    if data.model_id is not None:
        get_model(session, data.model_id)
    if data.endpoint_id is not None and session.get(ModelEndpoint, data.endpoint_id) is None:
        raise NotFound(f"接入点 {data.endpoint_id} 不存在")
    if data.spec and not local:
        check_remote_spec(data.spec, policy)
    keys = {p.key: p for p in arena.prompts}
    unknown = sorted(set(data.answers) - set(keys))
    if unknown:
        raise Invalid(f"答案对应的提示不存在: {', '.join(unknown[:10])}", details=unknown)
    competitor = Competitor(
        name=data.name,
        model_id=data.model_id,
        endpoint_id=data.endpoint_id,
        spec=data.spec,
        note=data.note,
    )
    arena.competitors.append(competitor)
    session.flush()
    for key, text in data.answers.items():
        if text.strip():
            session.add(Answer(prompt_id=keys[key].id, competitor_id=competitor.id, text=text))
    session.flush()
    return competitor


def _model_for(
    session: Session,
    *,
    endpoint_id: int | None,
    spec: str,
    box: CredentialBox | None,
    policy: AddressPolicy,
) -> Model:
    if endpoint_id is not None:
        endpoint = session.get(ModelEndpoint, endpoint_id)
        if endpoint is None:
            raise NotFound(f"接入点 {endpoint_id} 不存在")
        if box is None:
            raise Invalid("调用接入点需要密钥箱 / calling an endpoint needs the credential box")
        try:
            return OpenAIChatModel(
                endpoint.base_url,
                endpoint.model_name,
                api_key=endpoint_api_key(endpoint, box),
                policy=policy,
            )
        except URLRefused as exc:
            raise Invalid(f"接入点地址不被允许：{exc.zh} / endpoint URL refused: {exc}") from None
    try:
        return build_model(spec, policy=policy)
    except ModelSpecError as exc:
        raise Invalid(str(exc)) from None


def generate_answers(
    session: Session,
    *,
    actor: Actor,
    arena: Arena,
    box: CredentialBox | None = None,
    policy: AddressPolicy = STRICT,
) -> AnswersReport:
    """Ask every callable competitor for each prompt it has no answer to (failed ones again),
    through the evaluation engine's adapters and executor; endpoints only at addresses
    ``policy`` allows."""
    ensure(can_manage_arena(actor), "只有运营方可以管理竞技场")
    existing = {
        (a.prompt_id, a.competitor_id): a
        for a in session.scalars(
            select(Answer).join(ArenaPrompt).where(ArenaPrompt.arena_id == arena.id)
        )
    }
    models: dict[str, Model] = {}
    work: dict[str, list[tuple[str, list[dict[str, str]]]]] = {}
    by_name = {c.name: c for c in arena.competitors}
    already = 0
    for c in arena.competitors:
        if c.endpoint_id is None and not c.spec:
            continue
        todo = []
        for p in arena.prompts:
            answer = existing.get((p.id, c.id))
            if answer is not None and answer.text is not None:
                already += 1
                continue
            todo.append((str(p.id), [{"role": "user", "content": p.text}]))
        if todo:
            models[c.name] = _model_for(
                session, endpoint_id=c.endpoint_id, spec=c.spec, box=box, policy=policy
            )
            work[c.name] = todo
    outcomes = call_models(models, work) if work else []
    problems: list[str] = []
    generated = errors = 0
    for o in outcomes:
        competitor = by_name[o.model]
        key = (int(o.sample_id), competitor.id)
        answer = existing.get(key) or Answer(prompt_id=key[0], competitor_id=competitor.id)
        text = o.output if o.output and o.output.strip() else None
        answer.text, answer.error = text, None if text else (o.error or "empty answer")
        session.add(answer)
        if text:
            generated += 1
        else:
            errors += 1
            problems.append(f"{o.model} / {o.sample_id}: {answer.error}")
    session.flush()
    return AnswersReport(
        generated=generated, errors=errors, already=already, problems=problems[:50]
    )


# ---------------------------------------------------------------- battles


def _answer_table(session: Session, arena: Arena) -> dict[int, dict[int, Answer]]:
    """``{competitor_id: {prompt_id: answer}}`` for the answers that have text."""
    table: dict[int, dict[int, Answer]] = {}
    rows = session.scalars(
        select(Answer)
        .join(ArenaPrompt)
        .where(ArenaPrompt.arena_id == arena.id, Answer.text.is_not(None))
    )
    for a in rows:
        table.setdefault(a.competitor_id, {})[a.prompt_id] = a
    return table


def open_battle(session: Session, arena: Arena, voter_id: int) -> Battle | None:
    """The voter's battle in this arena still waiting for their vote, if any."""
    voted = select(Vote.battle_id).where(Vote.voter_id == voter_id)
    return session.scalar(
        select(Battle)
        .where(Battle.arena_id == arena.id, Battle.voter_id == voter_id, Battle.id.not_in(voted))
        .order_by(Battle.id)
        .limit(1)
    )


def _new_battle(
    session: Session, arena: Arena, rng: random.Random, *, voter_id: int | None
) -> Battle:
    table = _answer_table(session, arena)
    competitors = {c.name: c for c in arena.competitors if len(table.get(c.id, {})) > 0}
    if len(competitors) < 2:
        raise Invalid("至少要有两个已作答的参赛模型 / two competitors with answers are needed")
    seen: set[int] = set()
    if voter_id is not None:
        seen = {
            p
            for p in session.scalars(
                select(Battle.prompt_id).where(
                    Battle.arena_id == arena.id, Battle.voter_id == voter_id
                )
            )
            if p is not None
        }
    candidates = board.matchmaking_state(session, arena, tuple(sorted(competitors)))
    np_rng = board.numpy_rng(rng)
    pair: tuple[Competitor, Competitor] | None = None
    shared: list[int] = []
    for _ in range(MAX_DRAWS):
        if candidates is None:
            a_name, b_name = rng.sample(sorted(competitors), 2)
        else:
            a_name, b_name = choose_next_battle(candidates[0], candidates[1], np_rng)
        a, b = competitors[a_name], competitors[b_name]
        shared = sorted(set(table[a.id]) & set(table[b.id]))
        if shared:
            pair = (a, b)
            break
    if pair is None:
        pairs = [(x, y) for x in competitors.values() for y in competitors.values() if x.id < y.id]
        rng.shuffle(pairs)
        for x, y in pairs:
            shared = sorted(set(table[x.id]) & set(table[y.id]))
            if shared:
                pair = (x, y) if rng.random() < 0.5 else (y, x)
                break
    if pair is None:
        raise Invalid(
            "没有两个参赛模型回答过同一提示 / no two competitors answered a common prompt"
        )
    fresh = [p for p in shared if p not in seen] or shared
    prompt_id = rng.choice(fresh)
    a, b = pair
    battle = Battle(
        arena_id=arena.id,
        prompt_id=prompt_id,
        competitor_a_id=a.id,
        competitor_b_id=b.id,
        answer_a_id=table[a.id][prompt_id].id,
        answer_b_id=table[b.id][prompt_id].id,
        voter_id=voter_id,
    )
    session.add(battle)
    session.flush()
    return battle


def serve_battle(
    session: Session, *, actor: Actor, arena: Arena, rng: random.Random | None = None
) -> Battle:
    """The voter's next battle: the one still open, else a new informative one (a pair
    chosen by :func:`~mosu.arena.matchmaking.choose_next_battle`, sides at random, a prompt
    both answered, preferring prompts this voter has not seen)."""
    ensure(can_vote(actor), "请先登录再投票")
    assert actor.user_id is not None
    waiting = open_battle(session, arena, actor.user_id)
    if waiting is not None:
        return waiting
    return _new_battle(session, arena, rng or random.Random(), voter_id=actor.user_id)


def own_battle(session: Session, *, actor: Actor, arena: Arena, battle_id: int) -> Battle:
    """A battle served to ``actor``; any other battle does not exist for them."""
    battle = session.get(Battle, battle_id)
    if battle is None or battle.arena_id != arena.id or battle.voter_id is None:
        raise NotFound(f"对战 {battle_id} 不存在")
    if battle.voter_id != actor.user_id:
        raise NotFound(f"对战 {battle_id} 不存在")
    return battle


def battle_out(battle: Battle, *, viewer_id: int | None) -> BattleOut:
    """What the voter sees: the prompt and two answers; names and verdict once voted."""
    vote = next((v for v in battle.votes if v.voter_id == viewer_id and v.source == "human"), None)
    prompt = battle.prompt.text if battle.prompt else ""
    out = BattleOut(
        id=battle.id,
        arena_id=battle.arena_id,
        prompt=prompt,
        answer_a=(battle.answer_a.text or "") if battle.answer_a else "",
        answer_b=(battle.answer_b.text or "") if battle.answer_b else "",
        voted=vote is not None,
    )
    if vote is not None:
        out.winner = vote.winner  # type: ignore[assignment]
        out.model_a = battle.competitor_a.name
        out.model_b = battle.competitor_b.name
    return out


def cast_vote(
    session: Session,
    *,
    actor: Actor,
    arena: Arena,
    battle: Battle,
    winner: str,
    now: dt.datetime | None = None,
) -> Vote:
    """Record the voter's verdict: once per battle (a unique constraint backs the check),
    within the arena's votes per minute; the seconds since the battle was served are kept."""
    ensure(can_vote(actor) and battle.voter_id == actor.user_id, "只能为发给自己的对战投票")
    now = now or clock.now()
    if any(v.voter_id == actor.user_id for v in battle.votes):
        raise Conflict("这场对战已经投过票了 / you already voted on this battle")
    recent = session.scalar(
        select(func.count())
        .select_from(Vote)
        .join(Battle, Vote.battle_id == Battle.id)
        .where(
            Battle.arena_id == arena.id,
            Vote.voter_id == actor.user_id,
            Vote.source == "human",
            Vote.created_at > now - dt.timedelta(minutes=1),
        )
    )
    if (recent or 0) >= arena.votes_per_minute:
        raise RateLimited(
            f"投票太快了：每分钟最多 {arena.votes_per_minute} 票 / "
            f"at most {arena.votes_per_minute} votes a minute",
            details={"votes_per_minute": arena.votes_per_minute},
        )
    vote = Vote(
        battle_id=battle.id,
        voter_id=actor.user_id,
        source="human",
        winner=winner,
        seconds=max(0.0, (now - battle.created_at).total_seconds()),
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(vote)
    except IntegrityError:
        raise Conflict("这场对战已经投过票了 / you already voted on this battle") from None
    session.refresh(battle)
    return vote


# ---------------------------------------------------------------- judges


def run_judge(
    session: Session,
    *,
    actor: Actor,
    arena: Arena,
    data: JudgeIn,
    box: CredentialBox | None = None,
    rng: random.Random | None = None,
    local: bool = False,
    policy: AddressPolicy = STRICT,
) -> JudgeReport:
    """The judge votes, in both orders, on every battle people voted on that it has not
    judged, and on ``new_battles`` battles made for it alone. A judge call that fails after
    its retries leaves that battle unjudged (reported), to be judged on the next run."""
    ensure(can_manage_arena(actor), "只有运营方可以运行裁判模型")
    if data.spec and not local:
        check_remote_spec(data.spec, policy)
    rng = rng or random.Random()
    made = [_new_battle(session, arena, rng, voter_id=None) for _ in range(data.new_battles)]
    judged = select(Vote.battle_id).where(Vote.judge == data.name)
    human = select(Vote.battle_id).where(Vote.source == "human")
    battles: Sequence[Battle] = session.scalars(
        select(Battle)
        .where(
            Battle.arena_id == arena.id,
            Battle.prompt_id.is_not(None),
            Battle.id.not_in(judged),
            Battle.id.in_(human) | Battle.voter_id.is_(None),
        )
        .order_by(Battle.id)
    ).all()
    work: list[tuple[str, list[dict[str, str]]]] = []
    for b in battles:
        prompt = b.prompt.text if b.prompt else ""
        a = (b.answer_a.text or "") if b.answer_a else ""
        c = (b.answer_b.text or "") if b.answer_b else ""
        work.append((f"{b.id}:ab", judge_messages(prompt, a, c)))
        work.append((f"{b.id}:ba", judge_messages(prompt, c, a)))
    outcomes = []
    if work:
        model = _model_for(
            session, endpoint_id=data.endpoint_id, spec=data.spec, box=box, policy=policy
        )
        outcomes = call_models({data.name: model}, {data.name: work})
    replies: dict[str, str | None] = {o.sample_id: o.output for o in outcomes}
    errors = {o.sample_id: o.error for o in outcomes if o.error}
    problems: list[str] = []
    count = 0
    for b in battles:
        forward = parse_verdict(replies.get(f"{b.id}:ab") or "")
        backward = parse_verdict(replies.get(f"{b.id}:ba") or "")
        if forward is None or backward is None:
            reason = (
                errors.get(f"{b.id}:ab")
                or errors.get(f"{b.id}:ba")
                or "no [[A]]/[[B]]/[[C]]/[[D]] verdict"
            )
            problems.append(f"battle {b.id}: {reason}")
            continue
        session.add(
            Vote(
                battle_id=b.id,
                judge=data.name,
                source="judge",
                winner=combine(forward, backward),
                detail={"forward": forward, "backward": backward},
            )
        )
        count += 1
    session.flush()
    return JudgeReport(
        judged=count, new_battles=len(made), errors=len(problems), problems=problems[:50]
    )
