"""Imports every domain's tables so that ``Base.metadata`` is complete (for Alembic)."""

from mosu.accounts import models as accounts_models
from mosu.arena import models as arena_models
from mosu.board import models as board_models
from mosu.challenges import models as challenges_models
from mosu.core.db import Base
from mosu.corpus import models as corpus_models
from mosu.jobs import models as jobs_models
from mosu.registry import models as registry_models
from mosu.review import models as review_models
from mosu.scenarios import models as scenarios_models
from mosu.supply import models as supply_models

__all__ = [
    "Base",
    "accounts_models",
    "arena_models",
    "board_models",
    "challenges_models",
    "corpus_models",
    "jobs_models",
    "registry_models",
    "review_models",
    "scenarios_models",
    "supply_models",
]
