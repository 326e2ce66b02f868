"""Flash messages' cookie: signed by the site, so a message comes from this site only."""

from __future__ import annotations

from mosu.core.settings import Settings
from mosu.web import flash
from tests.conftest import TEST_SECRET


def _settings(secret: str) -> Settings:
    return Settings.from_env({"MOSU_SECRET_KEY": secret})


def test_a_message_round_trips_and_a_forged_one_is_dropped() -> None:
    ours = _settings(TEST_SECRET)
    value = {"m": "榜单状态已更新为：{state}", "l": "success", "p": {"state": "待揭榜"}}
    cookie = flash.encode(ours, value)
    assert flash.decode(ours, cookie) == value
    payload, _, signature = cookie.partition(".")
    forged = flash.encode(ours, {"m": "请到 evil.example 重新登录", "l": "error", "p": {}})
    assert flash.decode(ours, payload + "." + forged.partition(".")[2]) is None
    assert flash.decode(_settings(TEST_SECRET[::-1]), cookie) is None  # another site's key
    assert flash.decode(ours, "not-a-cookie") is None
    flipped = signature[:-1] + ("1" if signature.endswith("0") else "0")
    assert flash.decode(ours, payload + "." + flipped) is None
