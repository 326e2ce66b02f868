"""The confirmation step (确认) before an irreversible or large action: publishing a
challenge, naming winners, closing a stage early.

It works without JavaScript: the action's form posts as usual; without ``confirmed=yes``
the route answers with a page that says what will happen and posts the same fields again
with ``confirmed=yes`` (or goes back). Nothing is written before the second post.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from mosu.permissions import Actor
from mosu.web.render import render

CONFIRM_FIELD = "confirmed"


def confirmed(form: FormData) -> bool:
    """Whether the post comes from the confirmation page."""
    return form.get(CONFIRM_FIELD) == "yes"


def confirm_page(
    request: Request,
    session: Session,
    actor: Actor,
    form: FormData,
    *,
    title: str,
    message: str,
    back: str,
    params: dict[str, object] | None = None,
) -> HTMLResponse:
    """The page that asks before ``request``'s action is done: ``title`` and ``message``
    (catalogued Chinese, ``{name}`` fields from ``params``), the form's own fields carried
    over, a confirm button and a way back to ``back``."""
    fields = [
        (key, value)
        for key, value in form.multi_items()
        if isinstance(value, str) and key != CONFIRM_FIELD
    ]
    context = {
        "title": title,
        "message": message,
        "params": params or {},
        "fields": fields,
        "action": request.url.path,
        "back": back,
        "confirm_field": CONFIRM_FIELD,
    }
    return render(request, "confirm.html", context, actor=actor, session=session)
