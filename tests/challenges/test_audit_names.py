"""The public audit log names organisations, not users: usernames are for operators."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy.orm import Session

from tests.conftest import LiveServer, World, client_for
from tests.helpers.scenarios import make_application, make_challenge, make_model


def test_audit_log_shows_organisations_to_all_but_operators(
    live: LiveServer, app: FastAPI, world: World, db: Session, tmp_path: Path
) -> None:
    challenge = make_challenge(db, world)
    model_id = make_model(db, world.org_a, filed=True)
    make_application(db, world, challenge, model_id=model_id, data_dir=app.state.settings.data_dir)
    path = f"/challenges/{challenge.id}/events"
    for who in (None, "supplier_b", "demand", "expert", "supplier_a"):
        with client_for(live, world, who) as client:
            events = client.get(path).json()
        assert {e["actor_name"] for e in events} == {""}, who
        shown = {e["actor_organisation"] for e in events}
        assert shown == {"运营方", "甲智能科技有限公司"}, who
    with client_for(live, world, "operator") as client:
        events = client.get(path).json()
        english = client.get(path, headers={"Accept-Language": "en"}).json()
    assert {(e["actor_organisation"], e["actor_name"]) for e in events} == {
        ("运营方", "operator"),
        ("甲智能科技有限公司", "supplier_a"),
    }  # the role in the reader's language; an organisation's name as it is
    assert {e["actor_organisation"] for e in english} == {"Operator", "甲智能科技有限公司"}
    page = httpx.get(f"{live.url}/challenges/{challenge.id}", timeout=30).text
    log = page[page.index('id="audit-log"') :]
    assert "甲智能科技有限公司" in log and "运营方" in log
    assert "supplier_a" not in page
    english = httpx.get(
        f"{live.url}/challenges/{challenge.id}", cookies={"lang": "en"}, timeout=30
    ).text
    assert "Operator" in english[english.index('id="audit-log"') :]
    assert "运营方" not in english[english.index('id="audit-log"') :]
