"""The review rubric over real HTTP: weights summing to 100, fixed (409) once the challenge
is published, public from then on and the operators' before, and in the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tests.conftest import LiveServer, World, client_for
from tests.helpers import scenarios as factory

RUBRIC: dict[str, Any] = {
    "criteria": [
        {"key": "technical", "name": "技术方案", "weight": 40, "description": "方法是否适合"},
        {"key": "team", "name": "团队与资质", "weight": 20},
        {"key": "feasibility", "name": "落地可行性", "weight": 30},
        {"key": "price", "name": "报价合理性", "weight": 10},
    ],
    "score_min": 0,
    "score_max": 10,
    "blinding": "double",
    "dispersion_threshold": 15,
    "combined": {"review_weight": 0.4, "race_weight": 0.6, "normalise": "scale", "ties": "race"},
}


def test_rubric_is_set_on_a_draft_and_fixed_once_published(
    live: LiveServer, world: World, db: Session
) -> None:
    draft = factory.make_challenge(db, world, publish=False)
    url = f"/challenges/{draft.id}/rubric"
    with client_for(live, world, "operator") as client:
        wrong = {**RUBRIC, "criteria": [{**c, "weight": 25} for c in RUBRIC["criteria"][:3]]}
        response = client.put(url, json=wrong)
        assert response.status_code == 422 and "100" in response.text
        assert client.get(url).status_code == 404  # nothing was set
        response = client.put(url, json={**RUBRIC, "score_min": 10})
        assert response.status_code == 422
        response = client.put(url, json=RUBRIC)
        assert response.status_code == 200, response.text
        body = response.json()
        assert [c["weight"] for c in body["criteria"]] == [40, 20, 30, 10]
        assert body["blinding"] == "double" and body["fixed"] is False
        assert body["combined"]["race_weight"] == 0.6
        changed = {**RUBRIC, "blinding": "single"}
        assert client.put(url, json=changed).json()["blinding"] == "single"
        # a draft's rubric: operators only, even for the issuer who sees the draft
        for who in (None, "demand", "supplier_a", "expert"):
            with client_for(live, world, who) as other:
                assert other.get(url).status_code == 404
                assert other.put(url, json=RUBRIC).status_code == (401 if who is None else 403)
        moved = client.post(f"/challenges/{draft.id}/transitions", json={"name": "publish"})
        assert moved.status_code == 200, moved.text
        response = client.put(url, json=RUBRIC)
        assert response.status_code == 409
        error = response.json()["error"]
        assert error["code"] == "review.rubric_fixed" and "已固定" in error["message"]
        english = client.put(url, json=RUBRIC, headers={"Accept-Language": "en"})
        assert "fixed" in english.json()["error"]["message"]
        events = client.get(f"/challenges/{draft.id}/events").json()
    actions = [e["action"] for e in events]
    assert actions == ["created", "rubric_set", "rubric_replaced", "publish"]
    assert events[1]["details"]["criteria"] == {
        "technical": 40,
        "team": 20,
        "feasibility": 30,
        "price": 10,
    }
    for who in (None, "demand", "supplier_b", "expert"):
        with client_for(live, world, who) as client:
            body = client.get(url).json()
            assert body["fixed"] is True and body["blinding"] == "single"
            assert body["criteria"][0]["description"] == "方法是否适合"


def test_a_challenge_without_a_rubric(live: LiveServer, world: World, db: Session) -> None:
    challenge = factory.make_challenge(db, world)
    with client_for(live, world, "operator") as client:
        assert client.get(f"/challenges/{challenge.id}/rubric").status_code == 404
        assert client.put(f"/challenges/{challenge.id}/rubric", json=RUBRIC).status_code == 409
        assert client.get("/challenges/99999/rubric").status_code == 404
        assert client.put("/challenges/99999/rubric", json=RUBRIC).status_code == 404
