"""The race page in a browser: the board's cost and speed columns and the quality-cost chart
with its Pareto front."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Page
from sqlalchemy.orm import Session

from mosu.core.settings import Settings
from tests.challenges.test_race_service import _stage, _submit_both, _two_endpoints
from tests.conftest import World
from tests.helpers.chromium import browser, page  # noqa: F401  fixtures
from tests.helpers.races import racing_challenge

pytestmark = pytest.mark.browser


@pytest.mark.loopback_endpoints
def test_the_race_page_draws_quality_against_cost(
    db: Session, world: World, settings: Settings, request: pytest.FixtureRequest
) -> None:
    race = racing_challenge(db, world)
    stage = _stage(db, race)
    with _two_endpoints(db, race) as (_fake, ids), ThreadPoolExecutor(1) as thread:
        # the worker's event loop runs in a thread of its own: Playwright's holds this one
        thread.submit(_submit_both, db, world, settings, stage, ids).result()
    db.commit()
    tab: Page = request.getfixturevalue("page")
    tab.goto(f"/challenges/{race.challenge.id}/race")
    board = tab.locator("#public-1 table.board").first
    heads = board.locator("thead th").all_inner_texts()
    for head in ("覆盖率", "仅计已答", "延迟 p50/p95（毫秒）", "首字 p50（毫秒）", "每答 tokens"):
        assert head in heads
    cheap = board.locator("tbody tr", has_text="甲队")
    assert cheap.locator(".badge.pareto").count() == 1
    assert cheap.locator(".coverage").inner_text() == "100.0%"
    assert cheap.locator(".cost-per-1k").inner_text().startswith("¥")
    tab.wait_for_selector("#cost-chart-stage-1 .main-svg")
    points = tab.locator("#cost-chart-stage-1 .scatterlayer .trace").first.locator(".point")
    assert points.count() == 2
    assert "帕累托前沿" in tab.locator("#cost-chart-stage-1").inner_text()
    tab.screenshot(path=str(settings.data_dir / "race.png"), full_page=True)
    tab.goto(f"/challenges/{race.challenge.id}/race/report")
    tab.wait_for_selector("#report-cost-chart-1 .main-svg")
    assert "计分规则" in tab.locator(".report-stage").first.inner_text()
