"""A race's requests, rendered as the executor takes them rather than all before the first.

:class:`Prompts` renders a sample's chat messages, their serialised text and its hash on
first use; the texts wait in :meth:`Prompts.take` for the run's writer thread to store.
With one model and one epoch each prompt is used once and dropped once sent; with more
uses (models × epochs) it is kept for the next. :class:`Requests` is one model's ordered
requests (epoch by epoch) as a sequence whose items are built on access, so filtering by
stored id, slicing into shards and counting cost nothing per prompt. Pickled (a Ray shard
shipped to a worker), it becomes the plain list of its rendered items.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, overload

from mosu.evals.executor import WorkItem
from mosu.evals.store import cache_key, epoch_id, prompt_hash, serialise

if TYPE_CHECKING:
    from mosu.evals.loaders import Sample
    from mosu.evals.prompts import Message
    from mosu.evals.tasks import Task

Rendered = tuple["list[Message]", str, str]
"""A sample's messages, their serialised text and its hash."""


class Prompts:
    """Each sample's prompt, rendered once per use or kept for ``uses`` above 1."""

    def __init__(self, task: Task, samples: Sequence[Sample], uses: int) -> None:
        self.task = task
        self.samples = {s.id: s for s in samples}
        self.keep = uses > 1
        self._kept: dict[str, Rendered] = {}
        self._fresh: list[tuple[str, str]] = []

    def get(self, sample_id: str) -> Rendered:
        found = self._kept.get(sample_id)
        if found is None:
            messages = self.task.messages(self.samples[sample_id])
            text = serialise(messages)
            found = (messages, text, prompt_hash(text))
            self._fresh.append((found[2], text))
            if self.keep:
                self._kept[sample_id] = found
        return found

    def take(self) -> list[tuple[str, str]]:
        """The ``(hash, text)`` pairs rendered since the last call, for the store."""
        fresh, self._fresh = self._fresh, []
        return fresh


Entry = tuple[str, str, int]
"""A request: the id its outcome is stored under, the sample's id, the epoch."""


class Requests(Sequence[WorkItem]):
    """One model's requests for ``prompts``; items are built when taken."""

    def __init__(self, entries: Sequence[Entry], prompts: Prompts, identity: str | None) -> None:
        self.entries = entries
        self.prompts = prompts
        self.identity = identity

    @classmethod
    def build(
        cls, sample_ids: Sequence[str], epochs: int, prompts: Prompts, identity: str | None
    ) -> Requests:
        """Every sample's request, ``epochs`` times each, epoch by epoch."""
        entries = [(epoch_id(s, e), s, e) for e in range(epochs) for s in sample_ids]
        return cls(entries, prompts, identity)

    def keep(self, wanted: Callable[[str], bool]) -> Requests:
        """The requests whose stored id is ``wanted``, without rendering any."""
        return Requests([e for e in self.entries if wanted(e[0])], self.prompts, self.identity)

    def _item(self, entry: Entry) -> WorkItem:
        record, sample_id, epoch = entry
        messages, text, digest = self.prompts.get(sample_id)
        key = cache_key(self.identity, text, epoch) if self.identity else None
        return WorkItem(record, messages, key, digest, source_id=sample_id if epoch else None)

    def __len__(self) -> int:
        return len(self.entries)

    @overload
    def __getitem__(self, index: int) -> WorkItem: ...

    @overload
    def __getitem__(self, index: slice) -> Requests: ...

    def __getitem__(self, index: int | slice) -> WorkItem | Requests:
        if isinstance(index, slice):
            return Requests(self.entries[index], self.prompts, self.identity)
        return self._item(self.entries[index])

    def __iter__(self) -> Iterator[WorkItem]:
        return map(self._item, self.entries)

    def __reduce__(self) -> tuple[Any, ...]:
        return (list, (list(self),))
