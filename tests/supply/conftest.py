"""The ``supply`` fixture: the world's org_a buying from org_b (see ``tests.helpers.supply``)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.conftest import World
from tests.helpers.supply import Supply


@pytest.fixture
def supply(db: Session, world: World) -> Supply:
    return Supply(world, db)
