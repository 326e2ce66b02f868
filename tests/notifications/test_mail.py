"""Notice e-mail through a real SMTP server on loopback (aiosmtpd): one e-mail per notice in
the user's language, the daily digest, failures recorded and retried, and no e-mail without a
server. Every e-mailed notice is read back from the server."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.accounts.models import Notification, User
from mosu.core import clock
from mosu.core.errors import Invalid
from mosu.core.settings import Settings
from mosu.jobs.models import Job, JobState
from mosu.jobs.worker import Worker
from mosu.notifications import mail, service
from mosu.notifications.kinds import when
from mosu.notifications.service import Choice
from mosu.permissions import Actor, Role
from tests.conftest import World, free_port, on_primary_database


class Inbox:
    """What the SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[str, Inbox]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", inbox
    finally:
        controller.stop()


def prefer(db: Session, world: World, who: str, *, language: str, digest: bool) -> int:
    user_id = world.user_ids[who]
    service.save_choices(
        db,
        actor=Actor(user_id=user_id, role=Role.supplier),
        email=f"{who}@example.cn",
        language="en" if language == "en" else "zh",
        wanted=[Choice(topic="race", email=True, digest=digest)],
    )
    return user_id


def run_jobs(db: Session, settings: Settings) -> int:
    db.commit()
    worker = Worker(
        db.get_bind(),  # type: ignore[arg-type]
        kinds=[service.MAIL_JOB, service.DIGEST_JOB],
        data_dir=settings.data_dir,
        settings=settings,
    )
    ran = 0
    while worker.run_once():
        ran += 1
    db.expire_all()
    return ran


def body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


@on_primary_database
def test_each_notice_and_the_digest_are_delivered(
    db: Session, world: World, settings: Settings, smtp: tuple[str, Inbox]
) -> None:
    url, inbox = smtp
    inbox.messages.clear()
    settings = settings.model_copy(
        update={"smtp_url": url, "smtp_from": "notices@mosu.test", "site_url": "https://mosu.test/"}
    )
    a = prefer(db, world, "supplier_a", language="en", digest=False)
    d = prefer(db, world, "demand", language="zh", digest=True)
    closes = dt.datetime(2026, 3, 1, 16, 0, tzinfo=dt.UTC)
    params = {"challenge": "热线分拨", "stage": "初赛", "closes_at": when(closes)}
    service.notify(
        db, kind="race_started", params=params, link="/challenges/7/race", user_ids=[a, d]
    )
    service.notify(
        db,
        kind="challenge_decided",
        params={"challenge": "热线分拨", "winners": "甲队"},
        link="/challenges/7/race",
        user_ids=[d],
    )
    assert run_jobs(db, settings) == 1  # the mail job; the digest waits for 08:00
    (one,) = inbox.messages
    assert one["To"] == "supplier_a <supplier_a@example.cn>"
    assert one["From"] == "notices@mosu.test"
    assert one["Subject"] == "[mosu] The race of “热线分拨” has started"
    text = body(one)
    assert "The first stage “初赛” closes at 2026-03-02 00:00 (Beijing)" in text
    assert "https://mosu.test/challenges/7/race" in text
    assert "https://mosu.test/account/notices" in text

    digest = db.scalars(select(Job).where(Job.kind == service.DIGEST_JOB)).one()
    assert clock.local(digest.available_at).hour == 8
    digest.available_at = clock.now()  # 08:00 has come
    assert run_jobs(db, settings) == 1
    _, daily = inbox.messages
    assert daily["Subject"] == "【模速】今日通知汇总（2 条）"
    assert daily["To"] == "demand <demand@example.cn>"
    text = body(daily)
    assert "“热线分拨”的赛马已开始" in text and "“热线分拨”已确定揭榜单位：甲队" in text
    assert "北京时间" in text

    rows = db.scalars(select(Notification).where(Notification.email_state.is_not(None))).all()
    assert len(rows) == 3
    assert all(n.email_state == "sent" and n.emailed_at is not None for n in rows)
    assert run_jobs(db, settings) == 0  # nothing is sent twice


@on_primary_database
def test_a_failed_send_is_recorded_and_retried_and_no_server_means_no_email(
    db: Session, world: World, settings: Settings, smtp: tuple[str, Inbox]
) -> None:
    url, inbox = smtp
    inbox.messages.clear()
    a = prefer(db, world, "supplier_a", language="zh", digest=False)
    (notice,) = service.notify(
        db, kind="entry_won", params={"challenge": "热线分拨", "entry": "甲队"}, user_ids=[a]
    )
    down = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{free_port()}"})
    assert run_jobs(db, down) == 1
    job = db.scalars(select(Job).where(Job.kind == service.MAIL_JOB)).one()
    assert job.state is JobState.queued and job.attempts == 1  # retried after a backoff
    db.refresh(notice)
    assert notice.email_state == "pending" and notice.email_attempts == 1
    assert "ConnectionRefusedError" in notice.email_error

    up = settings.model_copy(update={"smtp_url": url})
    job.available_at = clock.now()  # the backoff has passed
    assert run_jobs(db, up) == 1
    (sent,) = inbox.messages
    assert sent["Subject"] == "【模速】恭喜！“甲队”在“热线分拨”中揭榜成功"
    db.refresh(notice)
    assert notice.email_state == "sent" and notice.email_error == ""

    (later,) = service.notify(
        db, kind="entry_won", params={"challenge": "另一榜", "entry": "甲队"}, user_ids=[a]
    )
    db.commit()
    assert mail.send_pending(db, settings) == {"sent": 0, "failed": 0, "unsent": 1}
    db.refresh(later)
    assert later.email_state == "unsent" and len(inbox.messages) == 1


def test_the_smtp_url_names_the_server() -> None:
    server = mail.Server.parse("smtps://bot%40mosu.cn:p%3Ass@mail.example.cn")
    assert (server.host, server.port, server.tls) == ("mail.example.cn", 465, True)
    assert (server.username, server.password) == ("bot@mosu.cn", "p:ss")
    assert mail.Server.parse("smtp://mail.example.cn:2525").port == 2525
    with pytest.raises(Invalid, match="MOSU_SMTP_URL"):
        mail.Server.parse("http://mail.example.cn")
    assert User.__table__.c.email.nullable
