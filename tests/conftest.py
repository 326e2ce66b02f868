"""Shared fixtures: a migrated database (SQLite, and PostgreSQL when reachable), the app
served over real HTTP on loopback, and a small world of organisations and users."""

from __future__ import annotations

import copy
import gc
import itertools
import os
import shutil
import socket
import ssl
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from mosu import migrate
from mosu.accounts import security
from mosu.accounts import service as accounts_service
from mosu.accounts.service import create_api_token, create_user
from mosu.app import bind, create_app
from mosu.core.db import make_engine, make_sessionmaker
from mosu.core.settings import Settings
from mosu.permissions import Actor, Role
from mosu.registry.models import Layer, Tier
from mosu.registry.organisations import create_organisation
from mosu.registry.schemas import Contact, OrganisationIn
from mosu.registry.validators import credit_code_check_char
from tests.helpers.waiting import wait_until

_ENV_URL = os.environ.get("MOSU_DATABASE_URL", "")
POSTGRES_URL = os.environ.get("MOSU_TEST_POSTGRES_URL") or (
    _ENV_URL
    if _ENV_URL.startswith("postgresql")
    else "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("MOSU_REQUIRE_POSTGRES") == "1"
PRIMARY_DATABASE = "postgresql" if _ENV_URL.startswith("postgresql") else "sqlite"
"""The database a deployment of this run would use: PostgreSQL when the run is given one (as
CI is), else SQLite."""
on_primary_database = pytest.mark.parametrize("database_url", [PRIMARY_DATABASE], indirect=True)
"""For the long walks whose findings do not depend on the dialect (every route as every role,
fuzzed or walked): run once, on the primary database, rather than once on each."""
SHARED_DATA = Path(
    os.environ.get(
        "MOSU_SHARED_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
    )
).resolve()
TEST_SECRET = "test-secret-key-0123456789abcdef"
OPERATOR = Actor(user_id=0, role=Role.operator)
TLS = ssl.create_default_context()
"""One TLS context for the tests' HTTP clients: httpx otherwise builds one for each client,
loading the CA bundle (20 ms a client, a tenth of a short test), although the servers they
talk to are plain HTTP on loopback."""


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


# The slow lanes, longest first. `pytest -n 3 --dist worksteal` first splits the collected
# tests into one contiguous part per worker, then lets an idle worker take the back half of
# another's queue. So each worker's part starts with its share of the slow lanes (a module's
# tests in a lane stay together, sharing its fixtures, such as Chromium): the long tests start
# at once on every worker, and the many short ones fill in around them and end together (a
# long test collected last would run alone at the end, the other worker idle).
SLOW_LANES = ("fuzz", "slow", "processes", "browser")


def lane(item: pytest.Item) -> int:
    """The index of ``item``'s slow lane in ``SLOW_LANES``, or its length for the rest."""
    marked = (i for i, name in enumerate(SLOW_LANES) if item.get_closest_marker(name))
    return next(marked, len(SLOW_LANES))


def pytest_unconfigure(config: pytest.Config) -> None:
    """As ``mosu``'s console script does when it ends: the interpreter's shutdown collections
    would walk every object still alive (app, test modules, browsers' drivers), seconds for
    each worker."""
    gc.freeze()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lane)  # stable: the order within a lane is the collection order
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    if workers > 1:
        items[:] = dealt(items, workers)


def dealt(items: list[pytest.Item], workers: int) -> list[pytest.Item]:
    """``items`` (slow lanes first) ordered so that xdist's first split, ``workers`` contiguous
    parts as even as can be, starts each part with an even share of the slow lanes' tests."""
    slow = [item for item in items if lane(item) < len(SLOW_LANES)]
    fast = items[len(slow) :]
    shares: list[list[pytest.Item]] = [[] for _ in range(workers)]
    for _, group in itertools.groupby(slow, key=lambda i: (lane(i), i.nodeid.split("::")[0])):
        min(shares, key=len).extend(group)
    order: list[pytest.Item] = []
    left, taken = len(items), 0
    for n, share in enumerate(shares):
        size = left // (workers - n)  # the part xdist sends this worker first
        left -= size
        filler = max(0, size - len(share))
        order += share + fast[taken : taken + filler]
        taken += filler
    return order + fast[taken:]


