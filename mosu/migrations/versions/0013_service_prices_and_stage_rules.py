"""token prices on model services; a stage's minimum coverage and scoring rule; the service
figures of each race submission

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 12:15:00

A model service sold as an API may state its price per million input and output tokens
(whole fen), so a race can cost each entry's answers. A stage gains the minimum coverage an
entry needs to be ranked (0.9 for stages made before: a tenth of the test unanswered is
already more than one rank group apart on most tasks) and an optional scoring rule over
quality, speed and cost (JSON: constraints or weights). A submission keeps the price it was
run at and its service figures over the whole test split.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_services") as batch:
        batch.add_column(sa.Column("input_price_fen", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("output_price_fen", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("stages") as batch:
        batch.add_column(
            sa.Column("min_coverage", sa.Float(), nullable=False, server_default="0.9")
        )
        batch.add_column(sa.Column("rule", sa.JSON(), nullable=True))
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("service", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("service")
    with op.batch_alter_table("stages") as batch:
        batch.drop_column("rule")
        batch.drop_column("min_coverage")
    with op.batch_alter_table("model_services") as batch:
        batch.drop_column("output_price_fen")
        batch.drop_column("input_price_fen")
