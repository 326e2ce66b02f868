"""Chinese and English labels of the scenarios enums (scenario statuses), registered with :mod:`mosu.i18n`."""

from __future__ import annotations

from mosu import i18n
from mosu.scenarios.models import ScenarioStatus

i18n.register_labels(
    ScenarioStatus,
    {
        ScenarioStatus.draft: ("草稿", "Draft"),
        ScenarioStatus.open: ("对接中", "Open"),
        ScenarioStatus.published: ("已发榜", "Challenge published"),
        ScenarioStatus.closed: ("已关闭", "Closed"),
    },
)
