"""Bulk import of organisations and models from xlsx and CSV (批量导入).

Operators keep the registry in Excel. An import reads the whole file, validates every
row with the schemas the API uses (:class:`OrganisationIn`, :class:`ModelIn`) and
writes nothing unless every row is valid, or the operator asked to drop the bad rows.
The report names each bad row as Excel numbers it, the column as the file spells it,
and the reason in Chinese. Exports (:mod:`mosu.registry.exports`) use the same headers,
so an export re-imports cleanly.

Conventions of the report:

* ``row`` is the row number Excel shows: the header is row 1 (or the row it was found
  on, below any title rows), the first data row 2. Problems with the file itself
  (encoding, a damaged workbook, no data) carry row 0 and column ``""``; problems with
  the header (a missing, unknown or repeated column) carry the header's row.
* An unknown column is a problem, since a mistyped header would otherwise lose data
  silently; columns headed by one of :data:`IGNORED_HEADERS` (序号, 备注 …) are
  ignored and listed in ``ignored_columns``, and so are empty columns without a header.
* Empty rows are skipped; cells are stripped of whitespace (tabs, full-width spaces).
* 所属组织 is an organisation's Chinese name (full- and half-width brackets alike) or
  its credit code. 基座模型 naming exactly one registered model, or one model of the
  same file, links to it (``组织名称/模型名称`` picks one of several); other text is
  kept as ``base_model_text``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from pydantic import BaseModel, ValidationError
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mosu.core import errors
from mosu.core.limits import ReadLimits
from mosu.i18n import N_
from mosu.permissions import Actor, can_bulk_import, ensure
from mosu.registry.columns import (
    COLUMNS,
    FIELD_COLUMN,
    IGNORED_HEADERS,
    ROOT_ERROR_COLUMN,
    Column,
    Kind,
    header_key,
)
from mosu.registry.errors import OPERATORS_IMPORT
from mosu.registry.models import Model, Organisation
from mosu.registry.organisations import organisation_values
from mosu.registry.schemas import ModelIn, OrganisationIn
from mosu.registry.sheets import (
    CellError,
    FileProblem,
    Rows,
    as_text,
    clean_cell,
    is_blank,
    norm,
    read_table,
)

# ---------------------------------------------------------------- report


@dataclass(frozen=True)
class RowProblem:
    """Why a row cannot be imported (row 0: the file), ``column`` as the file spells it."""

    row: int
    column: str
    reason: str


@dataclass
class ReadReport:
    """What reading a bulk file found: its encoding, data rows, problems, ignored columns.
    The registry's import extends it, and so does every other import of operators' sheets
    (the expert pool's)."""

    filename: str
    encoding: str | None = None
    total_rows: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No problem with the file or any row."""
        return not self.problems


@dataclass
class ImportReport(ReadReport):
    """What an import found and did; ``written`` rows are flushed, for the caller to commit."""

    kind: Kind = "orgs"
    valid_rows: int = 0
    written: int = 0
    dropped_rows: list[int] = field(default_factory=list)

    @property
    def committed(self) -> bool:
        """Rows were written into the session (which the caller then commits)."""
        return self.written > 0

    def out(self) -> ImportReportOut:
        """The report as the API returns it."""
        return ImportReportOut(
            kind=self.kind,
            filename=self.filename,
            encoding=self.encoding,
            total_rows=self.total_rows,
            valid_rows=self.valid_rows,
            problems=list(self.problems),
            written=self.written,
            dropped_rows=list(self.dropped_rows),
            ignored_columns=list(self.ignored_columns),
            ok=self.ok,
            committed=self.committed,
        )


class ImportReportOut(BaseModel):
    """An :class:`ImportReport` as JSON."""

    kind: Kind
    filename: str
    encoding: str | None
    total_rows: int
    valid_rows: int
    problems: list[RowProblem]
    written: int
    dropped_rows: list[int]
    ignored_columns: list[str]
    ok: bool
    committed: bool


# ---------------------------------------------------------------- header


@dataclass
class SheetHeader:
    """A bulk file's header: which column of the file is which :class:`Column`."""

    row: int
    known: Sequence[Column] = ()
    columns: dict[int, Column] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)  # column key -> header as in the file
    missing: bool = False  # a required column is missing: no row can be read

    def title(self, key: str) -> str:
        """The header of the column behind field ``key``, as the file spells it."""
        key = FIELD_COLUMN.get(key, key)
        if key in self.titles:
            return self.titles[key]
        return next((c.header for c in self.known if c.key == key), "")


