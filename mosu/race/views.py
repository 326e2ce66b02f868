"""What each reader sees of a race (赛马): permission-aware loaders and output builders.

The API routes (:mod:`mosu.race.routes`) and the HTML pages (:mod:`mosu.web.race_pages`)
both call these, so a rule about who sees what is applied in one place.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu import i18n
from mosu import race as races
from mosu.challenges.catalogue import get_challenge
from mosu.challenges.models import (
    Challenge,
    Stage,
    StageState,
    Submission,
    SubmissionMode,
)
from mosu.core import clock
from mosu.core.text import Text
from mosu.corpus.models import Dataset, DatasetVersion
from mosu.corpus.screening import contamination_warning
from mosu.evals.images import ImageData
from mosu.permissions import (
    Actor,
    can_download_inputs,
    can_read_race_report,
    can_run_race,
    can_see_private_score,
    can_see_unopened_stage,
    can_submit_for,
    ensure,
    has_team_panel,
    owns_entry,
)
from mosu.race.errors import (
    FINAL_AT_CLOSE,
    INPUTS_BEFORE_OPENING,
    NO_SUCH_BOARD,
    NO_TEST_INPUTS,
    ONLY_ENTRIES_DOWNLOAD,
    REPORT_FOR_OPERATORS_AND_ISSUER,
)
from mosu.race.gallery import sample_images
from mosu.race.perf import perf_section, perf_view
from mosu.race.report import cost_figure, report_data, scores_figure, stage_titles
from mosu.race.schemas import (
    BoardOut,
    EntryOut,
    MySubmissions,
    QuotaOut,
    RaceOut,
    SampleOut,
    StageOut,
    SubmissionOut,
)
from mosu.race.scoring import outcomes_of, stage_data
from mosu.registry.models import ModelEndpoint


def visible_challenge(session: Session, actor: Actor, challenge_id: int) -> Challenge:
    """A challenge whose race the actor may look at (drafts: operators and the issuer)."""
    return get_challenge(session, challenge_id, actor=actor)


def visible_stage(session: Session, actor: Actor, stage_id: int) -> Stage:
    stage = races.get_stage(session, stage_id)
    visible_challenge(session, actor, stage.challenge_id)
    return stage


def stage_out(session: Session, stage: Stage, lang: i18n.Language = "zh") -> StageOut:
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
        rule=i18n.render(races.cut_rule_text(stage), lang),
        min_coverage=stage.min_coverage,
        scoring_rule=stage.rule,
        scoring_rule_text=i18n.render(races.scoring_rule_text(stage), lang),
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


def shown(text: Text | None, lang: i18n.Language) -> str:
    """A stored decision text (a cut reason, a failure) in ``lang``; none is empty."""
    return "" if text is None else i18n.render(text, lang)


def race_out(
    session: Session, actor: Actor, challenge: Challenge, lang: i18n.Language = "zh"
) -> RaceOut:
    entries = [
        EntryOut(
            id=e.id,
            name=e.name,
            state=e.state,
            baseline=e.baseline,
            organisation_id=e.organisation_id,
            cut_at_stage_id=e.cut_at_stage_id,
            cut_reason=shown(e.cut_reason, lang),
            own=e.organisation_id is not None
            and owns_entry(actor, races.entry_organisations(session, e)),
        )
        for e in races.entries_of(session, challenge.id)
    ]
    return RaceOut(
        challenge_id=challenge.id,
        stages=[stage_out(session, s, lang) for s in challenge.stages],
        entries=entries,
    )


def submission_out(
    session: Session, actor: Actor, submission: Submission, lang: i18n.Language = "zh"
) -> SubmissionOut:
    live = races.live_state(session, submission)
    revealed = can_see_private_score(
        actor, stage_closed=submission.stage.state is StageState.closed
    )
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
        failure=shown(submission.failure, lang),
        note=submission.note,
        endpoint_id=submission.endpoint_id,
        created_at=clock.local(submission.created_at),
        finished_at=clock.local(submission.finished_at) if submission.finished_at else None,
        service=(submission.service or {}).get("figures"),
        price=(submission.service or {}).get("price"),
    )


def submission_samples(
    session: Session, actor: Actor, submission_id: int, data_dir: Path
) -> list[SampleOut]:
    """Per-sample latency, tokens and finish reason of a submission: its own team and
    operators only (anyone else: not found); never inputs, outputs, labels or the part."""
    submission = races.get_submission(session, actor=actor, submission_id=submission_id)
    outcomes = outcomes_of(data_dir, submission)
    images = sample_images(session, actor, submission.stage) if outcomes else {}
    return [
        SampleOut(
            id=sample_id,
            answered=o.output is not None,
            error=o.error,
            attempts=o.attempts,
            latency=o.latency if o.output is not None else None,
            ttft=o.ttft,
            prompt_tokens=o.prompt_tokens,
            completion_tokens=o.completion_tokens,
            finish_reason=o.finish_reason,
            image=images.get(sample_id),
        )
        for sample_id, o in sorted(outcomes.items())
    ]


def board_out(
    session: Session, actor: Actor, stage: Stage, part: str, lang: i18n.Language = "zh"
) -> BoardOut:
    if part not in ("public", "final"):
        raise NO_SUCH_BOARD()
    if part == "final" and stage.state is not StageState.closed:
        raise FINAL_AT_CLOSE()
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
        rows=[r.to_json(lang) for r in view.rows],
        perf=perf_section(stage, "public" if part == "public" else "private"),
        unranked=[r.to_json(lang) for r in view.unranked],
        min_coverage=view.board.min_coverage,
        rule=view.board.rule,
    )


def my_submissions(
    session: Session, actor: Actor, stage: Stage, failure_limit: int, lang: i18n.Language = "zh"
) -> MySubmissions:
    """The actor's own entries' submissions at a stage, with what is left of the limits
    (operators: every entry)."""
    quotas: list[QuotaOut] = []
    submissions: list[SubmissionOut] = []
    for entry in races.my_entries(session, actor, stage.challenge_id):
        q = races.quota(session, stage, entry, failure_limit=failure_limit)
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
            submission_out(session, actor, s, lang)
            for s in races.submissions_of(session, actor=actor, entry=entry, stage=stage)
        )
    return MySubmissions(quotas=quotas, submissions=submissions)


def stage_inputs(session: Session, actor: Actor, stage: Stage) -> bytes:
    """A predictions stage's test inputs without labels, as JSON lines: entries' teams and
    operators only, once the stage has opened (operators: at any time)."""
    if stage.mode is not SubmissionMode.predictions:
        raise NO_TEST_INPUTS()
    own = bool(races.my_entries(session, actor, stage.challenge_id))
    if not can_download_inputs(actor, has_entry=own):
        raise ONLY_ENTRIES_DOWNLOAD()
    if races.stage_status(stage) is races.StageStatus.scheduled and not can_see_unopened_stage(
        actor
    ):
        raise INPUTS_BEFORE_OPENING()
    data = stage_data(session, stage)
    lines = [
        json.dumps({"id": s.id, **_inline_images(s.fields)}, ensure_ascii=False)
        for s in data.task.samples()
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _inline_images(fields: dict[str, Any]) -> dict[str, Any]:
    """A sample's fields as JSON takes them: an image as its base64 data URL."""
    return {k: v.data_url() if isinstance(v, ImageData) else v for k, v in fields.items()}


