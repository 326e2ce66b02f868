"""The overview counts the whole community and links each figure to its list; a model's page
gathers its races, arena ratings, offers and derived models, as its reader may see them."""

from __future__ import annotations

import datetime as dt
import json
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.arena.models import Competitor
from mosu.challenges.models import ApplicationModel, ChallengeState, Entry, EntryState, StageState
from mosu.core import clock
from mosu.race.scoring import Board, BoardRow
from mosu.registry.models import Modality, Model
from mosu.supply.models import ModelService, ServiceMode, VoucherKind
from tests.conftest import LiveServer, World
from tests.helpers.arena import longer_wins, make_arena, vote_many
from tests.helpers.races import predictions_race, racing_challenge, shortlisting_challenge
from tests.helpers.signin import browser, sign_in
from tests.helpers.supply import apply, approve, make_programme, member


def _stat(html: str, key: str) -> str:
    found = re.search(rf'id="stat-{key}"[^>]*><span class="stat-value"[^>]*>([^<]+)<', html)
    assert found, key
    return found.group(1)


def _figure(html: str, chart: str) -> dict[str, object]:
    found = re.search(rf'<script type="application/json" id="{chart}-data">(.*?)</script>', html)
    assert found, chart
    return json.loads(found.group(1))  # type: ignore[no-any-return]


def test_the_overview_counts_the_whole_community_and_links_each_figure(
    db: Session, world: World, live: LiveServer
) -> None:
    racing = racing_challenge(db, world)
    predictions_race(db, racing)
    shortlisting_challenge(db, world, title="另一个榜", shortlist_places=3, winner_places=1)
    draft = shortlisting_challenge(db, world, title="草稿榜", shortlist_places=3, winner_places=1)
    draft.state = ChallengeState.draft
    db.commit()
    arena = make_arena(db, world)
    start = clock.now() - dt.timedelta(hours=2)
    vote_many(db, world, arena, "supplier_a", 4, longer_wins, start=start)
    programme = make_programme(db, world, kind=VoucherKind.model)
    buyer = member(world, "supplier_a", world.org_a)
    approve(db, world, apply(db, buyer, programme.id, world.org_b).id)  # ¥10,000 committed

    with browser(live) as client:
        zh = client.get("/").text
        client.cookies.set("lang", "en")
        en = client.get("/").text
    assert _stat(zh, "challenges") == "2"  # the draft is its issuer's alone
    assert "入围评审 1 · 赛马中 1" in zh
    assert _stat(zh, "racing") == "1" and "开放中的阶段：1" in zh
    assert _stat(zh, "arena") == "4"
    vouchers_zh = zh[zh.index('id="stat-vouchers"') :][:300]
    assert '<span class="money" title="10,000 元">1万</span>' in vouchers_zh, vouchers_zh
    assert _stat(en, "vouchers") == "¥10,000" and "Vouchers committed" in en
    for href in ('href="/challenges?state=racing"', 'href="/arena"', 'href="/supply"'):
        assert href in zh
    states = _figure(zh, "chart-challenges")["data"][0]  # type: ignore[index]
    assert "/challenges?state=racing" in states["customdata"]
    assert "/challenges?state=draft" not in states["customdata"]
    vouchers = _figure(zh, "chart-vouchers")
    committed = vouchers["data"][0]  # type: ignore[index]
    assert committed["customdata"][committed["x"].index("模型券")] == "/supply?kind=model"
    assert max(committed["y"]) == 1.0 and vouchers["layout"]["yaxis"]["title"]["text"] == "万元"  # type: ignore[index]
    tiers = _figure(zh, "chart-tier")["data"][0]  # type: ignore[index]
    assert "/orgs?tier=core" in tiers["customdata"]

    with browser(live) as client:  # the voucher figure's list: one kind's programmes
        model_only = client.get("/supply?kind=model").text
        every = client.get("/supply").text
    assert programme.name in model_only and 'id="pool"' not in model_only
    assert 'id="pool"' in every and 'id="model"' in every


def _model(db: Session, org: int, name: str, base: int | None = None) -> Model:
    model = Model(organisation_id=org, name=name, modality=Modality.text, base_model_id=base)
    db.add(model)
    db.flush()
    return model


def _row(entry: Entry, rank: int, score: float) -> BoardRow:
    return BoardRow(
        entry_id=entry.id,
        entry=entry.name,
        submission_id=0,
        submitted_at="2026-01-01T00:00:00",
        rank=rank,
        score=score,
        low=score - 0.05,
        high=score + 0.05,
        metrics={},
        errors=0,
        error_reasons={},
        unparsed=0,
        by_category={},
        confusion=None,
    )


def test_a_models_page_gathers_what_is_known_of_it(
    db: Session, world: World, live: LiveServer
) -> None:
    jia = _model(db, world.org_a, "甲政务大模型")
    yi = _model(db, world.org_b, "乙大模型")
    _model(db, world.org_b, "乙据甲微调", base=jia.id)
    race = racing_challenge(db, world)
    for team, model in (("甲队", jia), ("乙队", yi)):
        entry = race.entries[team]
        assert entry.application_id is not None
        db.add(ApplicationModel(application_id=entry.application_id, model_id=model.id))
    stage = predictions_race(db, race)
    a, b = race.entries["甲队"], race.entries["乙队"]
    board = Board(rows=[_row(a, 1, 0.91), _row(b, 2, 0.84)], primary="accuracy", samples=60)
    stage.state, stage.leaderboard_final = StageState.closed, board.to_json()
    a.state, b.state = EntryState.winner, EntryState.not_selected
    race.challenge.state = ChallengeState.decided
    db.add(
        ModelService(
            organisation_id=world.org_a,
            model_id=jia.id,
            mode=ServiceMode.api,
            price_fen=100,
            price_unit="million_tokens",
            input_price_fen=400,
            output_price_fen=1200,
        )
    )
    arena = make_arena(db, world)
    named = db.scalars(select(Competitor).where(Competitor.arena_id == arena.id)).first()
    assert named is not None
    named.model_id = jia.id
    db.commit()
    vote_many(db, world, arena, "supplier_b", 6, longer_wins, start=clock.now())

    with browser(live) as client:
        page = client.get(f"/models/{jia.id}").text
        loser = client.get(f"/models/{yi.id}").text
        assert sign_in(client, "supplier_b", world.passwords["supplier_b"]).status_code == 303
        own = client.get(f"/models/{yi.id}").text
    races = page[page.index('id="model-races"') : page.index('id="model-arenas"')]
    assert "热线工单智能分拨揭榜" in races and "甲队" in races and "揭榜成功" in races
    assert "第 1 名 / 2" in races and "0.910" in races
    arenas = page[page.index('id="model-arenas"') : page.index('id="model-offers"')]
    assert f'href="/arena/{arena.id}"' in arenas and " / 3" in arenas
    offers = page[page.index('id="model-offers"') : page.index('id="model-derived"')]
    assert "API 调用" in offers and "¥4.00 / ¥12.00" in offers
    assert "乙据甲微调" in page[page.index('id="model-derived"') :]
    # which application raced a model is for its own organisation (and the operator) to see:
    # the public sees the races a model won, never the others
    assert "只列出该模型揭榜成功的赛马" in loser and "乙队" not in loser
    assert "暂无赛马成绩" in loser
    assert "乙队" in own and "未入选" in own and "第 2 名 / 2" in own
