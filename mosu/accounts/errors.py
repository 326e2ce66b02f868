"""The errors of accounts: users, passwords, sign-in, sessions and API tokens."""

from __future__ import annotations

from mosu.core.errors import (
    Conflict,
    Error,
    Forbidden,
    Invalid,
    NotFound,
    TooManyRequests,
    Unauthenticated,
)

INVALID_TOKEN = Error("accounts.invalid_token", Unauthenticated, "API 令牌无效或已撤销")
CROSS_SITE = Error("accounts.cross_site", Forbidden, "跨站请求被拒绝")
PASSWORD_TOO_SHORT = Error("accounts.password_too_short", Invalid, "密码至少 {min_length} 个字符")
PASSWORD_TOO_COMMON = Error(
    "accounts.password_too_common", Invalid, "密码过于常见，容易被猜中，请换一个"
)
WRONG_PASSWORD = Error("accounts.wrong_password", Unauthenticated, "用户名或密码错误")
WRONG_CURRENT_PASSWORD = Error("accounts.wrong_current_password", Invalid, "当前密码不正确")
TOO_MANY_ATTEMPTS = Error(
    "accounts.too_many_attempts", TooManyRequests, "尝试次数过多，请 {retry_after} 秒后再试"
)
DEACTIVATED = Error("accounts.deactivated", Forbidden, "账号已停用，请联系运营方")
BAD_USERNAME = Error(
    "accounts.bad_username", Invalid, "用户名须为 3–64 位字母、数字、点、下划线或连字符"
)
ORGANISATION_NEEDED = Error(
    "accounts.organisation_needed", Invalid, "需求方与供给方用户必须属于一个组织"
)
NO_SUCH_ORGANISATION = Error(
    "accounts.no_such_organisation", NotFound, "组织 {organisation_id} 不存在"
)
USERNAME_TAKEN = Error("accounts.username_taken", Conflict, "用户名 {username} 已存在")
NO_SUCH_USER = Error("accounts.no_such_user", NotFound, "用户 {user} 不存在")
CANNOT_DEACTIVATE_SELF = Error("accounts.cannot_deactivate_self", Invalid, "不能停用自己的账号")
BAD_TOKEN_NAME = Error("accounts.bad_token_name", Invalid, "令牌名称须为 1–100 个字符")
NO_SUCH_TOKEN = Error("accounts.no_such_token", NotFound, "令牌不存在")
