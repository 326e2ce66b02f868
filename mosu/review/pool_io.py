"""The expert pool in xlsx and CSV (专家库导入导出), read and written like the registry's
bulk files (:mod:`mosu.registry.imports`): the same reading of any encoding Excel writes,
the same limits, a report naming each bad row with its number and reason, and nothing
written unless every row is good. An export imports again as it is.

Columns (the first row naming 用户名 is the header):

======================  ===========================================================
用户名 (required)        the expert's username; a new one creates an expert user
姓名                     the name shown (a new user's defaults to the username)
职称                     the title (e.g. 教授级高工)
专业领域                 fields of expertise, separated by ；, 、 or a comma
任职单位                 a registered organisation's 统一社会信用代码 or exact name
利益冲突单位             organisations the expert declares a conflict with, as above
在库                     是 / 否 (empty: 是)
======================  ===========================================================

A row sets the expert's profile to what its cells say; a column missing from the file
leaves that part of every profile as it is, and 利益冲突单位, when present, is the
expert's whole list of declared conflicts (a conflict no longer listed is withdrawn). A
username that exists for another role is a bad row. New users get no usable password: an
operator sets one on the users page (重置密码) before they can sign in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.accounts.models import User
from mosu.accounts.service import create_user, valid_username
from mosu.core.errors import Invalid
from mosu.core.limits import ReadLimits
from mosu.permissions import EXPERT_ROLES, Actor, Role, can_manage_expert_pool, ensure, is_expert
from mosu.registry.columns import Column, Format
from mosu.registry.imports import ReadReport, RowProblem, SheetRow, read_rows
from mosu.registry.models import Organisation
from mosu.registry.sheets import (
    CellError,
    as_text,
    norm,
    parse_bool,
    split_list,
    write_csv,
    write_xlsx,
)
from mosu.review.errors import (
    EXPORT_POOL_OPERATORS_ONLY,
    IMPORT_POOL_OPERATORS_ONLY,
)
from mosu.review.models import ExpertConflict, ExpertProfile
from mosu.review.pool import clean_fields, conflicts_of, profiles_of

LIST_SEPARATOR = "；"


def _joined(value: object) -> object:
    return LIST_SEPARATOR.join(value) if isinstance(value, list) else value


def _yes_no(value: object) -> object:
    return "是" if value else "否"


def _text(limit: int) -> Callable[[object], object]:
    def parse(value: object) -> str:
        text = as_text(value)
        if len(text) > limit:
            raise CellError(f"过长，最多 {limit} 个字符")
        return text

    return parse


C = Column
COLUMNS: list[Column] = [
    C("username", "用户名", ("账号", "username", "user"), True, width=18),
    C("display_name", "姓名", ("名字", "name", "display name"), parse=_text(100), width=16),
    C("title", "职称", ("title",), parse=_text(100), width=16),
    C("fields", "专业领域", ("领域", "fields"), parse=split_list, render=_joined, width=30),
    C("affiliation", "任职单位", ("单位", "affiliation"), width=36),
    C("conflicts", "利益冲突单位", ("利益冲突", "conflicts"), parse=split_list, render=_joined, width=40),
    C("in_pool", "在库", ("是否在库", "in pool"), parse=parse_bool, render=_yes_no, width=8),
]  # fmt: skip
del C


# ---------------------------------------------------------------- import


@dataclass
class PoolImportReport(ReadReport):
    """What an import of the pool found and did (flushed, for the caller to commit)."""

    created: int = 0
    updated: int = 0
    created_usernames: list[str] = field(default_factory=list)

    def out(self) -> PoolImportReportOut:
        return PoolImportReportOut(
            filename=self.filename,
            encoding=self.encoding,
            total_rows=self.total_rows,
            problems=list(self.problems),
            ignored_columns=list(self.ignored_columns),
            created=self.created,
            updated=self.updated,
            created_usernames=list(self.created_usernames),
            ok=self.ok,
        )


class PoolImportReportOut(BaseModel):
    """A :class:`PoolImportReport` as JSON; ``created_usernames`` need a password set."""

    filename: str
    encoding: str | None
    total_rows: int
    problems: list[RowProblem]
    ignored_columns: list[str]
    created: int
    updated: int
    created_usernames: list[str]
    ok: bool


@dataclass
class _Expert:
    """A good row: what to write for one expert."""

    username: str
    user: User | None
    values: dict[str, object]
    affiliation_id: int | None
    conflict_ids: list[int] | None


def _organisations(session: Session) -> dict[str, int]:
    """Registered organisations by loose name and by credit code."""
    found: dict[str, int] = {}
    for org_id, name, code in session.execute(
        select(Organisation.id, Organisation.name_zh, Organisation.credit_code)
    ):
        found[norm(name)] = org_id
        found[norm(code)] = org_id
    return found


_ROLE_NAMES = {Role.operator: "运营方", Role.demand: "需求方", Role.supplier: "供给方"}


def _check(session: Session, titles: dict[str, str], rows: list[SheetRow]) -> dict[int, _Expert]:
    """The good rows, by row number; each bad row's problems are added to it."""
    orgs = _organisations(session)
    usernames = [r.values["username"] for r in rows if isinstance(r.values.get("username"), str)]
    users = {
        u.username: u for u in session.scalars(select(User).where(User.username.in_(usernames)))
    }
    seen: dict[str, int] = {}
    good: dict[int, _Expert] = {}

    def column(key: str) -> str:
        return titles.get(key, key)

    for row in rows:
        username = row.values.get("username")
        user: User | None = None
        if not isinstance(username, str) or not username:
            row.problem(column("username"), "必填，不能为空")
        elif not valid_username(username):
            row.problem(column("username"), "用户名须为 3–64 位字母、数字、点、下划线或连字符")
        elif username in seen:
            row.problem(column("username"), f"与第 {seen[username]} 行重复")
        else:
            seen[username] = row.number
            user = users.get(username)
            if user is not None and not is_expert(user.role):
                role = _ROLE_NAMES.get(user.role, user.role.value)
                row.problem(column("username"), f"用户“{username}”已存在，但不是专家（{role}）")
        if "fields" in row.values:
            try:
                row.values["fields"] = clean_fields(row.values["fields"])
            except Invalid as exc:
                row.problem(column("fields"), exc.message)
        affiliation_id: int | None = None
        text = row.values.get("affiliation")
        if isinstance(text, str):
            affiliation_id = orgs.get(norm(text))
            if affiliation_id is None:
                row.problem(
                    column("affiliation"),
                    f"组织“{text}”未登记（请填写已登记组织的名称或统一社会信用代码）",
                )
        conflict_ids: list[int] | None = None
        if "conflicts" in titles:
            conflict_ids = []
            for name in row.values.get("conflicts") or []:
                org_id = orgs.get(norm(name))
                if org_id is None:
                    row.problem(column("conflicts"), f"组织“{name}”未登记")
                elif org_id not in conflict_ids:
                    conflict_ids.append(org_id)
        if not row.problems and isinstance(username, str):
            good[row.number] = _Expert(username, user, row.values, affiliation_id, conflict_ids)
    return good


