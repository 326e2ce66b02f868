"""Race pages (赛马): stages with their boards and charts, the team's submission panel with
live state, the operator's controls, and the race report (also as a download)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from mosu import i18n
from mosu import race as races
from mosu.accounts.deps import OperatorActor, PublicActor, SignedInActor
from mosu.challenges.models import (
    Challenge,
    ChallengeState,
    CutRule,
    EntryState,
    SubmissionMode,
)
from mosu.core import clock
from mosu.core.errors import Conflict, Error, Forbidden, Invalid, MosuError, NotFound
from mosu.deps import SessionDep, SettingsDep
from mosu.i18n import N_
from mosu.permissions import Actor, can_read_race_report, can_run_race
from mosu.public_cache import PUBLIC_CACHE
from mosu.race import builder, views
from mosu.race.entries import shown_state
from mosu.review import grading_views
from mosu.review.decision import has_combined_rule
from mosu.web.assets import assets
from mosu.web.confirm import confirm_page, confirmed
from mosu.web.errors import (
    BAD_CLOSES_AT,
    BAD_OPENS_AT,
    CHOOSE_STAGE_OPTIONS,
    NOT_A_NUMBER,
    RULE_NOT_MAPPING,
    RULE_NOT_YAML,
    TASK_NOT_MAPPING,
    TASK_NOT_YAML,
)
from mosu.web.flash import flash
from mosu.web.forms import GENERAL, FieldErrors, FormDep, service_errors, text
from mosu.web.render import env, language, render

router = APIRouter(include_in_schema=False)

"""The chart drawer (and escaper) of every page, inlined into the downloaded report."""
EXAMPLE_SYSTEM = "请判断留言应由哪个部门受理，只回答部门名称。"
EXAMPLE_TEMPLATE = "标题：{{ 标题 }}\n内容：{{ 内容 }}\n受理部门："
STAGE_DEFAULTS = {
    "system": EXAMPLE_SYSTEM,
    "template": EXAMPLE_TEMPLATE,
    "parser": "label",
    "min_coverage": "0.9",
    "public_fraction": "0.5",
    "daily_limit": "5",
    "total_limit": "20",
}


def _race_page(
    request: Request,
    session: Session,
    actor: Actor,
    challenge: Challenge,
    *,
    errors: FieldErrors | None = None,
    status: int = 200,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    operator = can_run_race(actor)
    context: dict[str, Any] = {
        "c": challenge,
        "stages": views.stage_views(session, actor, challenge, language(request)),
        "entries": races.entries_of(session, challenge.id),
        "teams": views.team_views(
            session,
            actor,
            challenge,
            request.app.state.settings.submission_failure_limit,
            language(request),
        ),
        "operator": operator,
        "full_report": can_read_race_report(actor, challenge.organisation_id),
        "errors": errors or {},
        "values": {**STAGE_DEFAULTS, **(values or {})},
        "chosen_scorers": (values or {}).get("scorers", "accuracy macro_f1").split(),
        "builder": builder.builder_choices(),
        "versions": views.dataset_versions(session) if operator else [],
        "all_submissions": views.all_submissions(session, actor, challenge),
        "CutRule": CutRule,
        "decided_by_rule": has_combined_rule(session, challenge.id),
        "SubmissionMode": SubmissionMode,
        "EntryState": EntryState,
        "shown_state": shown_state,
        "baselines": races.BASELINES,
        "grading": grading_views.race_grading(
            session, actor, challenge, request.app.state.settings.data_dir
        ),
        "rule_labels": {
            CutRule.top_k: N_("前 k 名晋级"),
            CutRule.threshold: N_("得分达到阈值晋级"),
            CutRule.not_worse: N_("与最佳无显著差异者晋级"),
        },
    }
    return render(request, "races/race.html", context, actor=actor, session=session, status=status)


@router.get("/challenges/{challenge_id}/race", dependencies=[PUBLIC_CACHE])
def race_page(
    request: Request, session: SessionDep, actor: PublicActor, challenge_id: int
) -> HTMLResponse:
    challenge = views.visible_challenge(session, actor, challenge_id)
    return _race_page(request, session, actor, challenge)


def _act(
    request: Request,
    session: Session,
    actor: Actor,
    challenge_id: int,
    action: Callable[[], Any],
    *,
    anchor: str = "",
    values: dict[str, str] | None = None,
    done: str = "",
) -> Response:
    """Run ``action``; back to the race page (saying ``done``), or the page again with the
    refusal."""
    challenge = views.visible_challenge(session, actor, challenge_id)
    try:
        action()
    except (Invalid, Conflict, Forbidden, NotFound) as exc:
        session.rollback()
        errors = _errors(exc, language(request))
        challenge = views.visible_challenge(session, actor, challenge_id)
        return _race_page(
            request, session, actor, challenge, errors=errors, status=exc.status, values=values
        )
    session.commit()
    if done:
        flash(request, done)
    return RedirectResponse(f"/challenges/{challenge.id}/race{anchor}", status_code=303)


def _errors(exc: MosuError, lang: i18n.Language) -> FieldErrors:
    errors = service_errors(exc, lang)
    if isinstance(exc.details, list):
        lines = [
            f"第 {d['line']} 行：{d['message']}" if d.get("line") else str(d.get("message", d))
            for d in exc.details
            if isinstance(d, dict)
        ]
        errors.setdefault(GENERAL, []).extend(lines[:50])
    return errors


def _local_time(value: str, error: Error) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise error() from None
    return moment if moment.tzinfo else moment.replace(tzinfo=clock.SHANGHAI)


def _number(form: FormData, name: str, default: float) -> float:
    value = text(form, name)
    if not value:
        return default
    try:
        return float(value)
    except ValueError:
        raise NOT_A_NUMBER(name=name) from None


def _task(form: FormData) -> dict[str, Any]:
    """The stage's task: the advanced YAML when given, else the builder's fields."""
    if not text(form, "task"):
        return builder.task_from_fields(
            system=text(form, "system"),
            template=text(form, "template"),
            parser=text(form, "parser"),
            scorers=[v for v in form.getlist("scorers") if isinstance(v, str) and v],
            image_delivery=text(form, "image_delivery") or "base64",
        )
    try:
        task = yaml.safe_load(text(form, "task"))
    except yaml.YAMLError as exc:
        raise TASK_NOT_YAML(reason=str(exc)) from None
    if not isinstance(task, dict):
        raise TASK_NOT_MAPPING()
    return task


@router.get("/challenges/{challenge_id}/race/stage-preview")
def stage_preview(
    request: Request, session: SessionDep, actor: OperatorActor, challenge_id: int
) -> HTMLResponse:
    """The builder's prompt rendered on a real dev (or train) row, before saving (a part of
    the race page; nothing is written)."""
    views.visible_challenge(session, actor, challenge_id)
    pairs: list[tuple[str, str | UploadFile]] = list(request.query_params.multi_items())
    query = FormData(pairs)
    context: dict[str, Any] = {"preview": None, "problem": ""}
    try:
        version_id = int(text(query, "dataset_version_id"))
        context["preview"] = builder.preview(
            session, actor=actor, version_id=version_id, task=_task(query)
        )
    except ValueError:
        context["problem"] = i18n.gettext(language(request), "请选择数据集版本")
    except Invalid as exc:
        context["problem"] = i18n.render(exc.text, language(request))
    return render(request, "races/_preview.html", context, actor=actor, session=session)


def _stage_spec(form: FormData) -> races.StageSpec:
    task = _task(form)
    try:
        rule = yaml.safe_load(text(form, "rule") or "null")
    except yaml.YAMLError as exc:
        raise RULE_NOT_YAML(reason=str(exc)) from None
    if rule is not None and not isinstance(rule, dict):
        raise RULE_NOT_MAPPING()
    try:
        mode = SubmissionMode(text(form, "mode"))
        cut_rule = CutRule(text(form, "cut_rule"))
        version_id = int(text(form, "dataset_version_id"))
    except ValueError:
        raise CHOOSE_STAGE_OPTIONS() from None
    return races.StageSpec(
        name=text(form, "name"),
        task=task,
        dataset_version_id=version_id,
        mode=mode,
        opens_at=_local_time(text(form, "opens_at"), BAD_OPENS_AT),
        closes_at=_local_time(text(form, "closes_at"), BAD_CLOSES_AT),
        cut_rule=cut_rule,
        cut_value=_number(form, "cut_value", 0),
        min_coverage=_number(form, "min_coverage", 0.9),
        rule=rule,
        public_fraction=_number(form, "public_fraction", 0.5),
        daily_limit=int(_number(form, "daily_limit", 5)),
        total_limit=int(_number(form, "total_limit", 20)),
        max_selected=int(_number(form, "max_selected", 2)),
    )


@router.post("/challenges/{challenge_id}/race/stages")
def add_stage(
    request: Request, session: SessionDep, actor: OperatorActor, challenge_id: int, form: FormDep
) -> Response:
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    values["scorers"] = " ".join(v for v in form.getlist("scorers") if isinstance(v, str))
    return _act(
        request,
        session,
        actor,
        challenge_id,
        lambda: races.add_stage(
            session, actor=actor, challenge_id=challenge_id, spec=_stage_spec(form)
        ),
        anchor="#stages",
        values=values,
    )


@router.post("/challenges/{challenge_id}/race/baselines")
def add_baseline(
    request: Request, session: SessionDep, actor: OperatorActor, challenge_id: int, form: FormDep
) -> Response:
    return _act(
        request,
        session,
        actor,
        challenge_id,
        lambda: races.add_house_entry(
            session,
            actor=actor,
            challenge_id=challenge_id,
            name=text(form, "name"),
            baseline=text(form, "baseline"),
        ),
        anchor="#entries",
    )


@router.post("/challenges/{challenge_id}/race/start")
def start(
    request: Request, session: SessionDep, actor: OperatorActor, challenge_id: int, form: FormDep
) -> Response:
    return _act(
        request,
        session,
        actor,
        challenge_id,
        lambda: races.start_race(
            session, actor=actor, challenge_id=challenge_id, reason=text(form, "reason")
        ),
        done=N_("赛马已开始"),
    )


@router.post("/challenges/{challenge_id}/race/decide")
def decide(
    request: Request, session: SessionDep, actor: OperatorActor, challenge_id: int, form: FormDep
) -> Response:
    ids = [int(v) for v in form.getlist("entry_id") if isinstance(v, str) and v.isdigit()]
    if ids and not confirmed(form):
        return confirm_page(
            request, session, actor, form,
            title=N_("确认揭榜单位"),
            message="将确定 {n} 个揭榜单位，榜单随即公布结果，未选中的参赛队记为未入选。",
            params={"n": len(ids)},
            back=f"/challenges/{challenge_id}/race",
        )  # fmt: skip
    return _act(
        request,
        session,
        actor,
        challenge_id,
        lambda: races.decide(
            session,
            actor=actor,
            challenge_id=challenge_id,
            entry_ids=ids,
            reason=text(form, "reason"),
        ),
        done=N_("已确定揭榜单位"),
    )


@router.post("/stages/{stage_id}/close")
def close(
    request: Request,
    session: SessionDep,
    actor: OperatorActor,
    settings: SettingsDep,
    stage_id: int,
    form: FormDep,
) -> Response:
    stage = races.get_stage(session, stage_id)
    if clock.now() < stage.closes_at and not confirmed(form):
        return confirm_page(
            request, session, actor, form,
            title=N_("确认提前结束阶段"),
            message=N_("阶段“{stage}”将提前结束：按公布的规则淘汰参赛队，之后不能再提交。"),
            params={"stage": stage.name},
            back=f"/challenges/{stage.challenge_id}/race#stage-{stage.position}",
        )  # fmt: skip
    return _act(
        request,
        session,
        actor,
        stage.challenge_id,
        lambda: races.close_stage(
            session,
            actor=actor,
            stage_id=stage_id,
            data_dir=settings.data_dir,
            reason=text(form, "reason"),
        ),
        anchor=f"#stage-{stage.position}",
        done=N_("阶段已结束"),
    )


async def submission_form(request: Request) -> AsyncIterator[FormData]:
    """The submission form (its size bounded by :class:`mosu.uploads.BodyLimit`)."""
    async with request.form(max_files=1, max_fields=10) as form:
        yield form


SubmissionForm = Annotated[FormData, Depends(submission_form)]


@router.post("/stages/{stage_id}/submit")
async def submit(
    request: Request,
    session: SessionDep,
    actor: SignedInActor,
    settings: SettingsDep,
    stage_id: int,
    form: SubmissionForm,
) -> Response:
    stage = races.get_stage(session, stage_id)
    views.visible_challenge(session, actor, stage.challenge_id)
    upload = form.get("predictions")
    content = await upload.read() if isinstance(upload, UploadFile) and upload.filename else None
    endpoint = text(form, "endpoint_id")
    entry = text(form, "entry_id")
    return _act(
        request,
        session,
        actor,
        stage.challenge_id,
        lambda: races.submit(
            session,
            actor=actor,
            stage_id=stage_id,
            data_dir=settings.data_dir,
            entry_id=int(entry) if entry.isdigit() else None,
            endpoint_id=int(endpoint) if endpoint.isdigit() else None,
            predictions=content,
            note=text(form, "note"),
            failure_limit=settings.submission_failure_limit,
        ),
        anchor="",
    )


@router.post("/stages/{stage_id}/select")
def select_submissions(
    request: Request, session: SessionDep, actor: SignedInActor, stage_id: int, form: FormDep
) -> Response:
    stage = races.get_stage(session, stage_id)
    ids = [int(v) for v in form.getlist("submission_id") if isinstance(v, str) and v.isdigit()]
    entry = text(form, "entry_id")
    return _act(
        request,
        session,
        actor,
        stage.challenge_id,
        lambda: races.select_submissions(
            session,
            actor=actor,
            stage_id=stage_id,
            entry_id=int(entry) if entry.isdigit() else 0,
            submission_ids=ids,
        ),
        anchor="",
    )


@router.get("/submissions/{submission_id}/state")
def submission_state(
    request: Request, session: SessionDep, actor: SignedInActor, submission_id: int
) -> HTMLResponse:
    """The live state cell of a submission (polled by the page while it is pending)."""
    submission = races.get_submission(session, actor=actor, submission_id=submission_id)
    out = views.submission_out(session, actor, submission, language(request))
    return render(request, "races/_state.html", {"s": out}, actor=actor, session=session)


@router.post("/submissions/{submission_id}/cancel")
def cancel(
    request: Request, session: SessionDep, actor: SignedInActor, submission_id: int
) -> Response:
    submission = races.get_submission(session, actor=actor, submission_id=submission_id)
    return _act(
        request,
        session,
        actor,
        submission.stage.challenge_id,
        lambda: races.cancel_submission(session, actor=actor, submission_id=submission_id),
        anchor="",
    )


@router.post("/submissions/{submission_id}/rerun")
def rerun(
    request: Request, session: SessionDep, actor: OperatorActor, submission_id: int
) -> Response:
    submission = races.get_submission(session, actor=actor, submission_id=submission_id)
    return _act(
        request,
        session,
        actor,
        submission.stage.challenge_id,
        lambda: races.rerun_submission(session, actor=actor, submission_id=submission_id),
        anchor="#all-submissions",
    )


@router.get("/challenges/{challenge_id}/race/report")
def report(
    request: Request,
    session: SessionDep,
    actor: PublicActor,
    challenge_id: int,
    download: bool = False,
) -> Response:
    """The race report: full for operators and the issuer, filtered for everyone else;
    ``?download=1`` gives one self-contained HTML file (plotly.js's cartesian bundle and
    mosu.js inlined)."""
    challenge = views.visible_challenge(session, actor, challenge_id)
    lang = language(request)
    data = views.race_report(session, actor, challenge, request.app.state.settings.data_dir, lang)
    context = {"r": data, "c": challenge, "standalone": download, "ChallengeState": ChallengeState}
    if not download:
        return render(request, "races/report.html", context, actor=actor, session=session)
    html = env.get_template("races/report.html").render(
        {
            **context,
            "request": request,
            "actor": actor,
            "lang": lang,
            "html_lang": i18n.HTML_LANG[lang],
            "here": str(request.url.path),
            "path": request.url.path,
            "plotly_js": assets().by_name["vendor/plotly-cartesian.min.js"].body.decode(),
            "mosu_js": _inline("mosu.js"),
        }
    )
    return HTMLResponse(
        html,
        headers={"Content-Disposition": f'attachment; filename="race-report-{challenge.id}.html"'},
    )


def _inline(name: str) -> str:
    """A static script's text, safe inside a ``<script>`` element."""
    return assets().by_name[name].body.decode("utf-8").replace("</", "<\\/")


__all__ = ["router"]
