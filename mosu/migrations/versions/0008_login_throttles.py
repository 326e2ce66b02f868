"""accounts: login throttles

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 17:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mosu.core.db

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('login_throttles',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', mosu.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('locked_until', mosu.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttles'))
    )


def downgrade() -> None:
    op.drop_table('login_throttles')
