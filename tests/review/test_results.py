"""Who sees a panel's results, over HTTP: nothing but the operators' progress before the
panel closes; the ranking, panel scores and expert scores for everyone after, comments for
operators and the application's own team only, names as each reader may know them."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from mosu.review.models import Blinding, PanelState
from tests.conftest import LiveServer, World, client_for
from tests.helpers.review import reviewed_challenge

HAND = {
    "甲队": [(8, 5), (9, 7), (7, 6), (10, 10), (6, 5)],
    "乙队": [(6, 5), (7, 6), (7, 6), (6, 5), (5, 5)],
    "丙队": [(5, 5), (6, 6), (8, 5), (6, 5), (6, 5)],
}
COMMENT = "评语机密"
NAMES = {"甲队": "甲智能科技有限公司", "乙队": "乙大模型有限公司", "丙队": "丙队科技有限公司"}
EVERYONE = ("operator", "supplier_a", "supplier_b", "demand", "expert", None)


def test_no_score_leaves_an_open_panel(live: LiveServer, world: World, db: Session) -> None:
    reviewed = reviewed_challenge(db, world, HAND, closed=False, comment=COMMENT)
    db.commit()
    cid = reviewed.challenge.id
    for who in EVERYONE:
        with client_for(live, world, who) as client:
            results = client.get(f"/challenges/{cid}/panel-results")
            proposal = client.get(f"/challenges/{cid}/shortlist-proposal")
            if who == "operator":
                assert results.status_code == 200
                body = results.json()
                assert body["state"] == "open" and body["applications"] == []
                assert body["agreement"] is None
                assert body["progress"] == {
                    "members": 5,
                    "confirmed": 5,
                    "applications": 3,
                    "scores": 15,
                    "expected": 15,
                }
                assert proposal.status_code == 409
            else:
                assert results.status_code == 403, who
                assert proposal.status_code == 403, who
            for answer in (results, proposal):
                assert COMMENT not in answer.text and '"total"' not in answer.text


def test_closed_results_by_reader(live: LiveServer, world: World, db: Session) -> None:
    reviewed = reviewed_challenge(
        db, world, HAND, blinding=Blinding.double, comment=COMMENT, shortlist_places=2
    )
    db.commit()
    assert reviewed.panel.state is PanelState.closed
    cid = reviewed.challenge.id
    ids = {team: a.id for team, a in reviewed.applications.items()}
    team_of = {v: k for k, v in ids.items()}
    seen = {}
    for who in EVERYONE:
        with client_for(live, world, who) as client:
            answer = client.get(f"/challenges/{cid}/panel-results")
            assert answer.status_code == 200, who
            seen[who] = answer.json()

    operator = seen["operator"]
    rows = {team_of[a["application_id"]]: a for a in operator["applications"]}
    assert [team_of[a["application_id"]] for a in operator["applications"]] == [
        "甲队",
        "乙队",
        "丙队",
    ]
    assert rows["甲队"]["panel_score"] == pytest.approx(72)
    assert rows["乙队"]["panel_score"] == pytest.approx(178 / 3)
    assert rows["甲队"]["flagged"] and not rows["乙队"]["flagged"]
    dropped = {s["expert_id"]: s["dropped"] for s in rows["甲队"]["scores"]}
    e = reviewed.experts
    assert dropped == {e[0]: None, e[1]: None, e[2]: None, e[3]: "high", e[4]: "low"}
    assert operator["agreement"]["kendall_w"] == pytest.approx(168 / 510)
    assert operator["agreement"]["icc"] == pytest.approx(949 / 1333)
    assert operator["agreement"]["w_reading"] == "专家排序一致性中等"  # W = 0.33
    with client_for(live, world, "operator") as client:
        english = client.get(
            f"/challenges/{cid}/panel-results", headers={"Accept-Language": "en"}
        ).json()["agreement"]
    assert (english["w_reading"], english["icc_reading"]) == (
        "moderate agreement",
        "moderate reliability",
    )  # ICC = 0.71
    assert {s["expert"] for s in rows["甲队"]["scores"]} >= {"专家2", "专家5"}

    def row(body: dict[str, Any], team: str) -> dict[str, Any]:
        return next(a for a in body["applications"] if a["application_id"] == ids[team])

    def comments(body: dict[str, Any], team: str) -> set[str | None]:
        return {s["comment"] for s in row(body, team)["scores"]}

    def label(body: dict[str, Any], team: str) -> str:
        return str(row(body, team)["label"])

    # comments: operators and the application's own team
    assert comments(operator, "乙队") == {f"乙队：{COMMENT}"}
    assert comments(seen["supplier_a"], "甲队") == {f"甲队：{COMMENT}"}
    assert comments(seen["supplier_a"], "乙队") == {None}
    assert comments(seen["supplier_b"], "乙队") == {f"乙队：{COMMENT}"}
    for who in ("demand", "expert", None):
        assert COMMENT not in str(seen[who]) and not seen[who]["comments_shown"]
    # names: operators and the issuer; a team its own; others read the panel's codes
    for who in ("operator", "demand"):
        assert [label(seen[who], t) for t in ("甲队", "乙队")] == [NAMES["甲队"], NAMES["乙队"]]
    assert label(seen["supplier_a"], "甲队") == NAMES["甲队"]
    assert label(seen["supplier_a"], "乙队").startswith("申报材料 ")
    for who in ("expert", None):  # 双盲: the panel's experts still read codes
        assert all(label(seen[who], t).startswith("申报材料 ") for t in ids)
        assert not any(name in str(seen[who]) for name in NAMES.values())
    # scores and the ranking are the same for every reader
    for body in seen.values():
        assert [a["panel_score"] for a in body["applications"]] == [
            a["panel_score"] for a in operator["applications"]
        ]

    # once shortlisted, the public reads the shortlisted teams' names
    with client_for(live, world, "supplier_a") as supplier:
        refused = supplier.post(
            f"/challenges/{cid}/shortlist-proposal", json={"application_ids": [ids["甲队"]]}
        )
        assert refused.status_code == 403
    with client_for(live, world, "operator") as op:
        proposal = op.get(f"/challenges/{cid}/shortlist-proposal").json()
        assert proposal["proposed"] == [ids["甲队"], ids["乙队"]] and proposal["can_confirm"]
        short = op.post(
            f"/challenges/{cid}/shortlist-proposal",
            json={"application_ids": [ids["甲队"], ids["丙队"]]},
        )
        assert short.status_code == 422 and "reason" in short.text
        done = op.post(
            f"/challenges/{cid}/shortlist-proposal",
            json={"application_ids": proposal["proposed"]},
        )
        assert done.status_code == 200
        assert done.json()["shortlisted"] == sorted(proposal["proposed"])
        assert not done.json()["can_confirm"]
        old = op.post(f"/applications/{ids['丙队']}/shortlist", headers={"Accept-Language": "en"})
        assert (
            old.status_code == 409
            and old.json()["error"]["code"] == "challenges.shortlist_elsewhere"
        )
        assert "use the panel's shortlist" in old.json()["error"]["message"]
    with client_for(live, world, None) as public:
        body = public.get(f"/challenges/{cid}/panel-results").json()
        assert label(body, "甲队") == NAMES["甲队"] and label(body, "乙队") == NAMES["乙队"]
        assert label(body, "丙队").startswith("申报材料 ")
