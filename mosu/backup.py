"""Backups of the whole database, taken online, and their restore into a fresh database.

SQLite: a backup is a SQLite file written by SQLite's online backup API in one step, so it
is the database as of one instant even while other connections write (WAL readers do not
block writers). PostgreSQL: a backup is ``pg_dump --format=custom`` (one snapshot, in a
repeatable-read transaction) restored by ``pg_restore --single-transaction``; when the URL
narrows ``search_path`` to one schema, only that schema is dumped.

A restore goes only into a database with no tables (nothing is overwritten), refuses a
backup whose schema revision this version of mosu does not know (a newer mosu's backup),
and reports the revision so that ``mosu db upgrade`` can bring an older one forward.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from mosu import migrate
from mosu.core.db import make_engine
from mosu.core.errors import MosuError

SQLITE_MAGIC = b"SQLite format 3\x00"
FILE_MODE = 0o600
DIR_MODE = 0o700
PGDUMP_MAGIC = b"PGDMP"


class BackupError(MosuError):
    code = "bad_request"
    status = 400


@dataclass(frozen=True)
class BackupInfo:
    """What a backup holds: its kind (``sqlite`` or ``postgresql``) and schema revision."""

    kind: str
    revision: str | None
    path: Path


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up or restore into")
    return Path(database)


def _libpq(url: str) -> tuple[str, str | None]:
    """The libpq connection URI of a SQLAlchemy PostgreSQL URL, and the schema its
    ``options=-csearch_path=…`` narrows to (``None``: the whole database)."""
    parsed = make_url(url)
    uri = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    options = parsed.query.get("options", "")
    text = " ".join(options) if isinstance(options, tuple) else options
    found = re.search(r"search_path\s*=\s*([^\s,]+)", unquote(text))
    return uri, found.group(1).strip('"') if found else None


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not installed; install the PostgreSQL client tools "
            f"(Debian: apt-get install postgresql-client) matching the server's version"
        )
    return path


def _run(args: list[str]) -> str:
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed: {done.stderr.strip()}")
    return done.stdout


def _private_dirs(folder: Path) -> None:
    """Create ``folder`` and any missing parents readable by the owner alone (0700)."""
    missing: list[Path] = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, DIR_MODE)


def _private_file(path: Path) -> None:
    """Create ``path`` empty and readable by the owner alone (0600) from the first instant;
    the tools that then write the backup into it keep its mode."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))


def backup(url: str, out: Path) -> BackupInfo:
    """Write a consistent backup of the database at ``url`` to ``out`` (must not exist).

    The backup holds every row (password hashes, encrypted model keys): the file is created
    0600 and any directory made for it 0700, before a byte is written.
    """
    if out.exists():
        raise BackupError(f"{out} exists; choose a new file name for the backup")
    _private_dirs(out.parent)
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    _private_file(partial)
    try:
        if url.startswith("sqlite"):
            source_path = _sqlite_path(url)
            if not source_path.exists():
                raise BackupError(f"no SQLite database at {source_path}")
            source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
            target = sqlite3.connect(partial)
            try:
                source.backup(target)  # pages=-1: the whole database in one step, one snapshot
            finally:
                target.close()
                source.close()
        elif url.startswith("postgresql"):
            uri, schema = _libpq(url)
            args = [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges"]
            args += [f"--schema={schema}"] if schema else []
            _run([*args, f"--file={partial}", f"--dbname={uri}"])
        else:
            raise BackupError(f"cannot back up {make_url(url).get_backend_name()} databases")
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return inspect_backup(out)


def inspect_backup(path: Path) -> BackupInfo:
    """The kind and schema revision of the backup at ``path``."""
    if not path.is_file():
        raise BackupError(f"no backup file at {path}")
    with path.open("rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    if head.startswith(SQLITE_MAGIC):
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError:
            row = None
        finally:
            conn.close()
        return BackupInfo("sqlite", str(row[0]) if row else None, path)
    if head.startswith(PGDUMP_MAGIC):
        listing = _run(
            [_tool("pg_restore"), "--data-only", "--table=alembic_version", "--file=-", str(path)]
        )
        copy = re.search(
            r"^COPY \S*alembic_version .*? FROM stdin;\n(.*?)^\\\.$", listing, re.M | re.S
        )
        revision = copy.group(1).strip() if copy else ""
        return BackupInfo("postgresql", revision or None, path)
    raise BackupError(f"{path} is neither a SQLite backup nor a pg_dump custom-format archive")


def _check_revision(info: BackupInfo) -> None:
    if info.revision is None:
        raise BackupError(f"{info.path} holds no mosu schema revision (not a mosu backup?)")
    scripts = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    known = {rev.revision for rev in scripts.walk_revisions()}
    if info.revision not in known:
        raise BackupError(
            f"{info.path} is at schema revision {info.revision}, which this version of mosu "
            f"does not know (a backup from a newer mosu?); restore it with that version"
        )


def _refuse_non_empty(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            tables = inspect(conn).get_table_names()
    finally:
        engine.dispose()
    if tables:
        raise BackupError(
            f"the target database already has tables ({', '.join(sorted(tables)[:5])}…); "
            "restore only into a fresh, empty database"
        )


def restore(url: str, backup_path: Path) -> BackupInfo:
    """Restore ``backup_path`` into the empty database at ``url``, all or nothing."""
    info = inspect_backup(backup_path)
    kind = "sqlite" if url.startswith("sqlite") else "postgresql"
    if not url.startswith(("sqlite", "postgresql")):
        raise BackupError(f"cannot restore into {make_url(url).get_backend_name()} databases")
    if info.kind != kind:
        raise BackupError(f"{backup_path} is a {info.kind} backup; it restores into {info.kind}")
    _check_revision(info)
    if kind == "sqlite":
        target_path = _sqlite_path(url)
        if target_path.exists():
            _refuse_non_empty(url)
        target_path.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(f"file:{backup_path}?mode=ro", uri=True)
        target = sqlite3.connect(target_path)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        with contextlib.closing(sqlite3.connect(target_path)) as check:
            if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"the restored database at {target_path} failed its check")
    else:
        _refuse_non_empty(url)
        uri, _schema = _libpq(url)
        _run(
            [
                _tool("pg_restore"),
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                f"--dbname={uri}",
                str(backup_path),
            ]
        )
    return info
