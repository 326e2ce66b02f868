"""Registering an endpoint refuses URLs a race must not call (SSRF), over real HTTP."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI

from tests.conftest import LiveServer, World, client_for

ALWAYS = [
    ("http://169.254.169.254/latest/meta-data/", "云服务元数据地址"),
    ("http://2852039166/v1", "云服务元数据地址"),
    ("http://[fd00:ec2::254]/v1", "云服务元数据地址"),
    ("http://[::ffff:169.254.169.254]/v1", "云服务元数据地址"),
    ("http://100.100.100.200/v1", "云服务元数据地址"),
    ("http://[fe80::1]/v1", "链路本地地址"),
    ("http://0.0.0.0:8000/v1", "未指定地址"),
    ("http://224.0.0.1/v1", "组播地址"),
    ("http://127.0.0.1:8133/err/internal/admin/delete-everything#", "片段"),
    ("http://user:pw@api.example.cn/v1", "用户名"),
    ("https://api.example.cn/v1?x=1", "查询参数"),
]
PRIVATE = [
    ("http://127.0.0.1:8000/v1", "本机回环地址"),
    ("http://127.0.0.1:5432/v1", "本机回环地址"),
    ("http://2130706433/v1", "本机回环地址"),
    ("http://0x7f.1/v1", "本机回环地址"),
    ("http://0177.0.0.1/v1", "本机回环地址"),
    ("http://[::1]/v1", "本机回环地址"),
    ("http://[::ffff:127.0.0.1]/v1", "本机回环地址"),
    ("http://localhost:11434/v1", "本机回环地址"),
    ("http://10.0.0.8/v1", "内网地址"),
    ("http://192.168.1.20:8000/v1", "内网地址"),
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
                assert error["code"] == "registry.endpoint_url_refused"
                assert error["details"] == {"field": "base_url"}
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
            english = sa.post(
                "/endpoints",
                json=_body(world, 997, "http://user:pw@api.example.cn/v1"),
                headers={"Accept-Language": "en"},
            ).json()["error"]
            assert english["message"].startswith("The endpoint URL is not allowed: ")
            assert "user name or password" in english["message"]  # the reason in English too
            assert not re.search(r"[\u4e00-\u9fff]", english["message"])
            public = sa.post("/endpoints", json=_body(world, 999, "https://api.example.cn/v1"))
            assert public.status_code == 201, public.text
            stored = sa.get("/endpoints").json()
        assert len(stored) == 1 + (len(PRIVATE) if allow_private else 0)
    finally:
        app.state.settings = settings
