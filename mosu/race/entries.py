"""Race entries (参赛队): each entry's team, and the entries a reader owns."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.challenges.models import (
    Application,
    ApplicationMember,
    ChallengeState,
    Entry,
    EntryState,
)
from mosu.i18n import N_
from mosu.permissions import Actor, can_see_entry
from mosu.race.errors import (
    ENTRY_NAME_TAKEN,
    ENTRY_NEEDS_NAME,
)


def check_unique_name(session: Session, challenge_id: int, name: str) -> None:
    if not name.strip():
        raise ENTRY_NEEDS_NAME()
    taken = session.scalar(
        select(Entry.id).where(Entry.challenge_id == challenge_id, Entry.name == name.strip())
    )
    if taken is not None:
        raise ENTRY_NAME_TAKEN(name=name)


def entry_organisations(session: Session, entry: Entry) -> set[int]:
    """The entry's team: its lead organisation and its consortium members."""
    orgs = {entry.organisation_id} if entry.organisation_id is not None else set()
    if entry.application_id is not None:
        application = session.get(Application, entry.application_id)
        if application is not None:
            orgs.update(m.organisation_id for m in application.members)
    return orgs


def entry_teams(session: Session, entries: list[Entry]) -> dict[int, set[int]]:
    """Each entry's team (as :func:`entry_organisations`), for many entries in one query."""
    members: dict[int, set[int]] = {}
    application_ids = {e.application_id for e in entries if e.application_id is not None}
    if application_ids:
        for application_id, organisation_id in session.execute(
            select(ApplicationMember.application_id, ApplicationMember.organisation_id).where(
                ApplicationMember.application_id.in_(application_ids)
            )
        ):
            members.setdefault(application_id, set()).add(organisation_id)
    return {
        e.id: ({e.organisation_id} if e.organisation_id is not None else set())
        | (members.get(e.application_id, set()) if e.application_id is not None else set())
        for e in entries
    }


def entries_of(session: Session, challenge_id: int) -> list[Entry]:
    return list(
        session.scalars(select(Entry).where(Entry.challenge_id == challenge_id).order_by(Entry.id))
    )


def my_entries(session: Session, actor: Actor, challenge_id: int) -> list[Entry]:
    """Entries of the challenge whose team the actor belongs to (all of them for operators)."""
    entries = entries_of(session, challenge_id)
    teams = entry_teams(session, entries)
    return [e for e in entries if can_see_entry(actor, teams[e.id])]


BEFORE_RACE = frozenset({ChallengeState.draft, ChallengeState.open, ChallengeState.shortlisting})
_FINAL_STATE = {
    EntryState.cut: "已淘汰",
    EntryState.winner: "揭榜成功",
    EntryState.withdrawn: N_("已退出"),
    EntryState.not_selected: N_("未入选"),
}


def shown_state(entry: Entry, challenge_state: ChallengeState) -> str:
    """An entry's state as the race stands (a catalogued Chinese phrase): 待开赛 before the
    race starts, 比赛中 while it runs, then its result (揭榜成功, 未入选, 已淘汰); a race that
    ended without a decision (closed) leaves its entries 未入选."""
    if entry.state is not EntryState.active:
        return _FINAL_STATE[entry.state]
    if challenge_state in BEFORE_RACE:
        return N_("待开赛")
    if challenge_state is ChallengeState.racing:
        return N_("比赛中")
    return N_("未入选")
