"""expert review (专家评审): the expert pool, rubrics, panels and their scores, and experts
grading sampled race answers

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 15:15:23

New tables only: an expert's profile and declared conflicts; a challenge's rubric with its
combined decision rule; its panel (drawn by a recorded seeded shuffle), the panel's members
and their scores; grading rounds of a race stage's sampled answers, their items and grades.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mosu.core.db

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "expert_conflicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("declared_at", mosu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["expert_id"],
            ["users.id"],
            name=op.f("fk_expert_conflicts_expert_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_expert_conflicts_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expert_conflicts")),
        sa.UniqueConstraint(
            "expert_id", "organisation_id", name=op.f("uq_expert_conflicts_expert_id")
        ),
    )
    with op.batch_alter_table("expert_conflicts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_expert_conflicts_expert_id"), ["expert_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_expert_conflicts_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "expert_profiles",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("affiliation_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("in_pool", sa.Boolean(), nullable=False),
        sa.Column("created_at", mosu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", mosu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["affiliation_id"],
            ["organisations.id"],
            name=op.f("fk_expert_profiles_affiliation_id_organisations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_expert_profiles_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_expert_profiles")),
    )
    with op.batch_alter_table("expert_profiles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_expert_profiles_affiliation_id"), ["affiliation_id"], unique=False
        )

    op.create_table(
        "review_panels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=100), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.Column("excluded", sa.JSON(), nullable=False),
        sa.Column("deadline", mosu.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "state",
            sa.Enum("open", "closed", name="panelstate", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("drawn_by_id", sa.Integer(), nullable=True),
        sa.Column("drawn_at", mosu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", mosu.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["challenges.id"],
            name=op.f("fk_review_panels_challenge_id_challenges"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["drawn_by_id"],
            ["users.id"],
            name=op.f("fk_review_panels_drawn_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_panels")),
        sa.UniqueConstraint("challenge_id", name=op.f("uq_review_panels_challenge_id")),
    )
    op.create_table(
        "review_rubrics",
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("score_min", sa.Integer(), nullable=False),
        sa.Column("score_max", sa.Integer(), nullable=False),
        sa.Column(
            "blinding",
            sa.Enum("single", "double", name="blinding", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("dispersion_threshold", sa.Float(), nullable=False),
        sa.Column("combined", sa.JSON(), nullable=True),
        sa.Column("updated_at", mosu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["challenges.id"],
            name=op.f("fk_review_rubrics_challenge_id_challenges"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("challenge_id", name=op.f("pk_review_rubrics")),
    )
    op.create_table(
        "grading_rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column(
            "mode",
            sa.Enum("rubric", "pairwise", name="gradingmode", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("scale", sa.Integer(), nullable=False),
        sa.Column("sample_size", sa.Integer(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("min_agreement", sa.Float(), nullable=False),
        sa.Column(
            "state",
            sa.Enum("open", "closed", name="panelstate", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", mosu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", mosu.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_grading_rounds_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["stage_id"],
            ["stages.id"],
            name=op.f("fk_grading_rounds_stage_id_stages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grading_rounds")),
    )
    with op.batch_alter_table("grading_rounds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grading_rounds_stage_id"), ["stage_id"], unique=False)

    op.create_table(
        "panel_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("panel_id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "invited", "confirmed", "recused", name="memberstate", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("answered_at", mosu.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("recusal_reason", sa.Text(), nullable=False),
        sa.Column("reminded_at", mosu.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["expert_id"],
            ["users.id"],
            name=op.f("fk_panel_members_expert_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["panel_id"],
            ["review_panels.id"],
            name=op.f("fk_panel_members_panel_id_review_panels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_panel_members")),
        sa.UniqueConstraint("panel_id", "expert_id", name=op.f("uq_panel_members_panel_id")),
    )
    with op.batch_alter_table("panel_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_panel_members_expert_id"), ["expert_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_panel_members_panel_id"), ["panel_id"], unique=False)

    op.create_table(
        "review_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("panel_id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("submitted_at", mosu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", mosu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_review_scores_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["expert_id"],
            ["users.id"],
            name=op.f("fk_review_scores_expert_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["panel_id"],
            ["review_panels.id"],
            name=op.f("fk_review_scores_panel_id_review_panels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_scores")),
        sa.UniqueConstraint(
            "panel_id", "expert_id", "application_id", name=op.f("uq_review_scores_panel_id")
        ),
    )
    with op.batch_alter_table("review_scores", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_scores_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_review_scores_expert_id"), ["expert_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_scores_panel_id"), ["panel_id"], unique=False)

    op.create_table(
        "grading_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("sample_id", sa.String(length=200), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("other_submission_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["other_submission_id"],
            ["submissions.id"],
            name=op.f("fk_grading_items_other_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["grading_rounds.id"],
            name=op.f("fk_grading_items_round_id_grading_rounds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_grading_items_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grading_items")),
        sa.UniqueConstraint("round_id", "code", name=op.f("uq_grading_items_round_id")),
    )
    with op.batch_alter_table("grading_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grading_items_round_id"), ["round_id"], unique=False)

    op.create_table(
        "grades",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("preference", sa.String(length=8), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("graded_at", mosu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["expert_id"], ["users.id"], name=op.f("fk_grades_expert_id_users"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["grading_items.id"],
            name=op.f("fk_grades_item_id_grading_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grades")),
        sa.UniqueConstraint("item_id", "expert_id", name=op.f("uq_grades_item_id")),
    )
    with op.batch_alter_table("grades", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grades_expert_id"), ["expert_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_grades_item_id"), ["item_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("grades", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grades_item_id"))
        batch_op.drop_index(batch_op.f("ix_grades_expert_id"))

    op.drop_table("grades")
    with op.batch_alter_table("grading_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grading_items_round_id"))

    op.drop_table("grading_items")
    with op.batch_alter_table("review_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_scores_panel_id"))
        batch_op.drop_index(batch_op.f("ix_review_scores_expert_id"))
        batch_op.drop_index(batch_op.f("ix_review_scores_application_id"))

    op.drop_table("review_scores")
    with op.batch_alter_table("panel_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_panel_members_panel_id"))
        batch_op.drop_index(batch_op.f("ix_panel_members_expert_id"))

    op.drop_table("panel_members")
    with op.batch_alter_table("grading_rounds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grading_rounds_stage_id"))

    op.drop_table("grading_rounds")
    op.drop_table("review_rubrics")
    op.drop_table("review_panels")
    with op.batch_alter_table("expert_profiles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expert_profiles_affiliation_id"))

    op.drop_table("expert_profiles")
    with op.batch_alter_table("expert_conflicts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expert_conflicts_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_expert_conflicts_expert_id"))

    op.drop_table("expert_conflicts")
