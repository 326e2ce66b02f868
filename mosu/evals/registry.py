"""Registries of named components that other packages extend by entry points.

Built-ins register in code (:meth:`Registry.register`); a plug-in package declares an entry
point in the registry's group, e.g. in its ``pyproject.toml``::

    [project.entry-points."mosu.scorers"]
    keyword_hit = "my_package.scorers:keyword_hit"

Plug-ins are found lazily: nothing is imported until a name that is not built in is asked
for, and then only the plug-in of that name. A plug-in that fails to load or is not
callable raises :class:`PluginError` naming it; so does, at the first look-up of a name
that is not built in, any plug-in that takes a built-in's or another plug-in's name.
See ``docs/guides/extending.md``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import Generic, TypeVar

from mosu.evals.errors import PluginError

T = TypeVar("T", bound=Callable[..., object])


def _origin(ep: EntryPoint) -> str:
    dist = ep.dist
    where = f" from {dist.name} {dist.version}" if dist is not None else ""
    return f"{ep.name!r} ({ep.value}{where})"


class Registry(Generic[T]):
    """Names → factories of one kind (``what``), extended through the entry point ``group``."""

    def __init__(self, group: str, what: str) -> None:
        self.group = group
        self.what = what
        self._builtin: dict[str, T] = {}
        self._loaded: dict[str, T] = {}
        self._lock = threading.Lock()

    def register(self, name: str) -> Callable[[T], T]:
        """A decorator that registers a built-in factory under ``name``."""

        def add(factory: T) -> T:
            if name in self._builtin:
                raise ValueError(f"{self.what} {name!r} is registered twice")
            self._builtin[name] = factory
            return factory

        return add

    @property
    def builtin(self) -> dict[str, T]:
        """The built-in factories, in the order they were registered."""
        return dict(self._builtin)

    def plugins(self) -> list[EntryPoint]:
        """The entry points installed in this registry's group (none is loaded)."""
        return sorted(entry_points(group=self.group), key=lambda ep: (ep.name, ep.value))

    def names(self) -> list[str]:
        """Every name: the built-ins in their order, then the plug-ins' in alphabetical order."""
        plugins = sorted({ep.name for ep in self.plugins()} - set(self._builtin))
        return [*self._builtin, *plugins]

    def get(self, name: str) -> T | None:
        """The factory registered as ``name``, loading its plug-in on first use; ``None``
        when no built-in or plug-in has that name."""
        if name in self._builtin:
            return self._builtin[name]
        with self._lock:
            if name not in self._loaded:
                factory = self._load(name)
                if factory is None:
                    return None
                self._loaded[name] = factory
            return self._loaded[name]

    def _load(self, name: str) -> T | None:
        self.check()
        found = [ep for ep in self.plugins() if ep.name == name]
        if not found:
            return None
        ep = found[0]
        try:
            factory = ep.load()
        except Exception as exc:
            raise PluginError(
                f"{self.what} plug-in {_origin(ep)} failed to load: {type(exc).__name__}: {exc}"
            ) from exc
        if not callable(factory):
            raise PluginError(f"{self.what} plug-in {_origin(ep)} is not callable")
        return factory  # type: ignore[no-any-return]

    def check(self) -> None:
        """Raise :class:`PluginError` when a plug-in takes a built-in's name (so that it
        would never be used) or another plug-in's; loads none of them."""
        seen: dict[str, EntryPoint] = {}
        for ep in self.plugins():
            if ep.name in self._builtin:
                raise PluginError(
                    f"{self.what} plug-in {_origin(ep)} takes the name of a built-in {self.what}"
                )
            if ep.name in seen:
                raise PluginError(
                    f"{self.what} plug-ins {_origin(seen[ep.name])} and {_origin(ep)} "
                    "take the same name"
                )
            seen[ep.name] = ep
