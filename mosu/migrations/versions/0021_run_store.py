"""run store: a race's finished samples in the platform's database

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 03:30:00

``run_results``, ``run_prompts`` and ``run_meta`` hold what a run store file (``results``,
``prompts``, ``meta``) holds, under the run's name (``submission-12``): a race reclaimed by
a worker with another ``MOSU_DATA_DIR`` resumes from them. Races stored in files before the
upgrade are still read from their files, and an unfinished one copies its file's rows in
when it resumes (``DatabaseRunStore.adopt``); nothing is moved here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

FIGURES = (
    ("ttft", sa.Float()),
    ("prompt_tokens", sa.Integer()),
    ("completion_tokens", sa.Integer()),
    ("finish_reason", sa.String(length=100)),
)


def _run() -> sa.Column[str]:
    return sa.Column("run", sa.String(length=200), nullable=False)


def upgrade() -> None:
    op.create_table(
        "run_meta",
        _run(),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("run", "key", name=op.f("pk_run_meta")),
    )
    op.create_table(
        "run_results",
        _run(),
        sa.Column("model", sa.String(length=300), nullable=False),
        sa.Column("sample_id", sa.String(length=500), nullable=False),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("cached", sa.Boolean(), nullable=False),
        sa.Column("latency", sa.Float(), nullable=False),
        *(sa.Column(name, kind, nullable=True) for name, kind in FIGURES),
        sa.Column("prompt_hash", sa.String(length=64), nullable=True),
        sa.Column("method", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("run", "model", "sample_id", name=op.f("pk_run_results")),
    )
    op.create_table(
        "run_prompts",
        _run(),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("messages", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("run", "hash", name=op.f("pk_run_prompts")),
    )


def downgrade() -> None:
    for table in ("run_prompts", "run_results", "run_meta"):
        op.drop_table(table)
