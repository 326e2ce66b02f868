"""Secrets handling: password hashes, random tokens, and encryption of stored credentials."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

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


def new_token() -> str:
    """A fresh random bearer token, recognisable by its prefix."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """The SHA-256 under which a token is stored; the token itself is never kept."""
    return hashlib.sha256(token.encode()).hexdigest()


class CredentialBox:
    """Encrypts model API keys with a key derived from the settings' secret key."""

    def __init__(self, secret_key: str) -> None:
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"mosu-credentials", info=b"fernet"
        ).derive(secret_key.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, plaintext: str) -> bytes:
        return self._fernet.encrypt(plaintext.encode())

    def open(self, sealed: bytes) -> str:
        try:
            return self._fernet.decrypt(sealed).decode()
        except InvalidToken as exc:
            raise ValueError("credential cannot be decrypted with this secret key") from exc
