"""notices (通知): structured notices rendered in the reader's language, their e-mail state,
each user's e-mail address, language and per-topic e-mail preferences

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 00:40:18

Older notifications keep their stored title and body (their ``params`` stay null).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mosu.core.db

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notice_preferences',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('topic', sa.String(length=20), nullable=False),
    sa.Column('email', sa.Boolean(), nullable=False),
    sa.Column('digest', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notice_preferences_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'topic', name=op.f('pk_notice_preferences'))
    )
    # plain ALTER TABLE ADD COLUMN: a batch would copy ``users`` on SQLite, and dropping the
    # old table would touch the append-only audit log through its foreign keys
    op.add_column("notifications", sa.Column("params", sa.JSON(), nullable=True))
    op.add_column("notifications", sa.Column("dedupe_key", sa.String(length=200), nullable=True))
    op.add_column("notifications", sa.Column("email_state", sa.String(length=16), nullable=True))
    op.add_column(
        "notifications",
        sa.Column("email_attempts", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column(
        "notifications", sa.Column("email_error", sa.Text(), server_default="", nullable=False)
    )
    op.add_column(
        "notifications",
        sa.Column("emailed_at", mosu.core.db.UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_notifications_email_state", "notifications", ["email_state"])
    op.create_index(
        "uq_notifications_user_key", "notifications", ["user_id", "dedupe_key"], unique=True
    )
    op.add_column("users", sa.Column("email", sa.String(length=254), nullable=True))
    op.add_column(
        "users", sa.Column("language", sa.String(length=8), server_default="zh", nullable=False)
    )


def downgrade() -> None:
    op.drop_column("users", "language")
    op.drop_column("users", "email")
    op.drop_index("uq_notifications_user_key", table_name="notifications")
    op.drop_index("ix_notifications_email_state", table_name="notifications")
    for column in ("emailed_at", "email_error", "email_attempts", "email_state", "dedupe_key"):
        op.drop_column("notifications", column)
    op.drop_column("notifications", "params")
    op.drop_table("notice_preferences")