@pytest.fixture(autouse=True)
def cheap_password_hashing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id at its lowest cost, so that each test's users hash in microseconds, and a
    sign-in as nobody verifies against a cheap hash too (not the production one, ``_DUMMY_HASH``,
    whose 64 MiB take a tenth of a second each time).

    ``@pytest.mark.production_hashing`` keeps mosu's own, for the test that checks its cost.
    """
    if request.node.get_closest_marker("production_hashing") is None:
        monkeypatch.setattr(security, "_hasher", CHEAP_HASHER)
        monkeypatch.setattr(accounts_service, "_DUMMY_HASH", CHEAP_DUMMY_HASH)


CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
CHEAP_DUMMY_HASH = CHEAP_HASHER.hash("not-a-real-password")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session (per xdist worker): each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "mosu.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    _close_sqlite(engine, path)
    return path


@pytest.fixture(scope="session")
def sqlite_world_template(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, World]:
    """The migrated template with the ``world``'s rows besides, made once per worker the first
    time a test asks for the world; the tests that do get a copy of it."""
    path = tmp_path_factory.mktemp("world") / "mosu.db"
    shutil.copyfile(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    with make_sessionmaker(engine)() as session:
        found = build_world(session)
    _close_sqlite(engine, path)
    return path, found


def _close_sqlite(engine: Engine, path: Path) -> None:
    """Checkpoint the WAL into the file and close the last connection, so the file alone is
    the whole database (a copy of a file with a live ``-wal`` would miss commits)."""
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    assert not path.with_name(path.name + "-wal").exists()


# A digest of everything in a PostgreSQL schema that a test could change besides rows:
# relations, columns, defaults, constraints, indexes, types, functions and triggers (by
# object id: compared only with the same schema's digest taken when it was migrated).
_SCHEMA_DIGEST = """
WITH ns AS (SELECT CAST(:schema AS text)::regnamespace AS oid),
rel AS (SELECT c.oid FROM pg_class c, ns WHERE c.relnamespace = ns.oid)
SELECT md5(concat_ws('|',
  (SELECT string_agg(concat_ws(',', c.oid, c.relname, c.relkind, c.relnatts, c.relchecks,
                               c.relhastriggers), ';' ORDER BY c.oid)
     FROM pg_class c WHERE c.oid IN (SELECT oid FROM rel)),
  (SELECT string_agg(concat_ws(',', a.attrelid, a.attnum, a.attname, a.atttypid, a.atttypmod,
                               a.attnotnull, a.atthasdef, a.attisdropped), ';'
                     ORDER BY a.attrelid, a.attnum)
     FROM pg_attribute a WHERE a.attrelid IN (SELECT oid FROM rel) AND a.attnum > 0),
  (SELECT string_agg(concat_ws(',', d.adrelid, d.adnum, d.adbin::text), ';'
                     ORDER BY d.adrelid, d.adnum)
     FROM pg_attrdef d WHERE d.adrelid IN (SELECT oid FROM rel)),
  (SELECT string_agg(concat_ws(',', k.oid, k.conname, k.contype, k.conrelid, k.confrelid,
                               k.conkey::text, k.confkey::text, k.conbin::text), ';'
                     ORDER BY k.oid)
     FROM pg_constraint k, ns WHERE k.connamespace = ns.oid),
  (SELECT string_agg(concat_ws(',', i.indexrelid, i.indrelid, i.indkey::text, i.indisunique,
                               i.indexprs::text, i.indpred::text), ';' ORDER BY i.indexrelid)
     FROM pg_index i WHERE i.indrelid IN (SELECT oid FROM rel)),
  (SELECT string_agg(concat_ws(',', t.oid, t.typname), ';' ORDER BY t.oid)
     FROM pg_type t, ns WHERE t.typnamespace = ns.oid),
  (SELECT string_agg(concat_ws(',', e.enumtypid, e.enumsortorder, e.enumlabel), ';'
                     ORDER BY e.enumtypid, e.enumsortorder)
     FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid, ns WHERE t.typnamespace = ns.oid),
  (SELECT string_agg(concat_ws(',', p.oid, p.proname, md5(p.prosrc)), ';' ORDER BY p.oid)
     FROM pg_proc p, ns WHERE p.pronamespace = ns.oid),
  (SELECT string_agg(concat_ws(',', g.oid, g.tgname, g.tgenabled), ';' ORDER BY g.oid)
     FROM pg_trigger g WHERE g.tgrelid IN (SELECT oid FROM rel))
))
"""


class PostgresSchemas:
    """Migrated PostgreSQL schemas for one xdist worker's tests, one test at a time.

    The first is migrated by Alembic and kept as the template. A test gets a schema that
    was migrated for it, or the one the previous test gave back, reset to the template:
    renamed (a connection the previous test left behind is ended, and any later one finds
    nothing under the old name), every table emptied and refilled with the template's rows
    (``alembic_version``) and every sequence set back; a schema whose definitions a test
    changed (its digest differs from the one taken when it was migrated) is dropped instead.
    A test that asks for the ``world`` gets the rows and sequences of a second template, made
    on first use, that has the world's rows too.
    Creating and dropping some forty tables per test costs PostgreSQL far more than that
    reset, and ``CREATE DATABASE … TEMPLATE`` is slower still here: PostgreSQL 15's
    ``DROP DATABASE`` forces a checkpoint, seconds on a busy disk."""

    def __init__(self) -> None:
        self.admin = create_engine(POSTGRES_URL)
        self.digests: dict[str, str] = {}
        self.template = self._migrated()
        meta = MetaData()
        engine = make_engine(self.url(self.template))
        try:
            meta.reflect(bind=engine)
        finally:
            engine.dispose()
        self.tables = [t.name for t in reversed(meta.sorted_tables)]  # dependants first
        with self.admin.connect() as conn:
            self.sequences = [
                str(name)
                for name in conn.execute(
                    text("SELECT sequencename FROM pg_sequences WHERE schemaname = :s"),
                    {"s": self.template},
                ).scalars()
            ]
        self.seeded = {self.template: self._seeded(self.template)}
        self.world: tuple[str, World] | None = None
        self.free: list[str] = []

    def _seeded(self, template: str) -> list[str]:
        """The tables that have rows in ``template``."""
        with self.admin.connect() as conn:
            return [
                t
                for t in self.tables
                if conn.execute(
                    text(f'SELECT EXISTS (SELECT FROM "{template}"."{t}")')
                ).scalar_one()
            ]

    def world_template(self) -> tuple[str, World]:
        """The template with the world's rows, and the world they are."""
        if self.world is None:
            schema = self._migrated()
            engine = make_engine(self.url(schema))
            try:
                with make_sessionmaker(engine)() as session:
                    found = build_world(session)
            finally:
                engine.dispose()
            self.seeded[schema] = self._seeded(schema)
            self.world = schema, found
        return self.world

    @staticmethod
    def url(schema: str) -> str:
        """``POSTGRES_URL`` narrowed to ``schema``; its connections are named after it."""
        return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}&application_name={schema}"

    def _migrated(self) -> str:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with self.admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = make_engine(self.url(schema))
        try:
            migrate.upgrade(engine)
        finally:
            engine.dispose()
        with self.admin.connect() as conn:
            self.digests[schema] = self._digest(conn, schema)
        return schema

    @staticmethod
    def _digest(conn: Connection, schema: str) -> str:
        return str(conn.execute(text(_SCHEMA_DIGEST), {"schema": schema}).scalar_one())

    def take(self, template: str) -> str:
        """A schema equal to ``template`` (``self.template`` or the world's), for one test."""
        while self.free:
            old, new = self.free.pop(), f"t_{uuid.uuid4().hex[:12]}"
            digest = self.digests.pop(old)
            with self.admin.begin() as conn:
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE application_name = :old AND pid <> pg_backend_pid()"
                    ),
                    {"old": old},
                )
                if self._digest(conn, old) != digest:
                    conn.execute(text(f'DROP SCHEMA "{old}" CASCADE'))
                    continue
                conn.execute(text(f'ALTER SCHEMA "{old}" RENAME TO "{new}"'))
                conn.exec_driver_sql(self._refill(new, template))
            self.digests[new] = digest
            return new
        schema = self._migrated()
        if template != self.template:
            with self.admin.begin() as conn:
                conn.exec_driver_sql(self._refill(schema, template))
        return schema

    def _refill(self, schema: str, template: str) -> str:
        """SQL (one round trip) that empties ``schema``'s tables, copies ``template``'s rows
        into them and sets its sequences to ``template``'s."""
        return ";\n".join(
            [
                # the append-only tables' triggers refuse DELETE: off for this transaction only
                "SET LOCAL session_replication_role = replica",
                *(f'DELETE FROM "{schema}"."{table}"' for table in self.tables),
                *(
                    f'INSERT INTO "{schema}"."{table}" SELECT * FROM "{template}"."{table}"'
                    for table in self.seeded[template]
                ),
                *(
                    f'SELECT setval(\'"{schema}"."{seq}"\', last_value, is_called)'
                    f' FROM "{template}"."{seq}"'
                    for seq in self.sequences
                ),
            ]
        )

    def give_back(self, schema: str) -> None:
        self.free.append(schema)

    def close(self) -> None:
        with self.admin.begin() as conn:
            for schema in [*self.free, *self.seeded]:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres_schemas() -> Iterator[PostgresSchemas]:
    reason = postgres_skip_reason()
    if reason is not None:
        if REQUIRE_POSTGRES:
            pytest.fail(reason)
        pytest.skip(reason)
    schemas = PostgresSchemas()
    yield schemas
    schemas.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    """A database of the test's own, as freshly migrated to head: a SQLite file (a copy of
    the session's migrated template), or a PostgreSQL schema named by ``search_path`` in the
    URL (see ``PostgresSchemas``). A test that asks for the ``world`` gets it in its database
    from the start, copied from a template that has it (building it costs more than copying)."""
    wants_world = "world" in request.fixturenames
    if request.param == "sqlite":
        path = tmp_path / "mosu.db"
        if wants_world:
            template, request.node.stash[WORLD] = request.getfixturevalue("sqlite_world_template")
            shutil.copyfile(template, path)
        else:
            shutil.copyfile(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    reason = postgres_skip_reason()
    if reason is not None:
        if REQUIRE_POSTGRES:
            pytest.fail(reason)
        pytest.skip(reason)
    schemas: PostgresSchemas = request.getfixturevalue("postgres_schemas")
    template = schemas.template
    if wants_world:
        template, request.node.stash[WORLD] = schemas.world_template()
    schema = schemas.take(template)
    yield schemas.url(schema)
    schemas.give_back(schema)


@pytest.fixture
def settings(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Settings:
    """The test's settings; ``@pytest.mark.loopback_endpoints`` allows model endpoints on
    loopback, as `mosu demo` does, for tests whose fake endpoints run here."""
    return Settings.from_env(
        {},
        database_url=database_url,
        secret_key=TEST_SECRET,
        data_dir=tmp_path / "data",
        allow_private_endpoints=request.node.get_closest_marker("loopback_endpoints") is not None,
    )


@pytest.fixture(scope="session")
def built_apps() -> dict[tuple[object, ...], FastAPI]:
    """This worker's apps, by the settings their middleware was built with."""
    return {}


@pytest.fixture
def app(settings: Settings, built_apps: dict[tuple[object, ...], FastAPI]) -> Iterator[FastAPI]:
    """The app, bound to the test's settings and database (``mosu.app.bind``).

    Building its routes takes longer than most tests, so each worker builds one app for each
    pair of settings its middleware is built with, and binds it to each test afresh: a new
    engine, database gate and settings, a new middleware stack (so no public cache entry or
    stack a test replaced outlives the test) and a new OpenAPI document."""
    key = (settings.public_cache_seconds, settings.default_language)
    application = built_apps.get(key)
    if application is None:
        application = built_apps[key] = create_app(settings)
    else:
        bind(application, settings)
    application.middleware_stack = None
    application.openapi_schema = None
    yield application
    application.state.engine.dispose()


@pytest.fixture
def db(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Session]:
    """A session on the test's database: from the app's sessionmaker when the test has an
    app (directly or through ``live``), else from an engine of its own (building the app's
    routes costs more than many tests take)."""
    if "app" in request.fixturenames:
        factory: sessionmaker[Session] = request.getfixturevalue("app").state.sessionmaker
        with factory() as session:
            yield session
        return
    engine = make_engine(settings.database_url)
    with make_sessionmaker(engine)() as session:
        yield session
    engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """The app served by Uvicorn in a thread, on a free loopback port."""

    def __init__(self, app: FastAPI) -> None:
        # bound here and handed to uvicorn: a port picked, released and bound again later
        # could be taken by another test process in between ("address already in use")
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.port = int(self.socket.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self.thread.start()
        wait_until(
            lambda: self.server.started or not self.thread.is_alive(),
            timeout=20,
            interval=0.01,
            what="the test server to start",
        )
        if not self.server.started:
            self.socket.close()
            raise RuntimeError("test server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()


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


WORLD = pytest.StashKey[World]()
"""The world ``database_url`` put in the test's database, in the test item's stash."""


@pytest.fixture
def world(request: pytest.FixtureRequest, db: Session) -> World:
    """The world, whose rows ``database_url`` copied into the test's database."""
    return copy.deepcopy(request.node.stash[WORLD])


def build_world(session: Session) -> World:
    """Add the world's organisations, users and API tokens to a database; say what they are.

    Its passwords are hashed at Argon2id's lowest cost, as in the tests."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(security, "_hasher", CHEAP_HASHER)
        return _build_world(session)


def _build_world(db: Session) -> World:
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


def api_client(live: LiveServer, token: str | None) -> httpx.Client:
    """An HTTP client of the API, with ``token`` as its bearer (anonymous without one)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=live.url + "/api/v1", headers=headers, timeout=30, verify=TLS)


def client_for(live: LiveServer, world: World, who: str | None) -> httpx.Client:
    return api_client(live, world.tokens[who] if who else None)
