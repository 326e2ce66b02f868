"""What a desk is made of: sections of items, each item a link to where it is done."""

from __future__ import annotations

import datetime as dt
import enum

from pydantic import BaseModel

from mosu.core.text import Text

LIMIT = 8
"""Items listed per section (the count says how many there are in all)."""


class DeskItem(BaseModel):
    title: str
    link: str
    detail: Text | str = ""
    """A catalogued text, shown in the reader's language, or words shown as they are (an
    error a job ended with)."""
    when: dt.datetime | None = None
    """A deadline or a moment, in Beijing time."""
    urgent: bool = False
    badge: enum.Enum | None = None
    """A state shown by its label (an application's, a challenge's)."""


class DeskSection(BaseModel):
    key: str
    title: str
    """A catalogued Chinese title (translated on the page)."""
    count: int
    items: list[DeskItem]
    link: str = ""
    """Where the whole list is worked through, when there is such a page."""
    empty: str = "暂无待办"


class Desk(BaseModel):
    role: str
    sections: list[DeskSection]

    @property
    def total(self) -> int:
        return sum(s.count for s in self.sections)
