"""The desk (工作台): the signed-in reader's landing page, what waits for their role."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from mosu.accounts.deps import SignedInActor
from mosu.deps import SessionDep
from mosu.desk.views import desk
from mosu.web.render import language, render

router = APIRouter(include_in_schema=False)


@router.get("/desk")
def desk_page(request: Request, session: SessionDep, actor: SignedInActor) -> HTMLResponse:
    """工作台: the reader's sections, each with its count in the page's header and each item
    a link to where it is done."""
    context = {"d": desk(session, actor=actor, lang=language(request))}
    return render(request, "desk/desk.html", context, actor=actor, session=session)
