"""The signed-in mix of ``bench/web.py``: every request carries a session cookie or an API
token, so the micro-cache never answers one, and reads are mixed with writes.

Each client keeps doing one kind of action (client ``k`` does kind ``k % 8``): four kinds of
reads of URLs no other request asks for (``?r=``: a supplier's API read of an organisation,
the organisation list, the challenge list and the overview as pages of a supplier, a
demand organisation and an operator) and three kinds of writes: a voucher application
(``POST /api/v1/supply/applications``), a 揭榜 application to an open challenge then its
withdrawal, and an arena battle served then voted on (each voting client is an expert of
its own). Latency, status and client timeouts are recorded per action.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import time
from collections import defaultdict
from dataclasses import dataclass, field

import aiohttp
from sqlalchemy import select

KINDS = 8
ACTIONS = [
    "GET /api/v1/orgs/{id} (token)",
    "GET /orgs (cookie)",
    "GET /challenges (cookie)",
    "GET / (cookie)",
    "POST voucher application",
    "POST challenge application",
    "POST …/withdraw",
    "POST arena battle",
    "POST arena vote",
]


@dataclass
class Scene:
    """The demo's ids and the credentials of the clients."""

    org: int = 0
    seller: int = 0
    programme: int = 0
    challenge: int = 0
    model: int = 0
    arena: int = 0
    supplier_token: str = ""
    cookies: dict[str, str] = field(default_factory=dict)
    voters: list[str] = field(default_factory=list)


