"""The board API over HTTP: case studies, interest, recommendations, notifications."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tests.conftest import LiveServer, World, client_for
from tests.helpers.api import error, ok
from tests.helpers.board import hotline_supplier
from tests.helpers.scenarios import make_scenario


def test_the_board_api_from_case_study_to_notification(
    live: LiveServer, world: World, db: Session
) -> None:
    hotline_supplier(db, world)
    scenario = make_scenario(db, world, capabilities=["工单分派"], description="市民诉求派单")
    interest = f"/orgs/{world.org_a}/interests/{scenario.id}"
    with client_for(live, world, "supplier_a") as sa, client_for(live, world, "supplier_b") as sb:
        case = ok(
            sa.post(
                f"/orgs/{world.org_a}/case-studies",
                json={"title": "徐汇 12345 热线", "customer_type": "政府", "text": "工单自动派发"},
            ),
            201,
        )
        error(
            sb.patch(f"/case-studies/{case['id']}", json={"title": "乙改的"}),
            403,
            "board.edit_own_case_studies",
        )
        error(
            sa.post(f"/orgs/{world.org_a}/case-studies", json={"title": ""}),
            422,
            "core.invalid_request",
        )
        assert ok(sa.patch(f"/case-studies/{case['id']}", json={"text": "工单派发"}))["text"] == (
            "工单派发"
        )

        recs = ok(sa.get(f"/scenarios/{scenario.id}/recommendations"))
        assert [s["organisation_id"] for s in recs["suppliers"]] == [world.org_a]
        assert "工单分派" in recs["suppliers"][0]["matched_tags"]
        assert recs["models"][0]["name"] == "甲政务大模型" and recs["models"][0]["filed"]
        filtered = ok(
            sa.get(f"/scenarios/{scenario.id}/recommendations", params={"layer": "compute"})
        )
        assert filtered["suppliers"] == []
        error(
            sa.get(f"/scenarios/{scenario.id}/recommendations", params={"k": 0}),
            422,
            "core.invalid_request",
        )

        error(sb.put(interest, json={"note": "冒名"}), 403, "board.mark_own_interest")
        assert ok(sa.put(interest, json={"note": "可现场演示"}), 201)["note"] == "可现场演示"
        assert ok(sa.put(interest, json={"note": "改"}))["note"] == "改"  # one per org
        assert [i["scenario_id"] for i in ok(sa.get(f"/orgs/{world.org_a}/interests"))] == [
            scenario.id
        ]
        error(sb.get(f"/orgs/{world.org_a}/interests"), 403, "board.read_own_interest")
        matches = ok(sa.get(f"/orgs/{world.org_a}/scenario-matches"))
        assert matches[0]["scenario_id"] == scenario.id and matches[0]["interested"]
        assert ok(sb.get(f"/scenarios/{scenario.id}/recommendations"))["interests"] == []
        assert ok(sb.get("/notifications")) == []

    with client_for(live, world, "demand") as demand:
        recs = ok(demand.get(f"/scenarios/{scenario.id}/recommendations"))
        assert [(i["organisation_id"], i["note"]) for i in recs["interests"]] == [
            (world.org_a, "改")
        ]
        assert recs["suppliers"][0]["interested"]
        notes = ok(demand.get("/notifications", params={"unread": True}))
        assert len(notes) == 1 and notes[0]["link"] == f"/scenarios/{scenario.id}#interests"
        assert ok(demand.post(f"/notifications/{notes[0]['id']}/read"))["read_at"] is not None
        assert ok(demand.get("/notifications", params={"unread": True})) == []
        assert ok(demand.post("/notifications/read-all")) == {"marked": 0}

    with client_for(live, world, "supplier_a") as sa:
        error(
            sa.post(f"/notifications/{notes[0]['id']}/read"),
            404,
            "notifications.no_such_notification",
        )
        ok(sa.delete(interest), 204)
        error(sa.delete(interest), 404, "board.no_such_interest")
        ok(sa.delete(f"/case-studies/{case['id']}"), 204)
        assert ok(sa.get(f"/orgs/{world.org_a}/case-studies")) == []
