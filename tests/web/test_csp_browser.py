"""The Content-Security-Policy in Debian's Chromium: the main pages, their charts and htmx
work under it with no violation and no console error, for the public and for an operator;
a chart label is data, shown literally, never a link."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, ConsoleMessage, Page
from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.accounts.models import User
from mosu.accounts.service import start_web_session
from mosu.arena import service as arena_service
from mosu.core.settings import Settings
from mosu.corpus.models import Dataset
from mosu.demo.arena import ARENA_NAME
from mosu.demo.challenge import build_demo_challenges
from mosu.demo.loader import HOTLINE_DATASET, load_community
from mosu.deps import SESSION_COOKIE
from mosu.web.headers import CONTENT_SECURITY_POLICY
from tests.conftest import LiveServer
from tests.helpers.chromium import browser, settled  # noqa: F401 - the shared Chromium fixture
from tests.helpers.corpus import import_rows

pytestmark = [
    pytest.mark.loopback_endpoints,
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""
EVIL = '<a href="https://evil.example">x</a>'


@dataclass
class Watched:
    """A tab whose CSP violations, console errors and uncaught errors are collected."""

    page: Page
    errors: list[str] = field(default_factory=list)

    def visit(self, path: str) -> None:
        response = self.page.goto(path)
        assert response is not None and response.ok, (path, response and response.status)
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        for chart in self.page.locator("[data-figure]").all():
            chart.locator(".main-svg").first.wait_for()
        settled(self.page)
        self.check(path)

    def check(self, where: str) -> None:
        found = self.page.evaluate("window.__violations || []")
        assert not found, (where, found)
        assert not self.errors, (where, self.errors)


def watched(browser: Browser, live: LiveServer, cookie: str | None) -> Iterator[Watched]:  # noqa: F811
    context = browser.new_context(
        base_url=live.url, viewport={"width": 1280, "height": 900}, locale="zh-CN"
    )
    context.set_default_timeout(15_000)
    if cookie is not None:
        context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": live.url}])
    context.add_init_script(WATCH_VIOLATIONS)
    tab = Watched(context.new_page())

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            tab.errors.append(message.text)

    tab.page.on("console", console)
    tab.page.on(
        "response",
        lambda r: tab.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    tab.page.on("pageerror", lambda error: tab.errors.append(str(error)))
    yield tab
    context.close()


def test_main_pages_work_under_the_policy(
    browser: Browser,  # noqa: F811
    app: FastAPI,
    live: LiveServer,
    db: Session,
    settings: Settings,
) -> None:
    load_community(db)
    db.commit()
    demo = build_demo_challenges(app.state.engine, settings)
    corpus = db.scalars(select(Dataset).where(Dataset.name == HOTLINE_DATASET)).one()
    arena = arena_service.find_arena(db, ARENA_NAME)
    operator = db.scalars(select(User).where(User.username == "operator")).one()
    cookie = start_web_session(db, user=operator, hours=1)
    db.commit()
    race = f"/challenges/{demo.finished_id}/race"
    vision_report = f"/challenges/{demo.vision_id}/race/report"
    public_pages = [
        "/",
        f"/corpus/{corpus.id}",
        f"/challenges/{demo.finished_id}",
        race,
        f"{race}/report",
        f"/arena/{arena.id}",
        "/orgs",
        "/login",
    ]
    for who in (None, cookie):
        for tab in watched(browser, live, who):
            # the operator: the pages whose forms and charts only an operator gets
            operator_pages = [f"/challenges/{demo.finished_id}", race, f"{race}/report", "/desk"]
            operator_pages += ["/supply/reports", "/corpus/new", f"/arena/{arena.id}/vote"]
            for path in public_pages if who is None else operator_pages:
                tab.visit(path)
            if who is not None:  # the vision race's gallery: thumbnails as data: URLs
                tab.visit(vision_report)
                shown = tab.page.locator(".gallery img")
                assert shown.count() > 0
                assert shown.evaluate_all(
                    "imgs => imgs.every(i => i.complete && i.naturalWidth > 0)"
                )
            tab.visit("/orgs")
            with tab.page.expect_response(lambda r: "/orgs?q=" in r.url):
                tab.page.fill("#f-q", "大模型")  # htmx's live search swaps the results in
            tab.page.wait_for_url("**q=*")
            settled(tab.page)
            assert tab.page.locator("#results tbody tr").count() > 0
            tab.check("/orgs search")


def test_a_chart_label_is_shown_literally_never_as_a_link(
    browser: Browser,  # noqa: F811
    live: LiveServer,
    db: Session,
) -> None:
    rows = [
        {"id": f"r{i}", "text": f"第{i}条留言：街区路口的问题{i * 17}", "label": label}
        for i, label in enumerate([EVIL, "市容"] * 10)
    ]
    result = import_rows(db, rows, name="标签是数据")
    db.commit()
    assert result.version is not None
    for tab in watched(browser, live, None):
        tab.visit(f"/corpus/{result.version.dataset_id}")
        chart = tab.page.locator("#chart-labels")
        assert EVIL in chart.locator(".xtick text").all_text_contents()
        assert chart.locator("a").count() == 0
        linked = chart.evaluate(
            "el => [...el.querySelectorAll('*')].some(n => [...n.attributes].some("
            "a => a.name.endsWith('href') && a.value.includes('evil.example')))"
        )
        assert not linked
