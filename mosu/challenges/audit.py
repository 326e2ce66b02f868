"""A challenge's audit log as each reader may see it.

The reason of a decision is shown to operators and to the applying team only: in the audit
log others see that an application (by number) was approved or rejected, never why, and
never the lead's name before it is shortlisted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from mosu import i18n
from mosu.accounts.models import User
from mosu.challenges.applications import applications_of, team_of
from mosu.challenges.models import Application, Challenge
from mosu.challenges.schemas import EventOut
from mosu.core import clock
from mosu.core.text import Text
from mosu.i18n import N_
from mosu.permissions import (
    Actor,
    Role,
    acts_for_platform,
    can_read_decision_reason,
    can_see_usernames,
)
from mosu.registry.models import Organisation

SYSTEM_ACTOR = Text(N_("系统"))
ROLE_ACTOR = {
    Role.operator: Text(N_("运营方")),
    Role.demand: Text(N_("需求方")),
    Role.supplier: Text(N_("供给方")),
    Role.expert: Text(N_("专家")),
}


_ACTORS = (
    select(User.id, User.role, Organisation.name_zh)
    .outerjoin(Organisation, Organisation.id == User.organisation_id)
    .where(User.id.in_(bindparam("ids", expanding=True)))
)
"""Built once: every challenge page runs it."""


def _actor_organisations(session: Session, user_ids: set[int]) -> dict[int, Text | str]:
    """How each acting user shows in the audit log to those who may not see usernames:
    运营方 for an operator, else the user's organisation (or role, if it has none)."""
    rows = session.execute(_ACTORS, {"ids": list(user_ids)})
    return {
        user_id: (ROLE_ACTOR[role] if acts_for_platform(role) else org_name or ROLE_ACTOR[role])
        for user_id, role, org_name in rows
    }


TEXTS = ("rule", "scoring")
"""Details that hold a text (a stage's published rules): a catalogued text, or on a line
written before texts were kept, a ``"中文 / English"`` string (the log is append-only)."""


def _details(details: dict[str, Any], lang: i18n.Language) -> dict[str, Any]:
    """An audit line's details with the texts among them in ``lang``."""
    shown = dict(details)
    for key in TEXTS:
        value = details.get(key)
        if isinstance(value, dict) and "text" in value:
            shown[key] = i18n.render(Text.from_json(value), lang)
        elif isinstance(value, str):
            shown[key] = i18n.local_message(value, lang)
    return shown


def events_out(
    session: Session,
    *,
    actor: Actor,
    challenge: Challenge,
    applications: Sequence[Application] | None = None,
    lang: i18n.Language = "zh",
) -> list[EventOut]:
    """The audit log as ``actor`` may read it, in ``lang``: decision reasons for the team and
    operators, usernames for operators (everyone else sees the actor's organisation).
    ``applications``: all the challenge's, if already read."""
    if applications is None:
        applications = applications_of(session, challenge.id)
    teams = {a.id: team_of(a) for a in applications}
    shown = _actor_organisations(
        session, {e.actor_id for e in challenge.events if e.actor_id is not None}
    )
    usernames = can_see_usernames(actor)
    out = []
    for e in challenge.events:
        application_id = e.details.get("application_id")
        private = isinstance(application_id, int) and not can_read_decision_reason(
            actor, teams.get(application_id, frozenset())
        )
        out.append(
            EventOut(
                id=e.id,
                at=clock.local(e.at),
                actor_organisation=i18n.render(shown.get(e.actor_id or 0, SYSTEM_ACTOR), lang),
                actor_name=e.actor_name if usernames else "",
                action=e.action,
                from_state=e.from_state,
                to_state=e.to_state,
                reason="" if private else e.reason,
                details=_details(e.details, lang),
            )
        )
    return out
