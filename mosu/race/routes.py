"""Race API under ``/api/v1`` (赛马): stages, entries, submissions, limits, leaderboards.

Every route decides who may see what through :mod:`mosu.race` and
:mod:`mosu.permissions`: a submission, its file and its log are for its own team and
operators (anyone else gets 404, so ids reveal nothing); hidden test labels never leave
the platform; private scores appear only when a stage closes.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from mosu import race as races
from mosu.accounts.deps import OperatorActor, PublicActor, SignedInActor
from mosu.challenges.errors import BODY_NOT_JSON
from mosu.deps import LanguageDep, SessionDep, SettingsDep
from mosu.public_cache import PUBLIC_CACHE
from mosu.race import views
from mosu.race.errors import (
    INVALID_SUBMISSION,
    NO_PREDICTIONS_FILE,
)
from mosu.race.schemas import (
    BaselineIn,
    BoardOut,
    DecideIn,
    EntryOut,
    MySubmissions,
    RaceOut,
    ReasonIn,
    SampleOut,
    SelectionIn,
    StageIn,
    StageOut,
    SubmissionIn,
    SubmissionOut,
)

router = APIRouter(tags=["races"])


# ---------------------------------------------------------------- race set-up (operators)


@router.get("/challenges/{challenge_id}/race", dependencies=[PUBLIC_CACHE])
def get_race(
    session: SessionDep, lang: LanguageDep, actor: PublicActor, challenge_id: int
) -> RaceOut:
    """Stages (windows in Asia/Shanghai, published cut rules, limits) and entries."""
    return views.race_out(
        session, actor, views.visible_challenge(session, actor, challenge_id), lang
    )


@router.post("/challenges/{challenge_id}/race/stages", status_code=201)
def post_stage(
    session: SessionDep, lang: LanguageDep, actor: OperatorActor, challenge_id: int, body: StageIn
) -> StageOut:
    stage = races.add_stage(
        session,
        actor=actor,
        challenge_id=challenge_id,
        spec=races.StageSpec(**body.model_dump()),
    )
    session.commit()
    return views.stage_out(session, stage, lang)


@router.post("/challenges/{challenge_id}/race/baselines", status_code=201)
def post_baseline(
    session: SessionDep, actor: OperatorActor, challenge_id: int, body: BaselineIn
) -> EntryOut:
    entry = races.add_house_entry(
        session, actor=actor, challenge_id=challenge_id, name=body.name, baseline=body.baseline
    )
    session.commit()
    return EntryOut(
        id=entry.id,
        name=entry.name,
        state=entry.state,
        baseline=entry.baseline,
        organisation_id=None,
        cut_at_stage_id=None,
        cut_reason="",
        own=False,
    )


@router.post("/challenges/{challenge_id}/race/start")
def post_start(
    session: SessionDep, lang: LanguageDep, actor: OperatorActor, challenge_id: int, body: ReasonIn
) -> RaceOut:
    """入围 → 赛马: needs stages and entries; each stage's close is scheduled."""
    races.start_race(session, actor=actor, challenge_id=challenge_id, reason=body.reason)
    session.commit()
    return views.race_out(
        session, actor, views.visible_challenge(session, actor, challenge_id), lang
    )


@router.post("/challenges/{challenge_id}/race/decide")
def post_decide(
    session: SessionDep, lang: LanguageDep, actor: OperatorActor, challenge_id: int, body: DecideIn
) -> RaceOut:
    """Name the winners (揭榜成功) after every stage has closed."""
    races.decide(
        session,
        actor=actor,
        challenge_id=challenge_id,
        entry_ids=body.entry_ids,
        reason=body.reason,
    )
    session.commit()
    return views.race_out(
        session, actor, views.visible_challenge(session, actor, challenge_id), lang
    )


@router.post("/stages/{stage_id}/close")
def post_close(
    session: SessionDep,
    lang: LanguageDep,
    actor: OperatorActor,
    settings: SettingsDep,
    stage_id: int,
    body: ReasonIn,
) -> StageOut:
    """Close a stage now (early: a reason is required): reveal the final ranking and cut."""
    stage = races.close_stage(
        session, actor=actor, stage_id=stage_id, data_dir=settings.data_dir, reason=body.reason
    )
    session.commit()
    return views.stage_out(session, stage, lang)


