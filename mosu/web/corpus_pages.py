"""Corpus pages (语料): the catalogue, a data set's card with charts, the upload form
with a progress bar, the import report, and browsing the rows of a split.

A failed import keeps its files (as the registry's import page does) so that the user
can resubmit them choosing to drop or keep the flagged rows.
"""

from __future__ import annotations

import itertools
from functools import partial
from typing import Any

import plotly.graph_objects as go
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from mosu import i18n
from mosu.accounts.deps import PublicActor, SignedInActor
from mosu.core.errors import Conflict, Invalid
from mosu.core.limits import ReadLimits
from mosu.core.settings import Settings
from mosu.corpus import catalogue, imports, screening, views
from mosu.corpus.errors import CREATE_NOT_ALLOWED
from mosu.corpus.imports import FILE_FIELDS, import_options
from mosu.corpus.labels import TERMS
from mosu.corpus.models import HIDDEN_SPLITS, PUBLIC_SPLITS, SPLITS, Dataset
from mosu.corpus.readers import FORMATS, Part, split_word
from mosu.corpus.schemas import DatasetIn, ImportReport
from mosu.deps import SessionDep, SettingsDep
from mosu.permissions import (
    Actor,
    can_act_for_any_organisation,
    can_create_dataset,
    ensure,
)
from mosu.registry.models import Modality
from mosu.web.charts import COLOURS, figure_dict, layout
from mosu.web.errors import CHOOSE_FILE, UPLOAD_EXPIRED
from mosu.web.forms import FieldErrors, FormDep, service_errors, tags, text, validation_errors
from mosu.web.import_pages import Upload, discard, stash, unstash
from mosu.web.render import language, render

router = APIRouter(include_in_schema=False)
CARD_FIELDS = ("name", "organisation_id", "licence", "source", "provenance", "modality")
CARD_TEXT = (*CARD_FIELDS, "industry_tags", "description")
OPTION_FIELDS = (
    "format",
    "sheet",
    "id_field",
    "input_fields",
    "label_field",
    "category_field",
    "split_field",
    "label_set",
    "max_length",
    "seed",
    "flagged",
    "strip",
    "half_width",
)
SPLIT_COLOURS = {"train": COLOURS[0], "dev": COLOURS[1], "test": COLOURS[3]}
ROWS_PER_PAGE = 50


# ---------------------------------------------------------------- catalogue and card


@router.get("/corpus")
def list_corpus(request: Request, session: SessionDep, actor: PublicActor) -> HTMLResponse:
    """语料目录: every data set's card in brief."""
    view = views.corpus_list(session, actor=actor)
    context = {
        "datasets": view.datasets,
        "latest": catalogue.latest,
        "can_create": view.can_create,
    }
    return render(request, "corpus/list.html", context, actor=actor, session=session)


def label_chart(stats: dict[str, Any], lang: i18n.Language) -> dict[str, Any] | None:
    """Label counts by split (grouped bars); only the splits ``stats`` holds."""
    t = partial(i18n.gettext, lang)
    labels: dict[str, dict[str, int]] = stats.get("labels", {})
    if not labels:
        return None
    names = sorted({name for per in labels.values() for name in per})
    figure = go.Figure(
        layout=layout(
            t("标签分布"),
            barmode="group",
            showlegend=True,
            legend={"orientation": "h", "y": -0.25},
            yaxis={"rangemode": "tozero", "gridcolor": "#e5e7eb"},
        )
    )
    for split in SPLITS:
        if split in labels:
            figure.add_trace(
                go.Bar(
                    x=names,
                    y=[labels[split].get(n, 0) for n in names],
                    name=t(TERMS[split]),
                    marker={"color": SPLIT_COLOURS[split]},
                )
            )
    return figure_dict(figure)


def length_chart(stats: dict[str, Any], lang: i18n.Language) -> dict[str, Any] | None:
    """Text lengths by split: a histogram over the bins stored with the version."""
    t = partial(i18n.gettext, lang)
    edges: list[int] = stats.get("length_edges", [])
    histogram: dict[str, list[int]] = stats.get("length_histogram", {})
    if len(edges) < 2 or not histogram:
        return None
    centres = [(a + b) / 2 for a, b in itertools.pairwise(edges)]
    figure = go.Figure(
        layout=layout(
            t("文本长度分布（字）"),
            barmode="stack",
            showlegend=True,
            legend={"orientation": "h", "y": -0.25},
            yaxis={"rangemode": "tozero", "gridcolor": "#e5e7eb"},
        )
    )
    for split in SPLITS:
        if split in histogram:
            figure.add_trace(
                go.Bar(
                    x=centres,
                    y=histogram[split],
                    name=t(TERMS[split]),
                    marker={"color": SPLIT_COLOURS[split]},
                )
            )
    return figure_dict(figure)


