"""Statements a signed-in page issues: a fixed number, whatever the rows it shows (no N+1),
counted with SQLAlchemy's ``before_cursor_execute`` on the app's engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.orm import Session

from tests.conftest import LiveServer, World
from tests.helpers.scenarios import make_application, make_challenge, make_model
from tests.helpers.signin import signed_in


@contextmanager
def statements(app: FastAPI) -> Iterator[list[str]]:
    """The SQL statements the app's engine runs inside the block."""
    found: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        found.append(statement)

    engine = app.state.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield found
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_signed_in_page_reads_its_visitor_and_badge_in_one_statement(
    app: FastAPI, live: LiveServer, world: World
) -> None:
    with signed_in(live, world, "operator") as client, statements(app) as found:
        assert client.get("/account").status_code == 200
    sessions = [s for s in found if "web_sessions" in s]
    assert len(sessions) == 1 and "users" in sessions[0] and "notifications" in sessions[0]
    assert len(found) == 2, found  # the visitor with the unread badge, the page's tokens


def test_the_challenge_page_does_not_query_per_application(
    app: FastAPI, live: LiveServer, world: World, db: Session
) -> None:
    challenge = make_challenge(db, world)
    data_dir = app.state.settings.data_dir
    make_application(db, world, challenge, model_id=make_model(db, world.org_a), data_dir=data_dir)
    with signed_in(live, world, "operator") as client:
        with statements(app) as one:
            assert client.get(f"/challenges/{challenge.id}").status_code == 200
        make_application(
            db,
            world,
            challenge,
            model_id=make_model(db, world.org_b),
            data_dir=data_dir,
            who="supplier_b",
            member_ids=(world.org_a,),
        )
        with statements(app) as two:
            page = client.get(f"/challenges/{challenge.id}")
            assert page.status_code == 200 and "共 2 份" in page.text
    assert len(two) == len(one) <= 20, two


def test_the_operator_desk_reads_each_section_in_one_statement(
    app: FastAPI, live: LiveServer, world: World, db: Session
) -> None:
    challenge = make_challenge(db, world)
    data_dir = app.state.settings.data_dir
    for who, org in (("supplier_a", world.org_a), ("supplier_b", world.org_b)):
        model_id = make_model(db, org)
        make_application(db, world, challenge, model_id=model_id, data_dir=data_dir, who=who)
    with signed_in(live, world, "operator") as client, statements(app) as found:
        page = client.get("/desk")
    assert page.status_code == 200 and page.text.count('href="/applications/') == 2
    # the visitor with the badge; then applications, vouchers, panels, stages, failed
    # submissions, failed jobs and interest: one statement each, whatever their rows
    assert len(found) == 8, found
