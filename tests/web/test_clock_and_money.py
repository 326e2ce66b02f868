"""One clock (Beijing time, a Chinese date format) and amounts in 万 on the Chinese pages;
labels per enum type (an open scenario is 对接中, never the challenge's 待揭榜)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.accounts.models import ApiToken, User
from mosu.scenarios.models import ScenarioStatus
from mosu.web.formats import money, money_axis, wan, when
from tests.conftest import LiveServer, World
from tests.helpers.scenarios import make_scenario
from tests.helpers.signin import browser, signed_in

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_times_are_beijing_time_in_the_readers_format() -> None:
    utc = dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC)
    assert when(utc, "zh") == "2026年3月2日 00:30"
    assert when(utc, "en") == "2026-03-02 00:30"
    assert when(utc.replace(tzinfo=None), "zh") == "2026年3月2日 00:30"  # SQLite: naive is UTC
    assert when("2026-03-01T16:30:00+00:00", "zh") == "2026年3月2日 00:30"  # a check's JSON
    assert when("2026-03-02T00:30:00+08:00", "en") == "2026-03-02 00:30"
    assert when(None, "zh") == when("", "en") == "—"


def test_amounts_read_in_wan_in_chinese_with_the_exact_figure() -> None:
    assert wan(Decimal("1234567.89")) == "123.46万" and wan(800_000) == "80万"
    assert wan(10_000) == "1万" and wan(12_345_678) == "1,234.57万"
    cell = money(123_456_789, "zh")
    assert cell == '<span class="money" title="1,234,567.89 元">123.46万</span>'
    assert money(123_456_789, "en") == "1,234,567.89"
    assert money(999_999, "zh") == "9,999.99"  # under ¥10,000: as it is
    assert money(80_000_000, "zh", cents=False).endswith(">80万</span>")
    assert money(None, "zh") == "—"
    assert money_axis([5_000.0, 250_000.0], "zh") == ([0.5, 25.0], True)
    assert money_axis([5_000.0, 250_000.0], "en") == ([5_000.0, 250_000.0], False)
    assert money_axis([900.0], "zh") == ([900.0], False)


@SQLITE
def test_account_times_and_an_open_scenario(live: LiveServer, world: World, db: Session) -> None:
    operator = db.scalars(select(User).where(User.username == "operator")).one()
    token = db.scalars(select(ApiToken).where(ApiToken.user_id == operator.id)).first()
    assert token is not None
    token.created_at = dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC)
    open_one = make_scenario(db, world, title="开放的场景", status=ScenarioStatus.open)
    db.commit()
    with signed_in(live, world, "operator") as client:
        account = client.get("/account").text
        assert "2026年3月2日 00:30" in account and "2026-03-01 16:30" not in account
        client.cookies.set("lang", "en")
        assert "2026-03-02 00:30" in client.get("/account").text
    with browser(live) as public:
        detail = public.get(f"/scenarios/{open_one.id}").text
        assert 'id="scenario-status">对接中<' in detail and "待揭榜" not in detail
        listed = public.get("/scenarios", params={"status": "open"}).text
        assert "开放的场景" in listed and "对接中" in listed
        public.cookies.set("lang", "en")
        assert 'id="scenario-status">Open<' in public.get(f"/scenarios/{open_one.id}").text
