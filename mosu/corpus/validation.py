"""Checking an import before anything is written (导入校验): pure functions of records.

Every flaw is a :class:`Problem` naming the row (its place in the import, ``file:line``
and its id) and the reason: missing or empty fields, exact and near-duplicate texts
(within and across splits), ids repeated or with conflicting labels, dates that cannot
be read, labels outside the declared set, texts over the length limit, unknown split
names. Each problem also says which rows "drop the flagged rows" removes: the later
copy of a duplicate, every row of an id whose labels conflict.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mosu.corpus.grams import grams, half_width, prepare
from mosu.corpus.image_checks import CheckedImage, check_image_duplicates, check_row_images
from mosu.corpus.image_zip import IMAGE_NAMES
from mosu.corpus.readers import Record, split_word
from mosu.corpus.schemas import ImportOptions, Problem, ProblemKind, Roles
from mosu.registry.sheets import CellError, as_text, parse_date

SHINGLE = 5
"""Near-duplicates compare the sets of 5-character shingles of two texts (Jaccard)."""
MINHASH_PERMUTATIONS = 64
BANDS = 16
_DATE_NAME = re.compile(r"(时间|日期|date|time)", re.I)
_TOKEN = re.compile(r"^[A-Za-z0-9_.:/\-]*$")
ID_NAMES = ("id", "ID", "Id", "uid", "qid", "编号", "留言编号", "序号")
LABEL_NAMES = (
    "label_desc",
    "label",
    "Label",
    "Answer",
    "answer",
    "一级分类",
    "类别",
    "分类",
    "标签",
)
CATEGORY_NAMES = ("subject", "category", "Category", "领域", "学科")
SPLIT_NAMES = ("split", "Split", "划分", "数据集划分")
CMMLU_INPUTS = ("Question", "A", "B", "C", "D")


@dataclass
class Clean:
    """A row that passed (or was kept): its values after normalisation."""

    position: int
    row_id: str
    split: str | None
    fields: dict[str, Any]
    label: str | None
    category: str | None
    text: str
    images: list[CheckedImage] = field(default_factory=list)


@dataclass
class Checked:
    """The rows, the problems found, notes (e.g. date formats) and what "drop" removes."""

    rows: list[Clean] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    drop: set[int] = field(default_factory=set)


def _first(names: tuple[str, ...], fields: list[str]) -> str | None:
    return next((n for n in names if n in fields), None)


def guess_roles(roles: Roles, fields: list[str], records: list[Record], fmt: str) -> Roles:
    """``roles`` with what was left empty guessed from the field names and values."""
    out = roles.model_copy(deep=True)
    if out.id_field is None:
        out.id_field = _first(ID_NAMES, fields)
    if out.label_field is None:
        out.label_field = _first(LABEL_NAMES, fields)
    if out.category_field is None:
        out.category_field = _first(CATEGORY_NAMES, fields)
    if out.split_field is None:
        out.split_field = _first(SPLIT_NAMES, fields)
    sample = records[:200]
    if out.image_fields is None and fmt == "images":
        out.image_fields = [n for n in IMAGE_NAMES if n in fields][:1]
    if out.date_fields is None:
        out.date_fields = [f for f in fields if _DATE_NAME.search(f)]
    if not out.input_fields:
        if all(f in fields for f in CMMLU_INPUTS):
            out.input_fields = list(CMMLU_INPUTS)
        elif "sentence" in fields:
            out.input_fields = ["sentence"] + (["sentence2"] if "sentence2" in fields else [])
        else:
            taken = {out.id_field, out.label_field, out.category_field, out.split_field}
            taken |= set(out.date_fields) | set(out.image_fields or ())
            if out.label_field == "label_desc":
                taken.add("label")
            out.input_fields = [
                f
                for f in fields
                if f not in taken
                and f
                and any(
                    isinstance(r.values.get(f), str) and not _TOKEN.match(r.values[f].strip())
                    for r in sample
                )
            ]
    return out


def _normalise(value: Any, *, strip: bool, half: bool) -> Any:
    if not isinstance(value, str):
        return value
    if half:
        value = half_width(value)
    return value.strip() if strip else value


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return "" if value is None else as_text(value)


def _date_shape(text: str) -> str:
    """A date's way of writing: separators, zero padding, and whether a time follows.

    ``YYYY-MM-DD`` has a zero-padded month or day, ``YYYY-M-D`` a one-digit one; a date
    such as 2019-11-22 fits either and is written ``YYYY-M?-D?``.
    """
    date, _, time = text.strip().partition(" ")
    parts = re.split(r"([-/.年月日])", date)
    seps = [p for p in parts[1::2] if p]
    numbers = parts[2::2]
    sep = seps[0] if seps else ""
    if any(len(p) == 2 and p.startswith("0") for p in numbers):
        day = f"YYYY{sep}MM{sep}DD"
    elif any(len(p) == 1 for p in numbers):
        day = f"YYYY{sep}M{sep}D"
    else:
        day = f"YYYY{sep}M?{sep}D?"
    clock = "" if not time else " hh:mm:ss" if time.count(":") == 2 else " hh:mm"
    return day + clock


def _distinct_shapes(shapes: Counter[str]) -> Counter[str]:
    """The shapes, with the ambiguous ``M?``/``D?`` ones folded into a definite one."""
    out: Counter[str] = Counter()
    for shape, n in shapes.items():
        if "?" not in shape:
            out[shape] += n
    for shape, n in shapes.items():
        if "?" in shape:
            fits = [s for s in out if s.replace("MM", "M?").replace("DD", "D?") == shape]
            fits += [s for s in out if s.replace("M", "M?").replace("D", "D?") == shape]
            out[max(fits, key=out.__getitem__) if fits else shape] += n
    return out


Flag = Callable[[int, str, ProblemKind, str, bool], None]
"""Records a problem: row position, field, kind, reason, and whether the row is dropped."""


@dataclass
class _DateShapes:
    """How each date field is written across the rows (``YYYY-MM-DD`` …), with an example."""

    counts: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    examples: dict[tuple[str, str], str] = field(default_factory=dict)

    def notes(self) -> list[str]:
        """A note for each date field written in more than one way."""
        out = []
        for name, found in self.counts.items():
            shapes = _distinct_shapes(found)
            if len(shapes) > 1:
                described = "；".join(
                    f"{shape}（{n} 行，如 {self.examples.get((name, shape), '')}）"
                    for shape, n in shapes.most_common()
                )
                out.append(f"“{name}”有 {len(shapes)} 种日期写法，均已解析：{described}")
        return out


def _check_dates(
    position: int, values: dict[str, Any], roles: Roles, flag: Flag, seen: _DateShapes
) -> None:
    for name in roles.date_fields or []:
        value = values.get(name)
        if value is None or _text(value).strip() == "":
            continue
        try:
            parse_date(value)
        except CellError:
            flag(position, name, "bad_date", f"“{name}”无法解析为日期：“{_text(value)}”", True)
        else:
            if isinstance(value, str):
                shape = _date_shape(value)
                seen.counts[name][shape] += 1
                seen.examples.setdefault((name, shape), value.strip())


def _split_of(
    position: int, record: Record, values: dict[str, Any], roles: Roles, flag: Flag
) -> str | None:
    """The row's split: its file's, or the split field's (a bad value is flagged)."""
    split = record.split
    if roles.split_field and roles.split_field in values:
        split = split_word(values[roles.split_field])
        if split is None:
            given = _text(values[roles.split_field])
            flag(
                position,
                roles.split_field,
                "bad_split",
                f"划分“{given}”应为 train、dev 或 test",
                True,
            )
    return split


