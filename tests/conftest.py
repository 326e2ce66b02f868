"""Shared fixtures: a migrated database (SQLite, and PostgreSQL when reachable), the app
served over real HTTP on loopback, and a small world of organisations and users."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from mosu import migrate
from mosu.accounts import security
from mosu.accounts.models import Role
from mosu.accounts.service import create_api_token, create_user
from mosu.app import create_app
from mosu.config import Settings
from mosu.db import make_engine
from mosu.permissions import Actor
from mosu.registry.models import Layer, Tier
from mosu.registry.schemas import Contact, OrganisationIn
from mosu.registry.service import create_organisation
from mosu.registry.validators import credit_code_check_char

_ENV_URL = os.environ.get("MOSU_DATABASE_URL", "")
POSTGRES_URL = os.environ.get("MOSU_TEST_POSTGRES_URL") or (
    _ENV_URL
    if _ENV_URL.startswith("postgresql")
    else "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("MOSU_REQUIRE_POSTGRES") == "1"
SHARED_DATA = Path(
    os.environ.get(
        "MOSU_SHARED_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
    )
).resolve()
TEST_SECRET = "test-secret-key-0123456789abcdef"
OPERATOR = Actor(user_id=0, role=Role.operator)


def _postgres_reason() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure to connect means: skip with the reason
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {type(exc).__name__}"


_PG_REASON: str | None = None
_PG_CHECKED = False


def postgres_skip_reason() -> str | None:
    global _PG_REASON, _PG_CHECKED
    if not _PG_CHECKED:
        _PG_REASON, _PG_CHECKED = _postgres_reason(), True
    return _PG_REASON


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id at its lowest cost, so that each test world's users hash in microseconds.

    The production parameters are checked separately (``test_production_hashing_cost``).
    """
    monkeypatch.setattr(
        security, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database: a SQLite file, or a throwaway PostgreSQL schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'mosu.db'}"
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        yield url
        return
    reason = postgres_skip_reason()
    if reason is not None:
        if REQUIRE_POSTGRES:
            pytest.fail(reason)
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings.from_env(
        {}, database_url=database_url, secret_key=TEST_SECRET, data_dir=tmp_path / "data"
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def db(app: FastAPI) -> Iterator[Session]:
    factory: sessionmaker[Session] = app.state.sessionmaker
    with factory() as session:
        yield session


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """The app served by Uvicorn in a thread, on a free loopback port."""

    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live(app: FastAPI) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server


def credit_code(n: int) -> str:
    """A valid, distinct 统一社会信用代码 for test organisation number ``n``."""
    first17 = f"91310104MA{n:07d}"
    return first17 + credit_code_check_char(first17)


@dataclass
class World:
    """Organisations and users every permission test needs."""

    org_a: int = 0
    org_b: int = 0
    org_demand: int = 0
    tokens: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)


def make_org(session: Session, n: int, name: str, **kw: object) -> int:
    data = OrganisationIn(
        name_zh=name,
        name_en=f"Org {n}",
        credit_code=credit_code(n),
        tier=kw.pop("tier", Tier.cluster),  # type: ignore[arg-type]
        layers=kw.pop("layers", [Layer.model]),  # type: ignore[arg-type]
        contact=Contact(name=f"联系人{n}", phone=f"021-6000{n:04d}", email=f"c{n}@org.example.cn"),
        **kw,  # type: ignore[arg-type]
    )
    return create_organisation(session, actor=OPERATOR, data=data).id


@pytest.fixture
def world(db: Session) -> World:
    w = World()
    w.org_a = make_org(db, 1, "甲智能科技有限公司", tier=Tier.core)
    w.org_b = make_org(db, 2, "乙大模型有限公司")
    w.org_demand = make_org(db, 3, "丙区政务服务中心", tier=Tier.other, layers=[Layer.application])
    people = {
        "operator": (Role.operator, None),
        "supplier_a": (Role.supplier, w.org_a),
        "supplier_b": (Role.supplier, w.org_b),
        "demand": (Role.demand, w.org_demand),
        "expert": (Role.expert, None),
    }
    for username, (role, org) in people.items():
        password = f"pw-{username}-123"
        user = create_user(db, username=username, password=password, role=role, organisation_id=org)
        w.user_ids[username] = user.id
        w.passwords[username] = password
        _, token = create_api_token(db, user_id=user.id, name="tests")
        w.tokens[username] = token
    db.commit()
    return w


def client_for(live: LiveServer, world: World, who: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {world.tokens[who]}"} if who else {}
    return httpx.Client(base_url=live.url + "/api/v1", headers=headers, timeout=30)
