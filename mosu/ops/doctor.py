"""``mosu doctor``: check a deployment and say what is wrong and how to fix it.

Each check answers ``ok``, ``skipped`` (not configured) or ``failed`` with a fix. The
command exits non-zero when any check failed. Checks take what they look at as arguments
(settings, a clock, a ``which``), so tests break one condition at a time.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import text
from sqlalchemy.engine import Engine

from mosu import migrate
from mosu.core import clock
from mosu.core.settings import Settings, secret_key_bits

MIN_FREE_BYTES = 1024**3
MAX_SKEW_SECONDS = 5.0
CONNECT_SECONDS = 3.0
Clock = Callable[[], dt.datetime]
Which = Callable[[str], str | None]


@dataclass(frozen=True)
class Check:
    """One check's verdict: ``state`` is ok, skipped or failed; ``fix`` says what to do."""

    name: str
    state: str
    detail: str
    fix: str = ""

    @property
    def failed(self) -> bool:
        return self.state == "failed"


def ok(name: str, detail: str) -> Check:
    return Check(name, "ok", detail)


def failed(name: str, detail: str, fix: str) -> Check:
    return Check(name, "failed", detail, fix)


def skipped(name: str, detail: str) -> Check:
    return Check(name, "skipped", detail)


def check_secret(settings: Settings) -> Check:
    """The settings loaded (the caller reports when they did not); the key's strength."""
    bits = secret_key_bits(settings.secret_key)
    detail = f"settings valid; secret key {len(settings.secret_key)} characters, ~{bits:.0f} bits"
    if settings.demo:
        return failed(
            "settings",
            detail + ", demo mode on",
            "unset MOSU_DEMO outside `mosu demo` and set a random MOSU_SECRET_KEY",
        )
    return ok("settings", detail)


def check_database(engine: Engine) -> Check:
    """Reachable, and which server (and version) answers."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            version = ".".join(str(p) for p in engine.dialect.server_version_info or ())
    except Exception as exc:  # any failure to connect is the finding
        return failed(
            "database",
            f"unreachable: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}",
            "check MOSU_DATABASE_URL, that the server runs and accepts this host and user",
        )
    return ok("database", f"{engine.dialect.name} {version}")


def check_migrations(engine: Engine) -> Check:
    try:
        current = migrate.current_revision(engine)
    except Exception as exc:
        return failed("migrations", f"unreadable: {type(exc).__name__}", "fix the database first")
    head = migrate.head_revision()
    if current != head:
        return failed(
            "migrations",
            f"schema at {current or 'empty'}, this mosu needs {head}",
            "run `mosu db upgrade` (after `mosu db backup`)",
        )
    return ok("migrations", f"schema at {head}")


def check_data_dir(data_dir: Path, *, min_free: int = MIN_FREE_BYTES) -> Check:
    """``MOSU_DATA_DIR`` exists (or can be made), takes a file, and has room."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=data_dir, prefix=".doctor-"):
            pass
    except OSError as exc:
        return failed(
            "data dir",
            f"{data_dir} is not writable: {exc.strerror or exc}",
            f"create {data_dir} and give the service's user write access to it",
        )
    free = shutil.disk_usage(data_dir).free
    if free < min_free:
        return failed(
            "data dir",
            f"{data_dir}: only {free / 1024**3:.2f} GiB free",
            "free disk space or move MOSU_DATA_DIR to a larger volume",
        )
    return ok("data dir", f"{data_dir} writable, {free / 1024**3:.1f} GiB free")


def _reachable(host: str, port: int) -> str | None:
    """Why a TCP connection to ``host:port`` failed (``None``: it connected)."""
    try:
        with socket.create_connection((host, port), timeout=CONNECT_SECONDS):
            return None
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def check_smtp(url: str | None) -> Check:
    if not url:
        return skipped("smtp", "MOSU_SMTP_URL unset: notices stay in-app")
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (465 if parts.scheme == "smtps" else 25)
    why = _reachable(host, port)
    if why is not None:
        return failed(
            "smtp", f"{host}:{port} unreachable: {why}", "check MOSU_SMTP_URL and the firewall"
        )
    return ok("smtp", f"{host}:{port} answers")


def check_ray(address: str | None) -> Check:
    if not address:
        return skipped("ray", "MOSU_RAY_ADDRESS unset: races run on the worker")
    if address == "auto":
        host, port = "127.0.0.1", 6379
    else:
        parts = urlsplit(address if "://" in address else f"ray://{address}")
        host, port = parts.hostname or "", parts.port or 10001
    why = _reachable(host, port)
    if why is not None:
        return failed(
            "ray",
            f"{host}:{port} unreachable: {why}",
            "start the Ray head (`ray start --head`) or fix MOSU_RAY_ADDRESS",
        )
    return ok("ray", f"{host}:{port} answers")


def check_clock(engine: Engine, now: Clock = clock.now) -> Check:
    """This machine's clock against the database server's (leases and deadlines rely on
    them agreeing)."""
    query = "SELECT CURRENT_TIMESTAMP" if engine.dialect.name == "sqlite" else "SELECT now()"
    try:
        with engine.connect() as conn:
            before = now()
            value = conn.execute(text(query)).scalar_one()
            after = now()
    except Exception as exc:
        return failed("clock", f"cannot read the database's clock: {type(exc).__name__}", "")
    server = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if server.tzinfo is None:
        server = server.replace(tzinfo=dt.UTC)
    skew = (server - (before + (after - before) / 2)).total_seconds()
    if abs(skew) > MAX_SKEW_SECONDS + (1.0 if engine.dialect.name == "sqlite" else 0.0):
        return failed(
            "clock",
            f"this machine is {-skew:+.1f} s off the database's clock",
            "run NTP (chrony or systemd-timesyncd) on both machines",
        )
    return ok("clock", f"within {abs(skew):.1f} s of the database")


def check_pg_tools(database_url: str, which: Which = shutil.which) -> Check:
    """``pg_dump`` and ``pg_restore`` on the PATH, for `mosu db backup` and `restore`."""
    if not database_url.startswith("postgresql"):
        return skipped("backup tools", "SQLite: backups need no client tools")
    missing = [tool for tool in ("pg_dump", "pg_restore") if which(tool) is None]
    if missing:
        return failed(
            "backup tools",
            f"not on the PATH: {', '.join(missing)}",
            "install the PostgreSQL client of the server's major version "
            "(e.g. apt-get install postgresql-client)",
        )
    found = which("pg_dump")
    assert found is not None
    try:
        out = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=10)
        version = re.search(r"\d+(\.\d+)?", out.stdout)
    except (OSError, subprocess.SubprocessError):
        version = None
    return ok("backup tools", f"pg_dump {version.group(0) if version else '?'} found")


def run_checks(
    settings: Settings, engine: Engine, *, now: Clock = clock.now, which: Which = shutil.which
) -> list[Check]:
    """Every check, in order; database checks are skipped once it is unreachable."""
    checks = [check_secret(settings), check_database(engine)]
    if not checks[-1].failed:
        checks += [check_migrations(engine), check_clock(engine, now)]
    checks += [
        check_data_dir(settings.data_dir),
        check_smtp(getattr(settings, "smtp_url", None)),
        check_ray(settings.ray_address),
        check_pg_tools(settings.database_url, which),
    ]
    return checks