def sample_submission(session: Session, actor: Actor, stage: Stage) -> bytes:
    """A predictions file in the shape the stage takes: every test id with the label set's
    first label (or an empty answer), for whoever may download the inputs."""
    stage_inputs(session, actor, stage)  # the same readers, at the same times
    data = stage_data(session, stage)
    guess = data.version.label_set[0] if data.version.label_set else ""
    lines = [
        json.dumps({"id": s.id, "prediction": guess}, ensure_ascii=False)
        for s in data.task.samples()
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def full_report(
    session: Session,
    actor: Actor,
    challenge: Challenge,
    data_dir: Path | None = None,
    lang: i18n.Language = "zh",
) -> dict[str, Any]:
    """The full race report as data: operators and the issuing demand organisation only."""
    ensure(can_read_race_report(actor, challenge.organisation_id), REPORT_FOR_OPERATORS_AND_ISSUER)
    return report_data(session, actor, challenge, data_dir, lang)


def race_report(
    session: Session,
    actor: Actor,
    challenge: Challenge,
    data_dir: Path | None = None,
    lang: i18n.Language = "zh",
) -> dict[str, Any]:
    """The race report page's data, filtered for the reader (full for operators, issuer)."""
    return report_data(session, actor, challenge, data_dir, lang)


def dataset_versions(session: Session) -> list[tuple[int, str]]:
    """Every data set version, by name and number, for an operator's stage form."""
    rows = session.execute(
        select(DatasetVersion.id, Dataset.name, DatasetVersion.number)
        .join(Dataset, Dataset.id == DatasetVersion.dataset_id)
        .order_by(Dataset.name, DatasetVersion.number)
    )
    return [(vid, f"{name} v{number}") for vid, name, number in rows]


def stage_views(
    session: Session, actor: Actor, challenge: Challenge, lang: i18n.Language = "zh"
) -> list[dict[str, Any]]:
    """Each stage of the race page: status, rule, contamination warning, boards and chart."""
    out = []
    for stage in challenge.stages:
        version = session.get(DatasetVersion, stage.dataset_version_id)
        public = races.view_board(session, actor, challenge, races.stage_board(stage, "public"))
        final = (
            races.view_board(session, actor, challenge, races.stage_board(stage, "private"))
            if stage.state is StageState.closed
            else None
        )
        shown = final or public
        out.append(
            {
                "stage": stage,
                "status": races.stage_status(stage),
                "rule": races.cut_rule_text(stage),
                "scoring": races.scoring_rule_text(stage),
                "warning": contamination_warning(version, actor=actor) if version else None,
                "labels": list(version.label_set)
                if version and stage.mode is SubmissionMode.predictions
                else [],
                "public": public.to_json(lang) if public else None,
                "final": final.to_json(lang) if final else None,
                "perf": perf_view(stage),
                "figure": scores_figure(shown.board.rows, stage.name)
                if shown and shown.rows
                else None,
                "cost_figure": cost_figure(
                    shown.board.rows, stage_titles(stage.name, final is not None, lang)[1], lang
                )
                if shown
                else None,
            }
        )
    return out


def team_views(
    session: Session,
    actor: Actor,
    challenge: Challenge,
    failure_limit: int,
    lang: i18n.Language = "zh",
) -> list[dict[str, Any]]:
    """For each of the actor's entries: per stage the limits, its submissions, the form."""
    teams = []
    for entry in races.my_entries(session, actor, challenge.id):
        if not has_team_panel(actor, house_entry=entry.baseline is not None):
            continue  # operators act on baselines here; teams' rows are in the table below
        endpoints = endpoints_of(session, entry.organisation_id)
        stages = []
        for stage in challenge.stages:
            subs = races.submissions_of(session, actor=actor, entry=entry, stage=stage)
            stages.append(
                {
                    "stage": stage,
                    "status": races.stage_status(stage),
                    "quota": races.quota(session, stage, entry, failure_limit=failure_limit),
                    "submissions": [submission_out(session, actor, s, lang) for s in subs],
                }
            )
        teams.append(
            {
                "entry": entry,
                "endpoints": endpoints,
                "stages": stages,
                "can_submit": can_submit_for(actor, entry.organisation_id),
            }
        )
    return teams


def all_submissions(session: Session, actor: Actor, challenge: Challenge) -> list[dict[str, Any]]:
    """Every submission of the race with its stage and entry (operators; others get none)."""
    if not can_run_race(actor):
        return []
    entries = {e.id: e for e in races.entries_of(session, challenge.id)}
    rows = []
    for stage in challenge.stages:
        for s in session.scalars(
            select(Submission).where(Submission.stage_id == stage.id).order_by(Submission.id.desc())
        ):
            rows.append({"s": s, "stage": stage, "entry": entries[s.entry_id]})
    return rows


def endpoints_of(session: Session, organisation_id: int | None) -> list[ModelEndpoint]:
    """An entry's organisation's model endpoints, by name, for its submission form."""
    if organisation_id is None:
        return []
    return list(
        session.scalars(
            select(ModelEndpoint)
            .where(ModelEndpoint.organisation_id == organisation_id)
            .order_by(ModelEndpoint.name)
        )
    )
