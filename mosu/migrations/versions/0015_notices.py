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
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('params', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('dedupe_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('email_state', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('email_attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('email_error', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('emailed_at', mosu.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_notifications_email_state', ['email_state'], unique=False)
        batch_op.create_index('uq_notifications_user_key', ['user_id', 'dedupe_key'], unique=True)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('language', sa.String(length=8), server_default='zh', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('language')
        batch_op.drop_column('email')

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('uq_notifications_user_key')
        batch_op.drop_index('ix_notifications_email_state')
        batch_op.drop_column('emailed_at')
        batch_op.drop_column('email_error')
        batch_op.drop_column('email_attempts')
        batch_op.drop_column('email_state')
        batch_op.drop_column('dedupe_key')
        batch_op.drop_column('params')

    op.drop_table('notice_preferences')
