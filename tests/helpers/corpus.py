"""Corpus helpers: an operator actor, JSONL bytes, importing rows as a data set's version,
and the shared data's paths (a skip when absent)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from mosu.corpus import catalogue, imports
from mosu.corpus.readers import Part
from mosu.corpus.schemas import DatasetIn, ImportOptions
from mosu.permissions import Actor, Role
from tests.conftest import SHARED_DATA

OP = Actor(user_id=None, role=Role.operator, username="tests")


def jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode("utf-8")


def import_rows(
    session: Session,
    rows: list[dict[str, Any]] | bytes,
    *,
    name: str = "测试语料",
    filename: str = "rows.jsonl",
    actor: Actor = OP,
    organisation_id: int | None = None,
    **options: Any,
) -> imports.ImportResult:
    """Register ``name`` (if new) and import ``rows`` as a version of it."""
    from sqlalchemy import select

    from mosu.corpus.models import Dataset

    dataset = session.scalar(select(Dataset).where(Dataset.name == name))
    if dataset is None:
        dataset = catalogue.create_dataset(
            session, actor=actor, data=DatasetIn(name=name, organisation_id=organisation_id)
        )
    content = rows if isinstance(rows, bytes) else jsonl(rows)
    return imports.import_version(
        session,
        actor=actor,
        dataset=dataset,
        parts=[Part(filename, content=content)],
        options=ImportOptions.model_validate(options),
    )


def shared(relative: str) -> Path:
    """A file or folder of ``../shared/data``, or a skip naming what is missing."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"shared data not present: {path} (set MOSU_SHARED_DATA)")
    return path
