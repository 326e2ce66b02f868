"""The arena over HTTP: a whole arena through the API, abuse attempts, and blindness
checked on every route as the voter."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

from mosu.app import API_PREFIX
from mosu.arena.judge import JUDGE_PATTERN
from mosu.evals.fakeserver import FakeConfig, prompt_key, serve_in_thread
from tests.conftest import LiveServer, World, client_for
from tests.helpers.arena import PROMPTS
from tests.helpers.routes import checked_routes
from tests.helpers.signin import browser, sign_in

pytestmark = pytest.mark.loopback_endpoints  # the fake endpoints run on loopback

NAMES = ("天枢答复", "天璇答复", "天玑答复")


def _arena(ops: httpx.Client, url: str, **rules: object) -> int:
    created = ops.post("/arenas", json={"name": "接口竞技场", "prompts": PROMPTS, **rules})
    assert created.status_code == 201, created.text
    arena_id = int(created.json()["id"])
    for name in NAMES:
        spec = f"openai:{url}#{name}?retries=0"
        answer = ops.post(f"/arenas/{arena_id}/competitors", json={"name": name, "spec": spec})
        assert answer.status_code == 201, answer.text
    report = ops.post(f"/arenas/{arena_id}/answers").json()
    assert (report["generated"], report["errors"]) == (18, 0)
    return arena_id


def _config() -> FakeConfig:
    gold = {
        prompt_key(p): f"关于“{p}”：已转有关部门，三个工作日内联系您并上门核实。" for p in PROMPTS
    }
    accuracy = {"天枢答复": 1.0, "天璇答复": 0.5, "天玑答复": 0.0}
    return FakeConfig(answers=gold, accuracy_by_model=accuracy, pair_pattern=JUDGE_PATTERN)


def test_an_arena_through_the_api(live: LiveServer, world: World) -> None:
    with (
        serve_in_thread(_config()) as (url, _),
        client_for(live, world, "operator") as ops,
        client_for(live, world, "expert") as expert,
        client_for(live, world, "demand") as demand,
    ):
        arena_id = _arena(ops, url, votes_per_minute=100)
        for _ in range(8):
            battle = expert.post(f"/arenas/{arena_id}/battles").json()
            assert battle["model_a"] is None and battle["model_b"] is None
            assert not set(NAMES) & set(json.dumps(battle, ensure_ascii=False).split('"'))
            a, b = len(battle["answer_a"]), len(battle["answer_b"])
            winner = "model_a" if a > b else "model_b" if b > a else "tie"
            voted = expert.post(
                f"/arenas/{arena_id}/battles/{battle['id']}/vote", json={"winner": winner}
            )
            assert voted.status_code == 200, voted.text
            shown = voted.json()
            assert shown["voted"] and {shown["model_a"], shown["model_b"]} <= set(NAMES)
            again = expert.post(
                f"/arenas/{arena_id}/battles/{battle['id']}/vote", json={"winner": "tie"}
            )
            assert again.status_code == 409, "a second vote on the same battle is refused"
            assert demand.get(f"/arenas/{arena_id}/battles/{battle['id']}").status_code == 404
        judged = ops.post(
            f"/arenas/{arena_id}/judge",
            json={"name": "fake-judge", "spec": f"openai:{url}#judge?retries=0"},
        ).json()
        assert judged["judged"] == 8
        flagged = ops.get(f"/arenas/{arena_id}/leaderboard").json()
        assert flagged["excluded_voters"] == 1, "a script votes faster than anyone reads"
        board = ops.get(f"/arenas/{arena_id}/leaderboard?exclude_flagged=false").json()
        assert board["battles"] == 8 and board["rows"][0]["model"] == "天枢答复"
        rows = board["rows"]
        bounded = [r for r in rows if None not in (r["lower"], r["upper"])]
        assert all(r["lower"] <= r["rating"] <= r["upper"] for r in bounded)
        assert all(isinstance(r["insufficient_data"], bool) and r["group"] == 0 for r in rows)
        assert board["groups"] == 1 and board["penalty"] >= 0
        assert {"elo", "rank"} <= set(board["rows"][0])
        assert ops.get(f"/arenas/{arena_id}/agreement").json() == [], "only a flagged voter"
        (agree,) = ops.get(f"/arenas/{arena_id}/agreement?exclude_flagged=false").json()
        assert agree["judge"] == "fake-judge" and agree["rate"] == 1.0
        exported = ops.get(f"/arenas/{arena_id}/votes.jsonl").text.splitlines()
        records = [json.loads(line) for line in exported]
        assert len(records) == 16 and {r["winner"] for r in records} <= {
            "model_a",
            "model_b",
            "tie",
            "tie (bothbad)",
        }
        assert "expert" not in "".join(exported), "voters are exported anonymously"
        posted = ops.post(f"/arenas/{arena_id}/votes", json=[{"model_a": "x", "winner": "tie"}])
        assert posted.status_code == 400 and posted.json()["error"]["code"] == "arena.bad_votes"
        assert posted.json()["error"]["details"][0]["location"] == "record 1"
        spec = ops.post(
            f"/arenas/{arena_id}/competitors", json={"name": "code", "spec": "python:os:getcwd"}
        )
        assert spec.status_code == 422


def test_rate_limit_and_flags_over_http(live: LiveServer, world: World) -> None:
    with (
        serve_in_thread(_config()) as (url, _),
        client_for(live, world, "operator") as ops,
        client_for(live, world, "expert") as expert,
    ):
        arena_id = _arena(ops, url, votes_per_minute=3, read_chars_per_second=5)
        statuses = []
        for _ in range(4):
            battle = expert.post(f"/arenas/{arena_id}/battles").json()
            answer = expert.post(
                f"/arenas/{arena_id}/battles/{battle['id']}/vote", json={"winner": "model_a"}
            )
            statuses.append(answer.status_code)
        assert statuses == [200, 200, 200, 429]
        assert 1 <= int(answer.headers["Retry-After"]) <= 60
        assert answer.json()["error"]["details"]["votes_per_minute"] == 3
        (flags,) = ops.get(f"/arenas/{arena_id}/voters").json()
        assert flags["username"] == "expert" and flags["votes"] == 3
        assert flags["too_fast"] and flags["fast_votes"] == 3, "instant votes beat reading"
        assert expert.get(f"/arenas/{arena_id}/voters").status_code == 403


PARAM = re.compile(r"{(\w+)(?::\w+)?}")


def test_no_route_shows_the_voter_an_unvoted_pairing(
    app: FastAPI, live: LiveServer, world: World, db: Session
) -> None:
    """Every GET route (API and pages) as the voter and as others, with the arena's and the
    battle's ids: none names exactly the two competitors of the unvoted battle."""
    with (
        serve_in_thread(_config()) as (url, _),
        client_for(live, world, "operator") as ops,
        client_for(live, world, "expert") as expert,
    ):
        arena_id = _arena(ops, url)
        battle = expert.post(f"/arenas/{arena_id}/battles").json()
    from mosu.arena.models import Battle

    row = db.get(Battle, battle["id"])
    assert row is not None
    pair = {row.competitor_a.name, row.competitor_b.name}
    (third,) = set(NAMES) - pair
    ids = {"arena_id": arena_id, "battle_id": battle["id"], "sha256": "0" * 64}
    paths = sorted(
        {r.path for r in checked_routes(app) if "GET" in r.methods and "arena" in r.path}
    )
    assert len(paths) >= 8
    seen = 0
    for who in ("expert", "operator", "demand"):
        with browser(live) as client:
            assert sign_in(client, who, world.passwords[who]).status_code == 303
            cookie = dict(client.cookies)
        token = {"Authorization": f"Bearer {world.tokens[who]}"}
        for path in paths:
            target = PARAM.sub(lambda m: str(ids[m.group(1)]), path)
            api = path.startswith(API_PREFIX)
            answer = httpx.get(
                live.url + target,
                headers=token if api else {},
                cookies=None if api else cookie,
                timeout=30,
            )
            assert answer.status_code < 500, f"{target} as {who}: {answer.status_code}"
            body = answer.text
            if all(name in body for name in pair):
                assert third in body, f"{target} as {who} names the unvoted battle's pair"
            seen += 1
    assert seen == 3 * len(paths)
