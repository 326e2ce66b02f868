"""operations: workers' heartbeats, and audit names that an erasure may pseudonymise

Revision ID: 0017
Revises: 0014
Create Date: 2026-12-06 01:00:00

``worker_beats``: one row per job worker, its last heartbeat, read by ``/readyz`` and
``mosu doctor``.

The append-only tables (``voucher_ledger``, ``challenge_events``) still refuse every change
and deletion but one: their ``actor_name`` (a copy of the acting user's name) may be set to
a pseudonym (``erased-…``), as erasing a person under the PIPL does. Every other column,
and every amount, stays as written.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mosu.core.db

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

TABLES = ("voucher_ledger", "challenge_events")
FUNCTION = "mosu_refuse_change"
PSEUDONYM = "erased-%"


def _pg_function(allow_pseudonym: bool) -> str:
    allow = (
        f"""
                IF TG_OP = 'UPDATE' AND NEW.actor_name LIKE '{PSEUDONYM}'
                   AND (to_jsonb(NEW) - 'actor_name') = (to_jsonb(OLD) - 'actor_name') THEN
                    RETURN NEW;
                END IF;"""
        if allow_pseudonym
        else ""
    )
    return f"""
            CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN{allow}
                RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'restrict_violation';
            END
            $$
            """


def _sqlite_triggers(allow_pseudonym: bool) -> None:
    inspector = sa.inspect(op.get_bind())
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_actor_name")
        refused = f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused'); END"
        if not allow_pseudonym:
            op.execute(f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} {refused}")
            continue
        others = [c["name"] for c in inspector.get_columns(table) if c["name"] != "actor_name"]
        op.execute(
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE OF {', '.join(others)} "
            f"ON {table} {refused}"
        )
        op.execute(
            f"CREATE TRIGGER {table}_actor_name BEFORE UPDATE OF actor_name ON {table} "
            f"WHEN NEW.actor_name NOT LIKE '{PSEUDONYM}' {refused}"
        )


def upgrade() -> None:
    op.create_table(
        "worker_beats",
        sa.Column("worker_id", sa.String(length=200), nullable=False),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", mosu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("seen_at", mosu.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("worker_id", name=op.f("pk_worker_beats")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_pg_function(allow_pseudonym=True))
    else:
        _sqlite_triggers(allow_pseudonym=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_pg_function(allow_pseudonym=False))
    else:
        _sqlite_triggers(allow_pseudonym=False)
    op.drop_table("worker_beats")
