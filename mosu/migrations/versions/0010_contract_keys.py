"""voucher contract keys recomputed: NFKC, case folded, without format characters and separators

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 17:10:00

A contract's key (seller and number) used to ignore only width, case and white space, so
``SH-2025 777`` and the same text with a zero-width space stood as two contracts. Keys of
applications still standing are recomputed with the rule of
``mosu.supply.applications.normalise_contract_number`` (copied here, as a migration must not
change when the code does). Where two standing applications of a programme now share a key,
the earlier keeps it and the later gets ``key#id``, so the upgrade never fails on the unique
constraint; ``mosu supply check`` names such pairs for the operator to decide.
"""

from __future__ import annotations

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def _number(number: str) -> str:
    folded = unicodedata.normalize("NFKC", number).casefold()
    return "".join(
        c
        for c in folded
        if not (
            c.isspace()
            or c == "/"
            or unicodedata.category(c) in ("Cf", "Pd", "Zs", "Zl", "Zp")
        )
    )


def _recompute(new_key) -> None:  # type: ignore[no-untyped-def]
    bind = op.get_bind()
    table = sa.table(
        "voucher_applications",
        sa.column("id", sa.Integer),
        sa.column("programme_id", sa.Integer),
        sa.column("seller_organisation_id", sa.Integer),
        sa.column("contract_number", sa.String),
        sa.column("contract_key", sa.String),
    )
    rows = bind.execute(
        sa.select(
            table.c.id, table.c.programme_id, table.c.seller_organisation_id, table.c.contract_number
        )
        .where(table.c.contract_key.is_not(None))
        .order_by(table.c.id)
    ).all()
    # first out of the way (unique per row), then the final keys: no transient collisions
    for row in rows:
        bind.execute(table.update().where(table.c.id == row.id).values(contract_key=f"#{row.id}"))
    taken: set[tuple[int, str]] = set()
    for row in rows:
        key = new_key(row.seller_organisation_id, row.contract_number)
        if (row.programme_id, key) in taken:
            key = f"{key}#{row.id}"
        taken.add((row.programme_id, key))
        bind.execute(table.update().where(table.c.id == row.id).values(contract_key=key))


def upgrade() -> None:
    _recompute(lambda seller, number: f"{seller}:{_number(number)}")


def downgrade() -> None:
    _recompute(
        lambda seller, number: (
            f"{seller}:{''.join(unicodedata.normalize('NFKC', number).casefold().split())}"
        )
    )
