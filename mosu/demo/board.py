"""Loads the demo supply–demand board (``data/board.json``, fictional): scenarios posted by
the demo community's demand organisations, suppliers' case studies, and one interest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.accounts.models import User
from mosu.accounts.service import actor_for
from mosu.board.schemas import CaseStudyIn
from mosu.board.service import create_case_study, mark_interest
from mosu.permissions import Actor, Role
from mosu.registry.models import Organisation
from mosu.scenarios.schemas import ScenarioIn
from mosu.scenarios.service import create_scenario

BOARD = Path(__file__).parent / "data" / "board.json"


def load_board(session: Session, path: Path = BOARD) -> int:
    """Scenarios, case studies and interest of the demo file (after ``load_community``);
    returns how many scenarios were posted. Flushes, does not commit."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    org_ids = {
        name: org_id
        for name, org_id in session.execute(select(Organisation.name_zh, Organisation.id))
    }
    operator = session.scalars(select(User).where(User.role == Role.operator)).first()
    actor = actor_for(operator) if operator is not None else Actor(role=Role.operator)
    scenario_ids = {}
    for s in data["scenarios"]:
        values = {**s, "organisation_id": org_ids[s["organisation"]]}
        values.pop("organisation")
        scenario = create_scenario(session, actor=actor, data=ScenarioIn(**values))
        scenario_ids[scenario.title] = scenario.id
    for c in data["case_studies"]:
        create_case_study(
            session,
            actor=actor,
            organisation_id=org_ids[c["organisation"]],
            data=CaseStudyIn(title=c["title"], customer_type=c["customer_type"], text=c["text"]),
        )
    for i in data["interests"]:
        user = session.scalars(select(User).where(User.username == i["username"])).one()
        assert user.organisation_id is not None
        mark_interest(
            session,
            actor=actor_for(user),
            organisation_id=user.organisation_id,
            scenario_id=scenario_ids[i["scenario"]],
            note=i["note"],
        )
    session.flush()
    return len(scenario_ids)