def _label_of(
    position: int, values: dict[str, Any], roles: Roles, label_set: set[str], flag: Flag
) -> str | None:
    """The row's label (``None`` when empty); one outside a declared set is flagged."""
    label = _text(values.get(roles.label_field)).strip() if roles.label_field else None
    if label == "":
        label = None
    if label is not None and label_set and label not in label_set:
        flag(
            position,
            roles.label_field or "",
            "unknown_label",
            f"标签“{label}”不在声明的标签集合中",
            True,
        )
    return label


def check(
    records: list[Record],
    roles: Roles,
    options: ImportOptions,
    images: Mapping[str, bytes] | None = None,
    oversized: Mapping[str, int] | None = None,
) -> Checked:
    """Every problem of ``records`` under ``roles``, and the normalised rows; an image
    corpus's ``roles.image_fields`` are looked up in ``images`` (bytes by path) and checked."""
    out = Checked()
    norm = options.normalise
    label_set = set(options.label_set)
    where = {i + 1: r.where for i, r in enumerate(records)}
    ids: dict[int, str | None] = {}

    def flag(position: int, field_name: str, kind: ProblemKind, reason: str, drop: bool) -> None:
        out.problems.append(
            Problem(
                row=position,
                where=where[position],
                row_id=ids.get(position),
                field=field_name,
                kind=kind,
                reason=reason,
            )
        )
        if drop:
            out.drop.add(position)

    dates = _DateShapes()
    image_fields = list(roles.image_fields or ())
    required = [
        f for f in (roles.id_field, *roles.input_fields, *image_fields, roles.label_field) if f
    ]
    taken = {roles.id_field, roles.label_field, roles.category_field, roles.split_field}
    if roles.label_field == "label_desc":
        taken.add("label")
    for position, record in enumerate(records, start=1):
        values = {
            k: _normalise(v, strip=norm.strip, half=norm.half_width)
            for k, v in record.values.items()
        }
        raw_id = values.get(roles.id_field) if roles.id_field else None
        row_id = _text(raw_id).strip() if raw_id is not None else str(position)
        ids[position] = row_id
        for name in required:
            if name not in values:
                flag(position, name, "missing", f"缺少字段“{name}”", True)
            elif _text(values[name]).strip() == "":
                flag(position, name, "empty", f"“{name}”为空", True)
        _check_dates(position, values, roles, flag, dates)
        split = _split_of(position, record, values, roles, flag)
        label = _label_of(position, values, roles, label_set, flag)
        category = _text(values.get(roles.category_field)).strip() if roles.category_field else None
        text = "\n".join(_text(values.get(f)) for f in roles.input_fields)
        if len(text) > options.max_length:
            flag(
                position,
                "",
                "too_long",
                f"文本长 {len(text)} 字，超过上限 {options.max_length}",
                True,
            )
        found = check_row_images(
            position, values, image_fields, images or {}, oversized or {}, flag
        )
        fields = {k: v for k, v in values.items() if k not in taken}
        row = Clean(position, row_id, split, fields, label, category or None, text, found)
        out.rows.append(row)
    out.notes.extend(dates.notes())
    if roles.id_field:
        _check_ids(out, flag)
    _check_duplicates(out, flag, options.near_duplicate_threshold)
    if image_fields:
        _check_image_duplicates(out, flag)
    out.problems.sort(key=lambda p: (p.row, p.kind))
    return out


