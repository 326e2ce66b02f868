"""Login CSRF protection: the sign-in form carries a token bound to a pre-session cookie.

``GET /login`` gives the browser a random nonce in a cookie and puts
``HMAC(secret key, nonce)`` in the form; ``POST /login`` signs in only when the two agree.
Another site can neither read the cookie nor compute the token, so it cannot sign a
visitor in under the attacker's account.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from fastapi import Request, Response

from mosu.core.settings import Settings

CSRF_COOKIE = "mosu_login_csrf"
CSRF_FIELD = "csrf_token"
_NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
COOKIE_SECONDS = 24 * 3600


def _nonce(request: Request) -> str | None:
    value = request.cookies.get(CSRF_COOKIE, "")
    return value if _NONCE_RE.match(value) else None


def _token(settings: Settings, nonce: str) -> str:
    return hmac.new(
        settings.secret_key.encode(), b"mosu-login-csrf:" + nonce.encode(), hashlib.sha256
    ).hexdigest()


def issue(request: Request, settings: Settings) -> tuple[str | None, str]:
    """(new nonce, form token) for a login form: the token is made from the browser's nonce
    if it has one (then the new nonce is ``None``), else from a new one."""
    nonce = _nonce(request)
    if nonce is not None:
        return None, _token(settings, nonce)
    nonce = secrets.token_urlsafe(32)
    return nonce, _token(settings, nonce)


def remember(response: Response, nonce: str | None, settings: Settings) -> None:
    """Give the browser the new nonce the form's token was made from (if there is one)."""
    if nonce is None:
        return
    response.set_cookie(
        CSRF_COOKIE,
        nonce,
        max_age=COOKIE_SECONDS,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/login",
    )


def is_valid(request: Request, settings: Settings, submitted: object) -> bool:
    """Whether the posted token was made from this browser's nonce."""
    nonce = _nonce(request)
    if nonce is None or not isinstance(submitted, str):
        return False
    return hmac.compare_digest(_token(settings, nonce), submitted)
