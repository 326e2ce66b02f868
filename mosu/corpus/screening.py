"""Screening a version's test split for contamination (污染检测) against its own public
splits and every other corpus, and what each reader may see of the result (see
:mod:`mosu.corpus.contamination` for the n-gram overlap itself)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from mosu.core import clock
from mosu.corpus import contamination
from mosu.corpus.catalogue import latest
from mosu.corpus.errors import OPERATORS_RECHECK
from mosu.corpus.models import (
    HIDDEN_SPLITS,
    PUBLIC_SPLITS,
    Dataset,
    DatasetRow,
    DatasetVersion,
)
from mosu.permissions import (
    PUBLIC,
    Actor,
    can_check_contamination,
    can_read_hidden_split,
    ensure,
)


def row_text(fields: dict[str, Any], input_fields: list[str]) -> str:
    return "\n".join("" if fields.get(f) is None else str(fields.get(f)) for f in input_fields)


def _texts(
    session: Session, version: DatasetVersion, splits: tuple[str, ...] | None
) -> list[tuple[str, str, str]]:
    """``(row id, split, text)`` of a version's rows (of ``splits``, or all)."""
    stmt = select(DatasetRow.row_id, DatasetRow.split, DatasetRow.fields).where(
        DatasetRow.version_id == version.id
    )
    if splits is not None:
        stmt = stmt.where(DatasetRow.split.in_(splits))
    inputs = list(version.schema.get("input_fields") or [])
    return [
        (i, s, row_text(f, inputs)) for i, s, f in session.execute(stmt.order_by(DatasetRow.index))
    ]


_Reference = tuple[str, str, int | None, str, int | None, list[tuple[str, str, str]]]
"""kind, public or hidden, data set id, name, version number, ``(row id, split, text)``."""


def _reference_of(source: dict[str, Any]) -> str:
    """Which kind of text a stored source is: ``public`` (train and dev rows) or ``hidden``.

    Results stored before the two were told apart compared other corpora's rows of every
    split at once: those count as hidden until the check runs again."""
    return str(source.get("reference", "public" if source.get("kind") == "public" else "hidden"))


def contamination_view(found: dict[str, Any], *, actor: Actor) -> dict[str, Any]:
    """A stored contamination result as ``actor`` may see it.

    Operators see every source with its examples. Everyone else sees only the overlap
    with public text (this version's own public splits and other corpora's public splits),
    as counts: a count against another corpus's hidden split would be an oracle on its
    hidden rows, and an example quotes hidden test text."""
    view = dict(found)
    if can_read_hidden_split(actor):
        return view
    public = [
        {k: v for k, v in src.items() if k != "examples"}
        for src in found.get("sources", [])
        if _reference_of(src) == "public"
    ]
    view["sources"] = public
    if "public_flagged_rows" in found:
        view["flagged_rows"] = found["public_flagged_rows"]
    elif found:
        view["flagged_rows"] = sum(int(src.get("flagged", 0)) for src in public)
    view.pop("public_flagged_rows", None)
    return view


def find_contamination(session: Session, version: DatasetVersion) -> dict[str, Any]:
    """The overlap of ``version``'s test split with its public splits and with the public
    and the hidden splits of the newest version of every other data set, each a source of
    its own (see :mod:`mosu.corpus.contamination`).

    ``flagged_rows`` counts test rows that overlap any source; ``public_flagged_rows``
    those that overlap a public one, the tally everyone but operators sees."""
    test = _texts(session, version, HIDDEN_SPLITS)
    result: dict[str, Any] = {
        "n": contamination.N,
        "threshold": contamination.THRESHOLD,
        "test_rows": len(test),
        "checked_at": clock.now().isoformat(timespec="seconds"),
        "corpora_checked": 0,
        "flagged_rows": 0,
        "public_flagged_rows": 0,
        "sources": [],
    }
    if not test:
        return result
    references: list[_Reference] = [
        ("public", "public", None, "", None, _texts(session, version, PUBLIC_SPLITS))
    ]
    others = session.scalars(
        select(Dataset)
        .where(Dataset.id != version.dataset_id)
        .options(selectinload(Dataset.versions))
    )
    for other in others:
        newest = latest(other)
        if newest is not None:
            for reference, splits in (("public", PUBLIC_SPLITS), ("hidden", HIDDEN_SPLITS)):
                rows = _texts(session, newest, splits)
                references.append(("corpus", reference, other.id, other.name, newest.number, rows))
            result["corpora_checked"] += 1
    flagged: set[int] = set()
    public_flagged: set[int] = set()
    test_texts = [t for _, _, t in test]
    for kind, reference, dataset_id, name, number, ref in references:
        found = contamination.overlap(test_texts, [t for _, _, t in ref])
        if not found.any_gram:
            continue
        flagged.update(found.flagged_rows)
        if reference == "public":
            public_flagged.update(found.flagged_rows)
        result["sources"].append(
            {
                "kind": kind,
                "reference": reference,
                "dataset_id": dataset_id,
                "dataset_name": name,
                "version": number,
                "flagged": found.flagged,
                "any_gram": found.any_gram,
                "examples": [
                    {
                        "test_id": test[e.test_index][0],
                        "ratio": e.ratio,
                        "reference_id": ref[e.reference_index][0],
                        "reference_split": ref[e.reference_index][1],
                        "test_text": contamination.snippet(test[e.test_index][2]),
                        "reference_text": contamination.snippet(ref[e.reference_index][2]),
                    }
                    for e in found.examples
                ],
            }
        )
    result["flagged_rows"] = len(flagged)
    result["public_flagged_rows"] = len(public_flagged)
    return result


def recheck_contamination(
    session: Session, *, actor: Actor, version: DatasetVersion
) -> dict[str, Any]:
    """Check again, against the corpora registered now; stored on the version."""
    ensure(can_check_contamination(actor), OPERATORS_RECHECK)
    version.contamination = find_contamination(session, version)
    session.flush()
    return version.contamination


def contamination_warning(version: DatasetVersion, *, actor: Actor = PUBLIC) -> str | None:
    """What a page pinning ``version`` should warn ``actor`` about, or ``None``.

    Counts only, never hidden text, and for anyone but operators only the overlap with
    public text (see :func:`contamination_view`); pages shared by every reader leave
    ``actor`` out."""
    return contamination_warning_of(version.contamination, actor=actor)


def contamination_warning_of(contamination: dict[str, Any], *, actor: Actor = PUBLIC) -> str | None:
    """:func:`contamination_warning` of a version's ``contamination`` column, read alone."""
    found = contamination_view(contamination, actor=actor)
    if not found.get("flagged_rows"):
        return None
    parts = []
    for src in found.get("sources", []):
        if src.get("flagged"):
            if src["kind"] == "public":
                where = "公开划分 public splits"
            elif _reference_of(src) == "hidden":
                where = f"{src['dataset_name']} (隐藏划分 hidden splits)"
            else:
                where = src["dataset_name"]
            parts.append(f"{where}: {src['flagged']}")
    return (
        f"测试集有 {found['flagged_rows']} 行与已知数据重叠 / "
        f"{found['flagged_rows']} test rows overlap known data ({'; '.join(parts)})"
    )
