"""arena prompts may carry an image (竞技场图片提示)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 03:45:00

A new table ``arena_images`` (an image checked on upload, stored once by the SHA-256 of its
bytes, with its format and size); ``image_sha256`` on ``arena_prompts`` names the image a
prompt carries (none for text prompts).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mosu.core.db

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "arena_images",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", mosu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arena_images")),
        sa.UniqueConstraint("sha256", name=op.f("uq_arena_images_sha256")),
    )
    with op.batch_alter_table("arena_prompts") as batch:
        batch.add_column(sa.Column("image_sha256", sa.String(length=64), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_arena_prompts_image_sha256_arena_images"),
            "arena_images",
            ["image_sha256"],
            ["sha256"],
            ondelete="RESTRICT",
        )
        batch.create_index(
            batch.f("ix_arena_prompts_image_sha256"), ["image_sha256"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("arena_prompts") as batch:
        batch.drop_index(batch.f("ix_arena_prompts_image_sha256"))
        batch.drop_constraint(
            batch.f("fk_arena_prompts_image_sha256_arena_images"), type_="foreignkey"
        )
        batch.drop_column("image_sha256")
    op.drop_table("arena_images")
