"""The web UI in a real browser: Debian's Chromium driven by Playwright's sync API."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Page
from sqlalchemy.orm import Session

from mosu.permissions import PUBLIC
from mosu.registry.organisations import list_organisations
from tests.conftest import credit_code
from tests.helpers.chromium import Community, browser, community, page, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

__all__ = ["browser", "community", "page"]  # the shared Chromium fixtures

SCREENSHOT = Path(os.environ.get("MOSU_SCREENSHOT", "/tmp/overview.png"))


def test_operator_browses_and_signs_out(page: Page, community: Community) -> None:
    page.goto("/account")
    assert page.url.endswith("/login?next=%2Faccount")
    sign_in(page, community, "/account")
    assert page.locator(".whoami").inner_text().startswith(community.username)
    assert "运营方" in page.locator(".whoami").inner_text()

    page.goto("/")
    page.wait_for_selector("#chart-filings .main-svg")
    for chart in ("chart-tier", "chart-layer", "chart-modality", "chart-filings"):
        assert page.locator(f"#{chart} .plot-container").count() == 1
    assert page.locator("#chart-tier .xtick text").all_text_contents() == [
        "北斗七星",
        "群星",
        "其他",
    ]
    assert "%" in page.locator("#filed-share").inner_text()
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    page.click("nav.mainnav >> text=企业机构")
    page.wait_for_url("**/orgs")
    first = page.locator("#results tbody tr a").first
    name = first.inner_text()
    first.click()
    assert page.locator("h1").inner_text() == name
    assert page.locator("#contact").count() == 1

    page.click("nav.mainnav >> text=模型库")
    page.wait_for_url("**/models")
    assert page.locator("#results tbody tr").count() > 0
    page.click("nav.mainnav >> text=备案登记")
    assert page.locator("#results tbody tr").count() > 0

    page.click("button:has-text('退出')")
    page.wait_for_url(re.compile(r"/$"))
    assert page.locator("a.button:has-text('登录')").count() == 1
    page.goto("/import")
    assert page.url.endswith("/login?next=%2Fimport")


def test_live_search_in_chinese(page: Page, community: Community, db: Session) -> None:
    expected = [o.name_zh for o in list_organisations(db, actor=PUBLIC, q="大模型").items]
    total = list_organisations(db, actor=PUBLIC).total
    assert 0 < len(expected) < min(total, 20)
    page.goto("/orgs")
    assert page.locator("#results tbody tr").count() == min(total, 20)
    with page.expect_response(lambda r: "/orgs?q=" in r.url):
        page.fill("#f-q", "大模型")
    page.wait_for_function(
        "n => document.querySelectorAll('#results tbody tr').length === n", arg=len(expected)
    )
    shown = page.locator("#results tbody tr td:first-child > a").all_inner_texts()
    assert shown == expected
    assert "q=%E5%A4%A7%E6%A8%A1%E5%9E%8B" in page.url
    page.select_option("#f-tier", "core")
    page.wait_for_url(re.compile(r"tier=core"))
    page.wait_for_function(
        "() => [...document.querySelectorAll('#results .badge')].every(b => b.textContent === '北斗七星')"
    )


def test_english_is_remembered(page: Page, community: Community) -> None:
    page.goto("/orgs")
    page.click("a:has-text('English')")
    page.wait_for_url("**/orgs")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Organisations"
    page.click("nav.mainnav >> text=Models")
    page.wait_for_url("**/models")
    assert page.locator("h1").inner_text() == "Models"
    assert page.locator("label[for=f-modality]").inner_text() == "Modality"
    page.goto("/")
    page.wait_for_selector("#chart-tier .main-svg")
    ticks = page.locator("#chart-tier .xtick text").all_text_contents()
    assert ticks == ["Big Dipper (core)", "Constellation (cluster)", "Other"]
    sign_in(page, community, "/orgs")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Operator" in page.locator(".whoami").inner_text()
    page.click("a:has-text('中文')")
    page.wait_for_url("**/orgs")
    assert page.locator("h1").inner_text() == "企业机构"


def _workbook_with_a_bad_row() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["名称", "统一社会信用代码", "梯队", "产业链层级"])
    sheet.append(["浏览器导入甲公司", credit_code(301), "群星", "模型"])
    sheet.append(["浏览器导入乙公司", "91310104MA0000001X", "群星", "模型"])
    sheet.append(["浏览器导入丙公司", credit_code(302), "其他", "应用"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_import_reports_the_bad_row(page: Page, community: Community, tmp_path: Path) -> None:
    workbook = tmp_path / "企业名单.xlsx"
    workbook.write_bytes(_workbook_with_a_bad_row())
    sign_in(page, community, "/import")
    page.set_input_files("#f-file", str(workbook))
    page.click("form[enctype] button[type=submit]")
    page.wait_for_selector("#report")
    rows = page.locator("#report table tbody tr")
    assert rows.count() == 1
    cells = rows.first.locator("td").all_inner_texts()
    assert cells[:2] == ["3", "统一社会信用代码"]
    assert "校验位" in cells[2]
    page.check("#report input[name=drop_invalid]")
    page.click("#report button[type=submit]")
    page.wait_for_selector("#report .alert.success")
    page.goto("/orgs?q=浏览器导入")
    names = page.locator("#results tbody tr td:first-child > a").all_inner_texts()
    assert set(names) == {"浏览器导入甲公司", "浏览器导入丙公司"}
