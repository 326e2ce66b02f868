"""applications and entries of decided challenges take their results

Revision ID: 0019
Revises: 0014
Create Date: 2026-12-06 01:30:00

The decision now moves every team on: the winners' applications become 揭榜成功 (``won``),
the other shortlisted applications 未入选 (``not_selected``), and entries still racing
未入选. Challenges decided before the upgrade left their shortlisted applications and their
active entries as they were; this settles them once, by the same rule. The states are
stored as strings (no database enum), so no column changes. Downgrading turns the new
states back into the old ones (shortlisted, active).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

DECIDED = ("decided", "delivery", "accepted")
CHALLENGES = sa.table("challenges", sa.column("id"), sa.column("state"))
APPLICATIONS = sa.table(
    "applications", sa.column("id"), sa.column("challenge_id"), sa.column("state")
)
ENTRIES = sa.table(
    "entries",
    sa.column("id"),
    sa.column("challenge_id"),
    sa.column("application_id"),
    sa.column("state"),
)


def upgrade() -> None:
    decided = sa.select(CHALLENGES.c.id).where(CHALLENGES.c.state.in_(DECIDED))
    winners = sa.select(ENTRIES.c.application_id).where(
        ENTRIES.c.state == "winner", ENTRIES.c.application_id.is_not(None)
    )
    shortlisted = sa.and_(
        APPLICATIONS.c.state == "shortlisted", APPLICATIONS.c.challenge_id.in_(decided)
    )
    op.execute(
        APPLICATIONS.update()
        .where(shortlisted, APPLICATIONS.c.id.in_(winners))
        .values(state="won")
    )
    op.execute(APPLICATIONS.update().where(shortlisted).values(state="not_selected"))
    op.execute(
        ENTRIES.update()
        .where(ENTRIES.c.state == "active", ENTRIES.c.challenge_id.in_(decided))
        .values(state="not_selected")
    )


def downgrade() -> None:
    op.execute(
        APPLICATIONS.update()
        .where(APPLICATIONS.c.state.in_(("won", "not_selected")))
        .values(state="shortlisted")
    )
    op.execute(ENTRIES.update().where(ENTRIES.c.state == "not_selected").values(state="active"))
