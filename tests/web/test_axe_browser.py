"""axe-core (the accessibility engine browsers' audits use) on the main pages in both
languages: no serious or critical violation (contrast, names, labels, landmarks, ARIA). The
same visit reads each page for the other language's words (the filter of
``test_words_browser``), so a finished race, its report and its charts, which that walk's
world lacks, are checked too.

``tests/web/vendor/axe.min.js`` is axe-core 4.14.1 from the npm registry (MPL-2.0, licence
beside it), shipped with the tests so nothing is fetched when they run."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy.orm import Session

from mosu.core.settings import Settings
from tests.conftest import LiveServer, World
from tests.helpers.chromium import Community, browser, settled, sign_in
from tests.web.test_phone_browser import _pages
from tests.web.test_words_browser import PAGE_TEXT, Known, foreign_words, user_data

__all__ = ["browser"]

pytestmark = [pytest.mark.browser]

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text("utf-8")
SERIOUS = ("serious", "critical")
RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ") + " :: " + n.failureSummary),
  }));
}"""


def violations(page: Page, path: str, lang: str, data: Known) -> list[str]:
    """Serious axe violations and the other language's words on ``path``."""
    page.goto(path, wait_until="load")
    for chart in page.locator("[data-figure]").all():
        chart.locator(".main-svg").first.wait_for()
    settled(page)
    texts, code, marked, _chinese = page.evaluate(PAGE_TEXT)
    code += [m for m in marked if data.holds(m)]
    words = [f"{path}: {leak}" for leak in foreign_words(lang, texts, data, code)]
    page.evaluate(AXE)
    found = page.evaluate(RUN)
    return words + [
        f"{path}: {v['id']} ({v['impact']}): {v['help']} :: {v['nodes']}"
        for v in found
        if v["impact"] in SERIOUS
    ]


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_main_pages_have_no_serious_accessibility_violation_nor_foreign_words(
    browser: Browser, live: LiveServer, world: World, db: Session, settings: Settings
) -> None:
    main, more = _pages(db, world, settings)
    data = user_data(db)
    context = browser.new_context(base_url=live.url, locale="zh-CN", bypass_csp=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    found: list[str] = []
    try:
        sign_in(page, Community("operator", world.passwords["operator"]), "/desk")
        for path in main + more:
            found += violations(page, path, "zh", data)
        page.goto("/lang/en?next=/")
        for path in main + more:
            found += [f"en {v}" for v in violations(page, path, "en", data)]
    finally:
        context.close()
    assert not found, "\n".join(found)


def test_axe_finds_a_serious_violation_when_there_is_one(browser: Browser) -> None:
    """The check can fail: an image link without a name and grey-on-white text are serious."""
    page = browser.new_page()
    try:
        page.set_content(
            '<html lang="en"><body><main><a href="/x"><img src="data:,"></a>'
            '<p style="color:#ccc;background:#fff">faint</p></main></body></html>'
        )
        page.evaluate(AXE)
        ids = {v["id"] for v in page.evaluate(RUN) if v["impact"] in SERIOUS}
    finally:
        page.close()
    assert {"link-name", "color-contrast"} <= ids