def _read_header(
    known: Sequence[Column], rows: Rows, report: ReadReport
) -> tuple[SheetHeader | None, Rows]:
    """The header (the first row naming a required column, below any title rows) and the
    rows under it; header problems go into ``report``."""
    filled = [(n, v) for n, v in rows if not is_blank(v)]
    if not filled:
        report.problems.append(RowProblem(0, "", "文件中没有任何数据"))
        return None, []
    aliases = {header_key(name): col for col in known for name in col.names()}
    required = {header_key(n) for c in known if c.required for n in c.names()}
    at = next(
        (i for i, (_, v) in enumerate(filled[:10]) if any(header_key(c) in required for c in v)),
        0,
    )
    number, cells = filled[at]
    data = filled[at + 1 :]
    header = SheetHeader(row=number, known=known)
    expected = "、".join(c.header for c in known)
    for index, raw in enumerate(cells):
        title = as_text(clean_cell(raw) or "")
        col = aliases.get(header_key(title))
        if col is None:
            if norm(title) in IGNORED_HEADERS:
                report.ignored_columns.append(title)
            elif title:
                reason = f"无法识别的列；可用的列：{expected}"
                report.problems.append(RowProblem(number, title, reason))
            elif any(index < len(v) and clean_cell(v[index]) is not None for _, v in data):
                reason = f"第 {index + 1} 列没有列标题，但有数据"
                report.problems.append(RowProblem(number, "", reason))
        elif col.key in header.titles:
            reason = f"与“{header.titles[col.key]}”重复，都表示“{col.header}”"
            report.problems.append(RowProblem(number, title, reason))
        else:
            header.columns[index] = col
            header.titles[col.key] = title
    for col in known:
        if col.required and col.key not in header.titles:
            header.missing = True
            report.problems.append(RowProblem(number, col.header, f"缺少必填列“{col.header}”"))
    return header, data


# ---------------------------------------------------------------- rows

_REASONS: dict[str, Callable[[dict[str, Any]], str]] = {
    "missing": lambda ctx: "必填，不能为空",
    "string_too_short": lambda ctx: N_("不能为空"),
    "too_short": lambda ctx: "至少填写一项",
    "string_too_long": lambda ctx: f"过长，最多 {ctx.get('max_length')} 个字符",
    "greater_than": lambda ctx: f"应大于 {ctx.get('gt')}",
    "less_than": lambda ctx: f"应小于 {ctx.get('lt')}",
}


def _reason(error: Any) -> str:
    """A pydantic error in the operator's words."""
    kind = str(error["type"])
    if kind in _REASONS:
        return _REASONS[kind](dict(error.get("ctx") or {}))
    if kind == "value_error" or errors.declared(kind) is not None:
        return str(error["msg"]).removeprefix("Value error, ")
    return f"格式不正确（{error['msg']}）"


_M = TypeVar("_M", bound=BaseModel)


@dataclass
class SheetRow:
    """One data row: its number as Excel shows it, parsed values by column key, problems."""

    number: int
    values: dict[str, Any]
    problems: list[RowProblem] = field(default_factory=list)

    def problem(self, column: str, reason: str) -> None:
        self.problems.append(RowProblem(self.number, column, reason))

    def values_to_validate(self, header: SheetHeader) -> dict[str, Any]:
        """The parsed values, minus those whose cell already has a problem."""
        failed = {p.column for p in self.problems}
        return {k: v for k, v in self.values.items() if header.titles.get(k) not in failed}


def _parse_row(header: SheetHeader, number: int, cells: list[object]) -> SheetRow:
    row = SheetRow(number, {})
    for index, col in header.columns.items():
        value = clean_cell(cells[index]) if index < len(cells) else None
        if value is not None:
            try:
                row.values[col.key] = col.parse(value)
            except CellError as exc:
                row.problem(header.titles[col.key], str(exc))
    return row


def _validate(
    kind: Kind, header: SheetHeader, row: SheetRow, schema: type[_M], data: dict[str, Any]
) -> _M | None:
    """``schema`` validated from ``data``, or ``None`` with the errors added to ``row``."""
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        failed = {p.column for p in row.problems}
        for error in exc.errors():
            loc = error["loc"]
            if not loc and failed:  # a cross-field rule seeing a default for a bad cell
                continue
            key = str(loc[0]) if loc else ROOT_ERROR_COLUMN[kind]
            if key == "contact" and len(loc) > 1:
                key = f"contact_{loc[1]}"
            title = header.title(key)
            if title not in failed:
                failed.add(title)
                row.problem(title, _reason(error))
        return None


