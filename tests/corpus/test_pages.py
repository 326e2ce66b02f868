"""Corpus pages over real HTTP: the card and its charts, hidden rows, upload and report."""

from __future__ import annotations

import json
import re

import httpx
from sqlalchemy.orm import Session

from mosu.permissions import Actor, Role
from tests.conftest import LiveServer, World
from tests.helpers.corpus import import_rows
from tests.helpers.signin import browser, signed_in

SECRET = "只在隐藏测试集里出现的一句话内容用于检查泄露"


def seed(db: Session, world: World) -> int:
    operator = Actor(user_id=world.user_ids["operator"], role=Role.operator)
    rows = [
        {
            "id": f"r{i}",
            "text": f"公开训练文本第{i}条，关于路灯和公交{i * 37}",
            "label": "甲乙"[i % 2],
            "split": "train",
        }
        for i in range(8)
    ]
    rows.append({"id": "d1", "text": "验证集文本：" + SECRET[3:], "label": "甲", "split": "dev"})
    rows.append({"id": "x1", "text": SECRET, "label": "乙", "split": "test"})
    result = import_rows(
        db, rows, name="<b>热线</b>语料", actor=operator, organisation_id=world.org_a
    )
    assert result.version is not None
    db.commit()
    assert result.report.dataset_id is not None
    return result.report.dataset_id


def test_card_shows_counts_to_everyone_and_hidden_text_to_operators(
    live: LiveServer, world: World, db: Session
) -> None:
    dataset_id = seed(db, world)
    with browser(live) as public:
        listing = public.get("/corpus")
        assert listing.status_code == 200 and "&lt;b&gt;热线&lt;/b&gt;语料" in listing.text
        card = public.get(f"/corpus/{dataset_id}")
        assert card.status_code == 200
        assert 'id="licence-warning"' in card.text
        assert 'id="chart-labels-data"' in card.text and 'id="chart-lengths-data"' in card.text
        assert "测试集（隐藏）" in card.text and SECRET not in card.text
        assert f"/api/v1/corpus/datasets/{dataset_id}/versions/1/splits/train.csv" in card.text
        assert "splits/test.csv" not in card.text
        answer = public.get(f"/corpus/{dataset_id}/rows?version=1&split=test")
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
        assert public.get(f"/corpus/{dataset_id}/rows?version=1&split=dev").status_code == 200
    for who in ("supplier_a", "supplier_b", "demand", "expert"):
        with signed_in(live, world, who) as client:
            assert SECRET not in client.get(f"/corpus/{dataset_id}").text
            assert client.get(f"/corpus/{dataset_id}/rows?version=1&split=test").status_code == 403
    with signed_in(live, world, "operator") as client:
        card = client.get(f"/corpus/{dataset_id}")
        assert SECRET[:20] in card.text and "splits/test.csv" in card.text
        rows = client.get(f"/corpus/{dataset_id}/rows?version=1&split=test")
        assert rows.status_code == 200 and SECRET in rows.text


def test_upload_report_and_resubmit_with_drop(live: LiveServer, world: World) -> None:
    lines = [
        {"编号": 1, "内容": "第一条留言内容，路灯不亮了", "类别": "城建"},
        {"编号": 1, "内容": "第二条留言内容，公交改线", "类别": "交通"},
        {"编号": 2, "内容": "第三条留言内容，社保缴费咨询", "类别": "社保"},
        {"编号": 3, "内容": "第四条留言内容，学校招生", "类别": "教育"},
    ]
    content = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines).encode()
    with signed_in(live, world, "supplier_a") as client:
        form = client.get("/corpus/new")
        assert form.status_code == 200 and 'id="upload-progress"' in form.text
        data = {"name": "甲的留言", "licence": "", "label_field": "类别", "flagged": "refuse"}
        answer = client.post("/corpus/new", data=data, files={"file": ("msgs.jsonl", content)})
        assert answer.status_code == 422
        assert "conflicting_label" in answer.text and "msgs.jsonl:2" in answer.text
        stash = re.search(r'name="stash_file" value="([^"]+)"', answer.text)
        assert stash is not None
        again = client.post(
            "/corpus/new",
            data={**data, "flagged": "drop", "stash_file": stash.group(1)},
        )
        assert again.status_code == 201, again.text[:500]
        link = re.search(r'href="/corpus/(\d+)\?version=1"', again.text)
        assert link is not None
        card = client.get(f"/corpus/{link.group(1)}")
        assert "甲智能科技有限公司" in card.text and "丢弃有问题的行" in card.text
    with signed_in(live, world, "demand") as client:
        assert client.get("/corpus/new").status_code == 403


def test_public_sees_no_upload_link(live: LiveServer) -> None:
    with httpx.Client(base_url=live.url, timeout=30) as client:
        page = client.get("/corpus")
        assert page.status_code == 200 and 'href="/corpus/new"' not in page.text


def test_a_probe_corpus_learns_nothing_of_another_corpus_hidden_split(
    live: LiveServer, world: World, db: Session
) -> None:
    """Issue 14: a supplier registers a corpus whose test row is a 13-character piece of
    another corpus's hidden row; neither its card nor the API tells it that they overlap."""
    seed(db, world)
    supplier = Actor(
        user_id=world.user_ids["supplier_b"], role=Role.supplier, organisation_id=world.org_b
    )
    probe = [
        {"id": "g1", "text": SECRET[:13], "label": "猜", "split": "test"},
        {"id": "p1", "text": "探测语料自己的公开文本", "label": "猜", "split": "train"},
    ]
    result = import_rows(db, probe, name="探测", actor=supplier, organisation_id=world.org_b)
    db.commit()
    assert result.version is not None and result.report.dataset_id is not None
    hidden_source = "隐藏划分（仅运营方可见）"
    with signed_in(live, world, "supplier_b") as client:
        card = client.get(f"/corpus/{result.report.dataset_id}").text
        assert hidden_source not in card and "&lt;b&gt;热线&lt;/b&gt;语料" not in card
        assert 'id="contamination-scope"' in card
    api = httpx.get(
        f"{live.url}/api/v1/corpus/datasets/{result.report.dataset_id}/versions/1",
        headers={"Authorization": f"Bearer {world.tokens['supplier_b']}"},
        timeout=30,
    ).json()
    assert api["contamination"]["sources"] == [] and api["contamination"]["flagged_rows"] == 0
    with signed_in(live, world, "operator") as client:
        card = client.get(f"/corpus/{result.report.dataset_id}").text
        assert hidden_source in card and "&lt;b&gt;热线&lt;/b&gt;语料" in card
