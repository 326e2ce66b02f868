"""The password rule: long enough, and not one of the passwords everyone tries first.

The list of common passwords ships with the package (``common-passwords.txt``, built by
``scripts/common_passwords.py``) and is compared case-insensitively. The rule applies when a
password is set; existing passwords keep working until they are changed.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from mosu.core.errors import Invalid

MIN_LENGTH = 10


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list, lower-cased."""
    text = files("mosu.accounts").joinpath("common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def check_password(password: str) -> None:
    """Raise :class:`Invalid` with a bilingual message when ``password`` breaks the rule."""
    if len(password) < MIN_LENGTH:
        raise Invalid(
            f"密码至少 {MIN_LENGTH} 个字符 / the password needs at least {MIN_LENGTH} characters"
        )
    if password.lower() in common_passwords():
        raise Invalid(
            "密码过于常见，容易被猜中，请换一个 / this password is too common to be safe; "
            "choose another"
        )
