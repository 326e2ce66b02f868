"""decision texts: cut reasons and submission failures kept as catalogued texts

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 10:00:00

``entries.cut_reason`` and ``submissions.failure`` held finished ``"中文 / English"`` strings;
they now hold a :class:`mosu.core.text.Text` as JSON (``{"text": ..., "params": ...}``), shown
in each reader's language. A string written before becomes a text whose source is that
string, marked ``"bilingual"`` (readers see their side of it); an empty one becomes null. The same goes for the cut
reason carried by an ``entry_cut`` notice. The audit log is append-only (a trigger refuses
any update): its older ``stage_added`` lines keep their strings, which the log shows one side
of. Downgrading writes each text back as its Chinese.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

from mosu.core.text import Text

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

COLUMNS = (("entries", "cut_reason"), ("submissions", "failure"))


def _as_text(value: object) -> dict[str, Any] | None:
    """An old string as a :class:`mosu.core.text.Bilingual` (its readers see their side)."""
    return {"text": value, "bilingual": True} if isinstance(value, str) and value else None


def _as_string(value: object) -> str:
    """A stored text's Chinese (SQLite hands JSON back as its string)."""
    data = _loaded(value) if isinstance(value, str) else value
    return str(Text.from_json(data)) if isinstance(data, dict) and "text" in data else ""


def _loaded(value: str) -> object:
    try:
        return json.loads(value)
    except ValueError:
        return value


def _convert(
    table: str,
    column: str,
    kind: sa.types.TypeEngine[Any],
    change: Callable[[object], object],
    *,
    nullable: bool,
) -> None:
    """Move ``table.column`` to a column of type ``kind``, each value through ``change``.

    Plain ``ALTER TABLE`` on both backends: a SQLite table is never rebuilt, since dropping
    ``entries`` to rebuild it would delete its submissions (``ON DELETE CASCADE``)."""
    connection = op.get_bind()
    new = f"{column}_new"
    added = sa.Column(new, kind, nullable=nullable, server_default=None if nullable else "")
    op.add_column(table, added)  # SQLite's ALTER TABLE needs a default for NOT NULL
    rows = connection.execute(sa.text(f"SELECT id, {column} FROM {table}")).all()
    moved = sa.table(table, sa.column("id", sa.Integer()), sa.column(new, kind))
    for row_id, value in rows:
        connection.execute(moved.update().where(moved.c.id == row_id).values({new: change(value)}))
    op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    op.execute(f"ALTER TABLE {table} RENAME COLUMN {new} TO {column}")
    if not nullable and connection.dialect.name != "sqlite":
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} DROP DEFAULT")


def _json_rows(
    table: str, column: str, where: str, change: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    """Rewrite the JSON ``column`` of ``table``'s rows that match ``where``."""
    connection = op.get_bind()
    shaped = sa.table(table, sa.column("id", sa.Integer()), sa.column(column, sa.JSON()))
    rows = connection.execute(sa.text(f"SELECT id, {column} FROM {table} WHERE {where}")).all()
    for row_id, value in rows:
        data = _loaded(value) if isinstance(value, str) else value
        if not isinstance(data, dict):
            continue
        connection.execute(
            shaped.update().where(shaped.c.id == row_id).values({column: change(dict(data))})
        )


def _keys(names: tuple[str, ...], change: Callable[[object], object]) -> Any:
    def changed(data: dict[str, Any]) -> dict[str, Any]:
        return {k: change(v) if k in names else v for k, v in data.items()}

    return changed


def upgrade() -> None:
    for table, column in COLUMNS:
        _convert(table, column, sa.JSON(none_as_null=True), _as_text, nullable=True)
    _json_rows("notifications", "params", "kind = 'entry_cut'", _keys(("reason",), _wrap))


def downgrade() -> None:
    _json_rows("notifications", "params", "kind = 'entry_cut'", _keys(("reason",), _unwrap))
    for table, column in COLUMNS:
        _convert(table, column, sa.Text(), _as_string, nullable=False)


def _wrap(value: object) -> object:
    return _as_text(value) if isinstance(value, str) else value


def _unwrap(value: object) -> object:
    return _as_string(value) if isinstance(value, dict) else value
