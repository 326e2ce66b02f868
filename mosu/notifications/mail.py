"""E-mailed notices (邮件通知): the jobs that send them, never the request that wrote them.

``notices.mail`` sends every notice waiting (``email_state`` ``pending``), one e-mail each,
in the recipient's language; a failure is recorded on the notice (attempts, error) and the
job is retried with the queue's backoff, sending only what is still waiting.
``notices.digest`` (08:00 Beijing time) sends each user one e-mail with the notices they
chose to receive as a daily digest. Without ``MOSU_SMTP_URL`` the jobs mark the notices
``unsent``: the in-app notice is all there is.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.accounts.models import Notification, User
from mosu.core import clock
from mosu.core.settings import Settings
from mosu.jobs.worker import JobContext, handler
from mosu.notifications.errors import BAD_SMTP_URL, MAIL_JOB_NEEDS_ENGINE
from mosu.notifications.kinds import Language
from mosu.notifications.service import DIGEST_JOB, MAIL_ATTEMPTS, MAIL_JOB, notice_text

SUBJECT_PREFIX = {"zh": "【模速】", "en": "[mosu] "}
DIGEST_SUBJECT = {
    "zh": "【模速】今日通知汇总（{n} 条）",
    "en": "[mosu] Your daily digest ({n} notices)",
}
FOOTER = {
    "zh": "在 {site}/account/notices 修改通知邮件设置。",
    "en": "Change your notice e-mails at {site}/account/notices.",
}


@dataclass(frozen=True)
class Server:
    """An SMTP server as ``MOSU_SMTP_URL`` names it."""

    host: str
    port: int
    tls: bool
    username: str
    password: str

    @classmethod
    def parse(cls, url: str) -> Server:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise BAD_SMTP_URL()
        tls = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if tls else 25),
            tls=tls,
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
        )

    def connect(self, timeout: float = 30.0) -> smtplib.SMTP:
        context = ssl.create_default_context()
        if self.tls:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=timeout)
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
        if self.username:
            smtp.login(self.username, self.password)
        return smtp


def _language(user: User) -> Language:
    return "en" if user.language == "en" else "zh"


def _lines(n: Notification, language: Language, site: str) -> list[str]:
    title, body = notice_text(n, language)
    when = clock.local(n.created_at).strftime("%Y-%m-%d %H:%M")
    lines = [f"{title}", f"  {when} {'北京时间' if language == 'zh' else '(Beijing)'}"]
    if body:
        lines.append(f"  {body}")
    if n.link:
        lines.append(f"  {site}{n.link}")
    return lines


def message(
    settings: Settings, user: User, notices: list[Notification], *, digest: bool
) -> EmailMessage:
    """The e-mail of one notice, or of a user's digest, in the user's language."""
    language = _language(user)
    site = settings.public_address
    msg = EmailMessage()
    if digest:
        msg["Subject"] = DIGEST_SUBJECT[language].format(n=len(notices))
    else:
        msg["Subject"] = SUBJECT_PREFIX[language] + notice_text(notices[0], language)[0]
    msg["From"] = settings.smtp_from
    msg["To"] = formataddr((user.display_name or user.username, user.email or ""))
    msg["Message-ID"] = make_msgid(domain=settings.smtp_from.rpartition("@")[2] or None)
    lines: list[str] = []
    for n in notices:
        lines += [*_lines(n, language, site), ""]
    lines.append(FOOTER[language].format(site=site))
    msg.set_content("\n".join(lines))
    return msg


def _waiting(session: Session, state: str) -> list[tuple[Notification, User]]:
    rows = session.execute(
        select(Notification, User)
        .join(User, User.id == Notification.user_id)
        .where(Notification.email_state == state)
        .order_by(Notification.id)
    )
    return [(n, u) for n, u in rows]


def _unsent(session: Session, rows: list[tuple[Notification, User]]) -> int:
    for n, _ in rows:
        n.email_state = "unsent"
    session.commit()
    return len(rows)


def _failed(n: Notification, exc: Exception) -> None:
    n.email_attempts += 1
    n.email_error = f"{type(exc).__name__}: {exc}"[:1000]
    if n.email_attempts >= MAIL_ATTEMPTS:
        n.email_state = "failed"


def _connect(
    session: Session, server: Server, rows: list[tuple[Notification, User]]
) -> smtplib.SMTP:
    """The server's connection; when it cannot be had, every row records the failure."""
    try:
        return server.connect()
    except (OSError, smtplib.SMTPException) as exc:
        for n, _ in rows:
            _failed(n, exc)
        session.commit()
        raise


def send_pending(session: Session, settings: Settings) -> dict[str, int]:
    """E-mail every notice waiting, one message each; how many were sent and failed."""
    rows = _waiting(session, "pending")
    if not settings.smtp_url:
        return {"sent": 0, "failed": 0, "unsent": _unsent(session, rows)}
    if not rows:
        return {"sent": 0, "failed": 0}
    sent = failed = 0
    with _connect(session, Server.parse(settings.smtp_url), rows) as smtp:
        for n, user in rows:
            try:
                smtp.send_message(message(settings, user, [n], digest=False))
            except smtplib.SMTPException as exc:
                _failed(n, exc)
                failed += 1
            else:
                n.email_state, n.emailed_at, n.email_error = "sent", clock.now(), ""
                sent += 1
            session.commit()
    return {"sent": sent, "failed": failed}


def send_digests(session: Session, settings: Settings) -> dict[str, int]:
    """One e-mail per user with every notice waiting for their digest."""
    rows = _waiting(session, "digest")
    if not settings.smtp_url:
        return {"sent": 0, "failed": 0, "unsent": _unsent(session, rows)}
    if not rows:
        return {"sent": 0, "failed": 0}
    by_user: dict[int, tuple[User, list[Notification]]] = {}
    for n, user in rows:
        by_user.setdefault(user.id, (user, []))[1].append(n)
    sent = failed = 0
    with _connect(session, Server.parse(settings.smtp_url), rows) as smtp:
        for user, notices in by_user.values():
            try:
                smtp.send_message(message(settings, user, notices, digest=True))
            except smtplib.SMTPException as exc:
                for n in notices:
                    _failed(n, exc)
                failed += 1
            else:
                moment = clock.now()
                for n in notices:
                    n.email_state, n.emailed_at, n.email_error = "sent", moment, ""
                sent += 1
            session.commit()
    return {"sent": sent, "failed": failed}


def _send(
    ctx: JobContext, send: Callable[[Session, Settings], dict[str, int]], what: str
) -> dict[str, int]:
    """Run one of the senders in a session of its own; any failed e-mail fails the job, so the
    queue retries it (the sent ones are marked and not sent again)."""
    if ctx.engine is None or ctx.settings is None:
        raise MAIL_JOB_NEEDS_ENGINE()
    with Session(ctx.engine) as session:
        result = send(session, ctx.settings)
    if result["failed"]:
        raise RuntimeError(f"{result['failed']} {what} e-mails failed; retried later")
    return result


@handler(MAIL_JOB)
def mail_job(ctx: JobContext) -> dict[str, Any]:
    """E-mail the notices waiting; a failed send is retried by the queue."""
    return _send(ctx, send_pending, "notice")


@handler(DIGEST_JOB)
def digest_job(ctx: JobContext) -> dict[str, Any]:
    """Send the daily digests."""
    return _send(ctx, send_digests, "digest")


__all__ = ["Server", "digest_job", "mail_job", "message", "send_digests", "send_pending"]
