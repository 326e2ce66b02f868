"""What the application and the workers load when they start.

The job queue knows no domain: each domain registers its job handlers (and the hooks that
follow its jobs' state) when its ``handlers`` module is imported. Likewise the lists' text
search (:mod:`mosu.core.ranking`) is answered by the search index, which registers itself.
:func:`load_registrations` imports them all; ``mosu serve``, ``mosu worker`` and
:func:`mosu.app.create_app` call it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mosu.core.settings import Settings
    from mosu.jobs.worker import WorkerPool

REGISTERING_MODULES = (
    "mosu.jobs.handlers",  # eval.race
    "mosu.race.handlers",  # challenge.submission, challenge.close_stage
    "mosu.search.live",  # the text search of the organisation, model and scenario lists
    "mosu.challenges.catalogue",  # a scenario's published challenges, in its output
    "mosu.review.reminders",  # review.remind
    "mosu.review.shortlist",  # a challenge with a panel is shortlisted by the panel
    "mosu.review.decision",  # a challenge with a combined rule is decided by it
    "mosu.race.deadlines",  # race.deadline_reminders
    "mosu.notifications.mail",  # notices.mail, notices.digest
    "mosu.ops.cleanup",  # ops.cleanup, queued by the workers on a schedule
)


def load_registrations() -> None:
    """Register every domain's job handlers and the search index's rankers (importing a
    module twice does nothing)."""
    for module in REGISTERING_MODULES:
        importlib.import_module(module)


def run_in_thread(settings: Settings) -> WorkerPool:
    """Start the in-process workers of ``mosu serve`` and ``mosu demo``; ``stop()`` them."""
    from mosu.core.credentials import CredentialBox
    from mosu.core.db import make_engine
    from mosu.evals.netpolicy import AddressPolicy
    from mosu.jobs.beats import periodic_jobs
    from mosu.jobs.worker import make_pool
    from mosu.registry.endpoints import endpoint_secrets

    load_registrations()
    engine = make_engine(settings.database_url)
    pool = make_pool(
        engine,
        concurrency=settings.worker_concurrency,
        lease_seconds=settings.job_lease_seconds,
        data_dir=settings.data_dir,
        secrets=endpoint_secrets(engine, CredentialBox(settings.secret_key)),
        ray_address=settings.ray_address,
        eval_loop=settings.eval_loop,
        address_policy=AddressPolicy(allow_private=settings.allow_private_endpoints),
        settings=settings,
        periodic=periodic_jobs(settings),
    )
    pool.owns_engine = True
    return pool.start()
