"""Arena pages over HTTP: the voting form hides names, a vote reveals them, the leaderboard
draws its charts from the server's figures."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from sqlalchemy.orm import Session

from tests.conftest import LiveServer, World
from tests.helpers.arena import COMPETITORS, longer_wins, make_arena, vote_many
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
        assert 'id="vote-form"' in page.text and "/static/arena.js" in page.text
        assert not any(name in page.text for name in COMPETITORS)
        action = re.search(r'action="(/arena/\d+/battles/\d+/vote)"', page.text)
        assert action is not None
        same = client.get(f"/arena/{arena.id}/vote")
        assert action.group(1) in same.text, "reloading shows the same open battle"
        bad = client.post(action.group(1), data={"winner": "model_c"})
        assert bad.status_code == 422
        voted = client.post(action.group(1), data={"winner": "model_b"})
        assert voted.status_code == 200 and 'id="reveal"' in voted.text
        shown = re.findall(r'id="model-[ab]">([^<]+)<', voted.text)
        assert len(shown) == 2 and set(shown) <= set(COMPETITORS)
        again = client.post(action.group(1), data={"winner": "model_a"})
        assert again.status_code == 409
        assert client.get("/static/arena.js").status_code == 200


def test_vote_page_asks_the_public_to_sign_in(live: LiveServer, db: Session, world: World) -> None:
    arena = make_arena(db, world)
    answer = httpx.get(f"{live.url}/arena/{arena.id}/vote", timeout=30, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


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
