"""race submissions take their jobs' states once, now that the worker writes them

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 07:45:00

A submission's state used to be copied from its job whenever someone read it; the worker
now writes it in the same transaction as the job's. A submission whose job ran, failed or
was cancelled before the upgrade and that nobody read since would stay queued or running
for ever (and hold its stage's close). This copies those states once, by the rule the
reads used: a running job makes its submission running; a failed one makes it failed with
the job's error; a cancelled one makes it cancelled. Data only: nothing to downgrade.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

JOBS = sa.table(
    "jobs",
    sa.column("id"),
    sa.column("state"),
    sa.column("error"),
    sa.column("finished_at"),
)
SUBMISSIONS = sa.table(
    "submissions",
    sa.column("id"),
    sa.column("job_id"),
    sa.column("state"),
    sa.column("failure"),
    sa.column("finished_at"),
)


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(SUBMISSIONS.c.id, JOBS.c.state, JOBS.c.error, JOBS.c.finished_at)
        .join(JOBS, JOBS.c.id == SUBMISSIONS.c.job_id)
        .where(
            SUBMISSIONS.c.state.in_(["queued", "running"]),
            JOBS.c.state.in_(["running", "failed", "cancelled"]),
        )
    ).all()
    for submission_id, state, error, finished_at in rows:
        values: dict[str, object] = {"state": state}
        if state == "failed":
            values |= {"failure": (error or "")[:2000], "finished_at": finished_at}
        elif state == "cancelled":
            values["finished_at"] = finished_at
        bind.execute(
            sa.update(SUBMISSIONS).where(SUBMISSIONS.c.id == submission_id).values(**values)
        )


def downgrade() -> None:
    pass
