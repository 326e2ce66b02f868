"""arena: arenas, prompts, competitors, answers, blind battles and votes (one per voter per battle)

Revision ID: 0005
Revises: 0006
Create Date: 2026-11-29 09:26:35.000684
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mosu.core.db

revision = '0005'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('arenas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('dataset_version_id', sa.Integer(), nullable=True),
    sa.Column('votes_per_minute', sa.Integer(), nullable=False),
    sa.Column('read_chars_per_second', sa.Float(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', mosu.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_arenas_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['dataset_version_id'], ['dataset_versions.id'], name=op.f('fk_arenas_dataset_version_id_dataset_versions'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_arenas')),
    sa.UniqueConstraint('name', name=op.f('uq_arenas_name'))
    )
    op.create_table('arena_competitors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('arena_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=True),
    sa.Column('endpoint_id', sa.Integer(), nullable=True),
    sa.Column('spec', sa.String(length=500), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', mosu.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['arena_id'], ['arenas.id'], name=op.f('fk_arena_competitors_arena_id_arenas'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['endpoint_id'], ['model_endpoints.id'], name=op.f('fk_arena_competitors_endpoint_id_model_endpoints'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['model_id'], ['models.id'], name=op.f('fk_arena_competitors_model_id_models'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_arena_competitors')),
    sa.UniqueConstraint('arena_id', 'name', name=op.f('uq_arena_competitors_arena_id'))
    )
    with op.batch_alter_table('arena_competitors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_arena_competitors_arena_id'), ['arena_id'], unique=False)

    op.create_table('arena_prompts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('arena_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['arena_id'], ['arenas.id'], name=op.f('fk_arena_prompts_arena_id_arenas'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_arena_prompts')),
    sa.UniqueConstraint('arena_id', 'key', name=op.f('uq_arena_prompts_arena_id'))
    )
    with op.batch_alter_table('arena_prompts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_arena_prompts_arena_id'), ['arena_id'], unique=False)

    op.create_table('arena_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('prompt_id', sa.Integer(), nullable=False),
    sa.Column('competitor_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', mosu.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['competitor_id'], ['arena_competitors.id'], name=op.f('fk_arena_answers_competitor_id_arena_competitors'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['prompt_id'], ['arena_prompts.id'], name=op.f('fk_arena_answers_prompt_id_arena_prompts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_arena_answers')),
    sa.UniqueConstraint('prompt_id', 'competitor_id', name=op.f('uq_arena_answers_prompt_id'))
    )
    with op.batch_alter_table('arena_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_arena_answers_competitor_id'), ['competitor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_arena_answers_prompt_id'), ['prompt_id'], unique=False)

    op.create_table('arena_battles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('arena_id', sa.Integer(), nullable=False),
    sa.Column('prompt_id', sa.Integer(), nullable=True),
    sa.Column('competitor_a_id', sa.Integer(), nullable=False),
    sa.Column('competitor_b_id', sa.Integer(), nullable=False),
    sa.Column('answer_a_id', sa.Integer(), nullable=True),
    sa.Column('answer_b_id', sa.Integer(), nullable=True),
    sa.Column('voter_id', sa.Integer(), nullable=True),
    sa.Column('created_at', mosu.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['answer_a_id'], ['arena_answers.id'], name=op.f('fk_arena_battles_answer_a_id_arena_answers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['answer_b_id'], ['arena_answers.id'], name=op.f('fk_arena_battles_answer_b_id_arena_answers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['arena_id'], ['arenas.id'], name=op.f('fk_arena_battles_arena_id_arenas'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['competitor_a_id'], ['arena_competitors.id'], name=op.f('fk_arena_battles_competitor_a_id_arena_competitors'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['competitor_b_id'], ['arena_competitors.id'], name=op.f('fk_arena_battles_competitor_b_id_arena_competitors'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['prompt_id'], ['arena_prompts.id'], name=op.f('fk_arena_battles_prompt_id_arena_prompts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['voter_id'], ['users.id'], name=op.f('fk_arena_battles_voter_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_arena_battles'))
    )
    with op.batch_alter_table('arena_battles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_arena_battles_arena_id'), ['arena_id'], unique=False)
        batch_op.create_index('ix_arena_battles_voter', ['arena_id', 'voter_id'], unique=False)

    op.create_table('arena_votes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('battle_id', sa.Integer(), nullable=False),
    sa.Column('voter_id', sa.Integer(), nullable=True),
    sa.Column('judge', sa.String(length=200), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('winner', sa.String(length=16), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('created_at', mosu.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['battle_id'], ['arena_battles.id'], name=op.f('fk_arena_votes_battle_id_arena_battles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['voter_id'], ['users.id'], name=op.f('fk_arena_votes_voter_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_arena_votes')),
    sa.UniqueConstraint('battle_id', 'judge', name='uq_arena_votes_judge'),
    sa.UniqueConstraint('battle_id', 'voter_id', name='uq_arena_votes_voter')
    )
    with op.batch_alter_table('arena_votes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_arena_votes_battle_id'), ['battle_id'], unique=False)
        batch_op.create_index('ix_arena_votes_voter_time', ['voter_id', 'created_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('arena_votes', schema=None) as batch_op:
        batch_op.drop_index('ix_arena_votes_voter_time')
        batch_op.drop_index(batch_op.f('ix_arena_votes_battle_id'))

    op.drop_table('arena_votes')
    with op.batch_alter_table('arena_battles', schema=None) as batch_op:
        batch_op.drop_index('ix_arena_battles_voter')
        batch_op.drop_index(batch_op.f('ix_arena_battles_arena_id'))

    op.drop_table('arena_battles')
    with op.batch_alter_table('arena_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_arena_answers_prompt_id'))
        batch_op.drop_index(batch_op.f('ix_arena_answers_competitor_id'))

    op.drop_table('arena_answers')
    with op.batch_alter_table('arena_prompts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_arena_prompts_arena_id'))

    op.drop_table('arena_prompts')
    with op.batch_alter_table('arena_competitors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_arena_competitors_arena_id'))

    op.drop_table('arena_competitors')
    op.drop_table('arenas')
