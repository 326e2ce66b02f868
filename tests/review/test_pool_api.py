"""The pool's API over real HTTP: an expert edits their own profile and conflicts, never
their pool flag or affiliation, and never sees another expert."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tests.conftest import LiveServer, World, client_for


def test_expert_keeps_own_profile(live: LiveServer, world: World, db: Session) -> None:
    me = world.user_ids["expert"]
    with client_for(live, world, "operator") as operator:
        response = operator.post(
            "/experts", json={"username": "zhouyh", "display_name": "周予衡", "fields": ["政务"]}
        )
        assert response.status_code == 201, response.text
        other = response.json()["user_id"]
        assert operator.post("/experts", json={"username": "zhouyh"}).status_code == 409
        assert operator.post("/experts", json={"username": "supplier_a"}).status_code == 422
        body = {"fields": ["政务"], "in_pool": False, "affiliation_id": world.org_a}
        assert operator.put(f"/experts/{me}", json=body).status_code == 200
    with client_for(live, world, "expert") as expert:
        response = expert.put(f"/experts/{me}", json={"fields": ["模型评测"], "title": "研究员"})
        assert response.status_code == 200, response.text
        mine = response.json()
        assert mine["fields"] == ["模型评测"] and mine["title"] == "研究员"
        assert mine["in_pool"] is False and mine["affiliation_id"] == world.org_a  # kept
        assert expert.put(f"/experts/{me}", json={"in_pool": True}).status_code == 403
        assert expert.put(f"/experts/{me}", json={"affiliation_id": None}).status_code == 403
        assert expert.get(f"/experts/{other}").status_code == 404
        assert expert.put(f"/experts/{other}", json={}).status_code == 404
        assert expert.get("/experts").status_code == 403
        conflict = {"organisation_id": world.org_b, "reason": "近三年合作课题"}
        assert expert.post(f"/experts/{me}/conflicts", json=conflict).status_code == 201
        assert expert.post(f"/experts/{other}/conflicts", json=conflict).status_code == 404
        missing = {"organisation_id": 99999}
        assert expert.post(f"/experts/{me}/conflicts", json=missing).status_code == 422
        assert [c["reason"] for c in expert.get(f"/experts/{me}").json()["conflicts"]] == [
            "近三年合作课题"
        ]
        assert expert.delete(f"/experts/{me}/conflicts/{world.org_b}").status_code == 204
        assert expert.get(f"/experts/{me}").json()["conflicts"] == []
    with client_for(live, world, "supplier_a") as supplier:
        assert supplier.get(f"/experts/{me}").status_code == 403
