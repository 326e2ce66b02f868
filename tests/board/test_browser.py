"""The scenario board in Chromium: Chinese search, recommendations with reasons, interest,
and the demand organisation's notification."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page
from sqlalchemy.orm import Session

from tests.conftest import World
from tests.helpers.board import hotline_supplier
from tests.helpers.chromium import browser as browser  # the shared Chromium fixtures
from tests.helpers.chromium import page as page
from tests.helpers.chromium import settled
from tests.helpers.scenarios import make_scenario

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


def sign_in(page: Page, world: World, who: str, next_path: str) -> None:
    page.goto(f"/login?next={next_path}")
    page.fill("#f-username", who)
    page.fill("#f-password", world.passwords[who])
    page.click("form.stack button[type=submit]")
    page.wait_for_url(re.compile(re.escape(next_path) + "$"))


def test_board_search_recommendations_interest_and_notification(
    page: Page, world: World, db: Session
) -> None:
    hotline_supplier(db, world)
    make_scenario(db, world, title="医保单据智能审核", domain="医疗健康")
    scenario = make_scenario(
        db,
        world,
        title="12345 热线工单智能分派",
        capabilities=["工单分派", "智能客服"],
        description="市民来电诉求自动分类并派发到承办部门",
    )
    make_scenario(db, world, title="课堂作文批改", domain="教育")

    sign_in(page, world, "supplier_a", "/scenarios")
    assert page.locator("#results tbody tr").count() == 3
    with page.expect_response(lambda r: "/scenarios?q=" in r.url):
        page.fill("#f-q", "工单派发")
    page.wait_for_function("() => document.querySelectorAll('#results tbody tr').length === 1")
    page.click(f"#results a[href='/scenarios/{scenario.id}']")
    page.wait_for_url(f"**/scenarios/{scenario.id}")
    assert page.locator("#publish-challenge").count() == 0  # the operator's button alone

    supplier = page.locator("#recommended-suppliers .supplier-match").first
    supplier.wait_for()
    assert "甲智能科技有限公司" in supplier.inner_text()
    assert "已备案模型：甲政务大模型" in supplier.inner_text()
    assert "工单分派" in supplier.locator(".tag").all_inner_texts()
    assert "甲政务大模型" in page.locator("#recommended-models").inner_text()
    with page.expect_response(lambda r: "layer=compute" in r.url):
        page.select_option("#f-match-layer", "compute")
    page.wait_for_selector("#recommended-suppliers >> text=没有匹配的供给方")
    settled(page)
    with page.expect_response(lambda r: "/matches?" in r.url and "compute" not in r.url):
        page.select_option("#f-match-layer", "")
    settled(page)
    with page.expect_response(lambda r: "filed_only=1" in r.url):
        page.check("#f-filed_only")
    page.wait_for_selector("#recommended-suppliers .supplier-match")
    settled(page)

    page.fill("#f-note", "可到现场演示派单效果")
    page.click("#mark-interest")
    page.wait_for_selector("#withdraw-interest")
    assert "已表达意向" in page.locator("#recommended-suppliers").inner_text()
    page.click("button:has-text('退出')")

    sign_in(page, world, "demand", "/desk")  # signing in lands on the desk
    assert page.locator("#unread-count").inner_text() == "1"
    page.click("#notifications-link")
    page.wait_for_url("**/notifications")
    assert "甲智能科技有限公司" in page.locator("#notification-list").inner_text()
    page.click("#notification-list button:has-text('查看并标为已读')")
    page.wait_for_url(re.compile(rf"/scenarios/{scenario.id}#interests$"))
    interested = page.locator("#interest-list")
    interested.wait_for()
    assert "甲智能科技有限公司" in interested.inner_text()
    assert "可到现场演示派单效果" in interested.inner_text()
    assert page.locator("#unread-count").count() == 0