def _check_orgs(session: Session, header: SheetHeader, rows: list[SheetRow]) -> dict[int, Any]:
    """Valid organisations by row: schema checks, then unique names and credit codes
    (names compared ignoring full/half width and spaces) within the file and the registry."""
    names: dict[str, str] = {}
    codes: dict[str, str] = {}
    for known, code in session.execute(select(Organisation.name_zh, Organisation.credit_code)):
        names[norm(known)] = codes[code] = known
    name_col, code_col = header.title("name_zh"), header.title("credit_code")
    seen_names: dict[str, int] = {}
    seen_codes: dict[str, int] = {}
    valid: dict[int, Any] = {}
    for row in rows:
        data = row.values_to_validate(header)
        contact = {
            k: data.pop(f"contact_{k}")
            for k in ("name", "phone", "email")
            if f"contact_{k}" in data
        }
        if contact:
            data["contact"] = contact
        org = _validate("orgs", header, row, OrganisationIn, data)
        name = row.values.get("name_zh")
        if isinstance(name, str):
            key = norm(name)
            if key in names:
                row.problem(name_col, f"组织“{names[key]}”已登记，不能重复导入")
            elif key in seen_names:
                row.problem(name_col, f"名称与第 {seen_names[key]} 行重复")
            else:
                seen_names[key] = row.number
        if org is not None:
            if org.credit_code in codes:
                row.problem(code_col, f"统一社会信用代码已被“{codes[org.credit_code]}”登记")
            elif org.credit_code in seen_codes:
                row.problem(code_col, f"统一社会信用代码与第 {seen_codes[org.credit_code]} 行重复")
            else:
                seen_codes[org.credit_code] = row.number
            if not row.problems:
                valid[row.number] = org
    return valid


@dataclass
class _NewModel:
    data: ModelIn
    base_row: int | None  # the base model is created by this row of the same file
    base_name: str


# A model a 基座模型 cell may name: (organisation id, name, model id, row in the file).
_Candidate = tuple[int, str, int | None, int | None]


def _check_models(session: Session, header: SheetHeader, rows: list[SheetRow]) -> dict[int, Any]:
    """Valid models by row: a known organisation, a name new to it, the base model resolved."""
    orgs: dict[str, int] = {}
    org_names: dict[int, str] = {}
    for known_id, known_name, code in session.execute(
        select(Organisation.id, Organisation.name_zh, Organisation.credit_code)
    ):
        orgs[norm(known_name)] = orgs[norm(code)] = known_id
        org_names[known_id] = known_name
    existing: set[tuple[int, str]] = set()
    candidates: dict[str, list[_Candidate]] = {}
    for model_id, owner_id, model_name in session.execute(
        select(Model.id, Model.organisation_id, Model.name)
    ):
        existing.add((owner_id, model_name))
        candidates.setdefault(model_name, []).append((owner_id, model_name, model_id, None))
    org_col, name_col = header.title("organisation"), header.title("name")
    seen: dict[tuple[int, str], int] = {}
    for row in rows:
        org_text = row.values.pop("organisation", None)
        org_id = orgs.get(norm(org_text)) if isinstance(org_text, str) else None
        if org_text is not None and org_id is None:
            row.problem(
                org_col, f"组织“{org_text}”未登记（请填写已登记组织的名称或统一社会信用代码）"
            )
        row.values["organisation_id"] = org_id or 0
        name = row.values.get("name")
        if org_id is None or not isinstance(name, str):
            continue
        if (org_id, name) in existing:
            row.problem(name_col, f"“{org_names[org_id]}”已有名为“{name}”的模型")
        elif (org_id, name) in seen:
            row.problem(name_col, f"与第 {seen[(org_id, name)]} 行重复（同一组织、同一模型名称）")
        else:
            seen[(org_id, name)] = row.number
            candidates.setdefault(name, []).append((org_id, name, None, row.number))
    base_col = header.title("base_model")
    valid: dict[int, Any] = {}
    for row in rows:
        base = row.values.pop("base_model", None)
        base_row: int | None = None
        if isinstance(base, str):
            found = candidates.get(base, [])
            owner, _, short = base.partition("/")
            if not found and short and norm(owner) in orgs:
                found = [c for c in candidates.get(short, []) if c[0] == orgs[norm(owner)]]
            if len(found) > 1:
                where = "、".join(f"{org_names.get(c[0], '')}/{c[1]}" for c in found[:5])
                row.problem(
                    base_col, f"基座模型“{base}”对应多个模型（{where}），请写成 组织名称/模型名称"
                )
            elif found and found[0][3] == row.number:
                row.problem(base_col, "模型不能以自身为基座")
            elif found:
                row.values["base_model_id"], base_row = found[0][2], found[0][3]
            else:
                row.values["base_model_text"] = base
        model = _validate("models", header, row, ModelIn, row.values_to_validate(header))
        if model is not None and not row.problems:
            valid[row.number] = _NewModel(model, base_row, base or "")
    return valid


