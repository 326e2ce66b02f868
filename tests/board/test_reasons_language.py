"""Matching reasons in the reader's language: the framing is catalogued, the matched words
are data and stay as they are; English pages and answers carry no Chinese framing and no
full-width punctuation."""

from __future__ import annotations

import re

import httpx
from sqlalchemy.orm import Session

from tests.conftest import LiveServer, World, client_for
from tests.helpers.board import hotline_supplier
from tests.helpers.scenarios import make_scenario

CJK = re.compile(r"[\u4e00-\u9fff]")


def _english(reasons: list[str]) -> None:
    """English framing (before the words matched, which are data), English punctuation."""
    assert reasons
    for reason in reasons:
        framing = reason.partition(": ")[0]
        assert not CJK.search(framing) and not re.search("[：、；]| / ", reason), reason


def test_recommendations_and_opportunities_speak_the_readers_language(
    db: Session, world: World, live: LiveServer
) -> None:
    hotline_supplier(db, world)
    scenario = make_scenario(
        db, world, capabilities=["工单分派", "智能客服"], description="12345 热线工单自动派单"
    )
    db.commit()
    path = f"/scenarios/{scenario.id}/recommendations"
    with client_for(live, world, None) as public:
        zh = public.get(path).json()["suppliers"][0]["reasons"]
        en = public.get(path, headers={"Accept-Language": "en"}).json()["suppliers"][0]["reasons"]
        mine = f"/orgs/{world.org_a}/scenario-matches"
        zh_found = public.get(mine).json()[0]["reasons"]
        en_found = public.get(mine, headers={"Accept-Language": "en"}).json()[0]["reasons"]
    assert "已备案模型：甲政务大模型" in zh and "Filed models: 甲政务大模型" in en
    assert any(r.startswith("关键词匹配：") and "、" in r for r in zh)
    keywords = next(r for r in en if r.startswith("Matching keywords: "))
    assert "12345" in keywords and ", " in keywords  # the words as they are, listed the English way
    _english(en)
    assert any(r.startswith("关键词匹配：") for r in zh_found)
    _english(en_found)
    assert any(r.startswith("Matching keywords: ") for r in en_found)
    # the pages: the scenario's matches (to anyone) and a supplier's opportunities
    matches = f"{live.url}/scenarios/{scenario.id}/matches"
    page_zh = httpx.get(matches, timeout=30).text
    page_en = httpx.get(matches, cookies={"lang": "en"}, timeout=30).text
    assert "已备案模型：甲政务大模型" in page_zh and "Filed models: 甲政务大模型" in page_en
    assert "已备案模型" not in page_en and "关键词匹配" not in page_en
    supplier = {"Authorization": f"Bearer {world.tokens['supplier_a']}"}
    opportunities = f"{live.url}/opportunities"
    page_en = httpx.get(opportunities, headers=supplier, cookies={"lang": "en"}, timeout=30).text
    page_zh = httpx.get(opportunities, headers=supplier, timeout=30).text
    assert "Matching keywords: " in page_en and "关键词匹配" not in page_en
    assert "关键词匹配：" in page_zh
    desk_en = httpx.get(f"{live.url}/desk", headers=supplier, cookies={"lang": "en"}, timeout=30)
    assert "Matching keywords: " in desk_en.text and "关键词匹配" not in desk_en.text
