"""Scenario and challenge pages: forms that keep their input, what each visitor sees,
English labels, and (in Chromium) the journey from a scenario to a shortlist."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from playwright.sync_api import Page
from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.challenges import catalogue, decisions
from mosu.challenges.models import (
    Application,
    Challenge,
    CutRule,
    Entry,
    Stage,
    SubmissionMode,
)
from mosu.corpus import catalogue as corpus_catalogue
from mosu.corpus import imports as corpus_imports
from mosu.corpus.readers import Part
from mosu.corpus.schemas import DatasetIn, ImportOptions
from mosu.registry.models import Organisation
from tests.conftest import LiveServer, World
from tests.helpers.chromium import Community, browser, page, sign_in
from tests.helpers.scenarios import (
    PDF,
    actor,
    make_application,
    make_challenge,
    make_model,
    make_scenario,
)
from tests.helpers.signin import signed_in

__all__ = ["browser", "page"]


def jsonl(rows: list[dict[str, str]]) -> bytes:
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()


def test_public_lists_and_pages(
    live: LiveServer, world: World, db: Session, tmp_path: Path
) -> None:
    challenge = make_challenge(db, world, bounty_yuan=None, require_filed_model=True)
    draft = make_challenge(db, world, publish=False, title="内部草稿榜单")
    model = make_model(db, world.org_a, filed=True)
    make_application(db, world, challenge, model_id=model, data_dir=tmp_path)
    with httpx.Client(base_url=live.url, timeout=30) as public:
        board = public.get("/scenarios")
        assert board.status_code == 200 and "12345 热线工单智能分派" in board.text
        assert "已发榜" in board.text
        partial = public.get("/challenges", params={"q": "热线"}, headers={"HX-Request": "true"})
        assert partial.text.lstrip().startswith('<section id="results"')
        assert "热线工单分派模型揭榜" in partial.text and "内部草稿榜单" not in partial.text
        detail = public.get(f"/challenges/{challenge.id}")
        assert detail.status_code == 200
        text = detail.text
        assert "面议" in text and "须有已备案模型" in text and "政府榜" in text and "待揭榜" in text
        assert "共 1 份" in text and "提交揭榜申请" in text and "我们" not in text
        assert 'id="lifecycle"' not in text and 'id="apply"' not in text
        assert public.get(f"/challenges/{draft.id}").status_code == 404
        public.cookies.set("lang", "en")
        english = public.get(f"/challenges/{challenge.id}").text
        assert "Negotiable" in english and "Open for applications" in english
        assert "Government list" in english and "Audit log" in english


def test_forms_keep_their_input_and_show_errors(
    live: LiveServer, world: World, db: Session
) -> None:
    scenario = make_scenario(db, world)
    with signed_in(live, world, "demand") as demand:
        answer = demand.post(
            "/scenarios/new",
            data={
                "title": "",
                "description": "保留这段描述",
                "budget_min_yuan": "9",
                "budget_max_yuan": "3",
            },
        )
        assert answer.status_code == 422
        assert "保留这段描述" in answer.text and "不能为空" in answer.text
    with signed_in(live, world, "operator") as op:
        form = op.get(f"/challenges/new?scenario_id={scenario.id}")
        assert form.status_code == 200
        assert 'value="12345 热线工单智能分派"' in form.text and "丙区政务服务中心" in form.text
        answer = op.post(
            "/challenges/new",
            data={
                "scenario_id": str(scenario.id),
                "kind": "government",
                "title": "保留的榜单名",
                "issuer": "丙区",
                "valid_from": "2026-06-02",
                "valid_until": "2026-06-01",
                "bounty_yuan": "十万",
            },
        )
        assert answer.status_code == 422
        assert 'value="保留的榜单名"' in answer.text and 'value="十万"' in answer.text
        assert "须为整数" in answer.text


def test_applying_in_the_browser_form_keeps_input(
    live: LiveServer, world: World, db: Session
) -> None:
    challenge = make_challenge(db, world, require_filed_model=True)
    unfiled = make_model(db, world.org_a)
    with signed_in(live, world, "supplier_a") as a:
        form = a.get(f"/challenges/{challenge.id}/apply")
        assert form.status_code == 200 and "甲智能科技有限公司" in form.text
        models = a.get(
            f"/challenges/{challenge.id}/apply/models",
            params={"member_ids": [str(world.org_b)], "model_ids": [str(unfiled)]},
        )
        assert 'id="models-field"' in models.text and "checked" in models.text
        answer = a.post(
            f"/challenges/{challenge.id}/apply",
            data={"proposal": "保留的方案文字", "model_ids": str(unfiled), "member_ids": ""},
            files={"proposal_file": ("方案.pdf", b"not a pdf", "application/pdf")},
        )
        assert answer.status_code == 422
        assert "保留的方案文字" in answer.text and "须为 PDF" in answer.text
        answer = a.post(
            f"/challenges/{challenge.id}/apply",
            data={"proposal": "保留的方案文字", "model_ids": str(unfiled)},
        )
        assert answer.status_code == 422 and "已备案" in answer.text
    catalogue.transition_challenge(
        db, actor=actor(world, "operator"), challenge_id=challenge.id, name="close_applications"
    )
    db.commit()
    with signed_in(live, world, "supplier_a") as a:
        assert "本榜单当前不接受揭榜申请" in a.get(f"/challenges/{challenge.id}/apply").text
    assert db.scalars(select(Application)).all() == []


def test_pages_show_applications_to_their_readers_only(
    app: FastAPI, live: LiveServer, world: World, db: Session
) -> None:
    challenge = make_challenge(db, world)
    application = make_application(
        db,
        world,
        challenge,
        model_id=make_model(db, world.org_a),
        data_dir=app.state.settings.data_dir,
        proposal="甲的机密方案",
        pdf=PDF,
    )
    decisions.decide_application(
        db,
        actor=actor(world, "operator"),
        application_id=application.id,
        approve=False,
        reason="甲的驳回原因",
    )
    db.commit()
    with signed_in(live, world, "supplier_b") as b:
        assert b.get(f"/applications/{application.id}").status_code == 404
        assert b.get(f"/applications/{application.id}/proposal.pdf").status_code == 404
        assert "甲的驳回原因" not in b.get(f"/challenges/{challenge.id}").text
    with signed_in(live, world, "demand") as demand:
        page_text = demand.get(f"/applications/{application.id}").text
        assert "甲的机密方案" in page_text and "甲的驳回原因" not in page_text
        assert "甲的驳回原因" not in demand.get(f"/challenges/{challenge.id}").text
    with signed_in(live, world, "supplier_a") as a:
        page_text = a.get(f"/applications/{application.id}").text
        assert "甲的驳回原因" in page_text
        assert a.get(f"/applications/{application.id}/proposal.pdf").content == PDF


# ---------------------------------------------------------------- the journey in Chromium


def _as(page: Page, username: str, password: str, next_path: str) -> None:
    page.context.clear_cookies()
    sign_in(page, Community(username, password), next_path)


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_publish_apply_decide_and_shortlist_in_a_browser(
    page: Page, db: Session, world: World
) -> None:
    """The operator publishes from a scenario; supplier_a applies as a consortium with a PDF
    and alone; the operator rejects one with a reason the applicant reads, approves the
    other, closes applications and shortlists."""
    scenario = make_scenario(db, world, capabilities=["文本分类"], budget_max_yuan=800000)
    model_a = make_model(db, world.org_a, filed=True)
    model_b = make_model(db, world.org_b)
    pw = world.passwords

    _as(page, "operator", pw["operator"], f"/scenarios/{scenario.id}")
    page.click("#publish-challenge")
    page.wait_for_selector("#challenge-form")
    assert page.input_value("#f-title") == "12345 热线工单智能分派"
    page.select_option("#f-kind", "government")
    page.fill("#f-title", "热线工单智能分派揭榜")
    page.check("#f-require_filed_model")
    page.fill("#f-max_applications_per_org", "2")
    page.click("#challenge-form button[type=submit]")
    page.wait_for_selector("#lifecycle")
    assert "草稿" in page.inner_text("#challenge-state")
    page.click("#lifecycle button[value=publish]")
    page.click("#confirm-yes")  # the confirmation step
    page.wait_for_function(
        "() => document.querySelector('#challenge-state')?.innerText.includes('待揭榜')"
    )
    challenge_url = page.url
    assert "¥800,000" in page.inner_text("#bounty")

    _as(page, "supplier_a", pw["supplier_a"], re.sub(r"^https?://[^/]+", "", challenge_url))
    page.click("#apply")
    page.wait_for_selector("#apply-form")
    page.select_option("#f-member-0", label="乙大模型有限公司")
    page.wait_for_selector(f"#models-field input[value='{model_b}']")
    page.check(f"#models-field input[value='{model_a}']")
    page.check(f"#models-field input[value='{model_b}']")
    page.fill("#f-proposal", "甲乙联合体：分层分类模型加人工复核")
    page.set_input_files(
        "#f-proposal_file",
        files=[{"name": "联合体方案.pdf", "mimeType": "application/pdf", "buffer": PDF}],
    )
    page.click("#apply-form button[type=submit]")
    page.wait_for_selector("#proposal")
    consortium_url = page.url
    assert "乙大模型有限公司" in page.inner_text("#members")
    assert page.inner_text("#proposal-file") == "联合体方案.pdf"
    page.goto(re.sub(r"^https?://[^/]+", "", challenge_url) + "/apply")
    page.check(f"#models-field input[value='{model_a}']")
    page.fill("#f-proposal", "甲单独揭榜的方案")
    page.click("#apply-form button[type=submit]")
    page.wait_for_selector("#proposal")
    alone_url = page.url

    _as(page, "operator", pw["operator"], re.sub(r"^https?://[^/]+", "", alone_url))
    page.click("#decide button[value=reject]")
    page.wait_for_selector(".field-error")
    page.fill("#decide textarea", "单独申请缺少语料来源说明")
    page.click("#decide button[value=reject]")
    page.wait_for_function(
        "() => document.querySelector('#application-state')?.innerText.includes('未通过')"
    )
    page.goto(re.sub(r"^https?://[^/]+", "", consortium_url))
    page.fill("#decide textarea", "联合体方案完整")
    page.click("#decide button[value=approve]")
    page.wait_for_function(
        "() => document.querySelector('#application-state')?.innerText.includes('审核通过')"
    )
    page.goto(re.sub(r"^https?://[^/]+", "", challenge_url))
    page.click("#lifecycle button[value=close_applications]")
    page.wait_for_function(
        "() => document.querySelector('#challenge-state')?.innerText.includes('入围评审')"
    )
    page.goto(re.sub(r"^https?://[^/]+", "", consortium_url))
    page.click("#shortlist button")
    page.wait_for_function(
        "() => document.querySelector('#application-state')?.innerText.includes('入围')"
    )
    page.goto(re.sub(r"^https?://[^/]+", "", challenge_url))
    assert "甲智能科技有限公司" in page.inner_text("#shortlisted")
    log = page.inner_text("#audit-log")
    for action in (
        "创建榜单草稿",
        "发布榜单",
        "揭榜申请未通过",
        "揭榜申请通过",
        "截止揭榜申请",
        "入围",
    ):
        assert action in log

    _as(page, "supplier_a", pw["supplier_a"], re.sub(r"^https?://[^/]+", "", alone_url))
    assert "单独申请缺少语料来源说明" in page.inner_text("#decision-reason")
    _as(page, "supplier_b", pw["supplier_b"], re.sub(r"^https?://[^/]+", "", challenge_url))
    assert "单独申请缺少语料来源说明" not in page.content()
    page.goto(re.sub(r"^https?://[^/]+", "", alone_url))
    assert page.locator("#proposal").count() == 0

    db.expire_all()
    entry = db.scalars(select(Entry)).one()
    lead = db.get(Organisation, world.org_a)
    assert lead is not None and entry.name == lead.name_zh and entry.organisation_id == lead.id
    assert db.scalars(select(Challenge)).one().state.value == "shortlisting"


def test_stage_data_sets_carry_their_contamination_warning(
    live: LiveServer, world: World, db: Session
) -> None:
    challenge = make_challenge(db, world)
    tail = "这是一段与验证集完全相同的较长文字内容用于检测重叠情况"
    rows = [
        {"id": "t1", "text": "训练集第一条公开文本内容", "label": "甲", "split": "train"},
        {"id": "d1", "text": "验证集：" + tail, "label": "甲", "split": "dev"},
        {"id": "x1", "text": "测试集：" + tail, "label": "乙", "split": "test"},
    ]
    operator = actor(world, "operator")
    dataset = corpus_catalogue.create_dataset(db, actor=operator, data=DatasetIn(name="热线留言"))
    version = corpus_imports.import_version(
        db,
        actor=operator,
        dataset=dataset,
        parts=[Part("rows.jsonl", content=jsonl(rows))],
        options=ImportOptions(),
    ).version
    assert version is not None
    now = dt.datetime.now(dt.UTC)
    db.add(
        Stage(
            challenge_id=challenge.id,
            position=1,
            name="初赛",
            task={},
            dataset_version_id=version.id,
            mode=SubmissionMode.endpoint,
            opens_at=now,
            closes_at=now + dt.timedelta(days=7),
            cut_rule=CutRule.top_k,
            cut_value=3,
        )
    )
    db.commit()
    with httpx.Client(base_url=live.url, timeout=30) as public:
        text = public.get(f"/challenges/{challenge.id}").text
        assert "数据污染提示" in text and "测试集有 1 行与已知数据重叠" in text
        assert f'href="/challenges/{challenge.id}/race"' in text
        assert "测试集：" not in text  # counts only, never the hidden row
        public.cookies.set("lang", "en")
        english = public.get(f"/challenges/{challenge.id}").text
        assert "1 test rows overlap known data" in english
