"""money in fen everywhere: scenario budgets and challenge bounties move from yuan to fen

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 07:20:00

Vouchers always kept fen; scenarios (``budget_min_yuan``, ``budget_max_yuan``) and
challenges (``bounty_yuan``) kept whole yuan. Each column is renamed to ``*_fen`` and its
values multiplied by 100, and it becomes ``BIGINT``: on PostgreSQL by ``ALTER COLUMN``, on
SQLite as a new column filled from the old one, which is then dropped (SQLite 3.35+; no
table is rebuilt, so no foreign key fires). The downgrade divides by 100, rounding down: amounts
entered as whole yuan, the only kind these columns ever held, come back unchanged.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

COLUMNS = (
    ("scenarios", "budget_min"),
    ("scenarios", "budget_max"),
    ("challenges", "bounty"),
)


def _move(table: str, old: str, new: str, type_: sa.types.TypeEngine[int], scale: str) -> None:
    """Column ``old`` of ``table`` as ``new`` of ``type_``, its values times ``scale``."""
    if op.get_bind().dialect.name == "postgresql":
        widen = scale.startswith("*")  # widen before multiplying, narrow after dividing
        if not widen:
            op.execute(f'UPDATE "{table}" SET "{old}" = "{old}" {scale}')
        op.alter_column(table, old, new_column_name=new, type_=type_, existing_nullable=True)
        if widen:
            op.execute(f'UPDATE "{table}" SET "{new}" = "{new}" {scale}')
    else:
        op.add_column(table, sa.Column(new, type_, nullable=True))
        op.execute(f'UPDATE "{table}" SET "{new}" = "{old}" {scale}')
        op.execute(f'ALTER TABLE "{table}" DROP COLUMN "{old}"')


def upgrade() -> None:
    for table, stem in COLUMNS:
        _move(table, f"{stem}_yuan", f"{stem}_fen", sa.BigInteger(), "* 100")


def downgrade() -> None:
    for table, stem in COLUMNS:
        _move(table, f"{stem}_fen", f"{stem}_yuan", sa.Integer(), "/ 100")