def _write(session: Session, titles: dict[str, str], good: dict[int, _Expert]) -> tuple[int, int]:
    """Create the new experts, set every row's profile and conflicts; (created, updated)."""
    created = updated = 0
    user_ids = [e.user.id for e in good.values() if e.user is not None]
    profiles = {
        p.user_id: p
        for p in session.scalars(select(ExpertProfile).where(ExpertProfile.user_id.in_(user_ids)))
    }
    declared: dict[int, dict[int, ExpertConflict]] = {}
    for c in session.scalars(select(ExpertConflict).where(ExpertConflict.expert_id.in_(user_ids))):
        declared.setdefault(c.expert_id, {})[c.organisation_id] = c
    for expert in good.values():
        name = expert.values.get("display_name")
        user = expert.user
        if user is None:
            user = create_user(
                session,
                username=expert.username,
                password=None,
                role=Role.expert,
                display_name=name if isinstance(name, str) else "",
            )
            created += 1
        else:
            updated += 1
            if isinstance(name, str) and name:
                user.display_name = name
        profile = profiles.get(user.id)
        if profile is None:
            profile = ExpertProfile(user_id=user.id, fields=[], title="", in_pool=True)
            session.add(profile)
        values = expert.values
        if "fields" in titles:
            profile.fields = list(values.get("fields") or [])  # type: ignore[call-overload]
        if "title" in titles:
            profile.title = str(values.get("title") or "")
        if "affiliation" in titles:
            profile.affiliation_id = expert.affiliation_id
        if "in_pool" in titles:
            flag = values.get("in_pool")
            profile.in_pool = True if flag is None else bool(flag)
        if expert.conflict_ids is not None:
            mine = declared.get(user.id, {})
            for org_id, conflict in mine.items():
                if org_id not in expert.conflict_ids:
                    session.delete(conflict)
            for org_id in expert.conflict_ids:
                if org_id not in mine:
                    session.add(
                        ExpertConflict(expert_id=user.id, organisation_id=org_id, reason="")
                    )
    session.flush()
    return created, updated


