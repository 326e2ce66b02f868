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
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from mosu import race as races
from mosu.challenges.models import (
    Challenge,
    Stage,
    StageState,
    Submission,
    SubmissionMode,
)
from mosu.challenges.service import get_challenge
from mosu.core import clock
from mosu.core.errors import Forbidden, Invalid, NotFound
from mosu.corpus.models import DatasetVersion
from mosu.corpus.service import contamination_warning
from mosu.deps import OperatorActor, PublicActor, SessionDep, SettingsDep, SignedInActor
from mosu.permissions import Actor, can_read_race_report, can_see_entry, ensure
from mosu.public_cache import PUBLIC_CACHE
from mosu.race.schemas import (
    BaselineIn,
    BoardOut,
    DecideIn,
    EntryOut,
    MySubmissions,
    QuotaOut,
    RaceOut,
    ReasonIn,
    SelectionIn,
    StageIn,
    StageOut,
    SubmissionIn,
    SubmissionOut,
)
from mosu.race.scoring import stage_data

router = APIRouter(tags=["races"])


def visible_challenge(session: Session, actor: Actor, challenge_id: int) -> Challenge:
    """A challenge whose race the actor may look at (drafts: operators and the issuer)."""
    return get_challenge(session, challenge_id, actor=actor)


def visible_stage(session: Session, actor: Actor, stage_id: int) -> Stage:
    stage = races.get_stage(session, stage_id)
    visible_challenge(session, actor, stage.challenge_id)
    return stage


def stage_out(session: Session, stage: Stage) -> StageOut:
    version = session.get(DatasetVersion, stage.dataset_version_id)
    board = races.stage_board(stage, "public")
    return StageOut(
        id=stage.id,
        position=stage.position,
        name=stage.name,
        status=races.stage_status(stage),
        mode=stage.mode,
        opens_at=clock.local(stage.opens_at),
        closes_at=clock.local(stage.closes_at),
        cut_rule=stage.cut_rule,
        cut_value=stage.cut_value,
        rule=races.cut_rule_text(stage),
        public_fraction=stage.public_fraction,
        daily_limit=stage.daily_limit,
        total_limit=stage.total_limit,
        max_selected=stage.max_selected,
        dataset_version_id=stage.dataset_version_id,
        task=stage.task,
        contamination_warning=contamination_warning(version) if version else None,
        public_samples=board.samples if board else None,
        final_revealed=stage.state is StageState.closed,
    )


def race_out(session: Session, actor: Actor, challenge: Challenge) -> RaceOut:
    entries = [
        EntryOut(
            id=e.id,
            name=e.name,
            state=e.state,
            baseline=e.baseline,
            organisation_id=e.organisation_id,
            cut_at_stage_id=e.cut_at_stage_id,
            cut_reason=e.cut_reason,
            own=e.organisation_id is not None
            and can_see_entry(actor, races.entry_organisations(session, e))
            and not actor.is_operator,
        )
        for e in races.entries_of(session, challenge.id)
    ]
    return RaceOut(
        challenge_id=challenge.id,
        stages=[stage_out(session, s) for s in challenge.stages],
        entries=entries,
    )


def submission_out(session: Session, actor: Actor, submission: Submission) -> SubmissionOut:
    live = races.live_state(session, submission)
    revealed = actor.is_operator or submission.stage.state is StageState.closed
    return SubmissionOut(
        id=submission.id,
        stage_id=submission.stage_id,
        entry_id=submission.entry_id,
        mode=submission.mode,
        state=submission.state,
        queue_position=live.position,
        done=live.done,
        total=live.total,
        selected=submission.selected,
        public_score=submission.public_score,
        private_score=submission.private_score if revealed else None,
        samples=submission.samples,
        errors=submission.errors,
        error_reasons=submission.error_reasons,
        failure=submission.failure,
        note=submission.note,
        endpoint_id=submission.endpoint_id,
        created_at=clock.local(submission.created_at),
        finished_at=clock.local(submission.finished_at) if submission.finished_at else None,
    )


