"""The race over real HTTP: submissions, live state, boards, report, and who sees what."""

from __future__ import annotations

import json
import re

import httpx
from sqlalchemy.orm import Session

import mosu.race.handlers  # noqa: F401  registers the race's job handlers
from mosu import race as races
from mosu.challenges.models import CutRule
from mosu.core.settings import Settings
from mosu.race.board import PUBLIC_ROW_KEYS
from mosu.race.scoring import stage_data
from tests.conftest import LiveServer, World, client_for
from tests.helpers.races import (
    OPERATOR,
    answer_key,
    drain,
    endpoint,
    fake_endpoints,
    predictions_file,
    predictions_race,
    racing_challenge,
    stage_spec,
)


def test_a_race_over_http_keeps_each_team_to_its_own(
    db: Session, world: World, settings: Settings, live: LiveServer
) -> None:
    race = racing_challenge(db, world)
    answers = answer_key(db, race.version)
    labels = list(race.version.label_set)
    stage = races.add_stage(
        db,
        actor=OPERATOR,
        challenge_id=race.challenge.id,
        spec=stage_spec("初赛", rule=CutRule.top_k, value=1, version_id=race.version.id),
    )
    races.start_race(db, actor=OPERATOR, challenge_id=race.challenge.id)
    db.commit()
    a, b = client_for(live, world, "supplier_a"), client_for(live, world, "supplier_b")
    public, demand = client_for(live, world, None), client_for(live, world, "demand")
    operator = client_for(live, world, "operator")
    with fake_endpoints(answers, labels) as url:
        ep_a = endpoint(db, world.org_a, url, "strong").id
        ep_b = endpoint(db, world.org_b, url, "middling").id
        db.commit()
        # supplier_b may not use supplier_a's endpoint, nor submit as supplier_a's entry
        refused = b.post(f"/stages/{stage.id}/submissions", json={"endpoint_id": ep_a})
        assert refused.status_code == 404
        refused = b.post(
            f"/stages/{stage.id}/submissions",
            json={"endpoint_id": ep_b, "entry_id": race.entries["甲队"].id},
        )
        assert refused.status_code == 404
        mine = a.post(f"/stages/{stage.id}/submissions", json={"endpoint_id": ep_a, "note": "甲一"})
        assert mine.status_code == 201, mine.text
        sub_a = mine.json()
        assert sub_a["state"] == "queued" and sub_a["queue_position"] == 1
        sub_b = b.post(f"/stages/{stage.id}/submissions", json={"endpoint_id": ep_b}).json()
        assert b.get(f"/submissions/{sub_b['id']}").json()["queue_position"] == 2
        drain(db, settings.data_dir, [races.SUBMISSION_JOB])
    done = a.get(f"/submissions/{sub_a['id']}").json()
    assert done["state"] == "succeeded" and done["public_score"] > 0.8
    assert done["private_score"] is None  # hidden until the stage closes
    assert operator.get(f"/submissions/{sub_a['id']}").json()["private_score"] is not None
    for who in (b, demand):
        assert who.get(f"/submissions/{sub_a['id']}").status_code == 404
    assert public.get(f"/submissions/{sub_a['id']}").status_code == 401
    listing = b.get(f"/stages/{stage.id}/submissions").json()
    assert [s["id"] for s in listing["submissions"]] == [sub_b["id"]]
    assert listing["quotas"][0]["used_total"] == 1 and listing["quotas"][0]["left"] == 2
    # org_a is a consortium member of 乙队: it sees that team's submissions too
    both = a.get(f"/stages/{stage.id}/submissions").json()
    assert {s["id"] for s in both["submissions"]} == {sub_a["id"], sub_b["id"]}

    board = public.get(f"/stages/{stage.id}/leaderboard").json()
    assert [r["entry"] for r in board["rows"]] == ["甲队", "乙队"]
    assert set(board["rows"][0]) == set(PUBLIC_ROW_KEYS) | {"own"}
    own_view = b.get(f"/stages/{stage.id}/leaderboard").json()
    assert "by_category" not in own_view["rows"][0] and "by_category" in own_view["rows"][1]
    assert public.get(f"/stages/{stage.id}/leaderboard?part=final").status_code == 404
    assert a.get(f"/challenges/{race.challenge.id}/race/report").status_code == 403
    report = demand.get(f"/challenges/{race.challenge.id}/race/report").json()
    assert report["full"] and report["stages"][0]["public"]["rows"][1]["confusion"]

    closed = operator.post(f"/stages/{stage.id}/close", json={"reason": "测试提前结束"})
    assert closed.status_code == 200, closed.text
    final = public.get(f"/stages/{stage.id}/leaderboard?part=final").json()
    assert final["rows"][0]["entry"] == "甲队"
    assert a.get(f"/submissions/{sub_a['id']}").json()["private_score"] is not None
    race_view = public.get(f"/challenges/{race.challenge.id}/race").json()
    cut = next(e for e in race_view["entries"] if e["name"] == "乙队")
    assert cut["state"] == "cut" and "前 1 名" in cut["cut_reason"]
    # pages: the race page and the report download render for everyone
    page = httpx.get(f"{live.url}/challenges/{race.challenge.id}/race", timeout=30)
    assert page.status_code == 200 and "乙队" in page.text
    # the stage says what leaves the platform in endpoint mode: inputs, never labels
    assert "每条测试输入（公开部分和隐藏部分）都会发送到参赛队登记的模型端点" in page.text
    assert "标签永远不会离开平台" in page.text
    download = httpx.get(
        f"{live.url}/challenges/{race.challenge.id}/race/report?download=1", timeout=30
    )
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    assert "/static/" not in download.text and "Plotly" in download.text
    # the report speaks the reader's language: no state or action codes
    issuer = {"Authorization": f"Bearer {world.tokens['demand']}"}
    url = f"{live.url}/challenges/{race.challenge.id}/race/report"
    zh = httpx.get(url, headers=issuer, timeout=30).text
    en = httpx.get(url, headers=issuer, cookies={"lang": "en"}, timeout=30).text
    assert "<td>已淘汰</td>" in zh and "开始赛马" in zh and "赛马中" in zh
    assert "<td>Cut</td>" in en and "Start the race" in en
    for text in (zh, en):
        for code in ("<td>cut</td>", "<td>active</td>", "start_race", "None →", "→ racing"):
            assert code not in text, code
    assert "(final)" in en and "(final)" not in zh  # the chart's title too
    # the published rules in one language: on the race page and in the report's stage line
    race_url = f"{live.url}/challenges/{race.challenge.id}/race"
    page_zh = httpx.get(race_url, timeout=30).text
    page_en = httpx.get(race_url, cookies={"lang": "en"}, timeout=30).text
    for text, rule in ((page_zh, "前 1 名晋级"), (page_en, "top 1 go on")):
        assert re.findall(r'<span class="rule">(.*?)</span>', text) == [rule]
    for text, rule in ((zh, "前 1 名晋级"), (en, "top 1 go on")):
        assert f"{rule} · " in text and " / " not in text.split(f"{rule} · ", 1)[0][-60:]
    for client in (a, b, public, demand, operator):
        client.close()


