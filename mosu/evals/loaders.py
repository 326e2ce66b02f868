"""Dataset loaders: JSONL, CSV, xlsx, CMMLU's per-subject CSV folder and CLUE's JSON lines.

Every loader yields plain rows (``dict[str, Any]``); :func:`load_samples` then applies the
field mapping of a :class:`~mosu.evals.tasks.DataSpec` (which field is the id, the inputs,
the label, the category), checks duplicates and turns rows into :class:`Sample` objects.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import logging
import random
from array import array
from collections.abc import Callable, Container, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import orjson

from mosu.evals.errors import DataError

if TYPE_CHECKING:
    from mosu.evals.tasks import DataSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Sample:
    """One evaluation item: its id, the fields the prompt may use, the gold label."""

    id: str
    fields: dict[str, Any]
    label: str
    category: str | None = None
    warnings: tuple[str, ...] = field(default=(), compare=False)


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(raw).best()
        if best is None:
            raise DataError(f"{path}: cannot detect the text encoding") from None
        log.warning("%s is not UTF-8; read as %s", path, best.encoding)
        return str(best)


def _utf8(path: Path) -> bool:
    """Whether the file decodes as UTF-8, checked 1 MB at a time (nothing kept)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    with path.open("rb") as raw:
        try:
            while chunk := raw.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _text_stream(path: Path) -> TextIO:
    """The file as text, streamed when it is UTF-8 (a large file is never held whole);
    another encoding is detected on the whole file (:func:`_read_text`)."""
    if _utf8(path):
        return path.open(encoding="utf-8-sig", newline="")
    return io.StringIO(_read_text(path), newline="")


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """JSON lines (also CLUE's format), streamed; blank lines are skipped, bad lines named."""
    with _text_stream(path) as stream:
        for number, line in enumerate(stream, start=1):
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                if not line.strip():
                    continue
                raise DataError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}:{number}: expected a JSON object per line")
            yield row


def read_csv(
    path: Path, *, delimiter: str = ",", columns: Sequence[str] | None = None
) -> Iterator[dict[str, Any]]:
    """CSV (or TSV, with ``delimiter="\\t"``) rows; the first row names the fields unless
    ``columns`` does (a file without a header). An unnamed first column (a pandas index) is
    kept as ``""``; blank lines are skipped; a row with more or fewer fields than there are
    names is refused, naming its line."""
    with _text_stream(path) as stream:
        reader = csv.reader(stream, delimiter=delimiter)
        names = list(columns) if columns is not None else next(reader, None)
        if names is None:
            return
        for values in reader:
            if not values:
                continue
            if len(values) != len(names):
                raise DataError(
                    f"{path}:{reader.line_num}: {len(values)} fields where {len(names)} are "
                    f"named (delimiter {delimiter!r})"
                )
            yield dict(zip(names, values, strict=True))


def read_xlsx(path: Path) -> Iterator[dict[str, Any]]:
    """The first worksheet of an xlsx workbook, with a header row."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
        for values in rows:
            if all(v is None for v in values):
                continue
            yield {h: v for h, v in zip(header, values, strict=False) if h}
    finally:
        book.close()


def read_cmmlu(path: Path) -> Iterator[dict[str, Any]]:
    """CMMLU's layout: one CSV per subject; adds ``subject`` and a stable ``id``."""
    if not path.is_dir():
        raise DataError(f"{path}: CMMLU data must be a folder of per-subject CSV files")
    files = sorted(path.glob("*.csv"))
    if not files:
        raise DataError(f"{path}: no CSV files found")
    for file in files:
        for number, row in enumerate(read_csv(file)):
            index = row.pop("", None)
            row["subject"] = file.stem
            row["id"] = f"{file.stem}-{index if index not in (None, '') else number}"
            yield row


READERS = {
    "jsonl": read_jsonl,
    "clue": read_jsonl,
    "csv": read_csv,
    "xlsx": read_xlsx,
    "cmmlu": read_cmmlu,
}


def _fraction(key: str) -> float:
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


Rows = Callable[[], Iterator[dict[str, Any]]]
"""The rows of a data source, read afresh at each call."""


def _jsonl_rows_at(path: Path, numbers: Container[int]) -> Iterator[tuple[int, dict[str, Any]]]:
    """The rows ``numbers`` of a JSON-lines file (counted as :func:`read_jsonl` counts them,
    blank lines skipped), with their numbers; the other lines are not parsed."""
    with _text_stream(path) as stream:
        number = 0
        for line in stream:
            if line.strip():
                number += 1
                if number in numbers:
                    yield number, orjson.loads(line)


