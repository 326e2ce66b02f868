"""Log lines: the secrets filter, the formats, and a demo run whose logs hold no secret and
whose job lines name their job and race."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.orm import Session

from mosu.core import logs
from mosu.core.db import make_engine
from mosu.core.settings import Settings
from mosu.demo.challenge import build_demo_challenges
from mosu.demo.loader import load_community
from tests.conftest import TEST_SECRET, LiveServer, on_primary_database
from tests.helpers.signin import browser, sign_in


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = logs.configure("json", "DEBUG", stream)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.mark.parametrize(
    "line",
    [
        "Authorization: Bearer abc.def-123",
        "token mosu_35V_nisx748IRypCJav92DvF",
        "key sk-demo-qwen-plus-secret",
        "login password=hunter2 ok",
        '{"api_key": "k-123456"}',
        "postgresql://mosu:pg-pass@db/mosu",
        "cookie mosu_session=abcdef123456",
    ],
)
def test_secrets_are_masked(line: str) -> None:
    masked = logs.redact(line)
    for secret in (
        "abc.def-123",
        "nisx748",
        "qwen-plus-secret",
        "hunter2",
        "k-123456",
        "pg-pass",
        "abcdef123456",
    ):
        assert secret not in masked
    assert "[redacted]" in masked


def test_text_lines_carry_the_context(captured: io.StringIO) -> None:
    stream = io.StringIO()
    handler = logs.handler("text", stream)
    log = logging.getLogger("mosu.test")
    log.addHandler(handler)
    try:
        with logs.bound(job_id=7, race_id=3):
            log.warning("stage %s closed", 2)
    finally:
        log.removeHandler(handler)
    assert "[job_id=7 race_id=3] stage 2 closed" in stream.getvalue()


@pytest.mark.slow
@pytest.mark.loopback_endpoints
@on_primary_database  # the logs do not depend on the database
def test_a_demo_run_logs_no_secret(
    live: LiveServer, settings: Settings, captured: io.StringIO
) -> None:
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            load_community(session)
            session.commit()
        demo = build_demo_challenges(engine, settings)
    finally:
        engine.dispose()
    username, password, _role = demo.users[0]
    with browser(live) as client:
        assert sign_in(client, username, password).status_code == 303
        assert sign_in(client, username, "wrong-" + password).status_code != 303
        client.get("/orgs/999999")
    httpx.get(live.url + "/api/v1/orgs", headers={"Authorization": "Bearer mosu_fake_123456789"})
    text = captured.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) > 10
    for secret in [TEST_SECRET, "sk-demo-", "mosu_fake_123456789"] + [
        p for _u, p, _r in demo.users
    ]:
        assert secret not in text, secret
    jobs = [line for line in lines if "job_id" in line]
    assert any("race_id" in line for line in jobs), "no job line names its race"
    assert all(isinstance(line["job_id"], int) for line in jobs)
