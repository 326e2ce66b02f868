"""Pages of the panel's results, its shortlist and the combined decision (专家评审结果、
入围名单、综合评分决定). They read the same views as the API (:mod:`mosu.review.results`,
:mod:`mosu.review.shortlist`, :mod:`mosu.review.decision`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from mosu.accounts.deps import OperatorActor, PublicActor
from mosu.challenges.catalogue import get_challenge
from mosu.challenges.models import Challenge, ChallengeState
from mosu.challenges.schemas import ChallengeOut
from mosu.core.errors import Conflict, Forbidden, Invalid, NotFound
from mosu.deps import SessionDep
from mosu.i18n import N_
from mosu.permissions import Actor, can_manage_challenge
from mosu.review.decision import combined_table, decide_combined
from mosu.review.models import PanelState
from mosu.review.panels import panel_state
from mosu.review.results import panel_results
from mosu.review.rubric import rubric_of, shown_rubric
from mosu.review.shortlist import confirm_shortlist, proposal
from mosu.web.confirm import confirm_page, confirmed
from mosu.web.flash import flash
from mosu.web.forms import FieldErrors, FormDep, service_errors, text
from mosu.web.render import language, render

router = APIRouter(include_in_schema=False)

REFUSED = (Invalid, Conflict, Forbidden, NotFound)


def _ids(values: list[Any]) -> list[int]:
    return [int(v) for v in values if isinstance(v, str) and v.isdigit()]


def review_section(
    session: Session, actor: Actor, challenge: Challenge | ChallengeOut
) -> dict[str, Any]:
    """What the challenge page shows of its review: the rubric the caller may read and which
    review pages it links to (the results and shortlist once a panel is drawn, the decision
    page once it has closed on a challenge that publishes a combined rule). Two small reads:
    the panel's state and the rubric."""
    state = panel_state(session, challenge.id)
    rubric = rubric_of(session, challenge.id)
    return {
        "review_links": {
            "panel": state is not None,
            "decision": state is PanelState.closed and rubric is not None and bool(rubric.combined),
        },
        "rubric": shown_rubric(session, actor=actor, challenge=challenge),
        # without a panel the operator shortlists the approved applications it ticks
        "can_shortlist_many": state is None
        and can_manage_challenge(actor)
        and challenge.state is ChallengeState.shortlisting,
    }


@router.get("/challenges/{challenge_id}/panel-results")
def results_page(
    request: Request, session: SessionDep, actor: PublicActor, challenge_id: int
) -> HTMLResponse:
    challenge = get_challenge(session, challenge_id, actor=actor)
    results = panel_results(session, actor=actor, challenge_id=challenge_id, lang=language(request))
    return render(
        request,
        "review/panel_results.html",
        {"c": challenge, "r": results},
        actor=actor,
        session=session,
    )


def _shortlist_page(
    request: Request,
    session: Session,
    actor: Actor,
    challenge_id: int,
    *,
    errors: FieldErrors | None = None,
    status: int = 200,
    chosen: list[int] | None = None,
    reason: str = "",
) -> HTMLResponse:
    challenge = get_challenge(session, challenge_id, actor=actor)
    shown = proposal(session, actor=actor, challenge_id=challenge_id)
    results = panel_results(session, actor=actor, challenge_id=challenge_id, lang=language(request))
    context = {
        "c": challenge,
        "p": shown,
        "r": results,
        "by_id": {a.application_id: a for a in results.applications},
        "chosen": shown.proposed if chosen is None else chosen,
        "reason": reason,
        "errors": errors or {},
    }
    return render(
        request, "review/shortlist.html", context, actor=actor, session=session, status=status
    )


@router.get("/challenges/{challenge_id}/shortlist")
def shortlist_page(
    request: Request, session: SessionDep, actor: PublicActor, challenge_id: int
) -> HTMLResponse:
    return _shortlist_page(request, session, actor, challenge_id)


def _act(
    request: Request,
    session: Session,
    action: Callable[[], Any],
    page: Callable[[FieldErrors, int], HTMLResponse],
    done: str,
) -> Response:
    """Run ``action``; on to ``done``, or the page again with the refusal."""
    try:
        action()
    except REFUSED as exc:
        session.rollback()
        return page(service_errors(exc, language(request)), exc.status)
    session.commit()
    return RedirectResponse(done, status_code=303)


@router.post("/challenges/{challenge_id}/shortlist")
def confirm(
    request: Request, session: SessionDep, actor: OperatorActor, challenge_id: int, form: FormDep
) -> Response:
    chosen = _ids(form.getlist("application_id"))
    reason = text(form, "reason")
    return _act(
        request,
        session,
        lambda: confirm_shortlist(
            session,
            actor=actor,
            challenge_id=challenge_id,
            application_ids=chosen,
            reason=reason,
        ),
        lambda errors, status: _shortlist_page(
            request,
            session,
            actor,
            challenge_id,
            errors=errors,
            status=status,
            chosen=chosen,
            reason=reason,
        ),
        f"/challenges/{challenge_id}/shortlist",
    )


def _decision_page(
    request: Request,
    session: Session,
    actor: Actor,
    challenge_id: int,
    *,
    errors: FieldErrors | None = None,
    status: int = 200,
    chosen: list[int] | None = None,
    reason: str = "",
) -> HTMLResponse:
    challenge = get_challenge(session, challenge_id, actor=actor)
    table = combined_table(session, actor=actor, challenge_id=challenge_id)
    context = {
        "c": challenge,
        "t": table,
        "chosen": table.rule_winners if chosen is None else chosen,
        "reason": reason,
        "errors": errors or {},
    }
    return render(
        request, "review/decision.html", context, actor=actor, session=session, status=status
    )


@router.get("/challenges/{challenge_id}/decision")
def decision_page(
    request: Request, session: SessionDep, actor: PublicActor, challenge_id: int
) -> HTMLResponse:
    return _decision_page(request, session, actor, challenge_id)


@router.post("/challenges/{challenge_id}/decision")
def decide(
    request: Request, session: SessionDep, actor: OperatorActor, challenge_id: int, form: FormDep
) -> Response:
    chosen = _ids(form.getlist("entry_id"))
    reason = text(form, "reason")
    if chosen and not confirmed(form):
        return confirm_page(
            request, session, actor, form,
            title=N_("确认揭榜单位"),
            message=N_("将确定 {n} 个揭榜单位，榜单随即公布结果，未选中的参赛队记为未入选。"),
            params={"n": len(chosen)},
            back=f"/challenges/{challenge_id}/decision",
        )  # fmt: skip
    flash(request, N_("已确定揭榜单位"))
    return _act(
        request,
        session,
        lambda: decide_combined(
            session, actor=actor, challenge_id=challenge_id, entry_ids=chosen, reason=reason
        ),
        lambda errors, status: _decision_page(
            request,
            session,
            actor,
            challenge_id,
            errors=errors,
            status=status,
            chosen=chosen,
            reason=reason,
        ),
        f"/challenges/{challenge_id}/decision",
    )
