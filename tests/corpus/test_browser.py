"""Uploading a corpus in a real browser: the progress bar's XHR, the report, the card."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.helpers.chromium import Community, browser, community, page, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]
__all__ = ["browser", "community", "page"]

CSV = "编号,内容,部门\n1,路灯不亮，晚上出行不便,市容环卫\n2,公交改线没有提示,交通管理\n" + "".join(
    f"{i},第{i}条留言：关于街区第{i % 7}号路口的问题与建议{i * 13},{'市容环卫' if i % 2 else '交通管理'}\n"
    for i in range(3, 40)
)


def test_upload_shows_the_report_then_the_card(page: Page, community: Community) -> None:
    sign_in(page, community, "/corpus/new")
    page.goto("/corpus/new")
    page.fill("#f-name", "浏览器上传的语料")
    page.fill("#f-label_field", "部门")
    page.set_input_files(
        "#f-file",
        files=[{"name": "热线.csv", "mimeType": "text/csv", "buffer": CSV.encode("gbk")}],
    )
    page.click("#corpus-upload button[type=submit]")
    page.wait_for_selector("#report")
    report = page.inner_text("#report")
    assert "已写入新版本 v1" in report and "gb18030" in report
    page.click("#report a")
    page.wait_for_selector("#chart-labels .main-svg")
    assert "许可未知" in page.inner_text("#licence-warning")
    assert page.locator("#split-counts").inner_text().count("测试集（隐藏）") == 1
    page.goto("/corpus")
    assert "区政务热线留言分类（演示数据）" in page.inner_text("#corpus-list")
