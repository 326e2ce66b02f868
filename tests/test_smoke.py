from __future__ import annotations

from tests.conftest import LiveServer, World, client_for


def test_orgs_listed_over_http(live: LiveServer, world: World) -> None:
    with client_for(live, world, None) as client:
        body = client.get("/orgs", params={"q": "大模型"}).json()
    assert [o["name_zh"] for o in body["items"]] == ["乙大模型有限公司"]
    assert body["items"][0]["contact"] is None
