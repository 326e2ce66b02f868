"""Tasks: a dataset split + a prompt template + an answer parser + scorers.

Written in YAML (validated by the pydantic models below, unknown fields refused) or built in
Python from the same models. :func:`load_task` reads a file or a built-in task by name.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from mosu.evals.errors import TaskError
from mosu.evals.loaders import Sample, image_base, load_images, load_samples
from mosu.evals.parsers import Parser, build_parser, strip_think
from mosu.evals.prompts import Message, Template, build_messages, select_fewshot
from mosu.evals.scorers import Scorer, build_scorer

BUILTIN_DIR = Path(__file__).resolve().parent / "tasks"
SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML was built with it (about 2.5x faster on a task with
thousands of inline rows), else the pure-Python one; both build the same data."""


class _Strict(BaseModel):
    # inline rows may hold image bytes: JSON (a run's fingerprint) writes them as base64
    model_config = ConfigDict(extra="forbid", frozen=True, ser_json_bytes="base64")


class DataSpec(_Strict):
    """Where a split's rows come from and how fields map to id, inputs, label and category."""

    format: Literal["jsonl", "csv", "xlsx", "cmmlu", "clue", "inline"]
    path: str | None = None
    rows: list[dict[str, Any]] | None = None
    id_field: str | None = None
    label_field: str
    input_fields: list[str] | None = None
    category_field: str | None = None
    label_map: dict[str, str] | None = None
    duplicates: Literal["error", "keep_first"] = "error"
    select: tuple[float, float] | None = Field(
        default=None, description="hash slice of ids, e.g. [0, 0.7]"
    )
    select_seed: int = 0
    limit: int | None = Field(
        default=None, ge=1, description="a sample of N, stratified by label, seeded by limit_seed"
    )
    limit_seed: int = 0
    delimiter: str = Field(default=",", description="CSV field separator, one character")
    header: bool = Field(default=True, description="whether a CSV file's first row names fields")
    columns: list[str] | None = Field(
        default=None, description="the field names of a CSV file without a header row"
    )
    image_fields: list[str] | None = Field(
        default=None,
        description="fields holding an image: a path (relative to the data file, or for "
        "inline rows to the task file) or bytes; checked on load",
    )

    @field_validator("label_map", mode="before")
    @classmethod
    def _label_map_as_text(cls, value: Any) -> Any:
        """YAML reads ``{0: 财经}`` with integer keys; labels are compared as text."""
        if isinstance(value, dict):
            return {_as_text(k): _as_text(v) for k, v in value.items()}
        return value

    @field_validator("delimiter", mode="before")
    @classmethod
    def _one_character(cls, value: Any) -> Any:
        if value == "\\t":  # written '\t' or unquoted in YAML: the two characters
            return "\t"
        if isinstance(value, str) and len(value) != 1:
            raise ValueError(f"delimiter must be one character, got {value!r}")
        return value

    @model_validator(mode="after")
    def _source(self) -> DataSpec:
        if self.format == "inline" and self.rows is None:
            raise ValueError("format 'inline' needs rows")
        if self.format != "inline" and not self.path:
            raise ValueError(f"format {self.format!r} needs a path")
        csv_options = (
            ("delimiter", self.delimiter != ","),
            ("header", not self.header),
            ("columns", self.columns is not None),
        )
        wrong = [name for name, given in csv_options if given]
        if wrong and self.format != "csv":
            raise ValueError(f"{', '.join(wrong)}: only for format 'csv'")
        if not self.header and not self.columns:
            raise ValueError("header: false needs columns: [the field names, in order]")
        if self.header and self.columns is not None:
            raise ValueError("columns names the fields of a file without a header (header: false)")
        return self


def _as_text(value: Any) -> Any:
    """A scalar label as the loaders write it (``str``); anything else left for validation."""
    return str(value) if isinstance(value, int | float | bool) else value


class FewShotSpec(_Strict):
    split: str
    n: int = Field(default=5, ge=0)
    seed: int | None = None
    same_category: bool = True


