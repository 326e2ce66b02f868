"""In Debian's Chromium: the operator imports the expert pool from a CSV and sees it, then
sets a draft challenge's rubric and finds it on the challenge page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy.orm import Session

from tests.conftest import LiveServer, World, credit_code
from tests.helpers import scenarios as factory
from tests.helpers.chromium import browser  # noqa: F401 - the shared Chromium fixture

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

POOL_CSV = (
    "用户名,姓名,职称,专业领域,任职单位,利益冲突单位,在库\n"
    f"liwenlan,李文澜,研究员,政务；自然语言处理,{credit_code(1)},乙大模型有限公司,是\n"
    "zhouyuheng,周予衡,高级工程师,政务,,,否\n"
)


@pytest.fixture
def page(browser: Browser, live: LiveServer) -> Iterator[Page]:  # noqa: F811
    context = browser.new_context(
        base_url=live.url, viewport={"width": 1280, "height": 900}, locale="zh-CN"
    )
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def test_operator_imports_the_pool_and_sets_a_rubric(
    page: Page, db: Session, world: World, tmp_path: Path
) -> None:
    draft = factory.make_challenge(db, world, publish=False)
    page.goto("/login?next=/experts")
    page.fill("#f-username", "operator")
    page.fill("#f-password", world.passwords["operator"])
    page.click("form button[type=submit]")
    page.wait_for_url("**/experts")
    assert page.locator("nav.mainnav a[href='/experts']").inner_text() == "专家库"

    pool = tmp_path / "专家库.csv"
    pool.write_text(POOL_CSV, encoding="utf-8")
    page.set_input_files("#f-file", str(pool))
    page.click("form[action='/experts/import'] button[type=submit]")
    page.wait_for_selector("#report")
    assert "新建 2 位" in page.inner_text("#report")
    assert "liwenlan、zhouyuheng" in page.inner_text("#report")
    row = page.locator("#experts tr", has_text="李文澜")
    cells = row.locator("td").all_inner_texts()
    assert cells[2] == "政务、自然语言处理" and cells[3] == "甲智能科技有限公司"
    assert cells[4] == "1" and cells[-1] == "是"
    page.fill("#f-field", "自然语言处理")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**field=*")
    assert page.locator("#experts tbody tr").count() == 1

    page.goto(f"/challenges/{draft.id}/edit")
    page.click("#rubric-link a")
    page.wait_for_url(f"**/challenges/{draft.id}/rubric")
    for i, (key, name, weight) in enumerate(
        [("technical", "技术方案", "40"), ("team", "团队与资质", "20"), ("feasibility", "落地可行性", "30"), ("price", "报价合理性", "20")]
    ):  # fmt: skip
        page.fill(f"#c{i}_key", key)
        page.fill(f"#c{i}_name", name)
        page.fill(f"#c{i}_weight", weight)
    page.select_option("#f-blinding", "double")
    page.click("#rubric-form button[type=submit]")
    assert "110" in page.inner_text(".alert.error")  # the weights must sum to 100
    page.fill("#c3_weight", "10")
    page.fill("#c0_description", "方法是否适合热线留言")
    page.click("#rubric-form button[type=submit]")
    page.wait_for_url(f"**/challenges/{draft.id}#rubric")
    rubric = page.inner_text("#rubric")
    assert "技术方案" in rubric and "方法是否适合热线留言" in rubric and "双盲" in rubric
    assert "草稿" in rubric
