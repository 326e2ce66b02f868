"""The challenge API over HTTP: publishing, lifecycle answers (403 wrong party, 409 wrong
state), applications as JSON and multipart with a PDF, and what each team can open."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

from mosu.core import clock
from tests.conftest import LiveServer, World, client_for
from tests.helpers.scenarios import PDF, make_challenge, make_model, make_scenario


def test_operator_publishes_a_challenge_from_a_scenario(
    live: LiveServer, world: World, db: Session
) -> None:
    scenario = make_scenario(db, world, capabilities=["文本分类"])
    today = clock.today()
    body = {
        "scenario_id": scenario.id,
        "kind": "government",
        "title": "热线工单分派揭榜",
        "keywords": ["工单", "分类"],
        "bounty_yuan": None,
        "valid_from": str(today),
        "valid_until": str(today + dt.timedelta(days=20)),
        "issuer": "丙区政务服务中心",
        "require_filed_model": True,
    }
    with client_for(live, world, "operator") as op, client_for(live, world, "demand") as demand:
        assert demand.post("/challenges", json=body).status_code == 403
        created = op.post("/challenges", json=body)
        assert created.status_code == 201, created.text
        challenge = created.json()
        assert challenge["state"] == "draft" and challenge["bounty_yuan"] is None
        assert challenge["organisation_id"] == world.org_demand
        cid = challenge["id"]
        with client_for(live, world, None) as public:
            assert public.get(f"/challenges/{cid}").status_code == 404
            assert public.get("/challenges").json()["total"] == 0
        assert demand.get(f"/challenges/{cid}").status_code == 200
        patched = op.patch(f"/challenges/{cid}", json={"bounty_yuan": 300000})
        assert patched.json()["bounty_yuan"] == 300000
        wrong_party = demand.post(f"/challenges/{cid}/transitions", json={"name": "publish"})
        assert wrong_party.status_code == 403
        assert wrong_party.json()["error"]["code"] == "challenges.not_your_transition"
        wrong_state = op.post(
            f"/challenges/{cid}/transitions",
            json={"name": "accept"},
            headers={"Accept-Language": "en"},
        )
        assert wrong_state.status_code == 409
        error = wrong_state.json()["error"]
        assert error["code"] == "challenges.wrong_state" and error["details"]["state"] == "draft"
        assert error["message"].startswith("The challenge is in the state “Draft”, so “accept”")
        published = op.post(
            f"/challenges/{cid}/transitions", json={"name": "publish", "reason": "区里批准"}
        )
        assert published.status_code == 200, published.text
        assert published.json()["to_state"] == "open"
        fixed = op.patch(f"/challenges/{cid}", json={"title": "x"})
        assert fixed.status_code == 409
        assert fixed.json()["error"]["code"] == "challenges.already_published"
        assert fixed.json()["error"]["message"] == "榜单已发布，不能再修改"
        events = demand.get(f"/challenges/{cid}/events").json()
        assert [e["action"] for e in events] == ["created", "publish"]
        assert events[1]["at"].endswith("+08:00") and events[1]["reason"] == "区里批准"
        assert demand.get(f"/scenarios/{scenario.id}").json()["status"] == "published"
        listed = op.get("/challenges", params={"kind": "government", "q": "工单"}).json()
        assert [c["id"] for c in listed["items"]] == [cid]
        assert op.get("/challenges", params={"kind": "enterprise"}).json()["total"] == 0


def test_a_consortium_applies_and_other_teams_open_nothing(
    live: LiveServer, world: World, db: Session
) -> None:
    challenge = make_challenge(db, world)
    model_a, model_b = make_model(db, world.org_a), make_model(db, world.org_b)
    pdf = PDF + b"SECRET-OF-A"
    with client_for(live, world, "supplier_a") as a, client_for(live, world, "supplier_b") as b:
        files = {"proposal_file": ("../方案.pdf", pdf, "application/pdf")}
        data = {
            "proposal": "甲乙联合体的方案",
            "member_ids": str(world.org_b),
            "model_ids": [str(model_a), str(model_b)],
        }
        made = a.post(f"/challenges/{challenge.id}/applications", data=data, files=files)
        assert made.status_code == 201, made.text
        together = made.json()
        assert [m["name"] for m in together["members"]] == ["乙大模型有限公司"]
        assert together["proposal_filename"] == "方案.pdf"
        alone = a.post(
            f"/challenges/{challenge.id}/applications",
            json={"proposal": "甲单独的机密方案", "model_ids": [model_a]},
        )
        assert alone.status_code == 201, alone.text
        alone_id = alone.json()["id"]
        # org_b is a member of the first, not of the second
        assert b.get(f"/applications/{together['id']}").status_code == 200
        assert b.get(f"/applications/{together['id']}/proposal.pdf").content == pdf
        assert b.get(f"/applications/{alone_id}").status_code == 404
        assert b.get(f"/applications/{alone_id}/proposal.pdf").status_code == 404
        assert b.post(f"/applications/{alone_id}/withdraw").status_code == 404
        listed = b.get(f"/challenges/{challenge.id}/applications").json()
        assert listed["total"] == 2 and [x["id"] for x in listed["items"]] == [together["id"]]
        assert "甲单独的机密方案" not in b.get(f"/challenges/{challenge.id}/events").text
        # a member may not withdraw; the lead may
        assert b.post(f"/applications/{together['id']}/withdraw").status_code == 403
        download = a.get(f"/applications/{together['id']}/proposal.pdf")
        assert download.headers["content-type"] == "application/pdf"
        assert "attachment" in download.headers["content-disposition"]
    with client_for(live, world, "demand") as demand, client_for(live, world, None) as public:
        assert demand.get(f"/applications/{alone_id}").json()["proposal"] == "甲单独的机密方案"
        assert public.get(f"/applications/{alone_id}").status_code == 401
        summary = public.get(f"/challenges/{challenge.id}/applications").json()
        assert (summary["total"], summary["items"]) == (2, [])


def test_rejection_reasons_reach_the_applicant_only(
    live: LiveServer, world: World, db: Session
) -> None:
    challenge = make_challenge(db, world)
    model_a = make_model(db, world.org_a)
    with client_for(live, world, "supplier_a") as a, client_for(live, world, "operator") as op:
        app_id = a.post(
            f"/challenges/{challenge.id}/applications",
            json={"proposal": "方案", "model_ids": [model_a]},
        ).json()["id"]
        no_reason = op.post(f"/applications/{app_id}/decision", json={"decision": "reject"})
        assert no_reason.status_code == 422
        rejected = op.post(
            f"/applications/{app_id}/decision",
            json={"decision": "reject", "reason": "缺少本地化部署方案"},
        )
        assert rejected.json()["state"] == "rejected"
        again = op.post(f"/applications/{app_id}/decision", json={"decision": "approve"})
        assert again.status_code == 409
        assert a.get(f"/applications/{app_id}").json()["decision_reason"] == "缺少本地化部署方案"
        log = a.get(f"/challenges/{challenge.id}/events").json()
        assert log[-1]["action"] == "application_rejected"
        assert log[-1]["reason"] == "缺少本地化部署方案"
    for who in ("demand", "supplier_b", None):
        with client_for(live, world, who) as other:
            log = other.get(f"/challenges/{challenge.id}/events").json()
            assert log[-1]["action"] == "application_rejected" and log[-1]["reason"] == ""
            assert "缺少本地化部署方案" not in other.get(f"/applications/{app_id}").text
    with client_for(live, world, "demand") as demand:
        assert demand.get(f"/applications/{app_id}").json()["decision_reason"] is None


def test_shortlisting_over_http(live: LiveServer, world: World, db: Session) -> None:
    challenge = make_challenge(db, world, shortlist_places=1)
    model_a, model_b = make_model(db, world.org_a), make_model(db, world.org_b)
    ids = []
    for who, model in (("supplier_a", model_a), ("supplier_b", model_b)):
        with client_for(live, world, who) as c:
            made = c.post(
                f"/challenges/{challenge.id}/applications",
                json={"proposal": "方案", "model_ids": [model]},
            )
            ids.append(made.json()["id"])
    with client_for(live, world, "operator") as op:
        for app_id in ids:
            op.post(f"/applications/{app_id}/decision", json={"decision": "approve"})
        assert op.post(f"/applications/{ids[0]}/shortlist").status_code == 409
        closed = op.post(
            f"/challenges/{challenge.id}/transitions", json={"name": "close_applications"}
        )
        assert closed.json()["to_state"] == "shortlisting"
        first = op.post(f"/applications/{ids[0]}/shortlist")
        assert first.json()["state"] == "shortlisted" and first.json()["entry_id"]
        assert op.post(f"/applications/{ids[1]}/shortlist").status_code == 409
    with client_for(live, world, None) as public:
        summary = public.get(f"/challenges/{challenge.id}/applications").json()
        assert summary["shortlisted"] == ["甲智能科技有限公司"]
        assert public.get(f"/challenges/{challenge.id}").json()["shortlisted"] == [
            "甲智能科技有限公司"
        ]
        late = public.post(f"/challenges/{challenge.id}/transitions", json={"name": "start_race"})
        assert late.status_code == 401


@pytest.mark.parametrize(
    ("files", "status", "message"),
    [
        ({"proposal_file": ("方案.pdf", b"<html>not a pdf</html>", "application/pdf")}, 422, "PDF"),
        (
            {"proposal_file": ("大.pdf", b"%PDF-" + b"0" * (2 * 1024 * 1024), "application/pdf")},
            413,
            "MB",
        ),
    ],
)
def test_uploads_must_be_small_pdfs(
    app: FastAPI,
    live: LiveServer,
    world: World,
    db: Session,
    files: dict[str, tuple[str, bytes, str]],
    status: int,
    message: str,
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"max_upload_mb": 1})
    challenge = make_challenge(db, world)
    model_a = make_model(db, world.org_a)
    with client_for(live, world, "supplier_a") as a:
        answer = a.post(
            f"/challenges/{challenge.id}/applications",
            data={"proposal": "方案", "model_ids": str(model_a)},
            files=files,
        )
        assert answer.status_code == status, answer.text
        assert message in answer.json()["error"]["message"]
        listed = a.get(f"/challenges/{challenge.id}/applications").json()
        assert listed["total"] == 0


def test_bad_bodies_are_reported(live: LiveServer, world: World, db: Session) -> None:
    challenge = make_challenge(db, world)
    with client_for(live, world, "supplier_a") as a:
        not_json = a.post(
            f"/challenges/{challenge.id}/applications",
            content=b"{",
            headers={"content-type": "application/json"},
        )
        assert not_json.status_code == 422
        assert not_json.json()["error"]["code"] == "challenges.body_not_json"
        too_many = a.post(
            f"/challenges/{challenge.id}/applications",
            json={"proposal": "x", "member_ids": [1, 2, 3, 4, 5], "model_ids": [1]},
        )
        assert too_many.status_code == 422
        assert too_many.json()["error"]["details"][0]["loc"] == ["member_ids"]
        bad_ids = a.post(
            f"/challenges/{challenge.id}/applications",
            data={"proposal": "x", "model_ids": "one"},
            files={"nothing": ("a.txt", b"", "text/plain")},
        )
        assert bad_ids.status_code == 422
        assert bad_ids.json()["error"]["code"] == "challenges.ids_not_whole"
        assert bad_ids.json()["error"]["message"] == "编号应为整数：“one”"
