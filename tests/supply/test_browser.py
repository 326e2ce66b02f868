"""The voucher flow in a real browser: apply with a PDF, approve with a reduction, claim,
record the payout, and see the working and the report's charts."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.helpers.chromium import Community, browser, community, page, sign_in
from tests.helpers.supply import PDF

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]
__all__ = ["browser", "community", "page"]

SUPPLIER = Community("supplier1", "mosu-demo-2026")


def switch(page: Page, who: Community, next_path: str) -> None:
    page.context.clear_cookies()
    sign_in(page, who, next_path)


def test_apply_approve_with_reduction_claim_payout(page: Page, community: Community) -> None:
    switch(page, SUPPLIER, "/supply")
    page.goto("/supply")
    row = page.locator("#programme-list tr", has_text="2025 年度算力券（演示）")
    row.get_by_role("link", name="申请").click()
    page.wait_for_selector("#apply-form")
    page.select_option("#f-seller_organisation_id", label="上海岚川算力科技有限公司")
    page.select_option("#f-offer_id", label="算力池 · 岚川 H800 训练集群（演示）")
    listed = page.inner_text("#f-offer_id")
    assert "模型服务" not in listed and "语料" not in listed, "the programme's kind only"
    page.fill("#f-contract_number", "BROWSER-2025-01")
    page.fill("#f-contract_amount", "100,000.00")
    page.fill("#f-signed_on", "2025-05-01")
    page.fill("#f-service_starts_on", "2025-05-01")
    page.fill("#f-service_ends_on", "2025-10-31")
    preview = page.locator("#subsidy-preview #working-total")
    expect(preview).to_have_text("30,000.00")  # the working, as the form changes
    page.set_input_files(
        "#f-attachment", files=[{"name": "合同.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.click("#apply-form button[type=submit]")
    page.wait_for_selector("#working")
    path = page.url.split(page.url.split("/supply")[0], 1)[1]
    working = page.inner_text("#working")
    assert "合同金额 100,000.00 元 × 30%" in working  # a large, established firm: no boost
    assert "不符合扶持条件" in working
    assert page.inner_text("#working-total") == "30,000.00"
    assert "合同.pdf" in page.inner_text(".facts")

    switch(page, community, path)
    page.select_option("#f-decision", "approve")
    page.fill("#f-amount", "20000")
    page.fill("#f-reason", "合同含运维服务，核减")
    page.click("#review-form button[type=submit]")
    page.wait_for_selector("#approved")
    assert "20,000.00" in page.inner_text("#approved") and "已核减" in page.inner_text("#approved")

    switch(page, SUPPLIER, path)
    page.fill("#f-delivered_on", "2025-10-31")
    page.click("#claim-form button[type=submit]")
    page.wait_for_selector(".supply-claimed")

    switch(page, community, path)
    page.fill("#f-payout-amount", "19,500.50")
    page.fill("#f-paid_on", "2025-11-20")
    page.fill("#f-reference", "PAY-BROWSER-1")
    page.click("#payout-form button[type=submit]")
    page.wait_for_selector("#paid")
    assert "19,500.50" in page.inner_text("#paid")
    page.goto("/supply/reports")
    page.wait_for_selector("#chart-months .main-svg")
    assert page.locator("#ledger-problems").count() == 0
    assert "2025-11" in page.inner_text("#report-months")
