"""Dataset loaders: JSONL, CSV, xlsx, CMMLU's per-subject CSV folder and CLUE's JSON lines.

Every loader yields plain rows (``dict[str, Any]``); :func:`load_samples` then applies the
field mapping of a :class:`~mosu.evals.tasks.DataSpec` (which field is the id, the inputs,
the label, the category), checks duplicates and turns rows into :class:`Sample` objects.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """JSON lines (also CLUE's format); blank lines are skipped, bad lines named."""
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
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
    reader = csv.reader(io.StringIO(_read_text(path)), delimiter=delimiter)
    names = list(columns) if columns is not None else next(reader, None)
    if names is None:
        return
    for values in reader:
        if not values:
            continue
        if len(values) != len(names):
            raise DataError(
                f"{path}:{reader.line_num}: {len(values)} fields where {len(names)} are named "
                f"(delimiter {delimiter!r})"
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


def load_samples(
    spec: DataSpec, data_dir: Path | None = None, *, base_dir: Path | None = None
) -> list[Sample]:
    """Read the rows named by ``spec`` and map them to samples, in file order.

    Raises :class:`DataError` naming the file and row for a missing field or file, and for a
    duplicate id unless ``spec.duplicates == "keep_first"`` (then the later rows are dropped
    and a warning is logged and kept on the first sample). ``spec.limit`` keeps a
    :func:`stratified_sample` of that many. ``spec.image_fields`` are read and checked
    (:func:`load_images`): paths relative to the data file, or for inline rows to
    ``base_dir`` (the task file's folder), else ``data_dir``.
    """
    if spec.format == "inline":
        rows: list[dict[str, Any]] = list(spec.rows or [])
        where = "inline rows"
    else:
        assert spec.path is not None
        path = Path(spec.path).expanduser()
        if not path.is_absolute() and data_dir is not None:
            path = data_dir / path
        if not path.exists():
            raise DataError(f"data not found: {path} (pass --data-dir or fix the task's path)")
        if spec.format == "csv":
            columns = None if spec.header else spec.columns
            rows = list(read_csv(path, delimiter=spec.delimiter, columns=columns))
        else:
            rows = list(READERS[spec.format](path))
        where = str(path)
    id_field = spec.id_field or ("id" if spec.format == "cmmlu" else None)
    category_field = spec.category_field or ("subject" if spec.format == "cmmlu" else None)
    samples: dict[str, Sample] = {}
    seen: dict[str, str] = {}
    dropped: dict[str, list[str]] = {}
    for number, row in enumerate(rows, start=1):
        for name in (spec.label_field, id_field, category_field, *(spec.input_fields or [])):
            if name is not None and name not in row:
                known = ", ".join(sorted(row))
                raise DataError(f"{where}: row {number} has no field {name!r} (fields: {known})")
        sample_id = _text(row[id_field]) if id_field else str(number - 1)
        label = _text(row[spec.label_field])
        if spec.label_map is not None:
            if label not in spec.label_map:
                raise DataError(f"{where}: row {number} label {label!r} is not in label_map")
            label = spec.label_map[label]
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
        if spec.select is not None and not (
            spec.select[0] <= _fraction(f"{spec.select_seed}:{sample_id}") < spec.select[1]
        ):
            continue
        names = spec.input_fields or [k for k in row if k != spec.label_field]
        fields = {k: (v.strip() if isinstance(v, str) else v) for k, v in row.items() if k in names}
        category = _text(row[category_field]) if category_field else None
        if category is not None and spec.label_map is not None:
            category = spec.label_map.get(category, category)
        samples[sample_id] = Sample(sample_id, fields, label, category)
    out = [
        Sample(s.id, s.fields, s.label, s.category, tuple(dropped[s.id])) if s.id in dropped else s
        for s in samples.values()
    ]
    if spec.limit is not None:
        out = stratified_sample(out, spec.limit, spec.limit_seed)
    if spec.image_fields:
        base = image_base(spec, data_dir, base_dir)
        out = load_images(out, spec.image_fields, base=base, where=where)
    return out


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


def stratified_sample(samples: Sequence[Sample], n: int, seed: int) -> list[Sample]:
    """``n`` of ``samples``, drawn at random (seeded) within each label, in file order.

    Each label gets its share of ``n`` in proportion to its rows, rounded by largest
    remainder (ties drawn with the seed); when ``n`` is at least the number of labels, every
    label gets at least one, taken from the label most over its exact share. A label-sorted
    file thus gives every class, where its first ``n`` rows would give one.
    """
    total = len(samples)
    if n >= total:
        return list(samples)
    rng = random.Random(seed)
    groups: dict[str, list[int]] = {}
    for index, sample in enumerate(samples):
        groups.setdefault(sample.label, []).append(index)
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
    chosen = sorted(i for label in labels for i in rng.sample(groups[label], quota[label]))
    return [samples[i] for i in chosen]
