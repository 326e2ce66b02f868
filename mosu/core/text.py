"""A catalogued text: its Chinese source (the gettext ``msgid``) and the values of its fields.

Messages that are decided in one place and read in another (an error, a cut reason, an
audit entry) are kept as a :class:`Text`, not as a finished string, so each reader sees
them in their own language: :func:`mosu.i18n.render` looks the source up in the reader's
catalogue and fills in the fields. A field may itself be a :class:`Text` (a rule inside a
reason). :meth:`Text.to_json` and :meth:`Text.from_json` store one in a JSON column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


def N_(text: str, /) -> str:
    """Mark ``text`` for the catalogues where it is written; it is translated where it is shown
    (here in :mod:`mosu.core` for the packages below :mod:`mosu.i18n`, which re-exports it)."""
    return text


Param = Any
"""A field's value: a number, a name, an enum member (shown by its label) or a nested Text."""


@dataclass(frozen=True)
class Text:
    source: str
    params: Mapping[str, Param] = field(default_factory=dict)

    def __str__(self) -> str:
        """The Chinese text, as written (logs, the CLI, tests that read one language)."""
        if not self.params:
            return self.source
        return self.source.format(**{k: str(v) for k, v in self.params.items()})

    def to_json(self) -> dict[str, Any]:
        params = {k: v.to_json() if isinstance(v, Text) else v for k, v in self.params.items()}
        return {"text": self.source, "params": params} if params else {"text": self.source}

    @classmethod
    def joined(cls, parts: Sequence[Param], glue: str) -> Param:
        """``parts`` one after the other with ``glue`` (a catalogued ``"{a}、{b}"``, so each
        language has its own punctuation) between each two; one part is itself."""
        joined = parts[0]
        for part in parts[1:]:
            joined = cls(glue, {"a": joined, "b": part})
        return joined

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Text:
        if value.get("bilingual"):
            return Bilingual(str(value["text"]))
        raw = value.get("params") or {}
        params = {
            str(k): Text.from_json(v) if isinstance(v, Mapping) and "text" in v else v
            for k, v in raw.items()
        }
        return Text(str(value["text"]), params)


@dataclass(frozen=True)
class Bilingual(Text):
    """A finished ``"中文 / English"`` string (or words in one language from outside, such as
    an engine's error) kept where texts are: a decision stored before decisions were kept as
    texts, or a reason that reaches one as a string. Each reader sees their side of it."""

    def to_json(self) -> dict[str, Any]:
        return {"text": self.source, "bilingual": True}
