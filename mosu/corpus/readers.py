"""Reading an upload into plain records: CSV (any encoding Excel writes), JSON lines
(CLUE's format too), xlsx (a chosen sheet), and CMMLU's folder of per-subject CSV files,
as a folder or a zip.

CSV decoding and xlsx reading are the registry's (:mod:`mosu.registry.sheets`); the
CMMLU layout is the evaluation engine's loader (:func:`mosu.evals.loaders.read_cmmlu`).
Nothing here touches the database.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from mosu.core.limits import LimitExceeded, ReadLimits, check_archive, read_member
from mosu.corpus.image_zip import is_image_zip, read_image_zip
from mosu.evals.errors import DataError
from mosu.evals.loaders import read_cmmlu
from mosu.registry.sheets import FileProblem, as_text, decode_csv, is_blank, read_table

Format = Literal["auto", "csv", "jsonl", "xlsx", "cmmlu", "clue", "images"]
FORMATS: tuple[Format, ...] = ("auto", "csv", "jsonl", "xlsx", "cmmlu", "clue", "images")
SPLIT_WORDS = {
    "train": "train",
    "training": "train",
    "训练": "train",
    "训练集": "train",
    "dev": "dev",
    "val": "dev",
    "valid": "dev",
    "validation": "dev",
    "验证": "dev",
    "验证集": "dev",
    "test": "test",
    "testing": "test",
    "测试": "test",
    "测试集": "test",
}


def split_word(text: object) -> str | None:
    """``train``, ``dev`` or ``test`` for any usual spelling of a split's name, else ``None``."""
    return SPLIT_WORDS.get(as_text(text).strip().lower()) if text is not None else None


@dataclass(frozen=True)
class Part:
    """One file or folder of an import; ``split`` when the whole part is one split."""

    name: str
    content: bytes | None = None
    path: Path | None = None
    split: str | None = None


@dataclass(frozen=True)
class Record:
    """A row as read: where it was (``file:line``), the split its part gives, its values."""

    where: str
    split: str | None
    values: dict[str, Any]


@dataclass
class Table:
    """Every record of every part, the format found and each CSV/JSON part's encoding."""

    records: list[Record] = field(default_factory=list)
    format: str = ""
    encodings: dict[str, str] = field(default_factory=dict)
    fields: list[str] = field(default_factory=list)
    images: dict[str, bytes] = field(default_factory=dict, repr=False)
    """An image corpus's images by their path in the zip (see :mod:`mosu.corpus.image_zip`)."""
    oversized: dict[str, int] = field(default_factory=dict)


def detect_format(part: Part) -> Format:
    """The format of a part from its name and first bytes."""
    name = part.name.lower()
    if part.path is not None and part.path.is_dir():
        return "cmmlu"
    head = part.content[:4] if part.content is not None else b""
    if head.startswith(b"PK\x03\x04") or name.endswith(".zip"):
        try:
            with zipfile.ZipFile(io.BytesIO(_content(part))) as archive:
                names = archive.namelist()
        except zipfile.BadZipFile:
            return "xlsx" if name.endswith((".xlsx", ".xlsm")) else "cmmlu"
        if "[Content_Types].xml" in names:
            return "xlsx"
        return "images" if is_image_zip(names) else "cmmlu"
    if name.endswith((".xlsx", ".xlsm", ".xls")):
        return "xlsx"
    if name.endswith((".jsonl", ".json", ".ndjson")):
        return "jsonl"
    return "csv"


def _header_records(
    rows: list[tuple[int, list[object]]], name: str, split: str | None
) -> tuple[list[Record], list[str]]:
    filled = [(n, v) for n, v in rows if not is_blank(v)]
    if not filled:
        raise FileProblem(f"{name}：文件中没有任何数据")
    number, cells = filled[0]
    header = [as_text(c).strip() if c is not None else "" for c in cells]
    seen: set[str] = set()
    for title in header:
        if title and title in seen:
            raise FileProblem(f"{name}：第 {number} 行的列标题“{title}”重复")
        seen.add(title)
    records = []
    for n, values in filled[1:]:
        record = {h: values[i] if i < len(values) else None for i, h in enumerate(header)}
        if "" in record and all(h == "" for h in header[:1]) and record[""] is None:
            del record[""]
        records.append(Record(f"{name}:{n}", split, record))
    return records, header


