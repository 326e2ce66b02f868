"""The password rule: at least 10 characters and not on the shipped common-password list."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from mosu import i18n
from mosu.accounts import service
from mosu.accounts.passwords import MIN_LENGTH, check_password, common_passwords
from mosu.core.errors import Invalid
from mosu.permissions import Role
from tests.conftest import World


@pytest.mark.parametrize("password", ["password", "12345678", "mosu-demo", "abc", "123456789"])
def test_short_passwords_are_refused(password: str) -> None:
    with pytest.raises(Invalid) as refused:
        check_password(password)
    assert f"至少 {MIN_LENGTH} 个字符" in refused.value.message
    assert f"at least {MIN_LENGTH} characters" in i18n.render(refused.value.text, "en")


@pytest.mark.parametrize(
    "password",
    [
        "1234567890",
        "qwertyuiop",
        "woaini1314",
        "WoAiNi1314",  # the list is compared case-insensitively
        "1qaz2wsx3edc",
        "Password123",
        "qwertyuiop123",
        "password2024",
        "5201314520",
        "aaaaaaaaaaaa",
    ],
)
def test_common_passwords_are_refused(password: str) -> None:
    with pytest.raises(Invalid) as refused:
        check_password(password)
    assert refused.value.code == "accounts.password_too_common"
    assert "过于常见" in refused.value.message
    assert "too common" in i18n.render(refused.value.text, "en")


@pytest.mark.parametrize(
    "password",
    ["correct horse battery", "mosu-demo-2026", "pw-supplier_a-123", "蓝天白云下的模速空间"],
)
def test_long_uncommon_passwords_pass(password: str) -> None:
    check_password(password)


def test_the_shipped_list_is_large_and_lower_case() -> None:
    listed = common_passwords()
    assert len(listed) > 5000
    assert all(p == p.lower() for p in listed)
    assert {"123456789", "qwertyuiop", "woaini1314", "1qaz2wsx3edc", "password"} <= listed


def test_the_rule_applies_when_a_password_is_set(db: Session, world: World) -> None:
    with pytest.raises(Invalid):
        service.create_user(db, username="weakling", password="password", role=Role.expert)
    with pytest.raises(Invalid):
        service.create_user(db, username="weakling", password="1qaz2wsx3edc", role=Role.expert)
    user = service.create_user(
        db, username="strong", password="a-quite-long-phrase", role=Role.expert
    )
    with pytest.raises(Invalid):
        service.set_password(db, user=user, password="Woaini1314")
    service.set_password(db, user=user, password="another-long-phrase")