# ---------------------------------------------------------------- leaderboards


@router.get("/stages/{stage_id}/leaderboard", dependencies=[PUBLIC_CACHE])
def get_leaderboard(
    session: SessionDep, lang: LanguageDep, actor: PublicActor, stage_id: int, part: str = "public"
) -> BoardOut:
    """``public``: scored on the public part during the stage; ``final``: the private part,
    revealed when the stage closes."""
    stage = views.visible_stage(session, actor, stage_id)
    return views.board_out(session, actor, stage, part, lang)


@router.get("/challenges/{challenge_id}/race/report")
def get_report(
    session: SessionDep,
    lang: LanguageDep,
    actor: SignedInActor,
    settings: SettingsDep,
    challenge_id: int,
) -> dict[str, Any]:
    """The full race report (every board with breakdowns, confusion matrices, errors, the
    audit trail; a vision stage's gallery of examples for operators): operators and the
    issuing demand organisation only."""
    challenge = views.visible_challenge(session, actor, challenge_id)
    return views.full_report(session, actor, challenge, settings.data_dir, lang)


# ---------------------------------------------------------------- submissions


NDJSON: dict[int | str, dict[str, Any]] = {
    200: {"description": "JSON lines", "content": {"application/x-ndjson": {}}}
}


@router.get("/stages/{stage_id}/inputs.jsonl", response_class=Response, responses=NDJSON)
def get_inputs(session: SessionDep, actor: SignedInActor, stage_id: int) -> Response:
    """The test inputs without labels, for predictions-file stages: entries' teams and
    operators only, while the stage is racing."""
    stage = views.visible_stage(session, actor, stage_id)
    return Response(
        views.stage_inputs(session, actor, stage),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="stage-{stage.id}-inputs.jsonl"'},
    )


@router.get("/stages/{stage_id}/sample_submission.jsonl", response_class=Response, responses=NDJSON)
def get_sample_submission(session: SessionDep, actor: SignedInActor, stage_id: int) -> Response:
    """A sample predictions file (every test id, a placeholder label) for predictions-file
    stages: the same readers as the inputs."""
    stage = views.visible_stage(session, actor, stage_id)
    return Response(
        views.sample_submission(session, actor, stage),
        media_type="application/x-ndjson",
        headers={
            "Content-Disposition": f'attachment; filename="stage-{stage.id}-sample-submission.jsonl"'
        },
    )


_SUBMISSION_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/SubmissionIn"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "predictions": {"type": "string", "format": "binary"},
                    "entry_id": {"type": "integer"},
                    "note": {"type": "string"},
                },
            }
        },
    },
}


def parse_submission(data: Any) -> SubmissionIn:
    try:
        return SubmissionIn.model_validate(data)
    except ValidationError as exc:
        details = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        raise INVALID_SUBMISSION(details=details) from None


async def read_submission(request: Request) -> tuple[SubmissionIn, bytes | None]:
    """JSON for endpoint stages; a multipart form with a ``predictions`` file otherwise."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise BODY_NOT_JSON() from None
        return parse_submission(body), None
    content: bytes | None = None
    data: dict[str, Any] = {}
    async with request.form(max_files=1, max_fields=10) as form:
        for name in ("entry_id", "note", "endpoint_id"):
            value = form.get(name)
            if isinstance(value, str) and value.strip():
                data[name] = value.strip()
        file = form.get("predictions")
        if isinstance(file, UploadFile):
            content = await file.read()
    return parse_submission(data), content


SubmissionBody = Annotated[tuple[SubmissionIn, bytes | None], Depends(read_submission)]


@router.post(
    "/stages/{stage_id}/submissions",
    status_code=201,
    openapi_extra={"requestBody": _SUBMISSION_BODY},
)
def post_submission(
    session: SessionDep,
    lang: LanguageDep,
    actor: SignedInActor,
    settings: SettingsDep,
    stage_id: int,
    body: SubmissionBody,
) -> SubmissionOut:
    """Submit for the actor's entry: an endpoint of its organisation, or a predictions file
    (JSON lines of ``id`` and ``prediction``; every bad line is reported, nothing counts).
    409 past the team's daily or total limit (with the reset time) or its failure budget."""
    data, predictions = body
    views.visible_stage(session, actor, stage_id)
    submission = races.submit(
        session,
        actor=actor,
        stage_id=stage_id,
        data_dir=settings.data_dir,
        entry_id=data.entry_id,
        endpoint_id=data.endpoint_id,
        predictions=predictions,
        note=data.note,
        failure_limit=settings.submission_failure_limit,
    )
    session.commit()
    return views.submission_out(session, actor, submission, lang)


