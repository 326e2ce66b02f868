"""The arena's rules on a real database: blind battles, votes, abuse flags, judges, import."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mosu.arena import battles, board, guests, service
from mosu.arena.judge import JUDGE_PATTERN
from mosu.arena.models import Vote
from mosu.arena.schemas import ArenaIn, CompetitorIn, JudgeIn, PromptSource
from mosu.arena.votes import VoteFormatError, parse_votes
from mosu.core.errors import Conflict, Forbidden, Invalid, NotFound, TooManyRequests
from mosu.evals.fakeserver import FakeConfig, prompt_key, serve_in_thread
from mosu.evals.netpolicy import LOCAL
from mosu.permissions import Actor
from tests.conftest import World
from tests.helpers.arena import PROMPTS, actor, longer_wins, make_arena, vote_many

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def test_a_battle_is_blind_until_its_voter_votes(db: Session, world: World) -> None:
    arena = make_arena(db, world)
    expert = actor(world, "expert")
    battle = service.serve_battle(db, actor=expert, arena=arena, rng=random.Random(1))
    shown = service.battle_out(battle, viewer_id=expert.user_id)
    assert shown.prompt in PROMPTS and shown.answer_a and shown.answer_b
    assert not shown.voted and shown.model_a is None and shown.model_b is None
    names = {c.name for c in arena.competitors}
    assert not any(n in shown.model_dump_json() for n in names)
    # asking again gives the same open battle, not a fresh draw to fish with
    again = service.serve_battle(db, actor=expert, arena=arena, rng=random.Random(2))
    assert again.id == battle.id
    # another voter cannot open it
    with pytest.raises(NotFound):
        service.own_battle(db, actor=actor(world, "demand"), arena=arena, battle_id=battle.id)
    service.cast_vote(db, actor=expert, arena=arena, battle=battle, winner="tie", now=START)
    revealed = service.battle_out(battle, viewer_id=expert.user_id)
    assert revealed.voted and revealed.winner == "tie"
    assert {revealed.model_a, revealed.model_b} <= names and revealed.model_a != revealed.model_b


def test_sides_are_random_and_every_model_plays(db: Session, world: World) -> None:
    arena = make_arena(db, world)
    ids = vote_many(db, world, arena, "expert", 6, longer_wins, start=START, seed=3)
    ids += vote_many(
        db, world, arena, "demand", 6, longer_wins, start=START + dt.timedelta(hours=1), seed=4
    )
    out = board.export_records(db, arena)
    assert len(out) == len(ids) == 12
    first_seats = {r["model_a"] for r in out}
    assert len(first_seats) == 3, "each model sat on side A at least once"
    played = {r["model_a"] for r in out} | {r["model_b"] for r in out}
    assert played == {c.name for c in arena.competitors}


def test_double_votes_are_refused_by_the_rule_and_by_the_database(
    db: Session, world: World
) -> None:
    arena = make_arena(db, world)
    expert = actor(world, "expert")
    battle = service.serve_battle(db, actor=expert, arena=arena)
    service.cast_vote(db, actor=expert, arena=arena, battle=battle, winner="model_a", now=START)
    db.commit()
    with pytest.raises(Conflict):
        service.cast_vote(db, actor=expert, arena=arena, battle=battle, winner="model_b", now=START)
    db.add(Vote(battle_id=battle.id, voter_id=expert.user_id, source="human", winner="model_b"))
    with pytest.raises(IntegrityError):
        db.flush()
    db.rollback()
    with pytest.raises(Forbidden):
        service.cast_vote(
            db, actor=actor(world, "demand"), arena=arena, battle=battle, winner="tie", now=START
        )


def test_votes_per_minute_are_limited(db: Session, world: World) -> None:
    arena = make_arena(db, world, votes_per_minute=3)
    expert = actor(world, "expert")
    for k in range(3):
        battle = service.serve_battle(db, actor=expert, arena=arena)
        now = START + dt.timedelta(seconds=10 * k)
        service.cast_vote(db, actor=expert, arena=arena, battle=battle, winner="tie", now=now)
    battle = service.serve_battle(db, actor=expert, arena=arena)
    with pytest.raises(service.RateLimited) as caught:
        service.cast_vote(
            db,
            actor=expert,
            arena=arena,
            battle=battle,
            winner="tie",
            now=START + dt.timedelta(seconds=30),
        )
    assert caught.value.status == 429
    later = START + dt.timedelta(seconds=61)
    service.cast_vote(db, actor=expert, arena=arena, battle=battle, winner="tie", now=later)


def test_one_sided_and_fast_voters_are_flagged_and_left_out(db: Session, world: World) -> None:
    arena = make_arena(db, world, votes_per_minute=100)
    vote_many(db, world, arena, "expert", 12, longer_wins, start=START, seed=1)
    vote_many(db, world, arena, "demand", 12, lambda b: "model_a", start=START, seed=2)
    vote_many(db, world, arena, "supplier_b", 6, longer_wins, start=START, think=0.5, seed=3)
    flags = {f.username: f for f in board.voter_flags(db, arena)}
    assert not flags["expert"].one_sided and not flags["expert"].too_fast
    assert flags["demand"].one_sided and flags["demand"].share_a == 1.0
    assert flags["supplier_b"].too_fast and flags["supplier_b"].fast_votes == 6
    assert not flags["supplier_b"].one_sided
    rated = board.arena_board(db, arena, rounds=20)
    assert rated.excluded_voters == 2 and len(rated.battles) == 12
    everyone = board.arena_board(db, arena, exclude_flagged=False, rounds=20)
    assert len(everyone.battles) == 30


def test_anonymous_sessions_vote_under_the_same_limits_and_flags(db: Session, world: World) -> None:
    arena = make_arena(db, world, votes_per_minute=3)
    public = Actor()
    with pytest.raises(Forbidden):
        service.serve_battle(db, actor=public, arena=arena)
    guest, cookie = guests.start_guest(db, secret_key="k" * 40)
    assert guests.guest_for(db, secret_key="k" * 40, cookie=cookie) is guest
    assert guests.guest_for(db, secret_key="other" * 8, cookie=cookie) is None
    assert guest.token_digest not in cookie, "only the digest is kept"
    served = []
    for k in range(3):
        battle = service.serve_battle(db, actor=public, arena=arena, guest_id=guest.id)
        battle.created_at = START + dt.timedelta(seconds=10 * k)
        now = battle.created_at + dt.timedelta(seconds=0.5)
        service.cast_vote(
            db,
            actor=public,
            arena=arena,
            battle=battle,
            winner="model_a",
            now=now,
            guest_id=guest.id,
        )
        served.append(battle.id)
    with pytest.raises(NotFound):
        service.own_battle(db, actor=public, arena=arena, battle_id=served[0])
    battle = service.serve_battle(db, actor=public, arena=arena, guest_id=guest.id)
    wait = START + dt.timedelta(seconds=30)
    with pytest.raises(service.RateLimited) as caught:
        service.cast_vote(
            db, actor=public, arena=arena, battle=battle, winner="tie", now=wait, guest_id=guest.id
        )
    assert caught.value.retry_after == 31, "the first vote leaves the minute at 61 s"
    voter = battles.Voter(guest_id=guest.id)
    assert battles.seconds_to_wait(db, arena, voter, now=wait) == 31
    assert battles.vote_counts(db, arena, voter) == (3, 3)
    (flags,) = board.voter_flags(db, arena)
    assert flags.guest_id == guest.id and flags.voter_id is None and flags.too_fast
    assert board.arena_board(db, arena, rounds=5).excluded_voters == 1
    address = {"secret_key": "k" * 40, "address": "203.0.113.9"}
    for _ in range(guests.SESSIONS_PER_ADDRESS_HOUR):
        guests.start_guest(db, **address, now=START)
    with pytest.raises(TooManyRequests) as limited:
        guests.start_guest(db, **address, now=START + dt.timedelta(minutes=10))
    assert limited.value.retry_after == 50 * 60
    guests.start_guest(db, **address, now=START + dt.timedelta(minutes=61))


def test_leaderboard_orders_the_models_people_prefer(db: Session, world: World) -> None:
    arena = make_arena(db, world, votes_per_minute=100)
    vote_many(db, world, arena, "expert", 30, longer_wins, start=START, seed=5)
    rated = board.arena_board(db, arena, rounds=50)
    assert rated.board is not None
    order = [r.model for r in rated.board.rows()]
    assert order == ["详答模型", "简答模型", "敷衍模型"]
    assert rated.ridge > 0, "the best model never lost: ratings need the small-arena penalty"
    flagged = {r.model: r.insufficient_data for r in rated.board.rows()}
    assert flagged["详答模型"], "it never lost: its rating rests on the penalty"
    assert set(rated.elo) == set(order)


def test_export_reads_back_and_imports_into_another_arena(db: Session, world: World) -> None:
    arena = make_arena(db, world, votes_per_minute=100)
    vote_many(db, world, arena, "expert", 10, longer_wins, start=START, seed=6)
    records = board.export_records(db, arena)
    assert {r["judge"] for r in records} == {"arena_user_1"}, "voters are anonymous"
    assert all(r["tstamp"] >= START.timestamp() for r in records)
    text = "".join(__import__("json").dumps(r, ensure_ascii=False) + "\n" for r in records)
    assert len(parse_votes(text)) == 10
    other = service.create_arena(
        db, actor=actor(world, "operator"), data=ArenaIn(name="外部投票", prompts=["占位"])
    )
    report = board.import_votes(db, actor=actor(world, "operator"), arena=other, records=records)
    assert report.imported == 10 and sorted(report.new_competitors) == sorted(
        {r["model_a"] for r in records} | {r["model_b"] for r in records}
    )
    a = board.arena_board(db, arena, rounds=0)
    b = board.arena_board(db, other, rounds=0)
    assert a.board is not None and b.board is not None
    assert [r.model for r in a.board.rows()] == [r.model for r in b.board.rows()]
    assert a.board.rating == pytest.approx(b.board.rating)


def test_bad_imported_votes_are_each_reported_and_nothing_is_kept(
    db: Session, world: World
) -> None:
    arena = make_arena(db, world)
    records = [
        {"model_a": "x", "model_b": "y", "winner": "model_a"},
        {"model_a": "x", "model_b": "y", "winner": "both"},
        {"model_a": "x", "model_b": "y", "winner": "tie", "tstamp": "yesterday"},
        "not a record",
    ]
    with pytest.raises(VoteFormatError) as caught:
        board.import_votes(db, actor=actor(world, "operator"), arena=arena, records=records)
    where = [p.location for p in caught.value.problems]
    assert where == ["record 2", "record 3", "record 4"]
    with pytest.raises(Forbidden):
        board.import_votes(db, actor=actor(world, "expert"), arena=arena, records=records[:1])


def test_api_specs_cannot_run_code_or_read_server_keys(db: Session, world: World) -> None:
    arena = make_arena(db, world)
    operator = actor(world, "operator")
    for spec in ("python:os:getcwd", "baseline:majority", "openai:http://x/v1#m?key_env=HOME"):
        with pytest.raises(Invalid):
            service.add_competitor(
                db, actor=operator, arena=arena, data=CompetitorIn(name=spec, spec=spec)
            )
    with pytest.raises(ValidationError):
        ArenaIn.model_validate(
            {"name": "x", "source": {"dataset_version_id": 1, "splits": ["test"]}}
        )


def test_answers_come_from_endpoints_through_the_engine(db: Session, world: World) -> None:
    operator = actor(world, "operator")
    arena = service.create_arena(
        db, actor=operator, data=ArenaIn(name="接口竞技场", prompts=PROMPTS[:3])
    )
    gold = {prompt_key(p): f"针对“{p}”的详细答复：已派单，三日内回访。" for p in PROMPTS}
    config = FakeConfig(answers=gold, accuracy_by_model={"good": 1.0, "bad": 0.0})
    with serve_in_thread(config) as (url, server):
        for name in ("good", "bad"):
            service.add_competitor(
                db,
                actor=operator,
                arena=arena,
                data=CompetitorIn(name=name, spec=f"openai:{url}#{name}?retries=0"),
                policy=LOCAL,  # the fake endpoints are on loopback
            )
        report = service.generate_answers(db, actor=operator, arena=arena, policy=LOCAL)
        assert (report.generated, report.errors) == (6, 0)
        again = service.generate_answers(db, actor=operator, arena=arena, policy=LOCAL)
        assert (again.generated, again.already) == (0, 6)
        assert server.requests == 6
    table = battles.answer_table(db, arena)
    good, bad = arena.competitors
    assert all("详细答复" in (a.text or "") for a in table[good.id].values())
    assert all(a.text == "不知道" for a in table[bad.id].values())


def test_judge_sees_both_orders_and_agrees_with_people(db: Session, world: World) -> None:
    arena = make_arena(db, world, votes_per_minute=100)
    vote_many(db, world, arena, "expert", 12, longer_wins, start=START, seed=8)
    operator = actor(world, "operator")
    with serve_in_thread(FakeConfig(pair_pattern=JUDGE_PATTERN)) as (url, server):
        data = JudgeIn(name="fair-judge", spec=f"openai:{url}#judge?retries=0", new_battles=4)
        report = service.run_judge(db, actor=operator, arena=arena, data=data, policy=LOCAL)
        assert (report.judged, report.new_battles, report.errors) == (16, 4, 0)
        assert server.requests == 32, "every battle is judged in both orders"
        rerun = service.run_judge(
            db,
            actor=operator,
            arena=arena,
            data=data.model_copy(update={"new_battles": 0}),
            policy=LOCAL,
        )
        assert rerun.judged == 0
    db.commit()
    (fair,) = board.agreement(db, arena)
    assert fair.battles == 12 and fair.agree == 12 and fair.rate == 1.0
    judged = board.arena_board(db, arena, selection="judge", rounds=0)
    assert len(judged.battles) == 16
    people = board.arena_board(db, arena, selection="human", rounds=0)
    assert len(people.battles) == 12, "judge votes are kept apart from people's"


def test_a_judge_biased_to_the_first_answer_cancels_out(db: Session, world: World) -> None:
    arena = make_arena(db, world, votes_per_minute=100)
    vote_many(db, world, arena, "expert", 8, longer_wins, start=START, seed=9)
    operator = actor(world, "operator")
    config = FakeConfig(pair_pattern=JUDGE_PATTERN, judge_bias=1.0)
    with serve_in_thread(config) as (url, _):
        data = JudgeIn(name="biased", spec=f"openai:{url}#judge?retries=0")
        service.run_judge(db, actor=operator, arena=arena, data=data, policy=LOCAL)
    db.commit()
    winners = {r["winner"] for r in board.export_records(db, arena, selection="judge")}
    assert winners == {"tie"}
    (biased,) = board.agreement(db, arena)
    assert biased.decisive_battles > 0 and biased.decisive_agree == 0


def test_judge_failures_leave_battles_unjudged(db: Session, world: World) -> None:
    arena = make_arena(db, world, votes_per_minute=100)
    vote_many(db, world, arena, "expert", 3, longer_wins, start=START, seed=10)
    operator = actor(world, "operator")
    with serve_in_thread(FakeConfig(faults={"server_error": 1.0})) as (url, _):
        data = JudgeIn(name="down", spec=f"openai:{url}#judge?retries=0")
        report = service.run_judge(db, actor=operator, arena=arena, data=data, policy=LOCAL)
    assert (report.judged, report.errors) == (0, 3)
    assert "HTTP 500" in report.problems[0]


def test_cli_exports_votes_that_rank_reads(
    db: Session, world: World, settings: object, tmp_path: object
) -> None:
    from pathlib import Path

    from typer.testing import CliRunner

    from mosu.arena.votes import read_votes
    from mosu.cli import app
    from tests.conftest import TEST_SECRET

    arena = make_arena(db, world, votes_per_minute=100)
    vote_many(db, world, arena, "expert", 9, longer_wins, start=START, seed=11)
    env = {"MOSU_DATABASE_URL": settings.database_url, "MOSU_SECRET_KEY": TEST_SECRET}  # type: ignore[attr-defined]
    out = Path(str(tmp_path)) / "votes.jsonl"
    result = CliRunner().invoke(app, ["arena", "export", arena.name, str(out)], env=env)
    assert result.exit_code == 0, result.output
    assert len(read_votes(out)) == 9
    missing = CliRunner().invoke(app, ["arena", "export", "没有这个", str(out)], env=env)
    assert missing.exit_code == 1
    ranked = CliRunner().invoke(app, ["arena", "rank", str(out), "--json", "--ridge", "0.01"])
    assert ranked.exit_code == 0 and "详答模型" in ranked.output


def test_a_registry_endpoint_competes_with_its_stored_key(
    app: object, db: Session, world: World
) -> None:
    from mosu.registry.ai_models import create_model
    from mosu.registry.endpoints import create_endpoint
    from mosu.registry.models import Modality
    from mosu.registry.schemas import EndpointIn, ModelIn

    operator = actor(world, "operator")
    box = app.state.credential_box  # type: ignore[attr-defined]
    arena = service.create_arena(
        db, actor=operator, data=ArenaIn(name="接入点竞技场", prompts=PROMPTS[:2])
    )
    gold = {prompt_key(p): f"答复：{p}" for p in PROMPTS}
    with serve_in_thread(FakeConfig(answers=gold)) as (url, server):
        model = create_model(
            db,
            actor=operator,
            data=ModelIn(organisation_id=world.org_a, name="甲问答模型", modality=Modality.text),
        )
        endpoint = create_endpoint(
            db,
            actor=operator,
            data=EndpointIn(
                organisation_id=world.org_a,
                model_id=model.id,
                name="甲的接入点",
                base_url=url,
                model_name="jia",
                api_key="sk-arena-test",  # type: ignore[arg-type]
            ),
            box=box,
            policy=LOCAL,
        )
        service.add_competitor(
            db,
            actor=operator,
            arena=arena,
            data=CompetitorIn(name="甲问答模型", model_id=model.id, endpoint_id=endpoint.id),
        )
        report = service.generate_answers(db, actor=operator, arena=arena, box=box, policy=LOCAL)
        assert (report.generated, report.errors) == (2, 0) and server.requests == 2
        with pytest.raises(Invalid):  # a stored key is only opened with the credential box
            service._model_for(db, endpoint_id=endpoint.id, spec="", box=None, policy=LOCAL)
    (out,) = service.arena_out(db, arena).competitors
    assert out.kind == "endpoint" and out.answers == 2 and out.model_id == model.id


def test_prompts_from_a_data_set_version_never_include_hidden_rows(
    db: Session, world: World
) -> None:
    import json

    from mosu.corpus import catalogue as corpus_catalogue
    from mosu.corpus import imports as corpus_imports
    from mosu.corpus.readers import Part
    from mosu.corpus.schemas import DatasetIn, ImportOptions, Roles

    operator = actor(world, "operator")
    lines = [
        {"id": "a", "title": "路灯不亮", "text": "晚上一片漆黑", "label": "市容", "split": "dev"},
        {"id": "b", "title": "噪音扰民", "text": "工地夜间施工", "label": "环保", "split": "dev"},
        {"id": "c", "title": "训练留言", "text": "训练集内容", "label": "市容", "split": "train"},
        {"id": "d", "title": "隐藏考题", "text": "绝密测试内容", "label": "环保", "split": "test"},
    ]
    content = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines).encode()
    dataset = corpus_catalogue.create_dataset(db, actor=operator, data=DatasetIn(name="留言语料"))
    result = corpus_imports.import_version(
        db,
        actor=operator,
        dataset=dataset,
        parts=[Part("m.jsonl", content=content)],
        options=ImportOptions(roles=Roles(input_fields=["title", "text"])),
    )
    assert result.version is not None
    source = {
        "dataset_version_id": result.version.id,
        "splits": ["dev", "train"],
        "fields": ["title", "text"],
    }
    arena = service.create_arena(
        db, actor=operator, data=ArenaIn.model_validate({"name": "语料竞技场", "source": source})
    )
    texts = {p.key: p.text for p in arena.prompts}
    assert texts == {
        "a": "路灯不亮\n晚上一片漆黑",
        "b": "噪音扰民\n工地夜间施工",
        "c": "训练留言\n训练集内容",
    }
    assert arena.dataset_version_id == result.version.id
    with pytest.raises(Conflict):
        service.create_arena(
            db,
            actor=operator,
            data=ArenaIn.model_validate({"name": "语料竞技场", "source": source}),
        )
    # the service refuses a hidden split itself, not only the request schema
    unchecked = ArenaIn.model_construct(
        name="隐藏竞技场",
        prompts=[],
        source=PromptSource.model_construct(
            dataset_version_id=result.version.id, splits=["test"], fields=None, limit=200
        ),
        votes_per_minute=6,
        read_chars_per_second=30.0,
    )
    with pytest.raises(Invalid):
        service.create_arena(db, actor=operator, data=unchecked)
    with pytest.raises(Forbidden):
        service.create_arena(
            db, actor=actor(world, "expert"), data=ArenaIn(name="专家竞技场", prompts=["问"])
        )
