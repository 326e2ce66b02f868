"""The app under concurrent signed-in load: reads mixed with writes, over real HTTP.

200 clients at once, each signed in (an API token, or a session cookie for pages, which the
micro-cache never answers), read distinct URLs and write: challenge applications, arena
battles and votes, voucher applications. No answer may be a server error, whatever the
database; nothing here measures time.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from mosu.accounts.models import User
from mosu.accounts.service import create_api_token, create_user, start_web_session
from mosu.arena.models import Vote
from mosu.challenges.models import Application
from mosu.core.settings import Settings
from mosu.permissions import Role
from mosu.supply.models import VoucherApplication
from tests.conftest import TEST_SECRET, LiveServer, World
from tests.helpers.arena import make_arena
from tests.helpers.scenarios import make_challenge, make_model
from tests.helpers.supply import application_data, make_programme

CLIENTS = 200
POOL = 8
"""A small pool, so that most clients wait for their turn at the database."""
KINDS = 8  # client k does kind k % 8: four reads, then three writes (votes count twice)


@dataclass
class Scene:
    """What the clients read and write, and their credentials."""

    world: World
    challenge: int = 0
    model: int = 0
    arena: int = 0
    programme: int = 0
    cookies: dict[str, str] = field(default_factory=dict)
    voters: list[str] = field(default_factory=list)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings.from_env(
        {},
        database_url=database_url,
        secret_key=TEST_SECRET,
        data_dir=tmp_path / "data",
        db_pool_size=POOL,
    )


def _signed_in(scene: Scene, who: str) -> dict[str, str]:
    return {"Cookie": f"mosu_session={scene.cookies[who]}"}


async def _client(http: httpx.AsyncClient, k: int, scene: Scene) -> list[int]:
    """Client ``k``'s requests: a read of a URL no other client asks for, or a write."""
    world = scene.world
    supplier = {"Authorization": f"Bearer {world.tokens['supplier_a']}"}
    match k % KINDS:
        case 0:
            r = await http.get(f"/api/v1/orgs/{world.org_a}?r={k}", headers=supplier)
        case 1:
            r = await http.get(f"/orgs?r={k}", headers=_signed_in(scene, "supplier_b"))
        case 2:
            r = await http.get(f"/challenges?r={k}", headers=_signed_in(scene, "demand"))
        case 3:
            r = await http.get(f"/?r={k}", headers=_signed_in(scene, "operator"))
        case 4:
            data = application_data(scene.programme, world.org_b)
            r = await http.post("/api/v1/supply/applications", json=data, headers=supplier)
        case 5:
            body = {"proposal": f"方案 {k}", "model_ids": [scene.model]}
            url = f"/api/v1/challenges/{scene.challenge}/applications"
            r = await http.post(url, json=body, headers=supplier)
        case _:
            voter = {"Authorization": f"Bearer {scene.voters[k // KINDS * 2 + k % KINDS - 6]}"}
            served = await http.post(f"/api/v1/arenas/{scene.arena}/battles", headers=voter)
            if served.status_code != 201:
                return [served.status_code]
            url = f"/api/v1/arenas/{scene.arena}/battles/{served.json()['id']}/vote"
            r = await http.post(url, json={"winner": "model_a"}, headers=voter)
            return [served.status_code, r.status_code]
    return [r.status_code]


async def _load(live: LiveServer, scene: Scene) -> list[int]:
    # a fresh connection per request: a kept-alive one that waited past uvicorn's keep-alive
    # timeout may be closed by the server just as it is reused (a client-side ReadError)
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=0)
    timeout = httpx.Timeout(None)  # no clock: a lost answer shows as a hang, not a figure
    async with httpx.AsyncClient(base_url=live.url, limits=limits, timeout=timeout) as http:
        found = await asyncio.gather(*(_client(http, k, scene) for k in range(CLIENTS)))
    return [status for statuses in found for status in statuses]


def _scene(db: Session, world: World) -> Scene:
    scene = Scene(
        world=world,
        challenge=make_challenge(db, world, max_applications_per_org=100).id,
        model=make_model(db, world.org_a, filed=True),
        arena=make_arena(db, world).id,
        programme=make_programme(db, world).id,
    )
    for who in ("supplier_b", "demand", "operator"):
        user = db.get(User, world.user_ids[who])
        assert user is not None
        scene.cookies[who] = start_web_session(db, user=user, hours=1)
    for n in range(CLIENTS // KINDS * 2):
        expert = create_user(db, username=f"voter{n}", password="pw-voter-123", role=Role.expert)
        scene.voters.append(create_api_token(db, user_id=expert.id, name="load")[1])
    db.commit()
    return scene


@pytest.mark.slow  # a long race: 200 clients at once
def test_two_hundred_signed_in_clients_get_no_server_error(
    live: LiveServer, world: World, db: Session
) -> None:
    scene = _scene(db, world)

    statuses = asyncio.run(_load(live, scene))

    assert [s for s in statuses if s >= 500] == []
    assert sorted(set(statuses)) == [200, 201]
    writes = CLIENTS // KINDS
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(VoucherApplication)) == writes
    assert db.scalar(select(func.count()).select_from(Application)) == writes
    assert db.scalar(select(func.count()).select_from(Vote)) == writes * 2


def test_a_signed_in_page_uses_one_connection(
    app: FastAPI, live: LiveServer, world: World, db: Session
) -> None:
    """The page, its actor and the header's notification badge read one session: a request
    holds one connection at a time, error pages included, and gives it back."""
    user = db.get(User, world.user_ids["supplier_b"])
    assert user is not None
    cookie = {"Cookie": f"mosu_session={start_web_session(db, user=user, hours=1)}"}
    db.commit()
    engine = app.state.engine
    held: list[int] = []  # connections checked out at each checkout
    event.listen(engine, "checkout", lambda *_: held.append(engine.pool.checkedout()))

    pages = [("/orgs", 200), (f"/orgs/{world.org_a}", 200), ("/orgs/999999", 404), ("/nope", 404)]
    for path, status in pages:
        held.clear()
        page = httpx.get(live.url + path, headers=cookie, timeout=60)
        assert page.status_code == status
        assert "supplier_b" in page.text  # the layout shows who is signed in
        assert held and max(held) == 1, path
        assert engine.pool.checkedout() == 0, path  # given back before the answer