# ---------------------------------------------------------------- upload and report


def _form_page(
    request: Request,
    session: Session,
    settings: Settings,
    actor: Actor,
    *,
    dataset: Dataset | None,
    values: dict[str, str],
    errors: FieldErrors | None = None,
    report: ImportReport | None = None,
    stashed: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "dataset": dataset,
        "values": values,
        "errors": errors or {},
        "report": report,
        "stashed": stashed or {},
        "organisations": views.organisation_choices(session, actor=actor),
        "can_choose_any_organisation": can_act_for_any_organisation(actor),
        "formats": FORMATS,
        "modalities": list(Modality),
        "max_mb": settings.max_upload_mb,
        "action": f"/corpus/{dataset.id}/import" if dataset else "/corpus/new",
        "file_fields": FILE_FIELDS,
    }
    template = "corpus/report.html" if report is not None else "corpus/form.html"
    return render(request, template, context, actor=actor, session=session, status=status)


_DEFAULTS = {"licence": "unknown", "modality": "text", "format": "auto", "flagged": "refuse"}


def _values(form: FormData | None) -> dict[str, str]:
    values = {name: "" for name in (*CARD_TEXT, *OPTION_FIELDS)} | _DEFAULTS
    if form is not None:
        values.update(
            {name: text(form, name) for name in (*CARD_TEXT, *OPTION_FIELDS) if text(form, name)}
        )
    return values


@router.get("/corpus/new")
def new_corpus_form(
    request: Request, session: SessionDep, settings: SettingsDep, actor: SignedInActor
) -> HTMLResponse:
    ensure(can_create_dataset(actor), CREATE_NOT_ALLOWED)
    return _form_page(request, session, settings, actor, dataset=None, values=_values(None))


@router.get("/corpus/{dataset_id}/import")
def new_version_form(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: SignedInActor,
    dataset_id: int,
) -> HTMLResponse:
    dataset = catalogue.editable_dataset(session, actor=actor, dataset_id=dataset_id)
    return _form_page(request, session, settings, actor, dataset=dataset, values=_values(None))


def _parts(form: FormData, settings: Settings) -> tuple[list[Part], dict[str, str]]:
    """The uploaded files (or those kept from the first try), and their stash ids."""
    parts: list[Part] = []
    stashed: dict[str, str] = {}
    for key in FILE_FIELDS:
        upload_id = text(form, f"stash_{key}")
        if upload_id:
            kept = unstash(settings, upload_id)
            if kept is None:
                raise UPLOAD_EXPIRED()
            parts.append(Part(kept.filename, content=kept.content, split=split_word(key)))
            stashed[key] = upload_id
            continue
        value = form.get(key)
        if isinstance(value, UploadFile) and value.filename:  # within the body limit
            parts.append(Part(value.filename, content=value.file.read(), split=split_word(key)))
    if not parts:
        raise CHOOSE_FILE()
    return parts, stashed


def _card(form: FormData) -> dict[str, Any]:
    organisation = text(form, "organisation_id")
    return {
        "name": text(form, "name"),
        "organisation_id": int(organisation) if organisation.isdigit() else None,
        "licence": text(form, "licence"),
        "source": text(form, "source"),
        "provenance": text(form, "provenance"),
        "modality": text(form, "modality") or "text",
        "industry_tags": tags(form, "industry_tags"),
        "description": text(form, "description"),
    }


def _run_import(
    request: Request,
    session: Session,
    settings: Settings,
    actor: Actor,
    form: FormData,
    dataset: Dataset | None,
) -> Response:
    lang = language(request)
    values = _values(form)
    page = partial(_form_page, request, session, settings, actor, dataset=dataset, values=values)
    try:
        card = DatasetIn.model_validate(_card(form)) if dataset is None else None
    except ValidationError as exc:
        return page(errors=validation_errors(exc, lang), status=422)
    try:
        options = import_options({k: v for k, v in values.items() if k in OPTION_FIELDS})
        parts, stashed = _parts(form, settings)
        target = dataset or catalogue.create_dataset(session, actor=actor, data=card)  # type: ignore[arg-type]
    except (Invalid, Conflict) as exc:
        session.rollback()
        return page(errors=service_errors(exc, lang), status=422)
    result = imports.import_version(
        session,
        actor=actor,
        dataset=target,
        parts=parts,
        options=options,
        limits=ReadLimits.from_settings(settings),
    )
    if result.version is None:
        session.rollback()
        result.report.dataset_id = dataset.id if dataset else None
        if not stashed and result.report.file_problem is None:
            stashed = {
                key: stash(settings, Upload(p.name, p.content or b""))
                for key, p in zip(_keys(form), parts, strict=True)
            }
        return page(report=result.report, stashed=stashed, status=422)
    session.commit()
    for upload_id in stashed.values():
        discard(settings, upload_id)
    return page(report=result.report, status=201 if result.report.created else 200)


