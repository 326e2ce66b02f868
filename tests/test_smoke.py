from __future__ import annotations

import pytest

from mosu import app as app_module
from tests.conftest import LiveServer, World, client_for


def test_orgs_listed_over_http(live: LiveServer, world: World) -> None:
    with client_for(live, world, None) as client:
        body = client.get("/orgs", params={"q": "大模型"}).json()
    assert [o["name_zh"] for o in body["items"]] == ["乙大模型有限公司"]
    assert body["items"][0]["contact"] is None


def test_settle_loads_the_tokenizer_before_freezing_start_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`mosu serve`'s last step of start-up builds the search's tokenizer (the first page
    with a search or a recommendation waited for it), then freezes what start-up made."""
    steps: list[str] = []
    monkeypatch.setattr(app_module, "default_tokenizer", lambda: steps.append("tokenizer"))
    monkeypatch.setattr(app_module.gc, "collect", lambda: steps.append("collect"))
    monkeypatch.setattr(app_module.gc, "freeze", lambda: steps.append("freeze"))
    app_module.settle()
    assert steps == ["tokenizer", "collect", "freeze"]
