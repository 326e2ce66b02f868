"""Notice pages: the signed-in user's notices (all or unread, each marked read on the way to
where the thing is done) and their notice settings (e-mail address, e-mail language, and
per topic: each notice by e-mail, a daily digest, or in-app only)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mosu.accounts.deps import SignedInActor
from mosu.core.text import Text
from mosu.deps import SessionDep
from mosu.notifications import service as notifications
from mosu.notifications import views as notification_views
from mosu.notifications.kinds import TOPICS
from mosu.notifications.service import Choice
from mosu.web.errors import BAD_EMAIL
from mosu.web.forms import FormDep, text
from mosu.web.render import language, render

router = APIRouter(include_in_schema=False)
MAX_EMAIL = 254


@router.get("/notifications")
def notifications_page(
    request: Request, session: SessionDep, actor: SignedInActor, unread: bool = False
) -> HTMLResponse:
    """站内通知: the signed-in user's own, newest first; ``?unread=true`` only the unread."""
    rows = notification_views.inbox(
        session, actor=actor, unread_only=unread, language=language(request)
    )
    return render(
        request,
        "board/notifications.html",
        {
            "rows": rows,
            "unread_only": unread,
        },
        actor=actor,
        session=session,
    )


@router.post("/notifications/{notification_id}/read")
def read_notification(session: SessionDep, actor: SignedInActor, notification_id: int) -> Response:
    """Mark one read and follow its link."""
    row = notifications.mark_read(session, actor=actor, notification_id=notification_id)
    session.commit()
    target = row.link if row.link.startswith("/") and not row.link.startswith("//") else ""
    return RedirectResponse(target or "/notifications", status_code=303)


@router.post("/notifications/read-all")
def read_all(session: SessionDep, actor: SignedInActor) -> Response:
    notifications.mark_all_read(session, actor=actor)
    session.commit()
    return RedirectResponse("/notifications", status_code=303)


def _settings_page(
    request: Request,
    session: SessionDep,
    actor: SignedInActor,
    *,
    error: Text | None = None,
    status: int = 200,
) -> Response:
    current = notification_views.notice_settings(session, actor=actor)
    return render(
        request,
        "notices/settings.html",
        {"notice_settings": current, "error": error, "saved": request.query_params.get("saved")},
        actor=actor,
        session=session,
        status=status,
    )


@router.get("/account/notices")
def notice_settings_page(request: Request, session: SessionDep, actor: SignedInActor) -> Response:
    """通知设置: the address notices are e-mailed to and each topic's e-mail choice."""
    return _settings_page(request, session, actor)


@router.post("/account/notices")
def save_notice_settings(
    request: Request, session: SessionDep, actor: SignedInActor, form: FormDep
) -> Response:
    email = text(form, "email").strip()
    if email and (
        len(email) > MAX_EMAIL or " " in email or email.count("@") != 1 or email.startswith("@")
    ):
        return _settings_page(request, session, actor, error=BAD_EMAIL.text(), status=422)
    chosen = []
    for topic in TOPICS:
        mode = text(form, f"mode_{topic}")
        chosen.append(
            Choice(topic=topic, email=mode in ("each", "digest"), digest=mode == "digest")
        )
    notifications.save_choices(
        session,
        actor=actor,
        email=email or None,
        language="en" if text(form, "language") == "en" else "zh",
        wanted=chosen,
    )
    session.commit()
    return RedirectResponse("/account/notices?saved=1", status_code=303)