class PromptSpec(_Strict):
    template: str
    answer: str = "{{ label }}"
    system: str | None = None
    fewshot: FewShotSpec | None = None
    separator: str = "\n\n"


class ComponentSpec(BaseModel):
    """A parser or scorer by name, with its options beside the name."""

    model_config = ConfigDict(extra="allow", frozen=True)
    name: str

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


MAX_STOP = 4
"""Stop sequences an OpenAI-compatible endpoint accepts at most."""
RESERVED_BODY = frozenset(
    {"model", "messages", "stream", "stream_options", "n", "logprobs", "top_logprobs"}
)
"""Request-body keys ``extra_body`` may not set: the engine owns them (one answer per
request, streamed when the spec says ``stream=1``, log-probabilities when the task reads
choices by them; epochs are the way to ask again)."""
LEAK_SHARE = 0.95
"""Share of rows whose category is their label from which ``same_category`` is refused."""


def check_stop(stop: str | list[str] | None) -> str | list[str] | None:
    """``stop`` as sent: one string or at most :data:`MAX_STOP` non-empty strings."""
    if isinstance(stop, list):
        if not 1 <= len(stop) <= MAX_STOP:
            raise ValueError(f"stop takes 1 to {MAX_STOP} sequences, got {len(stop)}")
        if len(stop) == 1:
            stop = stop[0]
    if stop is not None and (stop == "" or (isinstance(stop, list) and "" in stop)):
        raise ValueError("a stop sequence may not be empty")
    return stop


class GenerationSpec(_Strict):
    """What endpoints are sent beside the prompt (a model spec's own options win)."""

    temperature: float = 0.0
    max_tokens: int | None = Field(default=None, ge=1)
    top_p: float | None = Field(default=None, gt=0, le=1)
    seed: int | None = None
    stop: str | list[str] | None = None
    extra_body: dict[str, Any] | None = None
    # multiple choice (parser choice_letter): read the letter from the first token's
    # log-probabilities where the endpoint gives them, else generate the answer
    choice_by: Literal["generate", "logprobs"] = "generate"

    @field_validator("stop")
    @classmethod
    def _stop(cls, stop: str | list[str] | None) -> str | list[str] | None:
        return check_stop(stop)

    @model_validator(mode="after")
    def _body(self) -> GenerationSpec:
        own = set(GenerationSpec.model_fields) - {"extra_body"}
        for key in self.extra_body or {}:
            if key in RESERVED_BODY:
                raise ValueError(f"extra_body may not set {key!r}: the engine sets it")
            if key in own:
                raise ValueError(f"extra_body may not set {key!r}: set generation.{key}")
        return self