def _check_ids(out: Checked, flag: Any) -> None:
    """Repeated ids within a split (files of different splits may number rows alike)."""
    by_id: dict[tuple[str | None, str], list[Clean]] = defaultdict(list)
    for row in out.rows:
        by_id[row.split, row.row_id].append(row)
    for (_, row_id), rows in by_id.items():
        if len(rows) < 2:
            continue
        labels = list(dict.fromkeys(r.label for r in rows))
        places = "、".join(str(r.position) for r in rows)
        if len(labels) > 1:
            shown = " / ".join(str(x) for x in labels)
            for r in rows:
                flag(
                    r.position,
                    "",
                    "conflicting_label",
                    f"编号 {row_id} 出现 {len(rows)} 次（第 {places} 行），标签冲突：{shown}",
                    True,
                )
        else:
            for r in rows[1:]:
                flag(
                    r.position,
                    "",
                    "duplicate_id",
                    f"编号 {row_id} 与第 {rows[0].position} 行重复",
                    True,
                )


def _check_image_duplicates(out: Checked, flag: Any) -> None:
    """Exact and near-duplicate images (:mod:`mosu.corpus.image_checks`)."""
    rows = {r.position: r for r in out.rows}
    check_image_duplicates(
        [i for r in out.rows for i in r.images],
        lambda a, b: (rows[a].row_id, _splits_phrase(rows[a].split, rows[b].split)),
        flag,
    )


