"""Registry API over real HTTP: CRUD, pagination, filters, Chinese search, errors, OpenAPI."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.core.credentials import CredentialBox
from mosu.registry.endpoints import endpoint_api_key
from mosu.registry.models import ModelEndpoint
from tests.conftest import TEST_SECRET, LiveServer, World, client_for, credit_code
from tests.helpers.api import error, ok


def new_org(n: int, name: str, **kw: Any) -> dict[str, Any]:
    return {"name_zh": name, "credit_code": credit_code(n), "layers": ["model"], **kw}


def test_organisation_crud(live: LiveServer, world: World) -> None:
    with client_for(live, world, "operator") as op:
        created = ok(
            op.post(
                "/orgs",
                json=new_org(
                    10,
                    "丁多模态大模型有限公司",
                    name_en="Ding AI",
                    tier="cluster",
                    layers=["model", "application", "model"],
                    resident=True,
                    resident_since="2023-09-01",
                    website="https://ding.example.cn",
                    regions=["上海", "上海", " 杭州 "],
                    contact={"name": "丁先生", "phone": "021-12345678", "email": "d@ding.cn"},
                ),
            ),
            201,
        )
        org_id = created["id"]
        assert created["layers"] == ["model", "application"]
        assert created["regions"] == ["上海", "杭州"]
        assert created["contact"]["phone"] == "021-12345678"
        assert ok(op.get(f"/orgs/{org_id}")) == created

        patched = ok(op.patch(f"/orgs/{org_id}", json={"tier": "core", "description": "新简介"}))
        assert (patched["tier"], patched["description"]) == ("core", "新简介")
        assert patched["name_en"] == "Ding AI"  # untouched fields stay

        error(
            op.post("/orgs", json=new_org(11, "丁多模态大模型有限公司")),
            409,
            "registry.organisation_name_taken",
        )
        error(op.post("/orgs", json=new_org(10, "另一家公司")), 409, "registry.credit_code_taken")
        bad_code = {**new_org(12, "戊公司"), "credit_code": "91350100M000100Y44"}
        details = error(op.post("/orgs", json=bad_code), 422, "core.invalid_request")["details"]
        assert details[0]["loc"][-1] == "credit_code" and "校验位" in details[0]["msg"]
        error(
            op.post("/orgs", json={**new_org(13, "己公司"), "layers": []}),
            422,
            "core.invalid_request",
        )
        error(
            op.post("/orgs", json={**new_org(14, "庚公司"), "spy": 1}), 422, "core.invalid_request"
        )
        error(
            op.post("/orgs", json={**new_org(15, "辛公司"), "website": "ftp://x"}),
            422,
            "core.invalid_request",
        )

        ok(op.delete(f"/orgs/{org_id}"), 204)
        error(op.get(f"/orgs/{org_id}"), 404, "registry.no_such_organisation")
        error(op.delete(f"/orgs/{org_id}"), 404, "registry.no_such_organisation")
        error(op.get("/orgs/not-a-number"), 422, "core.invalid_request")


def test_supplier_edits_own_profile_but_not_standing(live: LiveServer, world: World) -> None:
    with client_for(live, world, "supplier_a") as sa:
        mine = ok(
            sa.patch(
                f"/orgs/{world.org_a}",
                json={"description": "我们的大模型", "contact": {"phone": "021-99999999"}},
            )
        )
        assert mine["description"] == "我们的大模型"
        assert mine["contact"]["phone"] == "021-99999999"
        for standing in (
            {"tier": "core"},
            {"resident": True},
            {"resident_since": "2020-01-01"},
            {"credit_code": credit_code(77)},
            {"name_zh": "自封北斗七星公司"},
        ):
            error(
                sa.patch(f"/orgs/{world.org_a}", json=standing),
                403,
                "registry.operators_set_standing",
            )
        error(
            sa.patch(f"/orgs/{world.org_b}", json={"description": "x"}),
            403,
            "registry.edit_own_organisation",
        )
        error(sa.post("/orgs", json=new_org(20, "自建公司")), 403, "core.role_not_allowed")
        error(sa.delete(f"/orgs/{world.org_a}"), 403, "core.role_not_allowed")
    with client_for(live, world, None) as public:
        error(public.patch(f"/orgs/{world.org_a}", json={"description": "x"}), 401, "core.sign_in")
        seen = ok(public.get(f"/orgs/{world.org_a}"))
    assert seen["tier"] == "core" and seen["contact"] is None


def test_explicit_null_for_a_required_field_is_refused(live: LiveServer, world: World) -> None:
    with client_for(live, world, "operator") as op:
        model = ok(
            op.post(
                "/models",
                json={"organisation_id": world.org_a, "name": "甲模型", "modality": "text"},
            ),
            201,
        )
        for body in ({"name": None}, {"modality": None}, {"capability_tags": None}):
            error(op.patch(f"/models/{model['id']}", json=body), 422, "core.invalid_request")
        for body in ({"name_zh": None}, {"tier": None}, {"layers": None}, {"website": None}):
            error(op.patch(f"/orgs/{world.org_a}", json=body), 422, "core.invalid_request")
        # nullable fields may be cleared
        cleared = ok(op.patch(f"/models/{model['id']}", json={"parameters_b": None}))
        assert cleared["parameters_b"] is None


def test_lists_paginate_filter_and_search_in_chinese(live: LiveServer, world: World) -> None:
    with client_for(live, world, "operator") as op:
        for i in range(5):
            ok(op.post("/orgs", json=new_org(30 + i, f"测试算力公司{i}", layers=["compute"])), 201)
        ok(op.patch(f"/orgs/{world.org_b}", json={"resident": True}))
        for name, tags in (("乙言", ["对话", "大模型"]), ("乙画", ["绘图"]), ("乙码", [])):
            body = {
                "organisation_id": world.org_b,
                "name": name,
                "modality": "image" if name == "乙画" else "text",
                "capability_tags": tags,
                "open_weights": name == "乙码",
            }
            ok(op.post("/models", json=body), 201)
        ok(
            op.post(
                "/models",
                json={
                    "organisation_id": world.org_a,
                    "name": "甲通用",
                    "modality": "text",
                    "description": "通用大模型",
                },
            ),
            201,
        )
    with client_for(live, world, None) as public:
        page1 = ok(public.get("/orgs", params={"per_page": 3}))
        page3 = ok(public.get("/orgs", params={"per_page": 3, "page": 3}))
        assert (page1["total"], page1["page"], page1["per_page"]) == (8, 1, 3)
        assert len(page1["items"]) == 3 and len(page3["items"]) == 2
        assert page1["items"][0]["tier"] == "core"  # ordered by tier, then id
        everything = ok(public.get("/orgs", params={"per_page": 100}))["items"]
        assert len({o["id"] for o in everything}) == 8
        assert ok(public.get("/orgs", params={"page": 9}))["items"] == []
        error(public.get("/orgs", params={"per_page": 101}), 422, "core.invalid_request")
        error(public.get("/orgs", params={"page": 0}), 422, "core.invalid_request")

        assert ok(public.get("/orgs", params={"layer": "compute"}))["total"] == 5
        assert ok(public.get("/orgs", params={"tier": "core"}))["total"] == 1
        assert [o["id"] for o in ok(public.get("/orgs", params={"resident": True}))["items"]] == [
            world.org_b
        ]
        found = ok(public.get("/orgs", params={"q": "大模型"}))["items"]
        # the matching engine's profiles hold the models too: 甲 offers a 通用大模型, after
        # 乙, whose name says it
        assert [o["name_zh"] for o in found] == ["乙大模型有限公司", "甲智能科技有限公司"]
        assert found[0]["model_count"] == 3
        assert ok(public.get("/orgs", params={"q": "算力公司3"}))["total"] == 1
        assert ok(public.get("/orgs", params={"q": "100%_"}))["total"] == 0

        by_q = ok(public.get("/models", params={"q": "大模型"}))["items"]
        # a tag, an organisation's name, a description: all searched
        assert sorted(m["name"] for m in by_q) == ["乙画", "乙码", "乙言", "甲通用"]
        assert [m["name"] for m in ok(public.get("/models", params={"q": "对话"}))["items"]] == [
            "乙言"
        ]
        assert ok(public.get("/models", params={"modality": "image"}))["total"] == 1
        assert ok(public.get("/models", params={"open_weights": True}))["total"] == 1
        assert ok(public.get("/models", params={"organisation_id": world.org_a}))["total"] == 1
        assert ok(public.get("/models", params={"filed": True}))["total"] == 0
        assert ok(public.get("/models", params={"per_page": 2, "page": 2}))["page"] == 2
        error(public.get("/models", params={"modality": "smell"}), 422, "core.invalid_request")


def test_models_and_filings(live: LiveServer, world: World) -> None:
    with client_for(live, world, "supplier_a") as sa:
        base = ok(
            sa.post(
                "/models",
                json={
                    "organisation_id": world.org_a,
                    "name": "Abab",
                    "modality": "text",
                    "parameters_b": 70,
                },
            ),
            201,
        )
        app = ok(
            sa.post(
                "/models",
                json={
                    "organisation_id": world.org_a,
                    "name": "Abab助手",
                    "modality": "text",
                    "base_model_id": base["id"],
                },
            ),
            201,
        )
        assert app["base_model_name"] == "Abab"
        error(
            sa.post(
                "/models",
                json={"organisation_id": world.org_a, "name": "Abab", "modality": "text"},
            ),
            409,
            "registry.model_name_taken",
        )
        error(
            sa.post(
                "/models",
                json={"organisation_id": world.org_b, "name": "X", "modality": "text"},
            ),
            403,
            "registry.register_own_models",
        )
        error(
            sa.post(
                "/models",
                json={"organisation_id": 99999, "name": "X", "modality": "text"},
            ),
            404,
            "registry.no_such_organisation",
        )

        beian = ok(
            sa.post(
                "/filings",
                json={"model_id": base["id"], "kind": "beian", "number": "Shanghai-Abab-20230821"},
            ),
            201,
        )
        assert (beian["region"], beian["filed_on"]) == ("Shanghai", "2023-08-21")
        assert beian["organisation_id"] == world.org_a
        dengji = {
            "model_id": app["id"],
            "kind": "dengji",
            "number": "Shanghai-AbabZhushou-20240105",
        }
        error(sa.post("/filings", json=dengji), 422, "registry.dengji_needs_base")
        filing = ok(sa.post("/filings", json={**dengji, "based_on_model_id": base["id"]}), 201)
        assert filing["based_on_model_name"] == "Abab"
        error(
            sa.post("/filings", json={**dengji, "based_on_model_id": base["id"]}),
            409,
            "registry.filing_number_taken",
        )
        bad = {"model_id": base["id"], "kind": "beian"}
        error(
            sa.post("/filings", json={**bad, "number": "Shanghai-Abab-20230231"}),
            422,
            "core.invalid_request",
        )
        error(
            sa.post("/filings", json={**bad, "number": "Mars-Abab-20230821"}),
            422,
            "core.invalid_request",
        )
        mismatch = {**bad, "number": "Shanghai-Abab-20230822", "filed_on": "2023-08-23"}
        assert error(sa.post("/filings", json=mismatch), 422, "registry.filing_date_mismatch")[
            "details"
        ] == {"field": "filed_on"}

        shown = ok(sa.get(f"/models/{base['id']}"))
        assert [f["number"] for f in shown["filings"]] == ["Shanghai-Abab-20230821"]
        error(
            sa.patch(f"/filings/{beian['id']}", json={"status": "suspended"}),
            403,
            "registry.operators_set_filing_status",
        )
        error(
            sa.post(
                "/filings", json={**bad, "number": "Shanghai-Abab-20240101", "status": "revoked"}
            ),
            403,
            "registry.operators_set_filing_status",
        )
        error(
            sa.patch(f"/filings/{filing['id']}", json={"based_on_model_id": filing["model_id"]}),
            422,
            "registry.dengji_own_base",
        )
        with client_for(live, world, "operator") as op:
            suspended = ok(op.patch(f"/filings/{beian['id']}", json={"status": "suspended"}))
        assert suspended["status"] == "suspended"
        error(sa.delete(f"/filings/{beian['id']}"), 403, "core.role_not_allowed")
        error(
            sa.patch(f"/filings/{beian['id']}", json={"status": None}), 422, "core.invalid_request"
        )

    with client_for(live, world, None) as public:
        listed = ok(public.get("/filings", params={"kind": "dengji"}))
        assert [f["number"] for f in listed["items"]] == ["Shanghai-AbabZhushou-20240105"]
        assert ok(public.get("/filings", params={"region": "Shanghai"}))["total"] == 2
        assert ok(public.get("/filings", params={"status": "suspended"}))["total"] == 1
        assert ok(public.get("/filings", params={"q": "Abab助手"}))["total"] == 1
        assert ok(public.get("/models", params={"filed": True}))["total"] == 0
        overview = ok(public.get("/overview"))
        assert (overview["models"], overview["registered_apps"]) == (2, 1)

    with client_for(live, world, "operator") as op:
        ok(op.patch(f"/filings/{beian['id']}", json={"status": "active"}))
        error(
            op.delete(f"/models/{base['id']}"), 409, "registry.model_in_use"
        )  # the 登记 rests on it
        ok(op.delete(f"/filings/{filing['id']}"), 204)
        error(op.get(f"/filings/{filing['id']}"), 404, "registry.no_such_filing")
        ok(op.put("/overview/regional-total", json={"region": "上海", "total": 4}), 204)
    with client_for(live, world, "supplier_a") as sa:
        overview = ok(sa.get("/overview"))
        assert overview["filed_models"] == 1 and overview["regional_share"] == 0.25
        patched = ok(sa.patch(f"/models/{app['id']}", json={"name": "Abab Pro"}))
        assert patched["name"] == "Abab Pro"
        ok(sa.delete(f"/models/{base['id']}"), 204)
        assert ok(sa.get(f"/models/{app['id']}"))["base_model_id"] is None


def test_endpoints_keep_keys_sealed(
    live: LiveServer, world: World, db: Session, app: FastAPI
) -> None:
    body = {
        "organisation_id": world.org_a,
        "name": "生产接入点",
        "base_url": "https://api.example.cn/v1",
        "model_name": "abab-6",
        "api_key": "sk-secret-XYZ",
    }
    with client_for(live, world, "supplier_a") as sa:
        created = sa.post("/endpoints", json=body)
        assert created.status_code == 201 and "sk-secret-XYZ" not in created.text
        endpoint = created.json()
        assert endpoint["has_api_key"] is True and "api_key" not in endpoint
        keyless = ok(sa.post("/endpoints", json={**body, "name": "本地", "api_key": None}), 201)
        assert keyless["has_api_key"] is False
        error(sa.post("/endpoints", json=body), 409, "registry.endpoint_name_taken")
        error(
            sa.post("/endpoints", json={**body, "name": "x", "base_url": "api"}),
            422,
            "core.invalid_request",
        )
        invalid = sa.post("/endpoints", json={**body, "name": "", "base_url": "nope"})
        assert invalid.status_code == 422 and "sk-secret-XYZ" not in invalid.text
        error(
            sa.post("/endpoints", json={**body, "organisation_id": world.org_b}),
            403,
            "registry.register_own_endpoints",
        )
        listed = sa.get("/endpoints")
        assert {e["name"] for e in listed.json()} == {"生产接入点", "本地"}
        assert "sk-secret-XYZ" not in listed.text
        assert ok(sa.get(f"/endpoints/{endpoint['id']}"))["has_api_key"] is True

    row = db.scalar(select(ModelEndpoint).where(ModelEndpoint.id == endpoint["id"]))
    assert row is not None and row.api_key_encrypted is not None
    assert b"sk-secret-XYZ" not in row.api_key_encrypted
    assert CredentialBox(TEST_SECRET).open(row.api_key_encrypted) == "sk-secret-XYZ"
    assert endpoint_api_key(row, app.state.credential_box) == "sk-secret-XYZ"

    with client_for(live, world, "supplier_b") as sb:
        assert ok(sb.get("/endpoints")) == []
        error(sb.get(f"/endpoints/{endpoint['id']}"), 404, "registry.no_such_endpoint")
        error(sb.delete(f"/endpoints/{endpoint['id']}"), 404, "registry.no_such_endpoint")
    with client_for(live, world, "operator") as op:
        assert len(ok(op.get("/endpoints"))) == 2
        ok(op.delete(f"/endpoints/{endpoint['id']}"), 204)
    with client_for(live, world, None) as public:
        error(public.get("/endpoints"), 401, "core.sign_in")


def test_error_shapes(live: LiveServer, world: World) -> None:
    with client_for(live, world, None) as public:
        error(public.get("/no-such-route"), 404, "core.page_not_found")
        error(public.get("/models/424242"), 404, "registry.no_such_model")
        error(public.post("/models", json={}), 401, "core.sign_in")
        error(public.delete("/overview"), 405, "core.method_not_allowed")
    with client_for(live, world, "expert") as expert:
        error(expert.post("/orgs", json=new_org(50, "x")), 403, "core.role_not_allowed")
        details = error(expert.post("/models", content=b"{not json"), 422, "core.invalid_request")[
            "details"
        ]
        assert isinstance(details, list) and details


def test_openapi_lists_the_api(live: LiveServer) -> None:
    schema = httpx.get(f"{live.url}/api/v1/openapi.json", timeout=30).json()
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    for path, method in (
        ("/api/v1/orgs", "get"),
        ("/api/v1/orgs", "post"),
        ("/api/v1/orgs/{organisation_id}", "patch"),
        ("/api/v1/models/{model_id}", "delete"),
        ("/api/v1/filings", "post"),
        ("/api/v1/endpoints", "post"),
        ("/api/v1/overview", "get"),
        ("/api/v1/tokens/{token_id}", "delete"),
        ("/api/v1/users", "post"),
    ):
        assert method in paths[path], f"{method.upper()} {path} missing from OpenAPI"
    assert not [p for p in paths if not p.startswith("/api/v1/")]  # pages are not the API
    endpoint_out = schema["components"]["schemas"]["EndpointOut"]["properties"]
    assert "has_api_key" in endpoint_out and "api_key" not in endpoint_out
