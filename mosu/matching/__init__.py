"""Matching for the scenario board (应用场景供需对接): suppliers for a scenario and back.

A library first: jieba tokenisation with a shipped domain dictionary, an incremental BM25
index with structured filters, optional dense embeddings fused by reciprocal rank fusion, and
reasons in Chinese for every recommendation. No tables, no routes.
"""

from mosu.matching.dense import Embedder, load_embedder
from mosu.matching.engine import Matcher, Method, Recommendation, rrf
from mosu.matching.index import Hit, Index
from mosu.matching.profiles import (
    CaseStudy,
    ModelBrief,
    ScenarioProfile,
    SupplierProfile,
)
from mosu.matching.tokens import Tokenizer, default_tokenizer

__all__ = [
    "CaseStudy",
    "Embedder",
    "Hit",
    "Index",
    "Matcher",
    "Method",
    "ModelBrief",
    "Recommendation",
    "ScenarioProfile",
    "SupplierProfile",
    "Tokenizer",
    "default_tokenizer",
    "load_embedder",
    "rrf",
]