def _keys(form: FormData) -> list[str]:
    """The file fields that carried a file, in :data:`FILE_FIELDS` order."""
    return [
        k
        for k in FILE_FIELDS
        if text(form, f"stash_{k}")
        or (isinstance(form.get(k), UploadFile) and getattr(form.get(k), "filename", ""))
    ]


@router.post("/corpus/new")
def create_corpus(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: SignedInActor,
    form: FormDep,
) -> Response:
    """Register a card and import its first version in one transaction."""
    ensure(can_create_dataset(actor), CREATE_NOT_ALLOWED)
    return _run_import(request, session, settings, actor, form, None)


@router.post("/corpus/{dataset_id}/import")
def import_corpus_version(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: SignedInActor,
    dataset_id: int,
    form: FormDep,
) -> Response:
    """Import a new version of an existing data set."""
    dataset = catalogue.editable_dataset(session, actor=actor, dataset_id=dataset_id)
    return _run_import(request, session, settings, actor, form, dataset)


# ---------------------------------------------------------------- card and rows


@router.get("/corpus/{dataset_id}")
def corpus_card(
    request: Request,
    session: SessionDep,
    actor: PublicActor,
    dataset_id: int,
    version: int | None = None,
) -> HTMLResponse:
    """A data set's card: facts, licence, versions, charts, downloads, contamination."""
    view = views.dataset_view(session, actor=actor, dataset_id=dataset_id, version=version)
    chosen = view.version
    lang = language(request)
    charts: dict[str, dict[str, Any]] = {}
    if chosen is not None:
        for chart_id, figure in (
            ("chart-labels", label_chart(chosen.stats, lang)),
            ("chart-lengths", length_chart(chosen.stats, lang)),
        ):
            if figure is not None:
                charts[chart_id] = figure
    context = {
        "d": view.dataset,
        "v": chosen,
        "charts": charts,
        "public_splits": PUBLIC_SPLITS,
        "hidden_splits": HIDDEN_SPLITS,
        "can_manage": view.can_manage,
        "can_read_hidden": view.can_read_hidden,
        "can_recheck": view.can_recheck,
        "warning": view.warning,
        "thumbnails": view.thumbnails,
    }
    return render(request, "corpus/detail.html", context, actor=actor, session=session)


@router.get("/corpus/{dataset_id}/rows")
def corpus_rows(
    request: Request,
    session: SessionDep,
    actor: PublicActor,
    dataset_id: int,
    version: int | None = None,
    split: str = "train",
    page: int = 1,
) -> HTMLResponse:
    """Rows of one split of one version (the newest by default); the hidden split for
    operators only."""
    page = max(1, page)
    view = views.rows_view(
        session,
        actor=actor,
        dataset_id=dataset_id,
        version=version,
        split=split,
        offset=(page - 1) * ROWS_PER_PAGE,
        limit=ROWS_PER_PAGE,
    )
    pages = max(1, -(-view.rows.total // ROWS_PER_PAGE))
    context = {
        "d": view.dataset,
        "v": view.version,
        "split": split,
        "rows": view.rows,
        "page": page,
        "pages": pages,
        "splits": view.splits,
        "can_read_hidden": view.can_read_hidden,
        "inputs": view.inputs,
        "images": view.images,
    }
    return render(request, "corpus/rows.html", context, actor=actor, session=session)


@router.post("/corpus/{dataset_id}/versions/{version}/contamination")
def recheck(
    request: Request, session: SessionDep, actor: SignedInActor, dataset_id: int, version: int
) -> Response:
    found = catalogue.get_version(session, dataset_id, version)
    screening.recheck_contamination(session, actor=actor, version=found)
    session.commit()
    return RedirectResponse(f"/corpus/{dataset_id}?version={version}#contamination", 303)
