"""Server-rendered pages (Jinja2 + HTMX): the overview, error pages, and every page router."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from mosu import i18n
from mosu.accounts.deps import OperatorActor, PublicActor
from mosu.accounts.service import actor_for, user_for_web_token
from mosu.core.text import Text
from mosu.deps import SESSION_COOKIE, SessionDep
from mosu.desk.community import community
from mosu.permissions import PUBLIC, Actor
from mosu.public_cache import PUBLIC_CACHE
from mosu.registry import figures, views
from mosu.registry.schemas import RegionalTotalIn
from mosu.web import (
    account_pages,
    arena_pages,
    auth_pages,
    board_pages,
    challenge_pages,
    corpus_pages,
    decision_pages,
    desk_pages,
    expert_pages,
    filing_pages,
    grading_pages,
    import_pages,
    model_pages,
    notice_pages,
    org_pages,
    panel_pages,
    race_pages,
    scenario_pages,
    shortlist_pages,
    supply_offer_pages,
    supply_pages,
    user_pages,
)
from mosu.web.charts import community_charts, overview_charts
from mosu.web.forms import FieldErrors, FormDep, text, validation_errors
from mosu.web.render import here, language, page_url, render, unread_notifications

router = APIRouter(include_in_schema=False)


def _overview_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    *,
    errors: FieldErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    counts = figures.overview(session)
    whole = community(session)
    context = {
        "o": counts,
        "c": whole,
        "flags": views.flags(actor),
        "charts": overview_charts(counts, language(request)),
        "community_charts": community_charts(whole, language(request)),
        "errors": errors or {},
    }
    return render(request, "overview.html", context, actor=actor, session=session, status=status)


@router.get("/", dependencies=[PUBLIC_CACHE])
def overview(request: Request, session: SessionDep, actor: PublicActor) -> HTMLResponse:
    """生态概览: counts, charts and the share of the regional total of filed models."""
    return _overview_page(request, session, actor)


@router.post("/overview/regional-total")
def set_regional_total(
    request: Request, session: SessionDep, actor: OperatorActor, form: FormDep
) -> Response:
    try:
        data = RegionalTotalIn.model_validate(
            {"region": text(form, "region"), "total": text(form, "total")}
        )
    except ValidationError as exc:
        errors = validation_errors(exc, language(request))
        return _overview_page(request, session, actor, errors=errors, status=422)
    figures.set_regional_total(session, actor=actor, region=data.region, total=data.total)
    session.commit()
    return RedirectResponse("/", status_code=303)


def _actor_of(request: Request, session: Session) -> Actor:
    """The signed-in user for the layout of an error page, if any (never raises)."""
    cached: Actor | None = request.state._state.get("mosu_actor")
    if cached is not None:
        return cached
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return PUBLIC
    try:
        user = user_for_web_token(session, token)
        return actor_for(user) if user is not None else PUBLIC
    except Exception:  # an error page must render even when the database does not answer
        return PUBLIC


def _unread(request: Request, session: Session, actor: Actor) -> int:
    """The header's badge on an error page: 0 when the database does not answer."""
    try:
        return unread_notifications(request, session, actor)
    except Exception:  # an error page must render even when the database does not answer
        return 0


def login_redirect(request: Request) -> RedirectResponse:
    """To the sign-in page, coming back to this page (path and query) afterwards."""
    return RedirectResponse(page_url("/login", {"next": here(request)}), status_code=303)


def error_page(request: Request, status: int, message: Text | str) -> HTMLResponse:
    """An error (status and message) in the site's layout and the visitor's language, read
    with the request's session (its route has ended, so it is closed here again, with the
    connection the page took) or, for a request that had none, one of its own."""
    lang = language(request)
    context = {
        "status": status,
        "message": i18n.render(message, lang),
        "request_id": request.state._state.get("request_id", ""),
    }
    session: Session = request.state._state.get("mosu_session") or request.app.state.sessionmaker()
    try:
        actor = _actor_of(request, session)
        context["unread"] = _unread(request, session, actor)
        return render(request, "error.html", context, actor=actor, session=session, status=status)
    finally:
        session.close()


# The page modules' routes join this router's own list instead of being included routers:
# FastAPI matches an included router by scanning it twice (to find it, then to pick the
# route), so a flat list costs each request one scan of the pages.
for _module in (
    auth_pages,
    desk_pages,
    account_pages,
    user_pages,
    org_pages,
    model_pages,
    filing_pages,
    import_pages,
    corpus_pages,
    scenario_pages,
    challenge_pages,
    race_pages,
    supply_offer_pages,
    supply_pages,
    arena_pages,
    board_pages,
    notice_pages,
    decision_pages,
    grading_pages,
    expert_pages,
    panel_pages,
    shortlist_pages,
):
    router.routes.extend(_module.router.routes)
