"""Migration 0023 turns the finished "中文 / English" cut reasons, failures and cut notices
into catalogued texts, and back, losing nothing, on SQLite and PostgreSQL; the append-only
audit log keeps its old rule strings, shown one side each."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from mosu import i18n
from mosu import race as races
from mosu.accounts.models import Notification
from mosu.challenges.models import (
    ChallengeEvent,
    Entry,
    Submission,
    SubmissionMode,
    SubmissionState,
)
from mosu.core.text import Bilingual, Text
from mosu.notifications.service import notice_text, notify
from tests.conftest import LiveServer, World, client_for
from tests.helpers.migrations import migrate_to
from tests.helpers.races import OPERATOR, Race, racing_challenge, stage_spec

OLD_CUT = "初赛：本阶段没有成功完成的提交 / no finished submission in this stage"
OLD_FAILURE = (
    "接入点返回 HTTP 401，评测已停止 / the endpoint answered HTTP 401; the run was stopped"
)
OLD_RULE = "前 1 名晋级 / top 1 go on"
OLD_SCORING = "按质量（主指标）排名 / ranked by quality (the primary metric)"


def _race(db: Session, world: World) -> tuple[Race, Submission]:
    race = racing_challenge(db, world)
    stage = races.add_stage(
        db,
        actor=OPERATOR,
        challenge_id=race.challenge.id,
        spec=stage_spec("初赛", version_id=race.version.id),
    )
    submission = Submission(
        stage_id=stage.id,
        entry_id=race.entries["甲队"].id,
        mode=SubmissionMode.endpoint,
        state=SubmissionState.failed,
        failure=Text("所有样本都失败了"),
    )
    db.add(submission)
    race.entries["甲队"].cut_reason = Text("{a}：{b}", {"a": "初赛", "b": Text("所有样本都失败了")})
    notify(
        db,
        kind="entry_cut",
        params={"challenge": "榜", "stage": "初赛", "entry": "甲队", "reason": OLD_CUT},
        user_ids=[world.user_ids["supplier_a"]],
    )
    db.commit()
    return race, submission


def test_old_decision_strings_stay_readable(db: Session, world: World, database_url: str) -> None:
    race, submission = _race(db, world)
    entry_id, other_id = race.entries["甲队"].id, race.entries["乙队"].id
    db.close()

    migrate_to(database_url, "0022")  # the texts written as their Chinese, as before
    rows = dict(db.execute(text("SELECT id, cut_reason FROM entries")).all())
    assert rows[entry_id] == "初赛：所有样本都失败了" and rows[other_id] == ""
    failure = db.execute(text("SELECT failure FROM submissions")).scalar_one()
    assert failure == "所有样本都失败了"
    db.execute(
        text("UPDATE entries SET cut_reason = :r WHERE id = :i"), {"r": OLD_CUT, "i": entry_id}
    )
    db.execute(text("UPDATE submissions SET failure = :f"), {"f": OLD_FAILURE})
    db.commit()
    db.close()

    migrate_to(database_url, "head")
    entry, other = db.get(Entry, entry_id), db.get(Entry, other_id)
    assert entry is not None and other is not None and other.cut_reason is None
    assert entry.cut_reason == Bilingual(OLD_CUT)  # nothing lost
    assert i18n.render(entry.cut_reason, "zh") == "初赛：本阶段没有成功完成的提交"
    assert i18n.render(entry.cut_reason, "en") == "no finished submission in this stage"
    kept = db.get(Submission, submission.id)
    assert kept is not None and kept.failure == Bilingual(OLD_FAILURE)
    assert i18n.render(kept.failure, "en") == (
        "the endpoint answered HTTP 401; the run was stopped"
    )
    notice = db.scalars(select(Notification).where(Notification.kind == "entry_cut")).one()
    assert notice_text(notice, "zh")[1] == "初赛：本阶段没有成功完成的提交"
    assert notice_text(notice, "en")[1] == "no finished submission in this stage"
    added = db.scalars(select(ChallengeEvent).where(ChallengeEvent.action == "stage_added")).one()
    assert Text.from_json(added.details["rule"]) == Text("前 {k} 名晋级", {"k": 1})  # untouched
    db.commit()
    db.close()


def test_an_audit_line_written_before_shows_one_side_of_its_rule(
    db: Session, world: World, live: LiveServer
) -> None:
    race, _ = _race(db, world)
    db.add(
        ChallengeEvent(
            challenge_id=race.challenge.id,
            actor_name="system",
            action="stage_added",
            details={"stage": 2, "name": "决赛", "rule": OLD_RULE, "scoring": OLD_SCORING},
        )
    )
    db.commit()
    path = f"/challenges/{race.challenge.id}/events"
    with client_for(live, world, "operator") as operator:
        zh, en = (
            operator.get(path).json(),
            operator.get(path, headers={"Accept-Language": "en"}).json(),
        )
    old = [next(e for e in log if e["details"].get("stage") == 2) for log in (zh, en)]
    assert (old[0]["details"]["rule"], old[1]["details"]["rule"]) == ("前 1 名晋级", "top 1 go on")
    assert old[1]["details"]["scoring"] == "ranked by quality (the primary metric)"


def test_a_round_trip_through_old_revisions_keeps_every_row(
    db: Session, world: World, database_url: str
) -> None:
    """On SQLite a migration that alters a table copies it and drops the old one, and with
    foreign keys on, dropping a table deletes the rows that cascade from it (a stage's
    submissions): migrations run with the checks off and verify the keys at the end."""
    _race(db, world)
    tables = ("stages", "entries", "submissions", "applications", "challenge_events")
    before = {t: db.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}
    assert before["submissions"] == 1
    db.close()
    migrate_to(database_url, "0012")
    migrate_to(database_url, "head")
    after = {t: db.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}
    db.close()
    assert after == before
