"""The panel over HTTP: the draw as each reader sees it, and blind scoring: no route shows
one expert's scores to another expert, to a supplier or to the operator before the close;
双盲 masks the applicants."""

from __future__ import annotations

import datetime as dt

import httpx
from sqlalchemy.orm import Session

from mosu.core import clock
from mosu.core.settings import Settings
from mosu.review.models import Blinding
from mosu.review.panels import draw_order
from tests.conftest import LiveServer, World, api_client, client_for
from tests.helpers.review_panels import Expert, full_scores, make_expert, ready_challenge
from tests.helpers.scenarios import PDF, make_model

SECRET_A = "专家甲的保密评审意见"
SECRET_B = "专家乙的保密评审意见"


def expert_client(live: LiveServer, expert: Expert) -> httpx.Client:
    return api_client(live, expert.token)


def test_a_blind_panel_shows_no_one_another_experts_scores(
    live: LiveServer, world: World, db: Session, settings: Settings
) -> None:
    model = make_model(db, world.org_a)
    ready = ready_challenge(
        db,
        world,
        model_id=model,
        data_dir=settings.data_dir,
        blinding=Blinding.double,
        proposals=("第一份方案", "第二份方案"),
        pdf=PDF + b"BLIND-PDF",
        member_ids=(world.org_b,),
    )
    a = make_expert(db, fields=("盲评",))
    b = make_expert(db, fields=("盲评",))
    cid = ready.challenge.id
    first, second = (x.id for x in ready.applications)
    deadline = (clock.now() + dt.timedelta(days=3)).isoformat()
    with (
        client_for(live, world, "operator") as op,
        client_for(live, world, "supplier_a") as supplier,
        client_for(live, world, "demand") as demand,
        client_for(live, world, None) as public,
        expert_client(live, a) as ea,
        expert_client(live, b) as eb,
    ):
        body = {"size": 2, "field": "盲评", "seed": 5, "deadline": deadline}
        assert supplier.post(f"/challenges/{cid}/panel", json=body).status_code == 403
        drawn = op.post(f"/challenges/{cid}/panel", json=body)
        assert drawn.status_code == 201, drawn.text
        pid = drawn.json()["id"]
        assert {m["username"] for m in drawn.json()["members"]} == {a.username, b.username}
        assert op.post(f"/challenges/{cid}/panel", json=body).status_code == 409

        seen = public.get(f"/challenges/{cid}/panel").json()
        assert seen["seed"] == "5" and seen["verified"] is True and seen["members"] is None
        assert seen["candidates"] == draw_order(seen["candidates"], 5)
        for reader in (public, supplier, demand):
            text = reader.get(f"/challenges/{cid}/panel").text
            assert a.username not in text and b.username not in text

        # nothing before confirming
        assert ea.get(f"/panels/{pid}/applications").status_code == 409
        assert ea.get(f"/panels/{pid}/applications/{first}/proposal.pdf").status_code == 409
        assert supplier.post(f"/panels/{pid}/confirm").status_code == 403
        assert ea.post(f"/panels/{pid}/confirm").json()["state"] == "confirmed"
        assert eb.post(f"/panels/{pid}/confirm").status_code == 200

        view = ea.get(f"/panels/{pid}/applications")
        assert view.status_code == 200
        items = view.json()["items"]
        assert [i["code"] for i in items] == ["申报材料 A", "申报材料 B"]
        for name in ("甲智能科技有限公司", "乙大模型有限公司", "测试模型"):
            assert name not in view.text  # 双盲: lead, consortium member and models masked
        assert "自行负责" in view.json()["pdf_notice"]
        pdf = ea.get(f"/panels/{pid}/applications/{first}/proposal.pdf")
        assert pdf.status_code == 200 and pdf.content == PDF + b"BLIND-PDF"
        assert "甲" not in pdf.headers.get("content-disposition", "")

        score = ea.put(
            f"/panels/{pid}/applications/{first}/score",
            json={"scores": full_scores(), "comment": SECRET_A},
        )
        assert score.status_code == 200 and score.json()["total"] == 80.0
        bad = ea.put(
            f"/panels/{pid}/applications/{first}/score",
            json={"scores": {"tech": 8}, "comment": "缺少评审项"},
        )
        assert bad.status_code == 422
        assert (
            eb.put(
                f"/panels/{pid}/applications/{second}/score",
                json={"scores": full_scores(6), "comment": SECRET_B},
            ).status_code
            == 200
        )

        reads = {
            "expert b": (eb, [f"/panels/{pid}/applications", "/me/review-queue"]),
            "supplier": (supplier, [f"/applications/{first}"]),
            "demand": (demand, [f"/applications/{first}"]),
            "operator": (op, [f"/applications/{first}", f"/challenges/{cid}/applications"]),
            "public": (public, []),
        }
        for who, (client, paths) in reads.items():
            for path in [
                f"/challenges/{cid}/panel",
                f"/challenges/{cid}/events",
                f"/challenges/{cid}",
                *paths,
            ]:
                text = client.get(path).text
                assert SECRET_A not in text, f"{who} reads expert a's comment on {path}"
                if who != "expert b":
                    assert SECRET_B not in text, f"{who} reads expert b's comment on {path}"
        mine = eb.get(f"/panels/{pid}/applications").json()["items"]
        assert {i["id"]: i["my_score"] is not None for i in mine} == {first: False, second: True}

        progress = op.get(f"/challenges/{cid}/panel").json()
        assert sorted(m["scored"] for m in progress["members"]) == [1, 1]

        # the deadline passes: scoring waits for the operator's extension
        past = (clock.now() - dt.timedelta(minutes=1)).isoformat()
        assert op.post(f"/panels/{pid}/deadline", json={"deadline": past}).status_code == 200
        late = {"scores": full_scores(), "comment": "截止后的评分"}
        assert ea.put(f"/panels/{pid}/applications/{second}/score", json=late).status_code == 409
        assert op.post(f"/panels/{pid}/deadline", json={"deadline": deadline}).status_code == 200
        assert ea.put(f"/panels/{pid}/applications/{second}/score", json=late).status_code == 200

        assert op.post(f"/panels/{pid}/close", json={}).status_code == 409  # b has one left
        closed = op.post(f"/panels/{pid}/close", json={"force": True, "reason": "乙未完成"})
        assert closed.status_code == 200 and closed.json()["state"] == "closed"
        after = public.get(f"/challenges/{cid}/panel").json()
        assert {m["username"] for m in after["members"]} == {a.username, b.username}
        assert all(m["scored"] is None for m in after["members"])