def board_out(session: Session, actor: Actor, stage: Stage, part: str) -> BoardOut:
    if part not in ("public", "final"):
        raise NotFound("榜单只有 public 和 final / part is public or final")
    if part == "final" and stage.state is not StageState.closed:
        raise NotFound("最终排名在阶段结束后公布 / the final ranking is revealed at the close")
    data = races.stage_board(stage, "public" if part == "public" else "private")
    view = races.view_board(session, actor, stage.challenge, data)
    if view is None:
        return BoardOut(
            stage_id=stage.id, part=part, primary=None, samples=None, full=False, rows=[]
        )
    return BoardOut(
        stage_id=stage.id,
        part=part,
        primary=view.board.primary,
        samples=view.board.samples,
        method=view.board.method,
        full=view.full,
        rows=[r.to_json() for r in view.rows],
    )


# ---------------------------------------------------------------- race set-up (operators)


@router.get("/challenges/{challenge_id}/race", dependencies=[PUBLIC_CACHE])
def get_race(session: SessionDep, actor: PublicActor, challenge_id: int) -> RaceOut:
    """Stages (windows in Asia/Shanghai, published cut rules, limits) and entries."""
    return race_out(session, actor, visible_challenge(session, actor, challenge_id))


@router.post("/challenges/{challenge_id}/race/stages", status_code=201)
def post_stage(
    session: SessionDep, actor: OperatorActor, challenge_id: int, body: StageIn
) -> StageOut:
    stage = races.add_stage(
        session,
        actor=actor,
        challenge_id=challenge_id,
        spec=races.StageSpec(**body.model_dump()),
    )
    session.commit()
    return stage_out(session, stage)


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
    session: SessionDep, actor: OperatorActor, challenge_id: int, body: ReasonIn
) -> RaceOut:
    """入围 → 赛马: needs stages and entries; each stage's close is scheduled."""
    races.start_race(session, actor=actor, challenge_id=challenge_id, reason=body.reason)
    session.commit()
    return race_out(session, actor, visible_challenge(session, actor, challenge_id))