def _read_jsonl(
    content: bytes, name: str, split: str | None, limits: ReadLimits
) -> tuple[list[Record], str]:
    """JSON lines (or one JSON array of objects), read a line at a time: a line or a value
    past ``limits`` is refused before it is parsed or kept."""
    text, encoding = decode_csv(content)
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            items = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise FileProblem(f"{name}：不是有效的 JSON（第 {exc.lineno} 行：{exc.msg}）") from None
        if not all(isinstance(i, dict) for i in items):
            raise FileProblem(f"{name}：JSON 数组的每一项都应是对象")
        if len(items) > limits.rows:
            raise limits.too_many_rows()
        for i, item in enumerate(items):
            limits.check_row(item.values(), f"{name}:{i + 1}")
        return [Record(f"{name}:{i + 1}", split, v) for i, v in enumerate(items)], encoding
    del stripped
    records: list[Record] = []
    for number, line in enumerate(io.StringIO(text, newline=None), start=1):
        if not line.strip():
            continue
        limits.check_row_length(len(line.rstrip("\n")), f"{name}:{number}")
        if len(records) >= limits.rows:
            raise limits.too_many_rows()
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise FileProblem(f"{name}：第 {number} 行不是有效的 JSON（{exc.msg}）") from None
        if not isinstance(value, dict):
            raise FileProblem(f"{name}：第 {number} 行应是一个 JSON 对象")
        limits.check_row(value.values(), f"{name}:{number}")
        records.append(Record(f"{name}:{number}", split, value))
    if not records:
        raise FileProblem(f"{name}：文件中没有任何数据")
    return records, encoding


def _cmmlu_folder(path: Path, name: str, split: str | None, limits: ReadLimits) -> list[Record]:
    """A CMMLU folder: CSV files directly, or ``dev/``, ``test/`` … sub-folders of them."""
    subdirs = [d for d in sorted(path.iterdir()) if d.is_dir() and split_word(d.name)]
    if subdirs and not any(path.glob("*.csv")):
        records: list[Record] = []
        for sub in subdirs:
            records += _cmmlu_folder(sub, f"{name}/{sub.name}", split_word(sub.name), limits)
            if len(records) > limits.rows:
                raise limits.too_many_rows()
        return records
    rows: list[Record] = []
    try:
        for row in read_cmmlu(path):
            where = f"{name}/{row['id']}"
            limits.check_row(row.values(), where)
            rows.append(Record(where, split, row))
            if len(rows) > limits.rows:
                raise limits.too_many_rows()
    except DataError as exc:
        raise FileProblem(str(exc).replace(str(path), name)) from None
    except (UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, LimitExceeded):
            raise
        raise FileProblem(f"{name}：CSV 无法读取（{exc}）") from None
    return rows