# ---------------------------------------------------------------- import


def read_rows(
    report: ReadReport,
    *,
    columns: Sequence[Column],
    content: bytes,
    filename: str,
    sheet: str | None = None,
    limits: ReadLimits = ReadLimits(),
) -> tuple[SheetHeader, list[SheetRow]] | None:
    """The header and the parsed data rows of an xlsx or CSV file laid out in ``columns``,
    or ``None`` when no row can be read (the file, or a required column, is missing).

    Problems with the file, the header and single cells go into ``report``; rows are
    numbered as Excel shows them. Every bulk import of operators' sheets reads through here.
    """
    try:
        rows, report.encoding = read_table(
            content,
            filename=filename,
            sheet=sheet,
            headers={header_key(n) for c in columns for n in c.names()},
            limits=limits,
        )
    except FileProblem as exc:
        report.problems.append(RowProblem(0, "", str(exc)))
        return None
    header, data_rows = _read_header(columns, rows, report)
    if header is None:
        return None
    parsed = [_parse_row(header, n, v) for n, v in data_rows if not is_blank(v)]
    report.total_rows = len(parsed)
    if not parsed:
        report.problems.append(RowProblem(0, "", "表头下没有数据行"))
    if header.missing or not parsed:
        return None
    return header, parsed


def import_table(
    session: Session,
    *,
    actor: Actor,
    kind: Kind,
    filename: str,
    content: bytes,
    drop_invalid: bool = False,
    sheet: str | None = None,
    limits: ReadLimits = ReadLimits(),
) -> ImportReport:
    """Validate every row of an xlsx or CSV file, then create the organisations or models.

    Nothing is written when any row has a problem, unless ``drop_invalid`` (then the
    valid rows are written and the others listed in ``dropped_rows``); nothing is ever
    written when the file or its header has a problem. Rows are flushed into
    ``session`` and the caller commits, so the import is one transaction.
    """
    ensure(can_bulk_import(actor), OPERATORS_IMPORT)
    report = ImportReport(kind=kind, filename=filename)
    read = read_rows(
        report,
        columns=COLUMNS[kind],
        content=content,
        filename=filename,
        sheet=sheet,
        limits=limits,
    )
    if read is None:
        return report
    header, parsed = read
    header_ok = report.ok
    check = _check_orgs if kind == "orgs" else _check_models
    valid = check(session, header, parsed)
    report.valid_rows = len(valid)
    for row in parsed:
        report.problems.extend(row.problems)
    if not header_ok or not valid or (not report.ok and not drop_invalid):
        return report
    try:
        report.written = _write(session, kind, valid)
    except IntegrityError:
        session.rollback()
        reason = "写入时与他人同时登记的数据冲突，未写入任何数据；请重新导入"
        report.problems.append(RowProblem(0, "", reason))
        return report
    report.dropped_rows = [r.number for r in parsed if r.number not in valid]
    return report


def _write(session: Session, kind: Kind, valid: dict[int, Any]) -> int:
    """Insert the validated rows in bulk (the checks the service functions make one row at a
    time were made for the whole file up front); returns how many."""
    if kind == "orgs":
        session.execute(insert(Organisation), [organisation_values(o) for o in valid.values()])
        return len(valid)
    new = cast(dict[int, _NewModel], valid)
    ids = session.scalars(
        insert(Model).returning(Model.id, sort_by_parameter_order=True),
        [item.data.model_dump() for item in new.values()],
    ).all()
    created = dict(zip(new, ids, strict=True))
    links: list[dict[str, Any]] = []
    for number, item in new.items():
        if item.base_row is None:
            continue
        base = created.get(item.base_row)
        link = {"base_model_id": base} if base is not None else {"base_model_text": item.base_name}
        # the base model's own row was dropped: its name stays as text
        links.append({"id": created[number], **link})
    for group in (
        [x for x in links if "base_model_id" in x],
        [x for x in links if "base_model_text" in x],
    ):
        if group:
            session.execute(update(Model), group)
    return len(created)