def import_pool(
    session: Session,
    *,
    actor: Actor,
    filename: str,
    content: bytes,
    sheet: str | None = None,
    limits: ReadLimits = ReadLimits(),
) -> PoolImportReport:
    """Validate every row of an xlsx or CSV file of experts, then write them all, or
    nothing when any row (or the file, or its header) has a problem. Operators only; rows
    are flushed into ``session`` and the caller commits, so the import is one transaction."""
    ensure(can_manage_expert_pool(actor), IMPORT_POOL_OPERATORS_ONLY)
    report = PoolImportReport(filename=filename)
    read = read_rows(
        report, columns=COLUMNS, content=content, filename=filename, sheet=sheet, limits=limits
    )
    if read is None:
        return report
    header, rows = read
    good = _check(session, header.titles, rows)
    for row in rows:
        report.problems.extend(row.problems)
    if not report.ok:
        return report
    report.created, report.updated = _write(session, header.titles, good)
    report.created_usernames = [e.username for e in good.values() if e.user is None]
    return report


# ---------------------------------------------------------------- export


def _records(session: Session) -> list[dict[str, object]]:
    users = session.scalars(select(User).where(User.role.in_(EXPERT_ROLES)).order_by(User.id)).all()
    ids = [u.id for u in users]
    profiles, conflicts = profiles_of(session, ids), conflicts_of(session, ids)
    out = []
    for user in users:
        profile = profiles.get(user.id)
        out.append(
            {
                "username": user.username,
                "display_name": user.display_name,
                "title": profile.title if profile else "",
                "fields": list(profile.fields) if profile else [],
                "affiliation": profile.affiliation.name_zh
                if profile and profile.affiliation
                else "",
                "conflicts": [c.organisation.name_zh for c in conflicts.get(user.id, [])],
                "in_pool": profile.in_pool if profile else False,
            }
        )
    return out


def export_pool(session: Session, *, actor: Actor, fmt: Format) -> bytes:
    """Every expert user under the columns :func:`import_pool` reads (operators only)."""
    ensure(can_manage_expert_pool(actor), EXPORT_POOL_OPERATORS_ONLY)
    rows = ([c.render(r[c.key]) for c in COLUMNS] for r in _records(session))
    headers = [c.header for c in COLUMNS]
    if fmt == "csv":
        return write_csv(headers, rows)
    return write_xlsx("专家库", headers, rows, [c.width for c in COLUMNS])