def _cmmlu_zip(content: bytes, name: str, split: str | None, limits: ReadLimits) -> list[Record]:
    """A zip of a CMMLU folder, unpacked to a temporary folder: each member is counted as
    it unpacks and the whole archive may not pass ``limits.unpacked_bytes``."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        raise FileProblem(f"{name}：zip 文件损坏或不完整") from None
    with archive, tempfile.TemporaryDirectory() as tmp:
        check_archive(archive, name, limits)
        total = 0
        root = Path(tmp)
        for info in archive.infolist():
            member = PurePosixPath(info.filename)
            if info.is_dir() or not member.name.lower().endswith(".csv"):
                continue
            if member.is_absolute() or ".." in member.parts or member.name.startswith("."):
                continue
            parent = member.parent.name
            folder = root / (parent if split_word(parent) else "_")
            folder.mkdir(exist_ok=True)
            try:
                data = read_member(archive, info, name, limits, total)
            except (zipfile.BadZipFile, OSError, EOFError):
                raise FileProblem(f"{name}：zip 文件损坏或不完整") from None
            total += len(data)
            (folder / member.name).write_bytes(data)
            del data
        folders = [d for d in sorted(root.iterdir()) if d.is_dir()]
        if not folders:
            raise FileProblem(f"{name}：zip 中没有 CSV 文件")
        if len(folders) == 1 and folders[0].name == "_":
            return _cmmlu_folder(folders[0], name, split, limits)
        records: list[Record] = []
        for folder in folders:
            records += _cmmlu_folder(
                folder, f"{name}/{folder.name}", split_word(folder.name), limits
            )
            if len(records) > limits.rows:
                raise limits.too_many_rows()
        return records


def read_part(
    part: Part, fmt: Format = "auto", sheet: str | None = None, limits: ReadLimits = ReadLimits()
) -> Table:
    """The records of one part; a file that cannot be read, or goes past ``limits``, is a
    :class:`FileProblem`."""
    found = detect_format(part) if fmt == "auto" else fmt
    table = Table(format=found)
    name = part.name
    try:
        if found == "images":
            return _image_part(part, sheet, limits)
        if found == "cmmlu":
            if part.path is not None and part.path.is_dir():
                table.records = _cmmlu_folder(part.path, name, part.split, limits)
            else:
                table.records = _cmmlu_zip(_content(part), name, part.split, limits)
        elif found in ("jsonl", "clue"):
            table.records, table.encodings[name] = _read_jsonl(
                _content(part), name, part.split, limits
            )
        else:
            rows, encoding = read_table(_content(part), filename=name, sheet=sheet, limits=limits)
            table.records, table.fields = _header_records(rows, name, part.split)
            if encoding is not None:
                table.encodings[name] = encoding
    except LimitExceeded as exc:
        raise FileProblem(str(exc)) from None
    if not table.fields:
        seen: dict[str, None] = {}
        for record in table.records:
            seen.update(dict.fromkeys(record.values))
        table.fields = list(seen)
    return table


def _image_part(part: Part, sheet: str | None, limits: ReadLimits) -> Table:
    """An image corpus zip: its manifest's records (each image field a path in the zip) and
    the images' bytes."""
    archive = read_image_zip(_content(part), part.name, limits)
    manifest = Part(f"{part.name}/{archive.manifest_name}", archive.manifest, split=part.split)
    table = read_part(manifest, "auto", sheet, limits)
    table.format = "images"
    table.images, table.oversized = archive.images, archive.oversized
    return table


def _content(part: Part) -> bytes:
    if part.content is not None:
        return part.content
    if part.path is None:
        raise FileProblem(f"{part.name}：没有内容")
    if part.path.is_dir():
        raise FileProblem(f"{part.name}：是文件夹；只有 CMMLU 格式可以导入文件夹")
    return part.path.read_bytes()


def read_parts(
    parts: list[Part],
    fmt: Format = "auto",
    sheet: str | None = None,
    limits: ReadLimits = ReadLimits(),
) -> Table:
    """All parts read into one table (formats may differ between parts); ``limits.rows``
    bounds the rows of all parts together."""
    if not parts:
        raise FileProblem("没有选择文件")
    table = Table()
    formats: list[str] = []
    fields: dict[str, None] = {}
    for part in parts:
        one = read_part(part, fmt, sheet, limits)
        table.records += one.records
        if len(table.records) > limits.rows:
            raise FileProblem(str(limits.too_many_rows()))
        table.encodings.update(one.encodings)
        table.images.update(one.images)
        table.oversized.update(one.oversized)
        formats.append(one.format)
        fields.update(dict.fromkeys(one.fields))
    table.format = "+".join(dict.fromkeys(formats))
    table.fields = list(fields)
    return table
