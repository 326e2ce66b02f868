"""The stage builder (阶段设置表单): a stage's task from form fields — a prompt template, a
parser, scorers — instead of YAML, and its prompt rendered on a real row before saving.

The preview row comes from the version's development split (or its training split): a row
the public may see, never one of the hidden test rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from mosu.corpus.models import DatasetVersion
from mosu.evals.errors import EvalError
from mosu.evals.parsers import PARSERS
from mosu.evals.prompts import Message
from mosu.evals.scorers import SCORERS
from mosu.permissions import Actor, can_run_race, ensure
from mosu.race.errors import (
    CHOOSE_SCORER,
    NO_SUCH_VERSION,
    NOTHING_TO_PREVIEW,
    ONLY_OPERATORS_SET_UP,
    PROMPT_DOES_NOT_RENDER,
    WRITE_TEMPLATE,
)
from mosu.race.image_delivery import IMAGE_DELIVERY_KEY
from mosu.race.scoring import VersionInfo, build_task, load_rows

PREVIEW_SPLITS = ("dev", "train")
"""Where a preview row comes from, in order: never the (hidden) test split."""
WITH_OPTIONS = {"judge", "regex"}
"""Scorers and parsers that need options of their own (a judge model, a pattern): the YAML
path only."""


@dataclass(frozen=True)
class BuilderChoices:
    """What the builder offers: parsers and scorers by name."""

    parsers: list[str]
    scorers: list[str]


def builder_choices() -> BuilderChoices:
    return BuilderChoices(
        parsers=[p for p in sorted(PARSERS) if p not in WITH_OPTIONS],
        scorers=[s for s in SCORERS.names() if s not in WITH_OPTIONS],
    )


def task_from_fields(
    *,
    system: str,
    template: str,
    parser: str,
    scorers: list[str],
    max_tokens: int | None = None,
    image_delivery: str = "base64",
) -> dict[str, Any]:
    """A stage task definition from the builder's fields (the YAML path's mapping); the
    image delivery is kept only when it is not the default."""
    if not template.strip():
        raise WRITE_TEMPLATE(details={"field": "template"})
    if not scorers:
        raise CHOOSE_SCORER()
    prompt: dict[str, Any] = {"template": template.strip()}
    if system.strip():
        prompt["system"] = system.strip()
    task: dict[str, Any] = {
        "prompt": prompt,
        "parser": parser or "identity",
        "scorers": list(dict.fromkeys(scorers)),
    }
    task["generation"] = {"temperature": 0.0, **({"max_tokens": max_tokens} if max_tokens else {})}
    if image_delivery != "base64":
        task[IMAGE_DELIVERY_KEY] = image_delivery  # checked with the rest of the task
    return task


@dataclass(frozen=True)
class Preview:
    """The prompt one real row gives: its id, split, the messages and the expected label."""

    row_id: str
    split: str
    messages: list[Message]
    label: str | None
    fields: list[str]
    labels: list[str]


def preview(session: Session, *, actor: Actor, version_id: int, task: dict[str, Any]) -> Preview:
    """Render ``task``'s prompt on the first row of the version's dev (or train) split; the
    task is checked against the data as adding the stage would (422 naming the problem)."""
    ensure(can_run_race(actor), ONLY_OPERATORS_SET_UP)
    version = session.get(DatasetVersion, version_id)
    if version is None:
        raise NO_SUCH_VERSION()
    rows = load_rows(session, version.id)
    info = VersionInfo(dict(version.schema), list(version.label_set))
    built = build_task(task, info, rows, name="preview")
    split = next((s for s in PREVIEW_SPLITS if s in built.spec.splits), None)
    if split is None:
        raise NOTHING_TO_PREVIEW()
    try:
        sample = built.samples(split)[0]
        messages = built.messages(sample)
    except EvalError as exc:
        raise PROMPT_DOES_NOT_RENDER(problem=exc.text) from None
    except (IndexError, KeyError) as exc:
        raise PROMPT_DOES_NOT_RENDER(problem=str(exc)) from None
    return Preview(
        row_id=sample.id,
        split=split,
        messages=messages,
        label=sample.label,
        fields=sorted(sample.fields),
        labels=list(version.label_set),
    )


__all__ = ["BuilderChoices", "Preview", "builder_choices", "preview", "task_from_fields"]
