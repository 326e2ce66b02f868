"""supply: compute pools, corpus and model offers, voucher programmes, applications, the
append-only voucher ledger, compute usage, firm profiles and related parties

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-29 09:27:50.052558
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mosu.core.db

revision = '0006'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('voucher_programmes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Enum('compute', 'model', 'corpus', name='voucherkind', native_enum=False, length=16), nullable=False),
    sa.Column('issuer', sa.String(length=200), nullable=False),
    sa.Column('budget_fen', sa.BigInteger(), nullable=False),
    sa.Column('committed_fen', sa.BigInteger(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('open', sa.Boolean(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_at', mosu.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', mosu.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('committed_fen >= 0 AND committed_fen <= budget_fen', name=op.f('ck_voucher_programmes_within_budget')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voucher_programmes')),
    sa.UniqueConstraint('name', name=op.f('uq_voucher_programmes_name'))
    )
    with op.batch_alter_table('voucher_programmes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voucher_programmes_kind'), ['kind'], unique=False)

    op.create_table('compute_pools',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('accelerator', sa.String(length=100), nullable=False),
    sa.Column('card_count', sa.Integer(), nullable=False),
    sa.Column('price_fen', sa.BigInteger(), nullable=False),
    sa.Column('available_from', sa.Date(), nullable=False),
    sa.Column('available_until', sa.Date(), nullable=True),
    sa.Column('region', sa.String(length=40), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', mosu.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', mosu.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_compute_pools_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compute_pools'))
    )
    with op.batch_alter_table('compute_pools', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_compute_pools_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('supply_profiles',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('founded_on', sa.Date(), nullable=True),
    sa.Column('employees', sa.Integer(), nullable=True),
    sa.Column('small_firm', sa.Boolean(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('updated_at', mosu.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_supply_profiles_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organisation_id', name=op.f('pk_supply_profiles'))
    )
    op.create_table('compute_usage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pool_id', sa.Integer(), nullable=True),
    sa.Column('pool_name', sa.String(length=200), nullable=False),
    sa.Column('card_seconds', sa.BigInteger(), nullable=False),
    sa.Column('price_fen', sa.BigInteger(), nullable=False),
    sa.Column('cost_fen', sa.BigInteger(), nullable=False),
    sa.Column('reference_kind', sa.String(length=40), nullable=False),
    sa.Column('reference_id', sa.String(length=64), nullable=False),
    sa.Column('used_on', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', mosu.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['pool_id'], ['compute_pools.id'], name=op.f('fk_compute_usage_pool_id_compute_pools'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_compute_usage_recorded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compute_usage'))
    )
    with op.batch_alter_table('compute_usage', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_compute_usage_pool_id'), ['pool_id'], unique=False)
        batch_op.create_index('ix_compute_usage_reference', ['reference_kind', 'reference_id'], unique=False)

    op.create_table('model_services',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('mode', sa.Enum('api', 'private', name='servicemode', native_enum=False, length=16), nullable=False),
    sa.Column('price_fen', sa.BigInteger(), nullable=False),
    sa.Column('price_unit', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', mosu.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', mosu.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['models.id'], name=op.f('fk_model_services_model_id_models'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_model_services_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_services'))
    )
    with op.batch_alter_table('model_services', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_services_model_id'), ['model_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_services_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('organisation_relations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('related_organisation_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('shareholding', 'group', 'control', 'other', name='relationkind', native_enum=False, length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', mosu.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('organisation_id < related_organisation_id', name=op.f('ck_organisation_relations_ordered_pair')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_organisation_relations_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_organisation_relations_organisation_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['related_organisation_id'], ['organisations.id'], name=op.f('fk_organisation_relations_related_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisation_relations')),
    sa.UniqueConstraint('organisation_id', 'related_organisation_id', name='uq_relation_pair')
    )
    with op.batch_alter_table('organisation_relations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organisation_relations_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_organisation_relations_related_organisation_id'), ['related_organisation_id'], unique=False)

    op.create_table('voucher_applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('applicant_name', sa.String(length=200), nullable=False),
    sa.Column('applicant_tier', sa.Enum('core', 'cluster', 'other', name='tier', native_enum=False, length=16), nullable=False),
    sa.Column('seller_organisation_id', sa.Integer(), nullable=True),
    sa.Column('seller_name', sa.String(length=200), nullable=False),
    sa.Column('offer_id', sa.Integer(), nullable=True),
    sa.Column('contract_number', sa.String(length=100), nullable=False),
    sa.Column('contract_key', sa.String(length=200), nullable=True),
    sa.Column('contract_amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('signed_on', sa.Date(), nullable=False),
    sa.Column('service_starts_on', sa.Date(), nullable=False),
    sa.Column('service_ends_on', sa.Date(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('attachment_name', sa.String(length=200), nullable=False),
    sa.Column('attachment_path', sa.String(length=300), nullable=False),
    sa.Column('attachment_size', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('submitted', 'approved', 'rejected', 'claimed', 'paid', name='applicationstatus', native_enum=False, length=16), nullable=False),
    sa.Column('requested_fen', sa.BigInteger(), nullable=False),
    sa.Column('boosted', sa.Boolean(), nullable=False),
    sa.Column('working', sa.JSON(), nullable=False),
    sa.Column('approved_fen', sa.BigInteger(), nullable=True),
    sa.Column('decision_working', sa.JSON(), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('delivered_on', sa.Date(), nullable=True),
    sa.Column('claim_note', sa.Text(), nullable=False),
    sa.Column('paid_fen', sa.BigInteger(), nullable=True),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('payment_reference', sa.String(length=100), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', mosu.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', mosu.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_voucher_applications_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_voucher_applications_decided_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_voucher_applications_organisation_id_organisations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['programme_id'], ['voucher_programmes.id'], name=op.f('fk_voucher_applications_programme_id_voucher_programmes'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['seller_organisation_id'], ['organisations.id'], name=op.f('fk_voucher_applications_seller_organisation_id_organisations'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voucher_applications')),
    sa.UniqueConstraint('programme_id', 'contract_key', name='uq_voucher_applications_contract')
    )
    with op.batch_alter_table('voucher_applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voucher_applications_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_voucher_applications_programme_id'), ['programme_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_voucher_applications_seller_organisation_id'), ['seller_organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_voucher_applications_status'), ['status'], unique=False)

    op.create_table('corpus_offers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('price_fen', sa.BigInteger(), nullable=False),
    sa.Column('price_unit', sa.String(length=16), nullable=False),
    sa.Column('licence', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', mosu.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', mosu.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_corpus_offers_dataset_id_datasets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_corpus_offers_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_corpus_offers'))
    )
    with op.batch_alter_table('corpus_offers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_corpus_offers_dataset_id'), ['dataset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_corpus_offers_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('voucher_ledger',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('commit', 'release', 'payout', name='ledgerkind', native_enum=False, length=16), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('booked_on', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=100), nullable=False),
    sa.Column('created_at', mosu.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_voucher_ledger_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['application_id'], ['voucher_applications.id'], name=op.f('fk_voucher_ledger_application_id_voucher_applications'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['programme_id'], ['voucher_programmes.id'], name=op.f('fk_voucher_ledger_programme_id_voucher_programmes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voucher_ledger'))
    )
    with op.batch_alter_table('voucher_ledger', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voucher_ledger_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_voucher_ledger_booked_on'), ['booked_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_voucher_ledger_programme_id'), ['programme_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('voucher_ledger', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voucher_ledger_programme_id'))
        batch_op.drop_index(batch_op.f('ix_voucher_ledger_booked_on'))
        batch_op.drop_index(batch_op.f('ix_voucher_ledger_application_id'))

    op.drop_table('voucher_ledger')
    with op.batch_alter_table('corpus_offers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_corpus_offers_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_corpus_offers_dataset_id'))

    op.drop_table('corpus_offers')
    with op.batch_alter_table('voucher_applications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voucher_applications_status'))
        batch_op.drop_index(batch_op.f('ix_voucher_applications_seller_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_voucher_applications_programme_id'))
        batch_op.drop_index(batch_op.f('ix_voucher_applications_organisation_id'))

    op.drop_table('voucher_applications')
    with op.batch_alter_table('organisation_relations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organisation_relations_related_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_organisation_relations_organisation_id'))

    op.drop_table('organisation_relations')
    with op.batch_alter_table('model_services', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_services_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_model_services_model_id'))

    op.drop_table('model_services')
    with op.batch_alter_table('compute_usage', schema=None) as batch_op:
        batch_op.drop_index('ix_compute_usage_reference')
        batch_op.drop_index(batch_op.f('ix_compute_usage_pool_id'))

    op.drop_table('compute_usage')
    op.drop_table('supply_profiles')
    with op.batch_alter_table('compute_pools', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_compute_pools_organisation_id'))

    op.drop_table('compute_pools')
    with op.batch_alter_table('voucher_programmes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voucher_programmes_kind'))

    op.drop_table('voucher_programmes')
