"""Cost and speed on the race board: two streaming fake endpoints at different prices and
speeds, priced through their models' API offers; the stage's scoring rule and minimum
coverage; who sees per-sample figures."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.orm import Session

import mosu.race.handlers  # noqa: F401  registers the race's job handlers
from mosu import i18n
from mosu import race as races
from mosu.challenges.models import CutRule, EntryState, Stage, Submission, SubmissionState
from mosu.core.errors import Invalid
from mosu.core.settings import Settings
from mosu.demo.loader import load_hotline
from mosu.evals.fakeserver import FakeConfig, FakeServer, serve_in_thread
from mosu.jobs.run_store import DatabaseRunStore
from mosu.race.scoring import outcomes_of, run_name, stage_data
from mosu.registry.models import Modality, Model
from mosu.supply.models import ModelService, ServiceMode
from tests.conftest import LiveServer, World, client_for
from tests.helpers.races import (
    OPERATOR,
    Race,
    answer_key,
    drain,
    endpoint,
    future_window,
    racing_challenge,
    stage_spec,
    supplier,
)

FAST, SLOW = 0.02, 0.6  # seconds to the first token
TOKEN_RATE = 200.0  # tokens per second after the first
# fen per million tokens: 甲 cheap, 乙 dear
PRICES = {"甲队": (150, 300), "乙队": (2000, 6000)}


@dataclass
class Endpoints:
    servers: dict[str, FakeServer]
    latency: dict[str, float]


def _priced_endpoint(db: Session, org: int, url: str, name: str, prices: tuple[int, int]) -> int:
    """An endpoint of a registered model sold as an API at ``prices`` (fen per million)."""
    model = Model(organisation_id=org, name=f"{name}-模型", modality=Modality.text)
    db.add(model)
    db.flush()
    db.add(
        ModelService(
            organisation_id=org,
            model_id=model.id,
            mode=ServiceMode.api,
            price_fen=100,
            price_unit="million_tokens",
            input_price_fen=prices[0],
            output_price_fen=prices[1],
        )
    )
    ep = endpoint(db, org, url, name)
    ep.model_id = model.id
    db.flush()
    return ep.id


@contextmanager
def _two_endpoints(
    db: Session,
    race: Race,
    *,
    quality: dict[str, float] | None = None,
    faults: dict[str, dict[str, float]] | None = None,
    slow: float = SLOW,
) -> Iterator[tuple[Endpoints, dict[str, int]]]:
    """甲队 fast and cheap, 乙队 slow (``slow`` seconds to its first token) and dear, both
    streaming at ``TOKEN_RATE``."""
    answers = answer_key(db, race.version)
    latency = {"甲队": FAST, "乙队": slow}
    with ExitStack() as stack:
        servers, ids = {}, {}
        for team, org in (("甲队", race.entries["甲队"].organisation_id),
                          ("乙队", race.entries["乙队"].organisation_id)):  # fmt: skip
            assert org is not None
            config = FakeConfig(
                answers=answers,
                id_pattern=r"工单编号：(\S+)",
                choices=list(race.version.label_set),
                accuracy=(quality or {}).get(team, 1.0),
                latency=latency[team],
                token_rate=TOKEN_RATE,
                faults=(faults or {}).get(team, {}),
                hang=1.0,
            )
            url, server = stack.enter_context(serve_in_thread(config))
            servers[team] = server
            ids[team] = _priced_endpoint(db, org, url, f"model-{team}", PRICES[team])
        yield Endpoints(servers, latency), ids


def _stage(db: Session, race: Race, **extra: object) -> Stage:
    spec = stage_spec("初赛", version_id=race.version.id, daily=10, total=10)
    stage = races.add_stage(
        db,
        actor=OPERATOR,
        challenge_id=race.challenge.id,
        spec=races.StageSpec(**{**spec.__dict__, **extra}),
    )
    races.start_race(db, actor=OPERATOR, challenge_id=race.challenge.id)
    return stage


def _submit_both(
    db: Session, world: World, settings: Settings, stage: Stage, ids: dict[str, int]
) -> dict[str, Submission]:
    made = {
        "甲队": races.submit(
            db,
            actor=supplier(world, "supplier_a", world.org_a),
            stage_id=stage.id,
            endpoint_id=ids["甲队"],
            data_dir=settings.data_dir,
        ),
        "乙队": races.submit(
            db,
            actor=supplier(world, "supplier_b", world.org_b),
            stage_id=stage.id,
            endpoint_id=ids["乙队"],
            data_dir=settings.data_dir,
        ),
    }
    drain(db, settings.data_dir, [races.SUBMISSION_JOB])
    return made


def _expected(db: Session, submission: Submission, part: set[str]) -> dict[str, float]:
    """Tokens as the fake server counts them (characters of the user message and of the
    answer), read from what the engine sent and received, and their cost at the offer."""
    store = DatabaseRunStore(db.get_bind(), run_name(submission))
    try:
        outcomes = store.finished("entry")
        prompt = completion = 0
        for sample_id in part:
            o = outcomes[sample_id]
            assert o.output is not None and o.prompt_hash is not None
            messages = store.prompt(o.prompt_hash)
            assert messages is not None
            prompt += len(next(m["content"] for m in messages if m["role"] == "user"))
            completion += len(o.output)
    finally:
        store.close()
    return {"prompt": prompt, "completion": completion, "answers": len(part)}


@pytest.mark.loopback_endpoints
def test_the_board_shows_coverage_speed_tokens_and_cost_from_the_offers(
    db: Session, world: World, settings: Settings, live: LiveServer
) -> None:
    race = racing_challenge(db, world)
    stage = _stage(db, race)
    with _two_endpoints(db, race) as (fake, ids):
        subs = _submit_both(db, world, settings, stage, ids)
    assert {s.state for s in subs.values()} == {SubmissionState.succeeded}
    db.refresh(stage)
    board = races.stage_board(stage, "public")
    assert board is not None and board.unranked == []
    rows = {r.entry: r for r in board.rows}
    part = stage_data(db, stage).public
    for team, sub in subs.items():
        f = rows[team].service
        assert f is not None
        tokens = _expected(db, sub, part)
        price_in, price_out = (p / 100 for p in PRICES[team])
        cost = (tokens["prompt"] * price_in + tokens["completion"] * price_out) / 1_000_000
        assert f["coverage"] == 1.0 and f["answered"] == len(part) == board.samples
        assert (f["prompt_tokens"], f["completion_tokens"]) == (
            tokens["prompt"],
            tokens["completion"],
        )
        assert f["tokens_per_answer"] == pytest.approx(tokens["completion"] / len(part))
        assert f["cost"] == pytest.approx(cost, rel=1e-12)
        assert f["cost_per_1k"] == pytest.approx(cost / len(part) * 1000, rel=1e-12)
        assert f["ttft_p50"] >= fake.latency[team] and f["latency_p50"] >= fake.latency[team]
        assert f["truncated"] == 0
        assert rows[team].answered_score == rows[team].score == 1.0
        assert sub.service is not None and sub.service["price"] == {
            "input": price_in,
            "output": price_out,
        }
    assert rows["甲队"].service["latency_p95"] * 2 < rows["乙队"].service["latency_p50"]  # type: ignore[index]
    # same quality, 甲 cheaper: only 甲 is on the quality-cost front
    assert (rows["甲队"].pareto, rows["乙队"].pareto) == (True, False)
    # anyone may read the service figures on the public board, over HTTP
    with client_for(live, world, None) as anonymous:
        shown = anonymous.get(f"/stages/{stage.id}/leaderboard").json()
    public = {r["entry"]: r for r in shown["rows"]}
    assert public["乙队"]["service"]["cost"] == pytest.approx(rows["乙队"].service["cost"])  # type: ignore[index]
    assert "error_reasons" not in public["乙队"]
    page = live_get(live, f"/challenges/{race.challenge.id}/race")
    assert "每千样本（元）" in page and "cost-chart-stage-1" in page and "首字 p50（毫秒）" in page


def live_get(live: LiveServer, path: str) -> str:
    import httpx

    with httpx.Client(base_url=live.url, timeout=30) as client:
        response = client.get(path)
    assert response.status_code == 200, response.text
    return response.text


@pytest.mark.loopback_endpoints
def test_a_constraints_rule_leaves_out_the_entry_that_misses_it(
    db: Session, world: World, settings: Settings, live: LiveServer
) -> None:
    race = racing_challenge(db, world)
    rule = {
        "constraints": [
            {"metric": "latency_p95", "op": "<=", "value": 0.5},
            {"metric": "cost_per_1k", "op": "<=", "value": 0.2},
        ]
    }
    stage = _stage(db, race, rule=rule, cut_rule=CutRule.top_k, cut_value=2)
    db.commit()
    # published before anyone submits: on the API and on the race page
    with client_for(live, world, None) as anonymous:
        out = anonymous.get(f"/challenges/{race.challenge.id}/race").json()["stages"][0]
    assert out["scoring_rule"] == rule and out["min_coverage"] == 0.9
    assert out["scoring_rule_text"].startswith("须满足：p95 延迟 ≤ 0.5 s；每千样本成本 ≤ ¥0.2")
    assert "p95 延迟 ≤ 0.5 s" in live_get(live, f"/challenges/{race.challenge.id}/race")
    with _two_endpoints(db, race) as (_fake, ids):
        _submit_both(db, world, settings, stage, ids)
    with client_for(live, world, None) as anonymous:
        shown = anonymous.get(f"/stages/{stage.id}/leaderboard").json()
        english = anonymous.get(
            f"/stages/{stage.id}/leaderboard", headers={"Accept-Language": "en"}
        ).json()
    assert [r["entry"] for r in shown["rows"]] == ["甲队"] and shown["rule"] == rule
    assert [(r["entry"], r["rank"]) for r in shown["unranked"]] == [("乙队", 0)]
    assert "p95 延迟" in shown["unranked"][0]["reason"] and "；" in shown["unranked"][0]["reason"]
    why = english["unranked"][0]["reason"]  # each miss, in English, "; " between them
    assert why.startswith("p95 latency ") and "; cost per 1,000 samples ¥" in why
    assert not re.search(r"[\u4e00-\u9fff；]| / ", why), why
    page = httpx.get(
        f"{live.url}/challenges/{race.challenge.id}/race", cookies={"lang": "en"}, timeout=30
    ).text
    assert re.findall(r'<td class="reason">(.*?)</td>', page) == [html.escape(why)]
    db.refresh(stage)
    board = races.stage_board(stage, "public")
    assert board is not None
    assert [r.entry for r in board.rows] == ["甲队"] and board.rows[0].rank == 1
    assert board.rows[0].service["cost_per_1k"] <= 0.2  # type: ignore[index]
    [out_] = board.unranked
    dear = out_.service
    assert out_.entry == "乙队" and out_.rank == 0 and dear is not None
    reason = str(out_.reason_text())
    assert f"p95 延迟 {dear['latency_p95']:.3g} s > 0.5 s" in reason
    assert f"每千样本成本 ¥{dear['cost_per_1k']:.4g} > ¥0.2" in reason
    # the cut rule never keeps an unranked entry, and says why
    races.close_stage(
        db, actor=OPERATOR, stage_id=stage.id, data_dir=settings.data_dir, reason="测试"
    )
    db.flush()
    cut = race.entries["乙队"]
    db.refresh(cut)
    assert cut.state is EntryState.cut and cut.cut_reason is not None
    assert "未排名：p95 延迟" in i18n.render(cut.cut_reason, "zh")
    assert "not ranked: p95 latency" in i18n.render(cut.cut_reason, "en")


@pytest.mark.loopback_endpoints
def test_a_weights_rule_orders_by_the_composite_beside_the_quality_ranks(
    db: Session, world: World, settings: Settings
) -> None:
    race = racing_challenge(db, world)
    weights = {"quality": 0.2, "speed": 0.4, "cost": 0.4}
    stage = _stage(db, race, rule={"weights": weights})
    # 乙 answers best but is slow and dear; 甲 is fast and cheap but mostly wrong
    with _two_endpoints(db, race, quality={"甲队": 0.2, "乙队": 1.0}) as (_fake, ids):
        _submit_both(db, world, settings, stage, ids)
    db.refresh(stage)
    board = races.stage_board(stage, "public")
    assert board is not None
    first, second = board.rows
    assert (first.entry, second.entry) == ("甲队", "乙队")
    # min-max normalised over the two: the faster and cheaper gets 1 on both, the other 0
    assert first.composite == pytest.approx(0.2 * first.score + 0.4 + 0.4)
    assert second.composite == pytest.approx(0.2 * second.score)
    assert second.score > first.score
    # rank groups still come from the paired bootstrap of quality
    assert (second.rank, first.rank) == (1, 2)
    assert (first.position, second.position) == (1, 2)
    assert "综合分 = 0.20×质量 + 0.40×速度 + 0.40×成本" in str(races.scoring_rule_text(stage))


@pytest.mark.slow
@pytest.mark.loopback_endpoints
def test_an_entry_below_the_minimum_coverage_is_listed_incomplete(
    db: Session, world: World, settings: Settings, quick_retries: None
) -> None:
    # a test split of 60 rows (30 public), so a share of failures is not left to luck
    version = load_hotline(db, organisation_id=None, split=(0.4, 0.2, 0.4))
    race = racing_challenge(db, world, version=version)
    stage = _stage(db, race)  # minimum coverage 0.9
    # 乙's endpoint fails 85% of calls: after 4 retries about 44% of samples stay failed
    # (the chance that 27 of 30 public samples get through is about 1 in 100,000)
    faults = {"乙队": {"server_error": 0.85}}
    with _two_endpoints(db, race, faults=faults, slow=FAST) as (_fake, ids):
        subs = _submit_both(db, world, settings, stage, ids)
    assert subs["乙队"].state is SubmissionState.succeeded  # it answered; the board judges
    db.refresh(stage)
    board = races.stage_board(stage, "public")
    assert board is not None and [r.entry for r in board.rows] == ["甲队"]
    [short] = board.unranked
    assert short.entry == "乙队" and short.rank == 0 and short.service is not None
    coverage = short.service["coverage"]
    assert coverage < 0.9
    why = short.reason_text()
    assert why is not None
    assert i18n.render(why, "zh").startswith(
        f"覆盖率 {coverage:.1%} 低于最低要求 90%（错误：HTTP 500 × "
    )
    assert i18n.render(why, "en").startswith(
        f"coverage {coverage:.1%} is below the minimum 90% (errors: HTTP 500 × "
    )
    assert short.answered_score == 1.0 > short.score  # answered-only beside the strict score


def test_an_operator_publishes_the_rule_with_the_stage_over_http(
    db: Session, world: World, live: LiveServer
) -> None:
    race = racing_challenge(db, world)
    db.commit()
    body = {
        "name": "初赛",
        "task": {"prompt": {"template": "{{ 标题 }}"}, "parser": "label", "scorers": ["accuracy"]},
        "dataset_version_id": race.version.id,
        "mode": "endpoint",
        **future_window(),
        "cut_rule": "top_k",
        "cut_value": 1,
        "min_coverage": 0.95,
        "rule": {"weights": {"quality": 3, "cost": 1}},
    }
    path = f"/challenges/{race.challenge.id}/race/stages"
    with client_for(live, world, "operator") as operator:
        bad = operator.post(path, json={**body, "rule": {"weights": {"quality": -1}}})
        made = operator.post(path, json=body)
    assert bad.status_code == 422 and "计分规则不合法" in bad.json()["error"]["message"]
    assert made.status_code == 201, made.text
    out = made.json()
    assert out["min_coverage"] == 0.95
    assert out["scoring_rule"] == {"weights": {"quality": 3.0, "speed": 0.0, "cost": 1.0}}
    assert out["scoring_rule_text"].startswith("综合分 = 0.75×质量 + 0.25×成本")


def test_a_rule_is_checked_when_the_stage_is_added(db: Session, world: World) -> None:
    race = racing_challenge(db, world)
    spec = stage_spec("初赛", version_id=race.version.id)
    for bad in (
        {"constraints": [{"metric": "price", "op": "<=", "value": 1}]},
        {"weights": {"quality": 0, "speed": 0, "cost": 0}},
        {"weights": {"quality": 1}, "constraints": [{"metric": "cost_per_1k", "value": 1}]},
    ):
        with pytest.raises(Invalid, match="计分规则不合法"):
            races.add_stage(
                db,
                actor=OPERATOR,
                challenge_id=race.challenge.id,
                spec=races.StageSpec(**{**spec.__dict__, "rule": bad}),
            )
    with pytest.raises(Invalid, match="最低覆盖率"):
        races.add_stage(
            db,
            actor=OPERATOR,
            challenge_id=race.challenge.id,
            spec=races.StageSpec(**{**spec.__dict__, "min_coverage": 1.5}),
        )


@pytest.mark.loopback_endpoints
def test_only_the_team_and_operators_see_per_sample_figures(
    db: Session, world: World, settings: Settings, live: LiveServer
) -> None:
    race = racing_challenge(db, world, teams=("甲队",))
    stage = _stage(db, race)
    answers = answer_key(db, race.version)
    config = FakeConfig(answers=answers, id_pattern=r"工单编号：(\S+)", latency=FAST)
    with serve_in_thread(config) as (url, _server):
        ep = _priced_endpoint(db, world.org_a, url, "model-a", (100, 200))
        submission = races.submit(
            db,
            actor=supplier(world, "supplier_a", world.org_a),
            stage_id=stage.id,
            endpoint_id=ep,
            data_dir=settings.data_dir,
        )
        drain(db, settings.data_dir, [races.SUBMISSION_JOB])
    path = f"/submissions/{submission.id}/samples"
    with client_for(live, world, "supplier_a") as own:
        samples = own.get(path).json()
        mine = own.get(f"/submissions/{submission.id}").json()
    assert len(samples) == submission.samples and all(s["answered"] for s in samples)
    assert all(s["ttft"] >= FAST and s["finish_reason"] == "stop" for s in samples)
    assert all(s["completion_tokens"] == len(answers[s["id"]]) for s in samples)
    assert not {"output", "label", "prompt", "part"} & set(samples[0])
    assert mine["service"]["coverage"] == 1.0 and mine["price"] == {"input": 1.0, "output": 2.0}
    for other in ("supplier_b", "demand", None):
        with client_for(live, world, other) as client:
            assert client.get(path).status_code in (401, 404), other
    with client_for(live, world, "operator") as operator:
        assert len(operator.get(path).json()) == submission.samples


@pytest.mark.slow
@pytest.mark.loopback_endpoints
def test_a_dead_and_a_401_endpoint_stop_within_k_requests_and_are_never_ranked(
    db: Session, world: World, settings: Settings, live: LiveServer, quick_retries: None
) -> None:
    """The engine's fail-fast rules hold for races run as jobs; K = 5 attempts in a row."""
    race = racing_challenge(db, world)
    stage = _stage(db, race)
    config = FakeConfig(answers=answer_key(db, race.version), api_key="the-key")
    with serve_in_thread(config) as (url, locked):
        dead = _priced_endpoint(db, world.org_a, "http://127.0.0.1:9/v1", "dead", (100, 100))
        keyless = _priced_endpoint(db, world.org_b, url, "keyless", (100, 100))
        subs = _submit_both(db, world, settings, stage, {"甲队": dead, "乙队": keyless})
        assert locked.received == 1  # ≤ K: the first 401 stops the run
    attempts = outcomes_of(settings.data_dir, subs["甲队"])
    assert sum(o.attempts for o in attempts.values()) == 5
    for sub in subs.values():
        db.refresh(sub)
        assert sub.state is SubmissionState.failed
        assert sub.public_score is None and sub.private_score is None
    assert str(subs["甲队"].failure).startswith("接入点不可达（连续 5 次无应答），评测已停止")
    assert str(subs["乙队"].failure).startswith("接入点返回 HTTP 401，评测已停止")
    db.refresh(stage)
    board = races.stage_board(stage, "public")
    assert board is not None and board.rows == [] and board.unranked == []
    with client_for(live, world, "supplier_b") as team:
        mine = team.get(f"/submissions/{subs['乙队'].id}").json()
    assert mine["state"] == "failed" and mine["public_score"] is None
    assert mine["failure"].startswith("接入点返回 HTTP 401") and mine["service"]["coverage"] == 0.0