def test_predictions_stage_releases_inputs_without_labels(
    db: Session, world: World, settings: Settings, live: LiveServer
) -> None:
    race = racing_challenge(db, world)
    answers = answer_key(db, race.version)
    stage = predictions_race(db, race)
    db.commit()
    a = client_for(live, world, "supplier_a")
    inputs = a.get(f"/stages/{stage.id}/inputs.jsonl")
    assert inputs.status_code == 200
    rows = [json.loads(line) for line in inputs.text.splitlines()]
    ids = [s.id for s in stage_data(db, stage).task.samples()]
    assert [r["id"] for r in rows] == ids
    assert all("受理部门" not in r and answers[r["id"]] not in r.values() for r in rows)
    page = httpx.get(f"{live.url}/challenges/{race.challenge.id}/race", timeout=30)
    assert "测试输入（不含标签）公开供参赛队下载" in page.text
    for who in ("expert", "demand"):
        with client_for(live, world, who) as other:
            assert other.get(f"/stages/{stage.id}/inputs.jsonl").status_code == 403
    bad = a.post(
        f"/stages/{stage.id}/submissions",
        files={"predictions": ("p.jsonl", b'{"id": "x"}\n', "application/x-ndjson")},
    )
    assert bad.status_code == 422 and bad.json()["error"]["details"]
    good = a.post(
        f"/stages/{stage.id}/submissions",
        files={"predictions": ("p.jsonl", predictions_file(answers, ids), "application/x-ndjson")},
    )
    assert good.status_code == 201, good.text
    sid = good.json()["id"]
    assert a.get(f"/submissions/{sid}/predictions").status_code == 200
    with client_for(live, world, "supplier_b") as b:
        assert b.get(f"/submissions/{sid}/predictions").status_code == 404
    drain(db, settings.data_dir, [races.SUBMISSION_JOB])
    assert a.get(f"/submissions/{sid}").json()["public_score"] == 1.0
    a.close()
