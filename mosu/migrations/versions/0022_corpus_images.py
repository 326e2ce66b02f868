"""image corpora: the checked images of data set versions and their thumbnails

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 04:00:00

An image corpus's rows name each image by the SHA-256 of its checked bytes; the bytes, a
perceptual hash (dHash) and a thumbnail are stored once per image in ``dataset_images``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mosu.core.db

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dataset_images",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("dhash", sa.String(length=16), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("thumb", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", mosu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_dataset_images")),
    )


def downgrade() -> None:
    op.drop_table("dataset_images")