class TaskSpec(_Strict):
    """The whole task definition, as written in YAML."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str = ""
    splits: dict[str, DataSpec]
    eval_split: str = "test"
    train_split: str | None = None
    labels: list[str] | None = None
    prompt: PromptSpec
    parser: ComponentSpec = ComponentSpec(name="identity")
    scorers: list[ComponentSpec] = Field(min_length=1)
    primary: str | None = None
    generation: GenerationSpec = GenerationSpec()
    epochs: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _references(self) -> TaskSpec:
        for role, split in (("eval_split", self.eval_split), ("train_split", self.train_split)):
            if split is not None and split not in self.splits:
                raise ValueError(
                    f"{role} {split!r} is not one of the splits ({', '.join(self.splits)})"
                )
        if self.prompt.fewshot and self.prompt.fewshot.split not in self.splits:
            raise ValueError(
                f"fewshot split {self.prompt.fewshot.split!r} is not one of the splits"
            )
        if (
            self.prompt.fewshot
            and self.prompt.fewshot.n
            and self.prompt.fewshot.split == self.eval_split
        ):
            raise ValueError(
                f"fewshot split {self.eval_split!r} is the evaluated split: its examples would "
                "put the answers being tested into the prompts; draw them from a train or dev split"
            )
        names = [s.name for s in self.scorers]
        if self.primary is not None and self.primary not in names:
            raise ValueError(
                f"primary {self.primary!r} is not one of the scorers ({', '.join(names)})"
            )
        if self.generation.choice_by == "logprobs" and self.parser.name != "choice_letter":
            raise ValueError(
                "generation.choice_by: logprobs reads an option letter: it needs parser choice_letter"
            )
        return self


def _refuse_label_as_category(spec: TaskSpec, samples: Sequence[Sample], where: str) -> None:
    """Refuse few-shot examples chosen by a category that is the label: every example shown
    would carry the sample's own gold answer (a TNEWS task with ``category_field`` set to
    its label field put it into every prompt)."""
    data = spec.splits[spec.eval_split]
    same_field = data.category_field is not None and data.category_field == data.label_field
    with_category = [s for s in samples if s.category is not None]
    equal = len(with_category) if same_field else sum(s.category == s.label for s in samples)
    if not with_category or not (same_field or equal >= LEAK_SHARE * len(samples)):
        return
    field = data.category_field or "category"
    why = (
        f"category_field {field!r} is the label_field"
        if same_field
        else f"category ({field!r}) equals the label ({data.label_field!r})"
    )
    raise TaskError(
        f"{where}: prompt.fewshot.same_category: {why}: the category is the label on "
        f"{equal} of {len(samples)} rows of split {spec.eval_split!r}: same_category would "
        "put the gold answer into every prompt; set same_category: false or choose another "
        "category_field"
    )


def _format_errors(exc: ValidationError, where: str) -> str:
    lines = []
    for error in exc.errors():
        loc = ".".join(str(p) for p in error["loc"]) or "(top level)"
        msg = "unknown field" if error["type"] == "extra_forbidden" else error["msg"]
        lines.append(f"  {loc}: {msg}")
    return f"{where}: invalid task\n" + "\n".join(lines)


class Task:
    """A validated, loaded task: its spec, data, compiled templates, parser and scorers.

    Construction checks everything that can be checked before any request is sent:
    templates against the data's fields, parser and scorer names and options.
    """

    def __init__(
        self,
        spec: TaskSpec,
        *,
        data_dir: Path | None = None,
        where: str | None = None,
        base_dir: Path | None = None,
    ) -> None:
        self.spec = spec
        self.data_dir = data_dir
        self.base_dir = base_dir
        where = where or f"task {spec.name}"
        self.template = Template(spec.prompt.template, where=f"{where}: prompt.template")
        self.answer = Template(spec.prompt.answer, where=f"{where}: prompt.answer")
        self.parser: Parser = build_parser(
            spec.parser.name, spec.parser.options, spec.labels, where=where
        )
        self.strip_think = spec.parser.options.get("strip_think", True) is not False
        self.scorers: list[Scorer] = [
            build_scorer(s.name, s.options, spec.labels) for s in spec.scorers
        ]
        eval_samples = self.samples(spec.eval_split)
        if not eval_samples:
            raise TaskError(f"{where}: split {spec.eval_split!r} has no samples")
        fields = set(eval_samples[0].fields)
        self.template.check(fields)
        unplaced = sorted(
            set(spec.splits[spec.eval_split].image_fields or ()) - self.template.variables
        )
        if unplaced:
            raise TaskError(
                f"{where}: image field(s) {', '.join(unplaced)} not placed in prompt.template "
                f"(write {{{{ {unplaced[0]} }}}} where the image goes)"
            )
        if spec.prompt.fewshot and spec.prompt.fewshot.n:
            self.answer.check(set(self.samples(spec.prompt.fewshot.split)[0].fields) | {"label"})
            if spec.prompt.fewshot.same_category:
                _refuse_label_as_category(spec, eval_samples, where)
        for scorer in self.scorers:
            if scorer.judge is not None:
                judge = Template(scorer.judge.template, where=f"{where}: judge template")
                judge.check({"question", "answer", "reference", "scale"})
        if spec.labels is not None:
            unknown = sorted({s.label for s in eval_samples} - set(spec.labels))
            if unknown:
                raise TaskError(
                    f"{where}: labels {unknown} in the data are not in the task's labels"
                )

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def primary(self) -> str:
        return self.spec.primary or self.scorers[0].name

    def samples(self, split: str | None = None) -> list[Sample]:
        """The samples of ``split`` (default: the evaluation split), loaded once."""
        name = split or self.spec.eval_split
        if name not in self.spec.splits:
            raise TaskError(f"task {self.name}: no split {name!r}")
        return self._load(name)

    def population(self, split: str | None = None) -> list[Sample]:
        """All samples of ``split`` (default: the evaluation split) before its ``limit``
        draws from them: what a predictions file may name."""
        name = split or self.spec.eval_split
        if name not in self.spec.splits:
            raise TaskError(f"task {self.name}: no split {name!r}")
        return self._population(name)

    @functools.cache  # noqa: B019 - a task lives as long as its run
    def _population(self, name: str) -> list[Sample]:
        unlimited = self.spec.splits[name].model_copy(update={"limit": None, "image_fields": None})
        return load_samples(unlimited, self.data_dir)

    @functools.cache  # noqa: B019 - a task lives as long as its run
    def _load(self, name: str) -> list[Sample]:
        """The split's samples: its ``limit`` drawn (only the drawn rows are read into
        samples, :func:`~mosu.evals.loaders.load_samples`, not the whole population), then
        its images read and checked (only those of the samples drawn)."""
        spec = self.spec.splits[name]
        if spec.limit is None:
            samples = self._population(name)
        else:
            samples = load_samples(spec.model_copy(update={"image_fields": None}), self.data_dir)
        if spec.image_fields:
            base = image_base(spec, self.data_dir, self.base_dir)
            where = f"task {self.name}: split {name!r}"
            samples = load_images(samples, spec.image_fields, base=base, where=where)
        return samples

    def answer_text(self, output: str) -> str | None:
        """A model's answer as a judge reads it: without the thinking (``None``: cut inside
        it), unless the task's parser sets ``strip_think: false``."""
        return strip_think(output) if self.strip_think else output

    def messages(self, sample: Sample) -> list[Message]:
        """The chat messages sent to a model for ``sample``."""
        fewshot = self.spec.prompt.fewshot
        examples: Sequence[Sample] = ()
        if fewshot and fewshot.n:
            examples = select_fewshot(
                sample,
                self.samples(fewshot.split),
                fewshot.n,
                seed=fewshot.seed,
                same_category=fewshot.same_category,
            )
        return build_messages(
            sample,
            template=self.template,
            answer=self.answer,
            examples=examples,
            system=self.spec.prompt.system,
            separator=self.spec.prompt.separator,
        )


