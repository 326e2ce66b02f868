"""Settings: one object, read from ``MOSU_*`` environment variables and validated at start."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "please-change-me", "dev"})
DEMO_SECRET_KEY = "mosu-demo-secret-key-not-for-production"
_FROM_MAPPING_ONLY: ContextVar[bool] = ContextVar("mosu_settings_from_mapping", default=False)


class Settings(BaseSettings):
    """Every knob mosu reads. Construct with ``Settings.from_env(mapping)`` in tests."""

    model_config = SettingsConfigDict(env_prefix="MOSU_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///mosu.db",
        description="SQLAlchemy URL; SQLite by default, postgresql+psycopg://… for a deployment.",
    )
    secret_key: str = Field(
        default="",
        description="Signs sessions and derives the key that encrypts model credentials.",
    )
    host: str = Field(default="127.0.0.1", description="Address `mosu serve` binds.")
    port: int = Field(default=8000, description="Port `mosu serve` and `mosu demo` listen on.")
    demo: bool = Field(default=False, description="Demo mode: allows the built-in demo secret key.")
    cookie_secure: bool = Field(
        default=False, description="Send session cookies only over HTTPS (set behind TLS)."
    )
    session_hours: int = Field(default=12, description="Lifetime of a web login session.")
    default_language: Literal["zh", "en"] = Field(
        default="zh", description="Language of pages for visitors who have not chosen one."
    )
    max_upload_mb: int = Field(default=20, description="Largest accepted upload, in MiB.")
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
    ray_address: str | None = Field(
        default=None,
        description="A Ray cluster (`auto`, `ray://host:10001`) that races run on; unset: on "
        "the worker's own event loop.",
    )

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        if self.demo and self.secret_key in PLACEHOLDER_SECRETS:
            self.secret_key = DEMO_SECRET_KEY
        if self.secret_key in PLACEHOLDER_SECRETS or len(self.secret_key) < 16:
            raise ValueError(
                "MOSU_SECRET_KEY must be set to a random string of at least 16 characters "
                "(for example: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
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

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
