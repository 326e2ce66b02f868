"""Secrets handling: password hashes and random tokens (stored model API keys are sealed by
:mod:`mosu.core.credentials`)."""

from __future__ import annotations

import hashlib
import os
import secrets
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
TOKEN_PREFIX = "mosu_"


def _usable_cpus() -> int:
    """CPUs this process may run on (its affinity, where the platform reports it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


HASHING_SLOTS = _usable_cpus()
_hashing = threading.BoundedSemaphore(HASHING_SLOTS)
"""Argon2 takes ``memory_cost`` (64 MiB) per hash: at most one hash per CPU at a time, so
many simultaneous sign-ins queue for a core instead of each taking its own 64 MiB."""


def hash_password(password: str) -> str:
    with _hashing:
        return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        with _hashing:
            return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def unusable_hash() -> str:
    """A stored "hash" no password matches (not Argon2's format, so verifying fails), for
    an account whose password an operator has yet to set; random, so no two are equal."""
    return "!unusable-" + secrets.token_hex(16)


def new_token() -> str:
    """A fresh random bearer token, recognisable by its prefix."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """The SHA-256 under which a token is stored; the token itself is never kept."""
    return hashlib.sha256(token.encode()).hexdigest()
