"""racing from the UI: a model endpoint keeps its last test call

Revision ID: 0018
Revises: 0014
Create Date: 2026-12-06 01:10:00

One nullable JSON column on model_endpoints: when the supplier last tested the endpoint
from its account page, whether the call answered, its HTTP status or error, its latency.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_endpoints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_check", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("model_endpoints", schema=None) as batch_op:
        batch_op.drop_column("last_check")