@router.post("/challenges/{challenge_id}/race/decide")
def post_decide(
    session: SessionDep, actor: OperatorActor, challenge_id: int, body: DecideIn
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
    return race_out(session, actor, visible_challenge(session, actor, challenge_id))


@router.post("/stages/{stage_id}/close")
def post_close(
    session: SessionDep, actor: OperatorActor, settings: SettingsDep, stage_id: int, body: ReasonIn
) -> StageOut:
    """Close a stage now (early: a reason is required): reveal the final ranking and cut."""
    stage = races.close_stage(
        session, actor=actor, stage_id=stage_id, data_dir=settings.data_dir, reason=body.reason
    )
    session.commit()
    return stage_out(session, stage)


# ---------------------------------------------------------------- leaderboards


@router.get("/stages/{stage_id}/leaderboard", dependencies=[PUBLIC_CACHE])
def get_leaderboard(
    session: SessionDep, actor: PublicActor, stage_id: int, part: str = "public"
) -> BoardOut:
    """``public``: scored on the public part during the stage; ``final``: the private part,
    revealed when the stage closes."""
    return board_out(session, actor, visible_stage(session, actor, stage_id), part)


@router.get("/challenges/{challenge_id}/race/report")
def get_report(session: SessionDep, actor: SignedInActor, challenge_id: int) -> dict[str, Any]:
    """The full race report (every board with breakdowns, confusion matrices, errors, the
    audit trail): operators and the issuing demand organisation only."""
    challenge = visible_challenge(session, actor, challenge_id)
    ensure(
        can_read_race_report(actor, challenge.organisation_id),
        "完整报告只对运营方和发榜方开放 / the full report is for operators and the issuer",
    )
    from mosu.race.report import report_data

    return report_data(session, actor, challenge)


# ---------------------------------------------------------------- submissions


def _my_entry_ids(session: Session, actor: Actor, stage: Stage) -> list[int]:
    return [e.id for e in races.my_entries(session, actor, stage.challenge_id)]


NDJSON: dict[int | str, dict[str, Any]] = {
    200: {"description": "JSON lines", "content": {"application/x-ndjson": {}}}
}


@router.get("/stages/{stage_id}/inputs.jsonl", response_class=Response, responses=NDJSON)
def get_inputs(session: SessionDep, actor: SignedInActor, stage_id: int) -> Response:
    """The test inputs without labels, for predictions-file stages: entries' teams and
    operators only, while the stage is racing."""
    stage = visible_stage(session, actor, stage_id)
    if stage.mode is not SubmissionMode.predictions:
        raise NotFound("本阶段由平台调用端点，不发布测试输入 / this stage calls endpoints")
    if not actor.is_operator and not _my_entry_ids(session, actor, stage):
        raise Forbidden("只有参赛队可以下载测试输入 / only entries may download the inputs")
    if races.stage_status(stage) is races.StageStatus.scheduled and not actor.is_operator:
        raise Forbidden("阶段尚未开始 / the stage has not opened")
    data = stage_data(session, stage)
    lines = [json.dumps({"id": s.id, **s.fields}, ensure_ascii=False) for s in data.task.samples()]
    return Response(
        ("\n".join(lines) + "\n").encode("utf-8"),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="stage-{stage.id}-inputs.jsonl"'},
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
        raise Invalid("提交不合法 / invalid submission", details=details) from None


async def read_submission(request: Request) -> tuple[SubmissionIn, bytes | None]:
    """JSON for endpoint stages; a multipart form with a ``predictions`` file otherwise."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise Invalid("请求体不是 JSON / the body is not JSON") from None
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
    actor: SignedInActor,
    settings: SettingsDep,
    stage_id: int,
    body: SubmissionBody,
) -> SubmissionOut:
    """Submit for the actor's entry: an endpoint of its organisation, or a predictions file
    (JSON lines of ``id`` and ``prediction``; every bad line is reported, nothing counts).
    409 past the team's daily or total limit (with the reset time) or its failure budget."""
    data, predictions = body
    visible_stage(session, actor, stage_id)
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
    return submission_out(session, actor, submission)


@router.get("/stages/{stage_id}/submissions")
def list_my_submissions(
    session: SessionDep, actor: SignedInActor, settings: SettingsDep, stage_id: int
) -> MySubmissions:
    """The actor's own entries' submissions at this stage, with what is left of the limits
    (operators: every entry)."""
    stage = visible_stage(session, actor, stage_id)
    quotas: list[QuotaOut] = []
    submissions: list[SubmissionOut] = []
    for entry in races.my_entries(session, actor, stage.challenge_id):
        q = races.quota(session, stage, entry, failure_limit=settings.submission_failure_limit)
        quotas.append(
            QuotaOut(
                entry_id=entry.id,
                used_today=q.used_today,
                daily_limit=q.daily_limit,
                used_total=q.used_total,
                total_limit=q.total_limit,
                failed=q.failed,
                failure_limit=q.failure_limit,
                left=q.left,
                resets_at=q.resets_at,
            )
        )
        submissions.extend(
            submission_out(session, actor, s)
            for s in races.submissions_of(session, actor=actor, entry=entry, stage=stage)
        )
    return MySubmissions(quotas=quotas, submissions=submissions)


@router.get("/submissions/{submission_id}")
def get_submission(session: SessionDep, actor: SignedInActor, submission_id: int) -> SubmissionOut:
    """State, queue position and progress (poll it), scores, error counts and the failure."""
    submission = races.get_submission(session, actor=actor, submission_id=submission_id)
    return submission_out(session, actor, submission)


@router.get("/submissions/{submission_id}/predictions", response_class=Response, responses=NDJSON)
def get_predictions(
    session: SessionDep, actor: SignedInActor, settings: SettingsDep, submission_id: int
) -> Response:
    submission = races.get_submission(session, actor=actor, submission_id=submission_id)
    if not submission.predictions_file:
        raise NotFound("这个提交没有预测文件 / no predictions file")
    path = settings.data_dir / submission.predictions_file
    if not path.is_file():
        raise NotFound("文件不存在 / the file is gone")
    return Response(
        path.read_bytes(),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="submission-{submission.id}.jsonl"'},
    )


@router.post("/submissions/{submission_id}/cancel")
def post_cancel(session: SessionDep, actor: SignedInActor, submission_id: int) -> SubmissionOut:
    """Stop a queued or running submission (the team or an operator); it stops counting."""
    submission = races.cancel_submission(session, actor=actor, submission_id=submission_id)
    session.commit()
    return submission_out(session, actor, submission)


@router.post("/submissions/{submission_id}/rerun")
def post_rerun(session: SessionDep, actor: OperatorActor, submission_id: int) -> SubmissionOut:
    """Operators: run the submission's job again (finished samples are not sent again)."""
    submission = races.rerun_submission(session, actor=actor, submission_id=submission_id)
    session.commit()
    return submission_out(session, actor, submission)


@router.put("/stages/{stage_id}/selection")
def put_selection(
    session: SessionDep, actor: SignedInActor, stage_id: int, body: SelectionIn
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
    return [submission_out(session, actor, s) for s in chosen]