def build_scene(url: str, clients: int) -> Scene:
    """Tokens, sessions and voters for ``clients`` clients in the demo database at ``url``,
    and a challenge that takes up to 100 applications an organisation."""
    from mosu.accounts.models import User
    from mosu.accounts.service import create_api_token, create_user, start_web_session
    from mosu.arena.models import Arena
    from mosu.challenges import catalogue
    from mosu.challenges.models import Challenge, ChallengeState
    from mosu.challenges.schemas import ChallengeIn
    from mosu.core import clock
    from mosu.core.db import make_engine, make_sessionmaker, transaction
    from mosu.permissions import Actor, Role
    from mosu.registry.models import Filing, FilingStatus, Model
    from mosu.supply.models import VoucherKind, VoucherProgramme

    operator = Actor(user_id=None, role=Role.operator, username="bench")
    engine = make_engine(url)
    scene = Scene()
    with transaction(make_sessionmaker(engine)) as session:
        users = {u.username: u for u in session.scalars(select(User))}
        supplier = users["supplier1"]
        assert supplier.organisation_id is not None
        scene.org = supplier.organisation_id
        scene.supplier_token = create_api_token(session, user_id=supplier.id, name="bench")[1]
        for who in ("supplier2", "demand1", "operator"):
            scene.cookies[who] = start_web_session(session, user=users[who], hours=2)
        scene.model = (
            session.scalars(
                select(Model.id)
                .join(Filing, Filing.model_id == Model.id)
                .where(Model.organisation_id == scene.org, Filing.status == FilingStatus.active)
            ).first()
            or 0
        )
        scene.seller = (
            session.scalars(
                select(Model.organisation_id).where(Model.organisation_id != scene.org)
            ).first()
            or 0
        )
        scene.programme = session.scalars(
            select(VoucherProgramme.id).where(VoucherProgramme.kind == VoucherKind.model)
        ).one()
        scene.arena = session.scalars(select(Arena.id)).first() or 0
        open_challenge = session.scalars(
            select(Challenge).where(Challenge.state == ChallengeState.open)
        ).first()
        assert open_challenge is not None, "the demo has an open challenge"
        today = clock.today()
        challenge = catalogue.create_challenge(
            session,
            actor=operator,
            data=ChallengeIn(
                scenario_id=open_challenge.scenario_id,
                kind=open_challenge.kind,
                title="负载测试榜单（bench）",
                valid_from=today - dt.timedelta(days=1),
                valid_until=today + dt.timedelta(days=30),
                issuer="bench",
                max_applications_per_org=100,
            ),
        )
        catalogue.publish(session, actor=operator, challenge_id=challenge.id)
        scene.challenge = challenge.id
        for n in range(clients // KINDS + 1):
            voter = create_user(
                session, username=f"bench-voter-{n}", password="bench-voter-pw", role=Role.expert
            )
            scene.voters.append(create_api_token(session, user_id=voter.id, name="bench")[1])
    engine.dispose()
    return scene


Record = tuple[int, float, int]
"""An action's index in ``ACTIONS``, its latency in seconds, and its status (0: timeout,
-1: a socket error)."""


async def _do(
    http: aiohttp.ClientSession, records: list[Record], action: int, method: str, url: str, **kw
) -> tuple[int, object]:
    start = time.perf_counter()
    body: object = None
    try:
        async with http.request(method, url, **kw) as response:
            status = response.status
            if response.content_type == "application/json":
                body = await response.json()
            else:
                await response.read()
    except TimeoutError:
        status = 0
    except aiohttp.ClientError:
        status = -1
    records.append((action, time.perf_counter() - start, status))
    return status, body


async def _client(
    http: aiohttp.ClientSession,
    base: str,
    k: int,
    scene: Scene,
    stop: float,
    records: list[Record],
) -> None:
    kind = k % KINDS
    token = {"Authorization": f"Bearer {scene.supplier_token}"}
    voter = {"Authorization": f"Bearer {scene.voters[k // KINDS]}"}
    for n in itertools.count():
        if time.perf_counter() >= stop:
            return
        r = f"{k}-{n}"
        match kind:
            case 0:
                await _do(
                    http, records, 0, "GET", f"{base}/api/v1/orgs/{scene.org}?r={r}", headers=token
                )
            case 1 | 2 | 3:
                path, who = {
                    1: ("/orgs", "supplier2"),
                    2: ("/challenges", "demand1"),
                    3: ("/", "operator"),
                }[kind]
                cookie = {"Cookie": f"mosu_session={scene.cookies[who]}"}
                await _do(http, records, kind, "GET", f"{base}{path}?r={r}", headers=cookie)
            case 4:
                data = {
                    "programme_id": scene.programme,
                    "seller_organisation_id": scene.seller,
                    "contract_number": f"BENCH-{r}",
                    "contract_amount": "20000.00",
                    "signed_on": "2025-03-01",
                    "service_starts_on": "2025-03-01",
                    "service_ends_on": "2025-06-30",
                }
                await _do(
                    http,
                    records,
                    4,
                    "POST",
                    f"{base}/api/v1/supply/applications",
                    json=data,
                    headers=token,
                )
            case 5 | 6:
                body = {"proposal": f"负载测试方案 {r}", "model_ids": [scene.model]}
                url = f"{base}/api/v1/challenges/{scene.challenge}/applications"
                status, made = await _do(http, records, 5, "POST", url, json=body, headers=token)
                if status == 201 and isinstance(made, dict):
                    url = f"{base}/api/v1/applications/{made['id']}/withdraw"
                    await _do(http, records, 6, "POST", url, headers=token)
            case _:
                url = f"{base}/api/v1/arenas/{scene.arena}/battles"
                status, battle = await _do(http, records, 7, "POST", url, headers=voter)
                if status == 201 and isinstance(battle, dict):
                    url = f"{base}/api/v1/arenas/{scene.arena}/battles/{battle['id']}/vote"
                    await _do(
                        http, records, 8, "POST", url, json={"winner": "model_a"}, headers=voter
                    )


async def run(
    base: str, scene: Scene, clients: int, seconds: float, timeout: float
) -> dict[int, list[tuple[float, int]]]:
    """``clients`` signed-in clients for ``seconds`` (each request given up after
    ``timeout`` s); per action, the (latency, status) of each request."""
    records: list[Record] = []
    connector = aiohttp.TCPConnector(limit=clients)
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=client_timeout) as http:
        stop = time.perf_counter() + seconds
        await asyncio.gather(
            *(_client(http, base, k, scene, stop, records) for k in range(clients))
        )
    found: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for action, latency, status in records:
        found[action].append((latency, status))
    return found
