"""Corpus views: permission-aware loaders and output builders that both the API routes
(:mod:`mosu.corpus.routes`) and the HTML pages (:mod:`mosu.web.corpus_pages`) call.

A page's view object carries capability flags (``can_manage``, ``can_read_hidden``, …)
decided by :mod:`mosu.permissions`, so templates read flags instead of checking roles.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.corpus import catalogue, reading
from mosu.corpus.models import HIDDEN_SPLITS, SPLITS, UNKNOWN_LICENCE, Dataset, DatasetVersion
from mosu.corpus.schemas import DatasetOut, RowPage, VersionOut
from mosu.corpus.screening import contamination_view, contamination_warning
from mosu.permissions import (
    Actor,
    can_act_for_any_organisation,
    can_check_contamination,
    can_create_dataset,
    can_manage_dataset,
    can_read_hidden_split,
)
from mosu.registry.models import Organisation

# ---------------------------------------------------------------- outputs


def version_out(version: DatasetVersion, *, actor: Actor) -> VersionOut:
    """A version as ``actor`` may see it: hidden labels, examples and problems left out."""
    stats = dict(version.stats)
    provenance = dict(version.provenance)
    found = contamination_view(version.contamination, actor=actor)
    if not can_read_hidden_split(actor):
        stats["labels"] = {
            s: c for s, c in stats.get("labels", {}).items() if s not in HIDDEN_SPLITS
        }
        provenance.pop("problems", None)
    return VersionOut.model_validate(
        {
            "id": version.id,
            "number": version.number,
            "content_hash": version.content_hash,
            "row_count": version.row_count,
            "schema": version.schema,
            "label_set": version.label_set,
            "provenance": provenance,
            "stats": stats,
            "contamination": found,
            "created_at": version.created_at,
        }
    )


def dataset_out(dataset: Dataset, *, actor: Actor) -> DatasetOut:
    return DatasetOut(
        id=dataset.id,
        name=dataset.name,
        organisation_id=dataset.organisation_id,
        organisation_name=dataset.organisation.name_zh if dataset.organisation else None,
        licence=dataset.licence,
        licence_known=dataset.licence.strip().lower() not in ("", UNKNOWN_LICENCE),
        source=dataset.source,
        provenance=dataset.provenance,
        modality=dataset.modality,
        industry_tags=list(dataset.industry_tags),
        description=dataset.description,
        created_at=dataset.created_at,
        versions=[version_out(v, actor=actor) for v in dataset.versions],
    )


# ---------------------------------------------------------------- page views


@dataclass(frozen=True)
class CorpusList:
    """语料目录: every data set, and whether the reader may register one."""

    datasets: list[Dataset]
    can_create: bool


def corpus_list(session: Session, *, actor: Actor) -> CorpusList:
    return CorpusList(
        datasets=catalogue.list_datasets(session), can_create=can_create_dataset(actor)
    )


def organisation_choices(session: Session, *, actor: Actor) -> list[tuple[int, str]]:
    """The organisations ``actor`` may register a data set for: any (operators) or its own."""
    if can_act_for_any_organisation(actor):
        return [
            (i, n)
            for i, n in session.execute(
                select(Organisation.id, Organisation.name_zh).order_by(Organisation.name_zh)
            )
        ]
    if actor.organisation_id is None:
        return []
    org = session.get(Organisation, actor.organisation_id)
    return [(org.id, org.name_zh)] if org else []


THUMBNAILS = 24
"""Public rows shown in an image corpus card's thumbnail grid."""


@dataclass(frozen=True)
class Thumbnail:
    """A public row's image on the card: the row's index (for the image's URL), its id,
    split, label and image field."""

    index: int
    row_id: str
    split: str
    label: str | None
    field: str


def thumbnails(session: Session, version: DatasetVersion) -> list[Thumbnail]:
    """The first :data:`THUMBNAILS` public rows' images of an image corpus (none for text):
    never a hidden row's, whoever reads the card."""
    names = list(version.schema.get("image_fields") or [])
    if not names:
        return []
    return [
        Thumbnail(r.index, r.row_id, r.split, r.label, names[0])
        for r in reading.public_rows(session, version, limit=THUMBNAILS)
        if isinstance(r.fields.get(names[0]), str)
    ]


@dataclass(frozen=True)
class DatasetView:
    """A data set's card as ``actor`` may see it, one version chosen, and what it may do."""

    dataset: DatasetOut
    version: VersionOut | None
    warning: str | None
    can_manage: bool
    can_read_hidden: bool
    can_recheck: bool
    can_choose_any_organisation: bool
    thumbnails: list[Thumbnail]


def dataset_view(
    session: Session, *, actor: Actor, dataset_id: int, version: int | None = None
) -> DatasetView:
    """The card with version ``version`` chosen (the newest when it is not one of them)."""
    dataset = catalogue.get_dataset(session, dataset_id)
    out = dataset_out(dataset, actor=actor)
    chosen = next((v for v in out.versions if v.number == version), None)
    if chosen is None and out.versions:
        chosen = out.versions[-1]
    warning = None
    grid: list[Thumbnail] = []
    if chosen is not None:
        pinned = catalogue.get_version(session, dataset.id, chosen.number)
        warning = contamination_warning(pinned, actor=actor)
        grid = thumbnails(session, pinned)
    return DatasetView(
        dataset=out,
        version=chosen,
        warning=warning,
        can_manage=can_manage_dataset(actor, dataset.organisation_id),
        can_read_hidden=can_read_hidden_split(actor),
        can_recheck=can_check_contamination(actor),
        can_choose_any_organisation=can_act_for_any_organisation(actor),
        thumbnails=grid,
    )


@dataclass(frozen=True)
class RowsView:
    """One page of the rows of one split of one version."""

    dataset: Dataset
    version: DatasetVersion
    rows: RowPage
    splits: list[str]
    inputs: list[str]
    can_read_hidden: bool
    images: list[str]


def rows_view(
    session: Session,
    *,
    actor: Actor,
    dataset_id: int,
    version: int | None,
    split: str,
    offset: int,
    limit: int,
) -> RowsView:
    """Rows of ``split`` (a hidden split for operators only) of version ``version`` (the
    newest by default)."""
    dataset = catalogue.get_dataset(session, dataset_id)
    newest = catalogue.latest(dataset)
    number = version if version is not None else newest.number if newest else 1
    found = catalogue.get_version(session, dataset.id, number)
    rows = reading.rows_page(
        session, actor=actor, version=found, split=split, offset=offset, limit=limit
    )
    return RowsView(
        dataset=dataset,
        version=found,
        rows=rows,
        splits=[s for s in SPLITS if s in found.stats.get("rows", {})],
        inputs=list(found.schema.get("input_fields") or []),
        can_read_hidden=can_read_hidden_split(actor),
        images=list(found.schema.get("image_fields") or []),
    )
