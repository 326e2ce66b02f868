"""The password rule: long enough, and not one of the passwords everyone tries first.

The list of common passwords ships with the package (``common-passwords.txt``, built by
``scripts/common_passwords.py``) and is compared case-insensitively. The rule applies when a
password is set; existing passwords keep working until they are changed.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from mosu.accounts.errors import PASSWORD_TOO_COMMON, PASSWORD_TOO_SHORT

MIN_LENGTH = 10


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list, lower-cased."""
    text = files("mosu.accounts").joinpath("common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def check_password(password: str) -> None:
    """Raise the catalogued error (422) naming the rule ``password`` breaks, if any."""
    if len(password) < MIN_LENGTH:
        raise PASSWORD_TOO_SHORT(min_length=MIN_LENGTH)
    if password.lower() in common_passwords():
        raise PASSWORD_TOO_COMMON()
