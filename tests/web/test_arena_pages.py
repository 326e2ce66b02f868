"""Arena pages over HTTP: the voting form hides names, a vote reveals them, the leaderboard
draws its charts from the server's figures."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy.orm import Session

from tests.conftest import LiveServer, World
from tests.helpers.arena import COMPETITORS, longer_wins, make_arena, vote_many
from tests.helpers.scenarios import make_model
from tests.helpers.signin import browser, sign_in


@contextmanager
def _signed_in(live: LiveServer, world: World, who: str) -> Iterator[httpx.Client]:
    with browser(live) as client:
        answer = sign_in(client, who, world.passwords[who])
        assert answer.status_code == 303
        yield client


def test_vote_page_hides_names_until_the_vote(live: LiveServer, db: Session, world: World) -> None:
    arena = make_arena(db, world)
    with _signed_in(live, world, "expert") as client:
        page = client.get(f"/arena/{arena.id}/vote")
        assert page.status_code == 200
        assert 'id="vote-form"' in page.text and "/static/arena." in page.text
        assert not any(name in page.text for name in COMPETITORS)
        action = re.search(r'action="(/arena/\d+/battles/(\d+)/vote)"', page.text)
        assert action is not None
        same = client.get(f"/arena/{arena.id}/vote")
        assert action.group(1) in same.text, "reloading shows the same open battle"
        bad = client.post(action.group(1), data={"winner": "model_c"})
        assert bad.status_code == 422
        voted = client.post(action.group(1), data={"winner": "model_b"})
        assert voted.status_code == 303
        assert voted.headers["location"] == f"/arena/{arena.id}/battles/{action.group(2)}"
        shown = client.get(voted.headers["location"])
        assert shown.status_code == 200 and 'id="reveal"' in shown.text
        names = re.findall(r'id="model-[ab]">([^<]+)<', shown.text)
        assert len(names) == 2 and set(names) <= set(COMPETITORS)
        assert "你已投 1 票" in shown.text
        again = client.post(action.group(1), data={"winner": "model_a"})
        assert again.status_code == 303, "a repeated vote is no error page"
        assert again.headers["location"] == f"/arena/{arena.id}/vote?notice=already"
        following = client.get(again.headers["location"])
        assert 'id="vote-notice"' in following.text and 'id="vote-form"' in following.text
        assert action.group(1) not in following.text, "the next battle, not the voted one"
        assert client.get("/static/arena.js").status_code == 200


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the service test runs on both
def test_the_public_votes_anonymously(live: LiveServer, db: Session, world: World) -> None:
    arena = make_arena(db, world, votes_per_minute=2)
    for competitor in arena.competitors:
        competitor.model_id = make_model(db, world.org_a)
    db.commit()
    with browser(live) as client:
        start = client.get(f"/arena/{arena.id}/vote")
        assert start.status_code == 200 and 'id="start-anonymous"' in start.text
        assert 'id="vote-form"' not in start.text, "no battle, and no write, before the choice"
        client.cookies.set("mosu_arena_guest", "abc.def")
        forged = client.post(f"/arena/{arena.id}/battles/1/vote", data={"winner": "tie"})
        client.cookies.clear()
        assert forged.status_code == 303 and forged.headers["location"] == f"/arena/{arena.id}/vote"
        begun = client.post(f"/arena/{arena.id}/guest")
        assert begun.status_code == 303 and "mosu_arena_guest" in client.cookies
        winners = ["model_a", "model_b", "tie"]
        for k, winner in enumerate(winners):
            page = client.get(f"/arena/{arena.id}/vote")
            assert f"已收到 {k} 票" in page.text and f"你已投 {k} 票" in page.text
            action = re.search(r'action="(/arena/\d+/battles/\d+/vote)"', page.text)
            assert action is not None
            answer = client.post(action.group(1), data={"winner": winner})
            assert answer.status_code == 303
            if k < 2:
                revealed = client.get(answer.headers["location"]).text
                links = re.findall(r'id="model-[ab]"><a href="/models/(\d+)">', revealed)
                assert len(links) == 2, "the vote reveals the registry models"
        assert answer.headers["location"] == f"/arena/{arena.id}/wait", "2 votes a minute"
        wait = client.get(answer.headers["location"])
        assert wait.status_code == 429
        seconds = re.search(r'id="countdown" data-seconds="(\d+)"', wait.text)
        assert seconds is not None and 1 <= int(seconds.group(1)) <= 60
        assert f'href="/arena/{arena.id}/vote"' in wait.text
        assert f'content="{seconds.group(1)};url=/arena/{arena.id}/vote"' in wait.text
    with browser(live) as other:
        other.post(f"/arena/{arena.id}/guest")
        assert "你已投 0 票" in other.get(f"/arena/{arena.id}/vote").text, "each session its own"
    records = httpx.get(f"{live.url}/api/v1/arenas/{arena.id}/votes.jsonl", timeout=30)
    rows = [json.loads(line) for line in records.text.splitlines()]
    assert len(rows) == 2 and all(r["anonymous"] for r in rows)
    assert {r["judge"] for r in rows} == {"arena_guest_1"}
    with _signed_in(live, world, "operator") as client:
        board = client.get(f"/arena/{arena.id}")
        assert "匿名会话 #" in board.text
    assert re.search(r'<td><a href="/models/\d+">', board.text), "the board links models"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_vote_page_offers_the_public_a_choice(live: LiveServer, db: Session, world: World) -> None:
    arena = make_arena(db, world)
    answer = httpx.get(f"{live.url}/arena/{arena.id}/vote", timeout=30, follow_redirects=False)
    assert answer.status_code == 200
    assert f'href="/login?next=/arena/{arena.id}/vote"' in answer.text


def test_leaderboard_page(live: LiveServer, db: Session, world: World) -> None:
    arena = make_arena(db, world, votes_per_minute=100)
    start = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    vote_many(db, world, arena, "expert", 12, longer_wins, start=start)
    vote_many(db, world, arena, "demand", 12, lambda b: "model_a", start=start, seed=1)
    public = httpx.get(f"{live.url}/arena/{arena.id}", timeout=30)
    assert public.status_code == 200
    assert 'id="chart-intervals-data"' in public.text and 'id="chart-heatmap-data"' in public.text
    assert (
        public.text.index("详答模型")
        < public.text.index("简答模型")
        < public.text.index("敷衍模型")
    )
    assert 'id="arena-voters"' not in public.text, "voter flags are the operator's"
    assert "数据不足" in public.text, "a model that never lost has no interval to show"
    with _signed_in(live, world, "operator") as client:
        page = client.get(f"/arena/{arena.id}")
        assert 'id="arena-voters"' in page.text and "总选同一边" in page.text
    english = httpx.get(f"{live.url}/arena/{arena.id}", timeout=30, cookies={"lang": "en"})
    assert "Online Elo" in english.text and "insufficient data" in english.text
    # the heatmap's axes speak the page's language
    for answer, x, y in (
        (public, "对手（列）", "模型（行）"),
        (english, "Opponent (column)", "Model (row)"),
    ):
        found = re.search(r'id="chart-heatmap-data">(.*?)</script>', answer.text, re.S)
        assert found, "the heatmap's data"
        axes = json.loads(found[1])["layout"]
        assert (axes["xaxis"]["title"]["text"], axes["yaxis"]["title"]["text"]) == (x, y)
