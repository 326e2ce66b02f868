"""The arena's rules (竞技场): arenas, competitors, answers, blind battles, votes, judges.

Votes are aggregated and rated in :mod:`mosu.arena.board`; battles and people's votes
live in :mod:`mosu.arena.battles` (re-exported here). A battle's pairing is shown to its
voter only after the vote.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from sqlalchemy import bindparam, func, inspect, select
from sqlalchemy.orm import Session

from mosu.arena import board
from mosu.arena.battles import (
    battle_out,
    cast_vote,
    new_battle,
    open_battle,
    own_battle,
    serve_battle,
)
from mosu.arena.calls import call_models
from mosu.arena.errors import (
    ARENA_NAME_TAKEN,
    BAD_SPEC,
    COMPETITOR_NAME_TAKEN,
    CREATE_REFUSED,
    ENDPOINT_URL_REFUSED,
    JUDGE_REFUSED,
    MANAGE_REFUSED,
    NO_CREDENTIAL_BOX,
    NO_SOURCE_PROMPTS,
    NO_SUCH_ARENA,
    NO_SUCH_DATASET_VERSION,
    NO_SUCH_ENDPOINT,
    SPEC_REFUSED,
    UNKNOWN_ANSWER_PROMPTS,
    AlreadyVoted,
    RateLimited,
)
from mosu.arena.images import PromptRow, attach_images, image_data, prompt_content
from mosu.arena.judge import combine, judge_messages, parse_verdict
from mosu.arena.models import Answer, Arena, ArenaPrompt, Battle, Competitor, Vote
from mosu.arena.schemas import (
    AnswersReport,
    ArenaIn,
    ArenaOut,
    CompetitorIn,
    CompetitorKind,
    CompetitorOut,
    JudgeIn,
    JudgeReport,
)
from mosu.core.credentials import CredentialBox
from mosu.corpus.models import DatasetVersion
from mosu.corpus.reading import public_rows
from mosu.evals.errors import ModelSpecError
from mosu.evals.models.base import Model
from mosu.evals.models.openai_compat import OpenAIChatModel
from mosu.evals.models.specs import build_model
from mosu.evals.netpolicy import STRICT, AddressPolicy, URLRefused
from mosu.evals.prompts import Message
from mosu.permissions import Actor, can_manage_arena, ensure
from mosu.registry.endpoints import endpoint_api_key
from mosu.registry.lookups import get_model
from mosu.registry.models import ModelEndpoint

__all__ = [
    "AlreadyVoted",
    "RateLimited",
    "battle_out",
    "cast_vote",
    "open_battle",
    "own_battle",
    "serve_battle",
]

# ---------------------------------------------------------------- arenas


def get_arena(session: Session, arena_id: int) -> Arena:
    arena = session.get(Arena, arena_id)
    if arena is None:
        raise NO_SUCH_ARENA(arena=arena_id)
    return arena


def find_arena(session: Session, ref: str) -> Arena:
    """An arena by id or by name (for the CLI)."""
    arena = session.scalar(select(Arena).where(Arena.name == ref))
    if arena is None and ref.isdigit():
        arena = session.get(Arena, int(ref))
    if arena is None:
        raise NO_SUCH_ARENA(arena=repr(ref))
    return arena


def list_arenas(session: Session) -> list[Arena]:
    return list(session.scalars(select(Arena).order_by(Arena.id)))


def _source_prompts(session: Session, data: ArenaIn) -> list[tuple[str, str]]:
    source = data.source
    assert source is not None
    version = session.get(DatasetVersion, source.dataset_version_id)
    if version is None:
        raise NO_SUCH_DATASET_VERSION(version_id=source.dataset_version_id)
    rows = public_rows(session, version, splits=source.splits, limit=source.limit)
    prompts = []
    for row in rows:
        names = source.fields or list(row.fields)
        text = "\n".join(str(row.fields[n]) for n in names if row.fields.get(n) not in (None, ""))
        if text.strip():
            prompts.append((row.row_id, text.strip()))
    if not prompts:
        raise NO_SOURCE_PROMPTS()
    return prompts


def create_arena(
    session: Session, *, actor: Actor, data: ArenaIn, rows: Sequence[PromptRow] | None = None
) -> Arena:
    """An arena with expert-written prompts (keyed ``p1``, ``p2``, …) or a data set's rows;
    ``rows`` (an uploaded prompt set, :func:`mosu.arena.images.read_prompt_zip`) give the
    prompts with their keys and images instead.

    Only public splits (train, dev) may become prompts: voters read them.
    """
    ensure(can_manage_arena(actor), CREATE_REFUSED)
    if session.scalar(select(Arena.id).where(Arena.name == data.name)) is not None:
        raise ARENA_NAME_TAKEN(name=data.name, details={"field": "name"})
    if rows is not None:
        prompts = [(r.key, r.text) for r in rows]
    elif data.source is not None:
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
    if rows is not None:
        attach_images(session, arena, rows)
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
        raise SPEC_REFUSED(details={"field": "spec"})
    try:
        build_model(spec, environ={}, policy=policy)
    except ModelSpecError as exc:
        raise BAD_SPEC(reason=exc.text, details={"field": "spec"}) from None


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
    ensure(can_manage_arena(actor), MANAGE_REFUSED)
    if any(c.name == data.name for c in arena.competitors):
        raise COMPETITOR_NAME_TAKEN(name=data.name, details={"field": "name"})
    if data.model_id is not None:
        get_model(session, data.model_id)
    if data.endpoint_id is not None and session.get(ModelEndpoint, data.endpoint_id) is None:
        raise NO_SUCH_ENDPOINT(endpoint_id=data.endpoint_id)
    if data.spec and not local:
        check_remote_spec(data.spec, policy)
    keys = {p.key: p for p in arena.prompts}
    unknown = sorted(set(data.answers) - set(keys))
    if unknown:
        raise UNKNOWN_ANSWER_PROMPTS(keys=", ".join(unknown[:10]), details=unknown)
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
            raise NO_SUCH_ENDPOINT(endpoint_id=endpoint_id)
        if box is None:
            raise NO_CREDENTIAL_BOX()
        try:
            return OpenAIChatModel(
                endpoint.base_url,
                endpoint.model_name,
                api_key=endpoint_api_key(endpoint, box),
                policy=policy,
            )
        except URLRefused as exc:
            raise ENDPOINT_URL_REFUSED(reason=exc.text) from None
    try:
        return build_model(spec, policy=policy)
    except ModelSpecError as exc:
        raise BAD_SPEC(reason=exc.text) from None


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
    ensure(can_manage_arena(actor), MANAGE_REFUSED)
    existing = {
        (a.prompt_id, a.competitor_id): a
        for a in session.scalars(
            select(Answer).join(ArenaPrompt).where(ArenaPrompt.arena_id == arena.id)
        )
    }
    models: dict[str, Model] = {}
    work: dict[str, list[tuple[str, list[Message]]]] = {}
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
            todo.append((str(p.id), [{"role": "user", "content": prompt_content(p)}]))
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
    ensure(can_manage_arena(actor), JUDGE_REFUSED)
    if data.spec and not local:
        check_remote_spec(data.spec, policy)
    rng = rng or random.Random()
    made = [new_battle(session, arena, rng) for _ in range(data.new_battles)]
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
    work: list[tuple[str, list[Message]]] = []
    for b in battles:
        prompt = b.prompt.text if b.prompt else ""
        image = image_data(b.prompt.image) if b.prompt and b.prompt.image else None
        a = (b.answer_a.text or "") if b.answer_a else ""
        c = (b.answer_b.text or "") if b.answer_b else ""
        work.append((f"{b.id}:ab", judge_messages(prompt, a, c, image=image)))
        work.append((f"{b.id}:ba", judge_messages(prompt, c, a, image=image)))
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
