"""corpus catalogue: data sets, versions and rows

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 05:50:29.461230
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mosu.core.db

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('datasets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('licence', sa.String(length=100), nullable=False),
    sa.Column('source', sa.String(length=500), nullable=False),
    sa.Column('provenance', sa.Text(), nullable=False),
    sa.Column('modality', sa.Enum('text', 'image', 'audio', 'video', 'multimodal', 'code', name='modality', native_enum=False, length=16), nullable=False),
    sa.Column('industry_tags', sa.JSON(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', mosu.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_datasets_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_datasets_organisation_id_organisations'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_datasets')),
    sa.UniqueConstraint('name', name=op.f('uq_datasets_name'))
    )
    with op.batch_alter_table('datasets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_datasets_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('dataset_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('schema', sa.JSON(), nullable=False),
    sa.Column('label_set', sa.JSON(), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('provenance', sa.JSON(), nullable=False),
    sa.Column('stats', sa.JSON(), nullable=False),
    sa.Column('contamination', sa.JSON(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', mosu.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_dataset_versions_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_dataset_versions_dataset_id_datasets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dataset_versions')),
    sa.UniqueConstraint('dataset_id', 'content_hash', name='uq_dataset_versions_content_hash'),
    sa.UniqueConstraint('dataset_id', 'number', name='uq_dataset_versions_number')
    )
    with op.batch_alter_table('dataset_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dataset_versions_content_hash'), ['content_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_dataset_versions_dataset_id'), ['dataset_id'], unique=False)

    op.create_table('dataset_rows',
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('row_id', sa.Text(), nullable=False),
    sa.Column('split', sa.String(length=8), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('label', sa.Text(), nullable=True),
    sa.Column('category', sa.Text(), nullable=True),
    sa.Column('length', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['dataset_versions.id'], name=op.f('fk_dataset_rows_version_id_dataset_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('version_id', 'index', name=op.f('pk_dataset_rows'))
    )
    with op.batch_alter_table('dataset_rows', schema=None) as batch_op:
        batch_op.create_index('ix_dataset_rows_version_split', ['version_id', 'split'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dataset_rows', schema=None) as batch_op:
        batch_op.drop_index('ix_dataset_rows_version_split')

    op.drop_table('dataset_rows')
    with op.batch_alter_table('dataset_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dataset_versions_dataset_id'))
        batch_op.drop_index(batch_op.f('ix_dataset_versions_content_hash'))

    op.drop_table('dataset_versions')
    with op.batch_alter_table('datasets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_datasets_organisation_id'))

    op.drop_table('datasets')
