"""A service-performance stage (性能压测阶段) run through the platform against fake servers:
measured as jobs, ranked by max concurrency within the SLO, shown on the API and the race
page; a refusing and a dead endpoint are stopped within a few requests and never ranked."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

import mosu.race.handlers  # noqa: F401  registers the race's job handlers
from mosu import race as races
from mosu.challenges.models import EntryState, Stage, SubmissionMode, SubmissionState
from mosu.core.errors import Invalid
from mosu.core.settings import Settings
from mosu.evals.fakeserver import FakeConfig, serve_in_thread
from mosu.race.perf import load_result
from tests.conftest import LiveServer, World, api_client, client_for
from tests.helpers.races import (
    OPERATOR,
    TASK,
    Race,
    drain,
    endpoint,
    racing_challenge,
    stage_spec,
    supplier,
)

PERF = {"steps": [1, 2, 4], "requests_per_step": 8, "slo_p95": 0.3, "max_tokens": 5}
PERF_TASK: dict[str, Any] = {"perf": PERF, "prompt": TASK["prompt"]}


def _perf_stage(db: Session, world: World, **perf: Any) -> tuple[Race, Stage]:
    race = racing_challenge(db, world)
    spec = stage_spec("压测", version_id=race.version.id, daily=5, total=5)
    spec = races.StageSpec(**{**spec.__dict__, "task": {**PERF_TASK, "perf": {**PERF, **perf}}})
    stage = races.add_stage(db, actor=OPERATOR, challenge_id=race.challenge.id, spec=spec)
    races.start_race(db, actor=OPERATOR, challenge_id=race.challenge.id)
    return race, stage


def test_a_perf_stage_ranks_endpoints_by_max_concurrency_within_the_slo(
    db: Session, world: World, settings: Settings, live: LiveServer
) -> None:
    """甲队's server answers any number at once in 0.1 s; 乙队's one at a time, so C clients
    wait C × 0.1 s: within an SLO of 0.3 s 甲队 holds 4 and 乙队 2."""
    race, stage = _perf_stage(db, world)
    sa = supplier(world, "supplier_a", world.org_a)
    sb = supplier(world, "supplier_b", world.org_b)
    wide = FakeConfig(latency=0.1, token_rate=1000, template="社区服务中心受理")
    narrow = FakeConfig(latency=0.1, token_rate=1000, template="社区服务中心受理", capacity=1)
    with serve_in_thread(wide) as (url_a, server_a), serve_in_thread(narrow) as (url_b, _):
        ep_a = endpoint(db, world.org_a, url_a, "m")
        ep_b = endpoint(db, world.org_b, url_b, "m")
        for actor, ep in ((sa, ep_a), (sb, ep_b)):
            races.submit(
                db, actor=actor, stage_id=stage.id, endpoint_id=ep.id, data_dir=settings.data_dir
            )
        assert drain(db, settings.data_dir, [races.SUBMISSION_JOB]) == 2
        assert server_a.peak_in_flight == 4 and server_a.requests == 8 + 8 + 8
    board = stage.leaderboard_public
    assert board is not None
    assert [(r["entry"], r["score"]) for r in board["rows"]] == [("甲队", 4.0), ("乙队", 2.0)]
    perf = board["perf"]
    assert perf["slo_p95"] == 0.3 and perf["steps"] == [1, 2, 4]
    first, second = perf["entries"]
    assert first["max_concurrency_within_slo"] == 4 and second["max_concurrency_within_slo"] == 2
    assert [s["within_slo"] for s in second["steps"]] == [True, True, False]
    for step in first["steps"]:
        assert step["errors"] == 0 and step["output_tokens_mean"] == 5  # cut at max_tokens
        assert step["ttft_p50"] >= 0.1 and step["peak_in_flight"] == step["concurrency"]
    assert first["tokens_per_s_within_slo"] == first["steps"][-1]["output_tokens_per_s"]

    with api_client(live, None) as anonymous:
        api = anonymous.get(f"/stages/{stage.id}/leaderboard")
    assert api.status_code == 200
    body = api.json()
    assert body["primary"] == "max_concurrency_within_slo" and not body["full"]
    assert [e["entry"] for e in body["perf"]["entries"]] == ["甲队", "乙队"]
    assert set(body["rows"][0]) >= {"position", "entry", "score"}

    operator = client_for(live, world, "operator")
    with httpx.Client(base_url=live.url, headers=operator.headers, timeout=30) as pages:
        page = pages.get(f"/challenges/{race.challenge.id}/race")
        report = pages.get(f"/challenges/{race.challenge.id}/race/report?download=1")
        data = operator.get(f"/challenges/{race.challenge.id}/race/report").json()
    operator.close()
    (perf_report,) = [s for s in data["stages"] if s["id"] == stage.id]
    assert perf_report["perf"] and perf_report["figure"] is None  # no quality chart here
    assert perf_report["cost_figure"] is None
    assert report.status_code == 200 and "性能压测排行榜" in report.text
    assert page.status_code == 200
    assert "性能压测排行榜" in page.text and f'id="chart-perf-{stage.position}"' in page.text
    assert (
        "95% 置信区间"
        not in page.text.split(f'id="stage-{stage.position}"')[1].split("</article>")[0]
    )  # no quality board for a perf stage

    races.close_stage(
        db, actor=OPERATOR, stage_id=stage.id, data_dir=settings.data_dir, reason="压测完成"
    )
    final = stage.leaderboard_final
    assert final is not None and [e["entry"] for e in final["perf"]["entries"]] == ["甲队", "乙队"]
    assert race.entries["甲队"].state is EntryState.active  # top 1 goes on
    assert race.entries["乙队"].state is EntryState.cut
    assert "SLO 内最大并发 2" in str(race.entries["乙队"].cut_reason)  # not a quality score


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_refusing_and_a_dead_endpoint_stop_at_once_and_are_not_ranked(
    db: Session, world: World, settings: Settings
) -> None:
    _, stage = _perf_stage(db, world)
    sa = supplier(world, "supplier_a", world.org_a)
    sb = supplier(world, "supplier_b", world.org_b)
    with serve_in_thread(FakeConfig(api_key="the-key")) as (url, server):
        keyless = endpoint(db, world.org_a, url, "m")
        dead = endpoint(db, world.org_b, f"http://127.0.0.1:{_dead_port()}/v1", "m")
        refused = races.submit(
            db, actor=sa, stage_id=stage.id, endpoint_id=keyless.id, data_dir=settings.data_dir
        )
        gone = races.submit(
            db, actor=sb, stage_id=stage.id, endpoint_id=dead.id, data_dir=settings.data_dir
        )
        drain(db, settings.data_dir, [races.SUBMISSION_JOB])
        assert server.received == 1
    db.refresh(refused)
    db.refresh(gone)
    assert refused.state is gone.state is SubmissionState.failed
    assert str(refused.failure) == "接入点返回 HTTP 401，评测已停止：HTTP 401 × 1"
    assert str(gone.failure).startswith("接入点不可达（连续 5 次无应答）")
    result = load_result(settings.data_dir, gone)
    assert result is not None and [s.requests for s in result.steps] == [5]
    assert refused.public_score is None and gone.public_score is None
    assert stage.leaderboard_public is not None and stage.leaderboard_public["rows"] == []


def test_a_perf_stage_takes_endpoints_and_a_valid_section(db: Session, world: World) -> None:
    race = racing_challenge(db, world)
    spec = stage_spec("压测", version_id=race.version.id)
    files = races.StageSpec(
        **{**spec.__dict__, "task": PERF_TASK, "mode": SubmissionMode.predictions}
    )
    with pytest.raises(Invalid, match="性能压测阶段只接受模型端点提交"):
        races.add_stage(db, actor=OPERATOR, challenge_id=race.challenge.id, spec=files)
    falling = races.StageSpec(**{**spec.__dict__, "task": {**PERF_TASK, "perf": {"steps": [4, 1]}}})
    with pytest.raises(Invalid, match="steps must rise"):
        races.add_stage(db, actor=OPERATOR, challenge_id=race.challenge.id, spec=falling)
    unknown = races.StageSpec(**{**spec.__dict__, "task": {**PERF_TASK, "perf": {"slo": 3}}})
    with pytest.raises(Invalid, match="性能压测设置有误") as unknown_refused:
        races.add_stage(db, actor=OPERATOR, challenge_id=race.challenge.id, spec=unknown)
    assert unknown_refused.value.code == "race.invalid_perf"
