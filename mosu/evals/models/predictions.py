"""A predictions file uploaded by an entrant: JSON lines of ``{"id": ..., "prediction": ...}``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from mosu.evals.errors import PredictionsError
from mosu.evals.models.local import LOCAL_LIMITS
from mosu.evals.prompts import Message

if TYPE_CHECKING:
    from mosu.evals.tasks import Task


def _preview(ids: list[str]) -> str:
    return ", ".join(ids[:5]) + (f" … ({len(ids)} in all)" if len(ids) > 5 else "")


class PredictionsFile:
    """Answers read from a file; every sample id must appear exactly once. Ids of the split
    that a ``limit`` left out are ignored (a file for the whole split serves a sample of
    it); any other id is refused."""

    limits = LOCAL_LIMITS

    def __init__(self, path: Path) -> None:
        self.path = path
        self._answers: dict[str, str] = {}

    @property
    def identity(self) -> str | None:
        return None

    @property
    def endpoint(self) -> str | None:
        return None

    async def prepare(self, task: Task) -> None:
        if not self.path.exists():
            raise PredictionsError(f"predictions file not found: {self.path}")
        answers: dict[str, str] = {}
        duplicates: list[str] = []
        for number, line in enumerate(
            self.path.read_text(encoding="utf-8-sig").splitlines(), start=1
        ):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                sample_id, prediction = str(row["id"]), row["prediction"]
            except (ValueError, KeyError, TypeError):
                raise PredictionsError(
                    f'{self.path}:{number}: expected {{"id": ..., "prediction": ...}}'
                ) from None
            if sample_id in answers:
                duplicates.append(sample_id)
            answers[sample_id] = "" if prediction is None else str(prediction)
        expected = {s.id for s in task.samples()}
        known = {s.id for s in task.population()}
        problems = []
        if duplicates:
            problems.append(f"duplicate ids: {_preview(duplicates)}")
        missing = [s.id for s in task.samples() if s.id not in answers]
        if missing:
            problems.append(f"missing ids: {_preview(missing)}")
        unknown = [i for i in answers if i not in known]
        if unknown:
            problems.append(f"unknown ids: {_preview(unknown)}")
        if problems:
            raise PredictionsError(f"{self.path}: " + "; ".join(problems))
        self._answers = {i: a for i, a in answers.items() if i in expected}

    async def complete(self, sample_id: str, messages: list[Message]) -> str:
        return self._answers[sample_id]

    async def aclose(self) -> None:
        return None
