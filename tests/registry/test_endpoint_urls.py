"""Registering an endpoint refuses URLs a race must not call (SSRF), over real HTTP."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from tests.conftest import LiveServer, World, client_for

ALWAYS = [
    ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
    ("http://2852039166/v1", "cloud metadata"),
    ("http://[fd00:ec2::254]/v1", "cloud metadata"),
    ("http://[::ffff:169.254.169.254]/v1", "cloud metadata"),
    ("http://100.100.100.200/v1", "cloud metadata"),
    ("http://[fe80::1]/v1", "link-local"),
    ("http://0.0.0.0:8000/v1", "unspecified"),
    ("http://224.0.0.1/v1", "multicast"),
    ("http://127.0.0.1:8133/err/internal/admin/delete-everything#", "fragment"),
    ("http://user:pw@api.example.cn/v1", "user name"),
    ("https://api.example.cn/v1?x=1", "query"),
]
PRIVATE = [
    ("http://127.0.0.1:8000/v1", "loopback"),
    ("http://127.0.0.1:5432/v1", "loopback"),
    ("http://2130706433/v1", "loopback"),
    ("http://0x7f.1/v1", "loopback"),
    ("http://0177.0.0.1/v1", "loopback"),
    ("http://[::1]/v1", "loopback"),
    ("http://[::ffff:127.0.0.1]/v1", "loopback"),
    ("http://localhost:11434/v1", "loopback"),
    ("http://10.0.0.8/v1", "private network"),
    ("http://192.168.1.20:8000/v1", "private network"),
]


def _body(world: World, n: int, url: str) -> dict[str, object]:
    return {
        "organisation_id": world.org_a,
        "name": f"接入点{n}",
        "base_url": url,
        "model_name": "m",
    }


@pytest.mark.parametrize("allow_private", [False, True])
def test_registration_refuses_what_races_must_not_call(
    live: LiveServer, world: World, app: FastAPI, allow_private: bool
) -> None:
    settings = app.state.settings
    app.state.settings = settings.model_copy(update={"allow_private_endpoints": allow_private})
    try:
        with client_for(live, world, "supplier_a") as sa:
            for n, (url, why) in enumerate(ALWAYS):
                refused = sa.post("/endpoints", json=_body(world, n, url))
                assert refused.status_code == 422, (url, refused.text)
                error = refused.json()["error"]
                assert error["code"] == "invalid" and error["details"] == {"field": "base_url"}
                assert "接入点地址不被允许" in error["message"] and why in error["message"], url
            for n, (url, why) in enumerate(PRIVATE, start=100):
                answer = sa.post("/endpoints", json=_body(world, n, url))
                if allow_private:
                    assert answer.status_code == 201, (url, answer.text)
                else:
                    assert answer.status_code == 422, (url, answer.text)
                    assert why in answer.json()["error"]["message"], url
            scheme = sa.post("/endpoints", json=_body(world, 998, "ftp://api.example.cn/v1"))
            assert scheme.status_code == 422 and "http://" in scheme.text
            public = sa.post("/endpoints", json=_body(world, 999, "https://api.example.cn/v1"))
            assert public.status_code == 201, public.text
            stored = sa.get("/endpoints").json()
        assert len(stored) == 1 + (len(PRIVATE) if allow_private else 0)
    finally:
        app.state.settings = settings
