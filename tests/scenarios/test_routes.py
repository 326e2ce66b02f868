"""The scenario API over HTTP: posting, editing and reading by role and organisation."""

from __future__ import annotations

from sqlalchemy.orm import Session

from mosu.scenarios.models import ScenarioStatus
from tests.conftest import LiveServer, World, client_for
from tests.helpers.scenarios import make_scenario


def test_scenarios_over_http(live: LiveServer, world: World, db: Session) -> None:
    draft = make_scenario(db, world, title="草稿场景", status=ScenarioStatus.draft)
    with client_for(live, world, "demand") as demand:
        made = demand.post(
            "/scenarios",
            json={"title": "街道垃圾分类识别", "domain": "城市管理", "budget_max_yuan": 200000},
        )
        assert made.status_code == 201, made.text
        scenario = made.json()
        assert scenario["organisation_id"] == world.org_demand and scenario["status"] == "open"
        edited = demand.patch(f"/scenarios/{scenario['id']}", json={"status": "closed"})
        assert edited.json()["status"] == "closed"
        refused = demand.patch(f"/scenarios/{scenario['id']}", json={"status": "published"})
        assert refused.status_code == 422
        assert demand.get(f"/scenarios/{draft.id}").status_code == 200
    with client_for(live, world, "supplier_a") as supplier:
        assert supplier.post("/scenarios", json={"title": "x"}).status_code == 403
        assert supplier.patch(f"/scenarios/{scenario['id']}", json={}).status_code == 403
        assert supplier.get(f"/scenarios/{draft.id}").status_code == 404
    with client_for(live, world, None) as public:
        board = public.get("/scenarios", params={"domain": "城市管理"}).json()
        assert [s["title"] for s in board["items"]] == ["街道垃圾分类识别"]
        assert public.get("/scenarios", params={"status": "draft"}).json()["total"] == 0
        assert public.get("/scenarios", params={"status": "nope"}).status_code == 422
