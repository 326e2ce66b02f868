"""Expert grading pages (专家复核): the expert's queue and grading page per round (blind
answers, a score per criterion with its description, or A / B / tie), and the operator's
forms on a closed stage of the race page (open a round, close it)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from mosu.accounts.deps import OperatorActor, SignedInActor
from mosu.deps import SessionDep, SettingsDep
from mosu.permissions import grades_race_answers
from mosu.race import views as race_views
from mosu.review import grading, grading_views
from mosu.review.grading import GradingRoundIn
from mosu.review.models import GradingMode
from mosu.web.errors import GRADE_EVERY_CRITERION, INVALID_FORM
from mosu.web.forms import FormDep, optional, text, validation_errors
from mosu.web.render import language, render

router = APIRouter(include_in_schema=False)


@router.get("/grading")
def queue_page(request: Request, session: SessionDep, actor: SignedInActor) -> HTMLResponse:
    """The rounds waiting for the signed-in expert (empty for everyone else)."""
    rows = grading_views.grading_queue(session, actor=actor)
    return render(
        request, "review/grading_queue.html", {"rows": rows}, actor=actor, session=session
    )


@router.get("/grading-rounds/{round_id}")
def round_page(
    request: Request,
    session: SessionDep,
    actor: SignedInActor,
    settings: SettingsDep,
    round_id: int,
) -> HTMLResponse:
    """The expert's items of a round, blind: code, question, answer(s), their own grade."""
    shown = grading_views.expert_round(
        session, actor=actor, round_id=round_id, data_dir=settings.data_dir
    )
    context = {"r": shown, "expert": grades_race_answers(actor.role)}
    return render(request, "review/grading_round.html", context, actor=actor, session=session)


def _scores(form: FormData, criteria: list[str]) -> dict[str, float]:
    scores = {}
    for key in criteria:
        value = text(form, f"score_{key}")
        try:
            scores[key] = float(value)
        except ValueError:
            raise GRADE_EVERY_CRITERION() from None
    return scores


@router.post("/grading-items/{item_id}/grade")
def grade_item(session: SessionDep, actor: SignedInActor, item_id: int, form: FormDep) -> Response:
    """Save the expert's grade of one item and go back to it on the round's page."""
    item = grading.assigned_item(session, actor, item_id)
    round_ = item.round
    keys = [str(c["key"]) for c in round_.criteria]
    grading.grade(
        session,
        actor=actor,
        item_id=item_id,
        scores=_scores(form, keys) if round_.mode is GradingMode.rubric else None,
        preference=optional(form, "preference"),
        comment=text(form, "comment"),
    )
    session.commit()
    return RedirectResponse(f"/grading-rounds/{round_.id}#item-{item_id}", status_code=303)


def _expert_ids(session: SessionDep, names: str) -> list[int] | None:
    wanted = [n.strip() for n in names.replace("，", ",").split(",") if n.strip()]
    return grading.experts_by_username(session, wanted) if wanted else None


def _criteria(lines: str) -> list[dict[str, str]] | None:
    """``key | 名称 | 说明`` per line (empty: the judge's overall grade)."""
    out = []
    for line in lines.splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        out.append({"key": parts[0], "name": parts[1] if len(parts) > 1 else parts[0],
                    "description": parts[2] if len(parts) > 2 else ""})  # fmt: skip
    return out or None


@router.post("/stages/{stage_id}/grading-rounds")
def open_round(
    request: Request,
    session: SessionDep,
    actor: OperatorActor,
    settings: SettingsDep,
    stage_id: int,
    form: FormDep,
) -> Response:
    """Open a round from the stage's form on the race page."""
    stage = race_views.visible_stage(session, actor, stage_id)
    try:
        data = GradingRoundIn.model_validate(
            {
                "mode": text(form, "mode") or "rubric",
                "sample_size": text(form, "sample_size") or "10",
                "seed": optional(form, "seed"),
                "min_agreement": text(form, "min_agreement") or "0.4",
                "criteria": _criteria(text(form, "criteria")),
                "experts": _expert_ids(session, text(form, "experts")),
            }
        )
    except ValidationError as exc:
        errors = validation_errors(exc, language(request))
        raise INVALID_FORM(problems="; ".join(m for ms in errors.values() for m in ms)) from None
    grading.open_round(
        session, actor=actor, stage_id=stage_id, data=data, data_dir=settings.data_dir
    )
    session.commit()
    return RedirectResponse(
        f"/challenges/{stage.challenge_id}/race#grading-{stage.position}", status_code=303
    )


@router.post("/grading-rounds/{round_id}/close")
def close_round(
    session: SessionDep, actor: OperatorActor, settings: SettingsDep, round_id: int
) -> Response:
    """Close a round: its results appear on the stage."""
    round_ = grading.close_round(
        session, actor=actor, round_id=round_id, data_dir=settings.data_dir
    )
    session.commit()
    stage = round_.stage
    return RedirectResponse(
        f"/challenges/{stage.challenge_id}/race#grading-{stage.position}", status_code=303
    )