@router.get("/stages/{stage_id}/submissions")
def list_my_submissions(
    session: SessionDep,
    lang: LanguageDep,
    actor: SignedInActor,
    settings: SettingsDep,
    stage_id: int,
) -> MySubmissions:
    """The actor's own entries' submissions at this stage, with what is left of the limits
    (operators: every entry)."""
    stage = views.visible_stage(session, actor, stage_id)
    return views.my_submissions(session, actor, stage, settings.submission_failure_limit, lang)


@router.get("/submissions/{submission_id}")
def get_submission(
    session: SessionDep, lang: LanguageDep, actor: SignedInActor, submission_id: int
) -> SubmissionOut:
    """State, queue position and progress (poll it), scores, error counts and the failure."""
    submission = races.get_submission(session, actor=actor, submission_id=submission_id)
    return views.submission_out(session, actor, submission, lang)


@router.get("/submissions/{submission_id}/samples")
def get_submission_samples(
    session: SessionDep, actor: SignedInActor, settings: SettingsDep, submission_id: int
) -> list[SampleOut]:
    """Per-sample latency, TTFT, tokens and finish reason (the submission's own team and
    operators); no inputs, outputs or labels."""
    return views.submission_samples(session, actor, submission_id, settings.data_dir)


@router.get("/submissions/{submission_id}/predictions", response_class=Response, responses=NDJSON)
def get_predictions(
    session: SessionDep, actor: SignedInActor, settings: SettingsDep, submission_id: int
) -> Response:
    submission = races.get_submission(session, actor=actor, submission_id=submission_id)
    if not submission.predictions_file:
        raise NO_PREDICTIONS_FILE()
    store = races.predictions_store(settings.data_dir, submission.stage_id)
    return Response(
        store.read(submission.predictions_file),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="submission-{submission.id}.jsonl"'},
    )


@router.post("/submissions/{submission_id}/cancel")
def post_cancel(
    session: SessionDep, lang: LanguageDep, actor: SignedInActor, submission_id: int
) -> SubmissionOut:
    """Stop a queued or running submission (the team or an operator); it stops counting."""
    submission = races.cancel_submission(session, actor=actor, submission_id=submission_id)
    session.commit()
    return views.submission_out(session, actor, submission, lang)


@router.post("/submissions/{submission_id}/rerun")
def post_rerun(
    session: SessionDep, lang: LanguageDep, actor: OperatorActor, submission_id: int
) -> SubmissionOut:
    """Operators: run the submission's job again (finished samples are not sent again)."""
    submission = races.rerun_submission(session, actor=actor, submission_id=submission_id)
    session.commit()
    return views.submission_out(session, actor, submission, lang)


@router.put("/stages/{stage_id}/selection")
def put_selection(
    session: SessionDep, lang: LanguageDep, actor: SignedInActor, stage_id: int, body: SelectionIn
) -> list[SubmissionOut]:
    """Choose which submissions count for the final ranking (default: the best public one)."""
    chosen = races.select_submissions(
        session,
        actor=actor,
        stage_id=stage_id,
        entry_id=body.entry_id,
        submission_ids=body.submission_ids,
    )
    session.commit()
    return [views.submission_out(session, actor, s, lang) for s in chosen]