def _splits_phrase(a: str | None, b: str | None) -> str:
    if a == b:
        return f"同在 {a}" if a else "同一划分"
    return f"跨划分 {a or '?'}↔{b or '?'}"


def _check_duplicates(out: Checked, flag: Any, threshold: float) -> None:
    """Exact duplicates by loose text; near-duplicates by MinHash + exact shingle Jaccard."""
    first: dict[bytes, Clean] = {}
    unique: list[Clean] = []
    for row, key in zip(out.rows, prepare([r.text for r in out.rows]).keys(), strict=True):
        if not key:
            continue
        seen = first.get(key)
        if seen is not None:
            where = _splits_phrase(seen.split, row.split)
            flag(
                row.position,
                "",
                "duplicate",
                f"文本与第 {seen.position} 行（编号 {seen.row_id}）相同（{where}）",
                True,
            )
        else:
            first[key] = row
            unique.append(row)
    for i, j, similarity in near_duplicates([r.text for r in unique], threshold):
        a, b = unique[i], unique[j]
        where = _splits_phrase(a.split, b.split)
        flag(
            b.position,
            "",
            "near_duplicate",
            f"文本与第 {a.position} 行（编号 {a.row_id}）近似重复，相似度 {similarity:.2f}（{where}）",
            True,
        )


def near_duplicates(texts: list[str], threshold: float) -> list[tuple[int, int, float]]:
    """Pairs ``(i, j, jaccard)``, ``i < j``, whose 5-character shingle sets have Jaccard
    similarity at least ``threshold``; each ``j`` is reported once, against its first match.

    Candidates come from MinHash signatures (64 hashes) in 16 bands of 4 (locality-sensitive
    hashing), then each candidate's exact Jaccard is computed, so none is reported wrongly.
    """
    if len(texts) < 2:
        return []
    g = grams(prepare(texts), SHINGLE)
    rng = np.random.default_rng(17)
    a = rng.integers(1, 2**63, MINHASH_PERMUTATIONS, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 2**63, MINHASH_PERMUTATIONS, dtype=np.uint64)
    counts = g.counts
    nonempty = np.flatnonzero(counts > 0)
    starts = g.offsets[:-1][nonempty]
    signatures = np.empty((len(texts), MINHASH_PERMUTATIONS), dtype=np.uint64)
    signatures[:] = np.iinfo(np.uint64).max
    with np.errstate(over="ignore"):
        for k in range(MINHASH_PERMUTATIONS):
            permuted = g.hashes * a[k] + b[k]
            signatures[nonempty, k] = np.minimum.reduceat(permuted, starts)
    rows_per_band = MINHASH_PERMUTATIONS // BANDS
    candidates: set[tuple[int, int]] = set()
    for band in range(BANDS):
        buckets: dict[bytes, list[int]] = defaultdict(list)
        block = np.ascontiguousarray(
            signatures[:, band * rows_per_band : (band + 1) * rows_per_band]
        )
        for row in nonempty.tolist():
            buckets[block[row].tobytes()].append(row)
        for members in buckets.values():
            if 1 < len(members) <= 200:
                for x in range(len(members)):
                    for y in range(x + 1, len(members)):
                        candidates.add((members[x], members[y]))
    found: list[tuple[int, int, float]] = []
    matched: set[int] = set()
    sets: dict[int, Any] = {}
    for i, j in sorted(candidates, key=lambda p: (p[1], p[0])):
        if j in matched:
            continue
        estimate = float(np.mean(signatures[i] == signatures[j]))
        if estimate < threshold - 0.15:
            continue
        si = sets.setdefault(i, np.unique(g.of(i)))
        sj = sets.setdefault(j, np.unique(g.of(j)))
        inter = len(np.intersect1d(si, sj, assume_unique=True))
        jaccard = inter / (len(si) + len(sj) - inter)
        if jaccard >= threshold:
            found.append((i, j, jaccard))
            matched.add(j)
    return found