def test_single_blind_shows_the_applicant_and_recusal_answers(
    live: LiveServer, world: World, db: Session, settings: Settings
) -> None:
    model = make_model(db, world.org_a)
    ready = ready_challenge(db, world, model_id=model, data_dir=settings.data_dir)
    a = make_expert(db, fields=("单盲",))
    b = make_expert(db, fields=("单盲",))
    cid = ready.challenge.id
    with client_for(live, world, "operator") as op, expert_client(live, a) as ea:
        body = {"size": 1, "field": "单盲", "seed": 11}
        pid = op.post(f"/challenges/{cid}/panel", json=body).json()["id"]
        order = op.get(f"/challenges/{cid}/panel").json()["candidates"]
        first = a if order[0] == a.user_id else b
        with expert_client(live, first) as member:
            member.post(f"/panels/{pid}/confirm")
            view = member.get(f"/panels/{pid}/applications").json()
            assert view["items"][0]["applicant"] == "甲智能科技有限公司"
            queue = member.get("/me/review-queue").json()
            assert [s["key"] for s in queue][:2] == ["confirm", "score"]
            assert len(queue[1]["items"]) == 1
            answer = member.post(f"/panels/{pid}/recuse", json={"reason": "与申请方有合作"})
            assert answer.json() == {"replaced": True, "exhausted": False, "replacement": None}
        other = b if first is a else a
        assert ea.get("/me/review-queue").status_code == 200
        recused = op.post(
            f"/panels/{pid}/recuse", json={"reason": "改派", "expert_id": other.user_id}
        )
        assert recused.json() == {"replaced": False, "exhausted": True, "replacement": None}
        too_big = op.post(
            f"/challenges/{ready_challenge(db, world, model_id=model, data_dir=settings.data_dir).challenge.id}/panel",
            json={"size": 9, "field": "单盲"},
        )
        assert too_big.status_code == 422
        assert too_big.json()["error"]["details"] == {"eligible": 2, "size": 9, "excluded": 0}
