"""Settings: one object, read from ``MOSU_*`` environment variables and validated at start."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "please-change-me", "dev"})
DEMO_SECRET_KEY = "mosu-demo-secret-key-not-for-production"
MIN_SECRET_CHARS = 32
MIN_SECRET_BITS = 128
SUBMISSION_FAILURE_LIMIT = 5
"""Failed submissions a team may make per race stage, unless ``MOSU_SUBMISSION_FAILURE_LIMIT``
says otherwise."""
_FROM_MAPPING_ONLY: ContextVar[bool] = ContextVar("mosu_settings_from_mapping", default=False)


def secret_key_bits(key: str) -> float:
    """The key's entropy as its characters' frequencies estimate it: its length times the
    Shannon entropy per character. A repeated or patterned key scores low; a random one
    near ``length × log2(alphabet)``."""
    counts = Counter(key)
    n = len(key)
    return -n * sum(c / n * math.log2(c / n) for c in counts.values()) if n else 0.0


def secret_key_problem(key: str) -> str | None:
    """Why ``key`` may not be the secret key (``None`` when it may). The key is used as it
    is (HKDF derives the credential key from it, no stretching), so it must be random: at
    least ``MIN_SECRET_CHARS`` characters and ``MIN_SECRET_BITS`` estimated bits."""
    hint = "for example: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
    if key in PLACEHOLDER_SECRETS:
        return f"MOSU_SECRET_KEY must be set to a random string ({hint})"
    bits = secret_key_bits(key)
    if len(key) < MIN_SECRET_CHARS or bits < MIN_SECRET_BITS:
        return (
            f"MOSU_SECRET_KEY is too weak: {len(key)} characters, about {bits:.0f} bits of "
            f"entropy estimated from its character frequencies; it needs at least "
            f"{MIN_SECRET_CHARS} characters and {MIN_SECRET_BITS} bits ({hint})"
        )
    return None


class Settings(BaseSettings):
    """Every knob mosu reads. Construct with ``Settings.from_env(mapping)`` in tests."""

    model_config = SettingsConfigDict(env_prefix="MOSU_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///mosu.db",
        description="SQLAlchemy URL; SQLite by default, postgresql+psycopg://… for a deployment.",
    )
    secret_key: str = Field(
        default="",
        description="Derives (HKDF) the key that encrypts stored model credentials and signs "
        "the login form's CSRF token; random, at least 32 characters and 128 estimated bits.",
    )
    host: str = Field(default="127.0.0.1", description="Address `mosu serve` binds.")
    port: int = Field(default=8000, description="Port `mosu serve` and `mosu demo` listen on.")
    demo: bool = Field(default=False, description="Demo mode: allows the built-in demo secret key.")
    cookie_secure: bool = Field(
        default=False, description="Send session cookies only over HTTPS (set behind TLS)."
    )
    session_hours: int = Field(default=12, description="Lifetime of a web login session.")
    login_free_failures: int = Field(
        default=5,
        ge=1,
        description="Wrong passwords an account may take before sign-in to it is locked for a "
        "growing delay.",
    )
    login_free_failures_per_address: int = Field(
        default=20,
        ge=1,
        description="Wrong passwords one client address may send (to any accounts) before its "
        "sign-ins are locked for a growing delay.",
    )
    login_base_delay_seconds: float = Field(
        default=1.0,
        gt=0,
        description="The first lock's length; each further wrong password doubles it.",
    )
    login_max_delay_seconds: float = Field(
        default=900.0,
        gt=0,
        description="The longest a sign-in lock lasts.",
    )
    default_language: Literal["zh", "en"] = Field(
        default="zh", description="Language of pages for visitors who have not chosen one."
    )
    max_upload_mb: int = Field(
        default=20,
        ge=1,
        description="Largest request body a signed-in user may send (an upload), in MiB.",
    )
    max_import_rows: int = Field(
        default=100_000, ge=1, description="Rows one import may hold, in every format."
    )
    max_cell_chars: int = Field(
        default=100_000,
        ge=1,
        description="Characters one cell (a field, a JSON value) of an import may hold; a row "
        "four times that.",
    )
    data_dir: Path = Field(default=Path("mosu-data"), description="Where uploaded files are kept.")
    embedded_worker: bool = Field(
        default=True, description="`mosu serve` and `mosu demo` also run an in-process job worker."
    )
    worker_concurrency: int = Field(
        default=1,
        ge=1,
        description="Jobs a worker process (or the in-process worker) runs at once.",
    )
    job_lease_seconds: float = Field(
        default=30.0,
        gt=0,
        description="How long a claimed job stays a worker's without a heartbeat; then it is "
        "claimed again.",
    )

    web_workers: int = Field(
        default=1,
        ge=1,
        description="Web processes `mosu serve` starts (uvicorn workers sharing the port).",
    )
    db_pool_size: int = Field(
        default=40,
        ge=2,
        description="Database connections each web process keeps: as many requests use the "
        "database at once (a quarter of them writes), the rest wait their turn.",
    )
    public_cache_seconds: float = Field(
        default=1.0,
        ge=0,
        description="How long each web process keeps the anonymous public's answer of a "
        "cacheable page or API route (lists, public challenge pages, leaderboards); 0: off.",
    )
    access_log: bool = Field(
        default=False,
        description="`mosu serve` logs a line per request (uvicorn's access log).",
    )
    allow_private_endpoints: bool = Field(
        default=False,
        description="Model endpoints may be on loopback or a private network (on by default in "
        "the demo, whose fake endpoints are on loopback); link-local and cloud metadata "
        "addresses are refused either way.",
    )
    submission_failure_limit: int = Field(
        default=SUBMISSION_FAILURE_LIMIT,
        ge=1,
        description="Failed submissions a team may make per race stage; then it is refused.",
    )
    ray_address: str | None = Field(
        default=None,
        description="A Ray cluster (`auto`, `ray://host:10001`) that races run on; unset: on "
        "the worker's own event loop.",
    )
    eval_loop: Literal["uvloop", "asyncio"] = Field(
        default="uvloop",
        description="The event loop races run on: uvloop (where installed) or asyncio's own.",
    )
    smtp_url: str | None = Field(
        default=None,
        description="The mail server notices are e-mailed through: smtp://user:password@host:port "
        "(STARTTLS when the server offers it) or smtps://… (TLS from the start); unset: "
        "notices stay in-app only.",
    )
    smtp_from: str = Field(
        default="mosu@localhost",
        description="The sender address of notice e-mails.",
    )
    site_url: str = Field(
        default="",
        description="The platform's address as users reach it (https://mosu.example.cn), for "
        "the links in notice e-mails; unset: http://MOSU_HOST:MOSU_PORT.",
    )

    log_format: Literal["text", "json"] = Field(
        default="text",
        description="Log lines as readable text or one JSON object a line (for a collector); "
        "each carries its request id, or its job and race ids.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="The least severe log lines written."
    )
    metrics_allow: str = Field(
        default="127.0.0.1/32,::1/128",
        description="Addresses (comma-separated networks) that may read `/metrics` without a "
        "token; empty: none.",
    )
    metrics_token: str | None = Field(
        default=None,
        description="A bearer token that opens `/metrics` from any address (for a remote "
        "Prometheus); unset: only the allowed addresses may.",
    )
    metrics_dir: Path | None = Field(
        default=None,
        description="Where web processes share their metrics (prometheus_client's multiprocess "
        "mode); unset: `MOSU_DATA_DIR/metrics` when `MOSU_WEB_WORKERS` is above 1.",
    )
    expect_worker: bool = Field(
        default=False,
        description="`/readyz` also requires a job worker's heartbeat within "
        "`MOSU_WORKER_SILENCE_SECONDS` (set where workers run, e.g. with `mosu worker` units).",
    )
    worker_silence_seconds: float = Field(
        default=120.0,
        gt=0,
        description="How long without a worker heartbeat `/readyz` tolerates when "
        "`MOSU_EXPECT_WORKER` is set.",
    )
    retention_session_days: int = Field(
        default=30,
        ge=1,
        description="Days an ended web session (expired or signed out) is kept before the "
        "clean-up job deletes it.",
    )
    retention_notification_days: int = Field(
        default=180, ge=1, description="Days a read notification is kept before deletion."
    )
    retention_upload_days: int = Field(
        default=14,
        ge=1,
        description="Days an upload no row uses any more (a failed import kept for "
        "resubmission, a replaced proposal or contract) is kept before deletion.",
    )
    cleanup_interval_hours: float = Field(
        default=24.0,
        gt=0,
        description="How often a worker queues the retention clean-up job.",
    )

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        if self.demo and "allow_private_endpoints" not in self.model_fields_set:
            self.allow_private_endpoints = True  # the demo's fake endpoints are on loopback
        if self.demo and self.secret_key in PLACEHOLDER_SECRETS:
            self.secret_key = DEMO_SECRET_KEY
        problem = secret_key_problem(self.secret_key)
        if problem is not None:
            raise ValueError(problem)
        if self.secret_key == DEMO_SECRET_KEY and not self.demo:
            raise ValueError("the demo secret key may only be used by `mosu demo`")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        if _FROM_MAPPING_ONLY.get():
            return (init_settings,)
        return (init_settings, env_settings, dotenv_settings, file_secret_settings)

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: object) -> Settings:
        """Settings read from ``environ`` (not the process environment), for tests and tools."""
        values: dict[str, object] = {}
        for name in cls.model_fields:
            key = f"MOSU_{name.upper()}"
            if key in environ:
                values[name] = environ[key]
        values.update(overrides)
        token = _FROM_MAPPING_ONLY.set(True)
        try:
            return cls.model_validate(values)
        finally:
            _FROM_MAPPING_ONLY.reset(token)

    def to_env(self) -> dict[str, str]:
        """Every field as the ``MOSU_*`` variable that :meth:`from_env` (or ``Settings()`` in a
        child process) reads back: what ``mosu serve --workers N`` hands its web processes.
        A field that is ``None`` is left out (unset is how the environment says none)."""
        env: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None:
                continue
            key = f"MOSU_{name.upper()}"
            env[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
        return env

    @classmethod
    def env_names(cls) -> list[str]:
        """The ``MOSU_*`` variable of every field."""
        return [f"MOSU_{name.upper()}" for name in cls.model_fields]

    @property
    def public_address(self) -> str:
        """Where users reach the platform, without a trailing slash (for e-mailed links)."""
        return (self.site_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
