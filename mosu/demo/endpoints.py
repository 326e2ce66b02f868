"""The demo's model endpoints while the demo serves (演示模型端点).

``mosu demo`` races the finished challenge against two fake OpenAI-compatible servers on
loopback, and the vision challenge against a third (:mod:`mosu.demo.vision`); the suppliers'
endpoints in the demo database point at them. The serving process runs the same servers
again, on the ports those endpoints record (or on free ones, and then the endpoints are
pointed there), for as long as it serves and no longer, so a visitor can register an
endpoint, apply to the open challenge and race it from the web UI.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from mosu.corpus.models import Dataset, DatasetVersion
from mosu.demo.challenge import load_story
from mosu.demo.loader import HOTLINE_DATASET
from mosu.demo.race import fake_endpoints
from mosu.demo.vision import load_vision_story, vision_server
from mosu.registry.models import ModelEndpoint


@dataclass(frozen=True)
class DemoEndpoints:
    """Where the demo's fake servers listen while it serves (base URLs ending in ``/v1``)."""

    steady: str
    flaky: str
    model_names: list[str]
    vision: str | None = None
    """The vision challenge's fake server (its endpoints point there), if the demo has it."""


def _port(url: str) -> int:
    return urlsplit(url).port or 0


@contextmanager
def keep_demo_endpoints(engine: Engine) -> Iterator[DemoEndpoints | None]:
    """Serve the demo's fake endpoints for the ``with`` block; None (and nothing served) for
    a database without the demo's endpoints."""
    specs = [a["endpoint"] for a in load_story()["finished"]["applications"] if "endpoint" in a]
    flaky_names = {ep["name"] for ep in specs if ep.get("flaky")}
    accuracy = {ep["model_name"]: float(ep["accuracy"]) for ep in specs}
    if not inspect(engine).has_table(ModelEndpoint.__tablename__):  # not a demo database yet
        yield None
        return
    with Session(engine) as session:
        rows = list(
            session.scalars(
                select(ModelEndpoint).where(ModelEndpoint.name.in_([ep["name"] for ep in specs]))
            )
        )
        version = session.scalars(
            select(DatasetVersion)
            .join(Dataset, Dataset.id == DatasetVersion.dataset_id)
            .where(Dataset.name == HOTLINE_DATASET)
            .order_by(DatasetVersion.number.desc())
        ).first()
        if not rows or version is None:
            yield None
            return
        steady_rows = [r for r in rows if r.name not in flaky_names]
        flaky_rows = [r for r in rows if r.name in flaky_names]
        ports = (
            _port(steady_rows[0].base_url) if steady_rows else 0,
            _port(flaky_rows[0].base_url) if flaky_rows else 0,
        )
        vision_story = load_vision_story()
        vision_rows = list(
            session.scalars(
                select(ModelEndpoint).where(
                    ModelEndpoint.name.in_(
                        [a["endpoint"]["name"] for a in vision_story["applications"]]
                    )
                )
            )
        )
        with ExitStack() as stack:
            steady, flaky = stack.enter_context(
                fake_endpoints(list(version.label_set), accuracy, ports)
            )
            vision = None
            if vision_rows:
                vision = stack.enter_context(
                    vision_server(vision_story, _port(vision_rows[0].base_url))
                )
            for row, url in [
                *((r, steady) for r in steady_rows),
                *((r, flaky) for r in flaky_rows),
                *((r, vision) for r in vision_rows),
            ]:
                row.base_url = url or row.base_url
            session.commit()
            yield DemoEndpoints(steady, flaky, sorted(accuracy), vision)


__all__ = ["DemoEndpoints", "keep_demo_endpoints"]
