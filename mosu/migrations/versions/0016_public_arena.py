"""public arena (公众竞技场): anonymous voting sessions, and battles and votes that name one

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-06 01:10:00

A new table ``arena_guests`` (an anonymous session's token digest, and its client
address's keyed digest); ``guest_id`` on
``arena_battles`` and ``arena_votes``, one vote per guest per battle by constraint.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mosu.core.db

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "arena_guests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("address_digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", mosu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arena_guests")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_arena_guests_token_digest")),
    )
    op.create_index(
        "ix_arena_guests_address_time", "arena_guests", ["address_digest", "created_at"]
    )
    with op.batch_alter_table("arena_battles") as batch:
        batch.add_column(sa.Column("guest_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_arena_battles_guest_id_arena_guests"),
            "arena_guests",
            ["guest_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index(batch.f("ix_arena_battles_guest_id"), ["guest_id"], unique=False)
    with op.batch_alter_table("arena_votes") as batch:
        batch.add_column(sa.Column("guest_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_arena_votes_guest_id_arena_guests"),
            "arena_guests",
            ["guest_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_unique_constraint("uq_arena_votes_guest", ["battle_id", "guest_id"])
        batch.create_index("ix_arena_votes_guest_time", ["guest_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("arena_votes") as batch:
        batch.drop_index("ix_arena_votes_guest_time")
        batch.drop_constraint("uq_arena_votes_guest", type_="unique")
        batch.drop_constraint(batch.f("fk_arena_votes_guest_id_arena_guests"), type_="foreignkey")
        batch.drop_column("guest_id")
    with op.batch_alter_table("arena_battles") as batch:
        batch.drop_index(batch.f("ix_arena_battles_guest_id"))
        batch.drop_constraint(
            batch.f("fk_arena_battles_guest_id_arena_guests"), type_="foreignkey"
        )
        batch.drop_column("guest_id")
    op.drop_index("ix_arena_guests_address_time", table_name="arena_guests")
    op.drop_table("arena_guests")
