"""Bulk 入围 from the challenge page: the operator ticks approved applications and shortlists
them in one action (one transaction: all of them or none)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from mosu import i18n
from mosu.accounts.deps import OperatorActor
from mosu.challenges import catalogue, decisions
from mosu.core.errors import Conflict, Forbidden, Invalid, NotFound
from mosu.deps import SessionDep
from mosu.web.challenge_pages import _detail_page
from mosu.web.forms import GENERAL, FormDep
from mosu.web.render import language

router = APIRouter(include_in_schema=False)


@router.post("/challenges/{challenge_id}/shortlist-selected")
def shortlist_selected(
    request: Request, session: SessionDep, actor: OperatorActor, challenge_id: int, form: FormDep
) -> Response:
    """Shortlist the ticked applications; the challenge page again with the refusal if any
    one of them cannot be (and then none is)."""
    challenge = catalogue.get_challenge(session, challenge_id, actor=actor)
    ids = [int(v) for v in form.getlist("application_id") if isinstance(v, str) and v.isdigit()]
    try:
        decisions.shortlist_many(
            session, actor=actor, challenge_id=challenge.id, application_ids=ids
        )
    except (Invalid, Conflict, Forbidden, NotFound) as exc:
        session.rollback()
        errors = {GENERAL: [i18n.render(exc.text, language(request))]}
        return _detail_page(request, session, actor, challenge_id, errors=errors, status=exc.status)
    session.commit()
    return RedirectResponse(f"/challenges/{challenge.id}#applications", status_code=303)


__all__ = ["router"]