Adjust = Callable[[TaskSpec], TaskSpec]
"""A change made to a validated spec before its data is read (the CLI's ``--limit``)."""


def parse_task(
    data: dict[str, Any],
    *,
    where: str = "task",
    data_dir: Path | None = None,
    base_dir: Path | None = None,
    adjust: Adjust | None = None,
) -> Task:
    """Validate a task definition given as a mapping, ``adjust`` it, and load it
    (``base_dir``: the folder inline rows' image paths are relative to, the task file's)."""
    try:
        spec = TaskSpec.model_validate(data)
    except ValidationError as exc:
        raise TaskError(_format_errors(exc, where)) from None
    return Task(adjust(spec) if adjust else spec, data_dir=data_dir, where=where, base_dir=base_dir)


def builtin_tasks() -> list[str]:
    """Names of the task files shipped with mosu."""
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


def load_task(
    source: str | Path,
    *,
    data_dir: Path | None = None,
    overrides: dict[str, Any] | None = None,
    adjust: Adjust | None = None,
) -> Task:
    """Load a task from a YAML file or a built-in task name (see :func:`builtin_tasks`)."""
    path = Path(source)
    if not path.exists() and (BUILTIN_DIR / f"{source}.yaml").exists():
        path = BUILTIN_DIR / f"{source}.yaml"
    if not path.exists():
        raise TaskError(f"no task file {source!r}; built-in tasks: {', '.join(builtin_tasks())}")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise TaskError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise TaskError(f"{path}: a task file must be a mapping")
    data.update(overrides or {})
    return parse_task(data, where=str(path), data_dir=data_dir, base_dir=path.parent, adjust=adjust)