def _rows_at(
    spec: DataSpec, rows: Rows, where: str, numbers: Container[int]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """The rows ``numbers`` of the source, with their numbers, read again."""
    if spec.format in ("jsonl", "clue"):
        return _jsonl_rows_at(Path(where), numbers)
    return ((n, row) for n, row in enumerate(rows(), start=1) if n in numbers)


def _rows(spec: DataSpec, data_dir: Path | None) -> tuple[Rows, str]:
    """The split's rows (streamed from its file) and how errors name the source."""
    if spec.format == "inline":
        inline = list(spec.rows or [])
        return (lambda: iter(inline)), "inline rows"
    assert spec.path is not None
    path = Path(spec.path).expanduser()
    if not path.is_absolute() and data_dir is not None:
        path = data_dir / path
    if not path.exists():
        raise DataError(f"data not found: {path} (pass --data-dir or fix the task's path)")
    if spec.format == "csv":
        columns = None if spec.header else spec.columns
        return (lambda: read_csv(path, delimiter=spec.delimiter, columns=columns)), str(path)
    return (lambda: READERS[spec.format](path)), str(path)


@dataclass(frozen=True)
class _Fields:
    """Which fields of a row are the id, the category and the inputs, and which a row
    must have."""

    id: str | None
    category: str | None
    required: tuple[str, ...]
    inputs: frozenset[str] | None

    @classmethod
    def of(cls, spec: DataSpec) -> _Fields:
        id_ = spec.id_field or ("id" if spec.format == "cmmlu" else None)
        category = spec.category_field or ("subject" if spec.format == "cmmlu" else None)
        named = (spec.label_field, id_, category, *(spec.input_fields or []))
        inputs = frozenset(spec.input_fields) if spec.input_fields else None
        return cls(id_, category, tuple(n for n in named if n is not None), inputs)


def _key(
    spec: DataSpec, fields: _Fields, row: dict[str, Any], number: int, where: str
) -> tuple[str, str]:
    """A row's sample id and label, once its fields are checked."""
    for name in fields.required:
        if name not in row:
            known = ", ".join(sorted(row))
            raise DataError(f"{where}: row {number} has no field {name!r} (fields: {known})")
    sample_id = _text(row[fields.id]) if fields.id else str(number - 1)
    label = _text(row[spec.label_field])
    if spec.label_map is not None:
        if label not in spec.label_map:
            raise DataError(f"{where}: row {number} label {label!r} is not in label_map")
        label = spec.label_map[label]
    return sample_id, label


def _selected(spec: DataSpec, sample_id: str) -> bool:
    return spec.select is None or (
        spec.select[0] <= _fraction(f"{spec.select_seed}:{sample_id}") < spec.select[1]
    )


def _sample(spec: DataSpec, fields: _Fields, row: dict[str, Any], key: tuple[str, str]) -> Sample:
    names = fields.inputs or [k for k in row if k != spec.label_field]
    values = {k: (v.strip() if isinstance(v, str) else v) for k, v in row.items() if k in names}
    category = _text(row[fields.category]) if fields.category else None
    if category is not None and spec.label_map is not None:
        category = spec.label_map.get(category, category)
    return Sample(key[0], values, key[1], category)


def load_samples(
    spec: DataSpec, data_dir: Path | None = None, *, base_dir: Path | None = None
) -> list[Sample]:
    """Read the rows named by ``spec`` and map them to samples, in file order.

    Raises :class:`DataError` naming the file and row for a missing field or file, and for a
    duplicate id unless ``spec.duplicates == "keep_first"`` (then the later rows are dropped
    and a warning is logged and kept on the first sample). ``spec.limit`` keeps a
    :func:`stratified_sample` of that many, read in two passes over the file
    (:func:`_limited`) so that only the chosen rows become samples. ``spec.image_fields``
    are read and checked (:func:`load_images`), of the samples kept: paths relative to the
    data file, or for inline rows to ``base_dir`` (the task file's folder), else ``data_dir``.
    """
    rows, where = _rows(spec, data_dir)
    out = None
    if spec.limit is not None and spec.format != "inline":
        out = _limited(spec, rows, where, spec.limit)
    if out is None:
        out = _every_row(spec, rows, where)
    if spec.image_fields:
        base = image_base(spec, data_dir, base_dir)
        out = load_images(out, spec.image_fields, base=base, where=where)
    return out


def _every_row(spec: DataSpec, rows: Rows, where: str) -> list[Sample]:
    """Every row read into a sample (repeats named or dropped), then the ``limit`` drawn."""
    fields = _Fields.of(spec)
    samples: dict[str, Sample] = {}
    seen: dict[str, str] = {}
    dropped: dict[str, list[str]] = {}
    for number, row in enumerate(rows(), start=1):
        sample_id, label = key = _key(spec, fields, row, number, where)
        if sample_id in seen:
            message = f"{where}: id {sample_id} repeated at row {number}"
            if seen[sample_id] != label:
                message += f" with a conflicting label ({seen[sample_id]!r} vs {label!r})"
            if spec.duplicates == "error":
                raise DataError(message + "; set duplicates: keep_first to keep the first row")
            log.warning("%s; keeping the first row", message)
            dropped.setdefault(sample_id, []).append(message)
            continue
        seen[sample_id] = label
        if _selected(spec, sample_id):
            samples[sample_id] = _sample(spec, fields, row, key)
    out = [
        Sample(s.id, s.fields, s.label, s.category, tuple(dropped[s.id])) if s.id in dropped else s
        for s in samples.values()
    ]
    return stratified_sample(out, spec.limit, spec.limit_seed) if spec.limit is not None else out


def image_base(spec: DataSpec, data_dir: Path | None, base_dir: Path | None) -> Path | None:
    """The folder a split's relative image paths are read from: the data file's (a folder
    source's own), or for inline rows ``base_dir`` (the task file's folder), else ``data_dir``."""
    if spec.format == "inline" or spec.path is None:
        return base_dir or data_dir
    path = Path(spec.path).expanduser()
    if not path.is_absolute() and data_dir is not None:
        path = data_dir / path
    return path if path.is_dir() else path.parent


def load_images(
    samples: Sequence[Sample], names: Sequence[str], *, base: Path | None, where: str
) -> list[Sample]:
    """``samples`` with their image fields read and checked
    (:func:`mosu.evals.images.read_image`). Every bad image is named with its sample and
    field, all of them in one :class:`DataError`; a field a sample lacks is one of them."""
    from mosu.evals.images import ImageError, read_image

    problems: list[str] = []
    out = []
    for sample in samples:
        fields = dict(sample.fields)
        for name in names:
            at = f"sample {sample.id}, field {name!r}"
            if name not in fields:
                problems.append(f"{at}: no such field (an image field must be an input)")
                continue
            try:
                fields[name] = read_image(fields[name], base=base, where=at)
            except ImageError as exc:
                problems.append(str(exc))
        out.append(Sample(sample.id, fields, sample.label, sample.category, sample.warnings))
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise DataError(f"{where}: {len(problems)} bad image(s):\n  {shown}{more}")
    return out


def _limited(spec: DataSpec, rows: Rows, where: str, n: int) -> list[Sample] | None:
    """The :func:`stratified_sample` of ``n`` without holding every row: a first pass keeps
    per row only its id's hash, and per selected row its number and label's code; a second
    builds the chosen rows' samples. ``None`` when ids may repeat (two equal hashes): the
    caller then reads the rows the ordinary way, which names or drops the repeats."""
    fields = _Fields.of(spec)
    hashes, numbers, codes = array("q"), array("q"), array("l")
    labels: dict[str, int] = {}
    for number, row in enumerate(rows(), start=1):
        sample_id, label = _key(spec, fields, row, number, where)
        hashes.append(hash(sample_id))
        if _selected(spec, sample_id):
            numbers.append(number)
            codes.append(labels.setdefault(label, len(labels)))
    import numpy as np  # here: a task without a limit starts its race without numpy

    ordered = np.sort(np.frombuffer(hashes, dtype=np.int64))
    if bool((ordered[1:] == ordered[:-1]).any()):
        return None
    del hashes, ordered
    names = list(labels)
    chosen = {numbers[i] for i in _stratified([names[c] for c in codes], n, spec.limit_seed)}
    return [
        _sample(spec, fields, row, _key(spec, fields, row, number, where))
        for number, row in _rows_at(spec, rows, where, chosen)
    ]


def stratified_sample(samples: Sequence[Sample], n: int, seed: int) -> list[Sample]:
    """``n`` of ``samples``, drawn at random (seeded) within each label, in file order.

    Each label gets its share of ``n`` in proportion to its rows, rounded by largest
    remainder (ties drawn with the seed); when ``n`` is at least the number of labels, every
    label gets at least one, taken from the label most over its exact share. A label-sorted
    file thus gives every class, where its first ``n`` rows would give one.
    """
    if n >= len(samples):
        return list(samples)
    return [samples[i] for i in _stratified([s.label for s in samples], n, seed)]


def _stratified(labels: Sequence[str], n: int, seed: int) -> list[int]:
    """The indices :func:`stratified_sample` keeps, in order, given each item's label."""
    total = len(labels)
    if n >= total:
        return list(range(total))
    rng = random.Random(seed)
    groups: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(label, []).append(index)
    labels = sorted(groups)
    tie = {label: rng.random() for label in labels}
    quota = {label: n * len(groups[label]) // total for label in labels}
    remainder = {label: n * len(groups[label]) % total for label in labels}
    short = n - sum(quota.values())
    for label in sorted(labels, key=lambda lab: (-remainder[lab], tie[lab]))[:short]:
        quota[label] += 1
    if n >= len(labels):
        for label in [lab for lab in labels if quota[lab] == 0]:
            donor = max(
                (lab for lab in labels if quota[lab] > 1),
                key=lambda lab: (quota[lab] * total - n * len(groups[lab]), tie[lab]),
            )
            quota[donor] -= 1
            quota[label] = 1
    return sorted(i for label in labels for i in rng.sample(groups[label], quota[label]))
