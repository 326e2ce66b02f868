"""Upload bombs against a served mosu: the server's peak memory during each (a script, not
a test).

For SQLite and for PostgreSQL: builds a fresh database with an operator, a supplier and a
corpus card, starts ``mosu serve`` (no embedded worker) from ``--src`` (this checkout by
default; point it at an export of an older commit to measure that) as a subprocess on
loopback, then sends each bomb below, one at a time, while a bystander asks for
``/api/v1/orgs`` every 100 ms. Before each bomb the server's peak RSS is reset (Linux's
``/proc/PID/clear_refs``); after it the table shows the answer, the server's peak RSS
(``VmHWM``), its CPU seconds, the bytes it read (sockets and files: ``/proc/PID/io``
``rchar``) and wrote (``wchar``: spooled uploads), the rows and files written, and the
bystander's requests and errors. A watchdog kills the server when its RSS passes
``--rss-cap-mb`` (the old code's bombs take tens of GB) and restarts it for the next bomb.

    python bench/uploads.py                                   # both databases
    python bench/uploads.py --databases sqlite
    git archive main mosu | tar -x -C /tmp/old && python bench/uploads.py --src /tmp/old
    python bench/uploads.py --only xlsx                       # the bombs named so

The bodies are generated as they are sent (a gigabyte is never held by this script).
"""

from __future__ import annotations

import argparse
import contextlib
import html
import io
import json
import os
import re
import secrets
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import web  # bench/web.py, beside this script: its server, database and CPU helpers
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024
BOUNDARY = "b0undary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
FILE_HEAD = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="bomb.csv"\r\n'
    "Content-Type: text/csv\r\n\r\n"
).encode()
TABLES = ("organisations", "datasets", "dataset_versions", "dataset_rows", "scenarios")
console = Console(width=190)

SETUP = """
import json, sys
from mosu import migrate
from mosu.permissions import Role
from mosu.accounts.service import actor_for, create_api_token, create_user, start_web_session
from mosu.corpus.schemas import DatasetIn
from mosu.corpus.catalogue import create_dataset
from mosu.core.db import make_engine, make_sessionmaker
from mosu.registry.models import Layer, Tier
from mosu.registry.schemas import Contact, OrganisationIn
from mosu.registry.organisations import create_organisation
from mosu.registry.validators import credit_code_check_char

code = "91310104MA0000001"
code += credit_code_check_char(code)
engine = make_engine(sys.argv[1])
migrate.upgrade(engine)
with make_sessionmaker(engine)() as session:
    operator = create_user(session, username="operator", password="op-password-1", role=Role.operator)
    org = create_organisation(session, actor=actor_for(operator), data=OrganisationIn(
        name_zh="甲智能科技有限公司", credit_code=code, tier=Tier.core,
        layers=[Layer.model], contact=Contact(name="甲", phone="021-60000001", email="a@a.cn")))
    supplier = create_user(session, username="supplier", password="su-password-1",
                           role=Role.supplier, organisation_id=org.id)
    dataset = create_dataset(session, actor=actor_for(supplier), data=DatasetIn(name="炸弹"))
    session.flush()
    out = {"operator": create_api_token(session, user_id=operator.id, name="b")[1],
           "supplier": create_api_token(session, user_id=supplier.id, name="b")[1],
           "cookie": start_web_session(session, user=operator, hours=1), "dataset": dataset.id}
    session.commit()
print(json.dumps(out))
"""


def proc(pid: int, name: str) -> dict[str, int]:
    """``/proc/PID/status`` (kB fields) or ``/proc/PID/io`` as numbers."""
    values: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
            key, _, rest = line.partition(":")
            parts = rest.split()
            if parts and parts[0].isdigit():
                values[key] = int(parts[0])
    return values


# ---------------------------------------------------------------- bodies


def post_raw(
    port: int,
    path: str,
    *,
    total: int,
    head: bytes,
    content_type: str,
    headers: dict[str, str],
    chunked: bool,
    timeout: float = 120,
) -> tuple[int, str]:
    """POST ``total`` bytes (``head``, then filler) by Content-Length or chunked, and stop
    sending as soon as the server answers or closes. The status and the answer's start."""
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Type: {content_type}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}")
    block = b"x" * 65536
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    except OSError as exc:
        return 0, type(exc).__name__
    sock.setblocking(False)
    pending, sent = b"", 0
    while True:
        if not pending and sent < total:
            piece = head if sent == 0 else block[: total - sent]
            sent += len(piece)
            pending = (b"%x\r\n" % len(piece) + piece + b"\r\n") if chunked else piece
            if chunked and sent >= total:
                pending += b"0\r\n\r\n"
        readable, writable, _ = select.select([sock], [sock] if pending else [], [], timeout)
        if readable or not (readable or writable):
            break
        try:
            pending = pending[sock.send(pending) :]
        except OSError:
            break
    sock.setblocking(True)
    sock.settimeout(timeout)
    data = b""
    with contextlib.suppress(OSError):
        while piece := sock.recv(65536):
            data += piece
            head, _, body = data.partition(b"\r\n\r\n")
            length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            if length and len(body) >= int(length.group(1)):
                break  # the answer is whole; the connection may be kept alive
    sock.close()
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    return status, data.partition(b"\r\n\r\n")[2].decode("utf-8", "replace")


def message_of(answer: str) -> str:
    """The error message of a JSON error or of an error page, else the answer's start."""
    if answer.startswith("{"):
        with contextlib.suppress(ValueError, KeyError, TypeError):
            return str(json.loads(answer)["error"]["message"])
    found = re.search(r'class="error-status">.*?</h1>\s*<p>(.*?)</p>', answer, re.S)
    return html.unescape(found.group(1)) if found else answer[:60]


def post_file(port: int, path: str, token: str, filename: str, content: bytes) -> tuple[int, str]:
    body = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"'
            "\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": MULTIPART},
    )
    try:
        with urllib.request.urlopen(request, timeout=600) as answer:
            return answer.status, answer.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")
    except OSError as exc:
        return 0, type(exc).__name__


def streamed_zip(members: dict[str, Iterable[bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, chunks in members.items():
            with zf.open(name, "w", force_zip64=True) as member:
                for chunk in chunks:
                    member.write(chunk)
    return out.getvalue()


def xlsx_with_huge_cell(length: int) -> bytes:
    """An xlsx of about 310 KB whose one cell (an inline string, as the issue's) is
    ``length`` bytes of 字: openpyxl reads it whole, and the old import then checked it."""

    def sheet() -> Iterator[bytes]:
        yield (
            f'<?xml version="1.0" encoding="UTF-8"?><worksheet {ns}><sheetData>'
            '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
            '<row r="2"><c r="A2"><v>1</v></c><c r="B2" t="inlineStr"><is><t>'
        ).encode()
        for _ in range(length // MIB):
            yield "字".encode() * (MIB // 3)
        yield b"</t></is></c></row></sheetData></worksheet>"

    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    members: dict[str, Iterable[bytes]] = {
        "[Content_Types].xml": [
            b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats'
            b'.org/package/2006/content-types"><Default Extension="rels" ContentType="applicati'
            b'on/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" Conten'
            b'tType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="appli'
            b'cation/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override'
            b' PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats'
            b'-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrin'
            b'gs.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
            b'sharedStrings+xml"/></Types>'
        ],
        "_rels/.rels": [
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxml'
            f'formats.org/package/2006/relationships"><Relationship Id="r1" Type="{rel}/officeDo'
            f'cument" Target="xl/workbook.xml"/></Relationships>'.encode()
        ],
        "xl/workbook.xml": [
            f'<?xml version="1.0" encoding="UTF-8"?><workbook {ns} xmlns:r="{rel}"><sheets>'
            f'<sheet name="Sheet1" sheetId="1" r:id="r1"/></sheets></workbook>'.encode()
        ],
        "xl/_rels/workbook.xml.rels": [
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxml'
            f'formats.org/package/2006/relationships"><Relationship Id="r1" Type="{rel}/workshee'
            f't" Target="worksheets/sheet1.xml"/><Relationship Id="r2" Type="{rel}/sharedString'
            f's" Target="sharedStrings.xml"/></Relationships>'.encode()
        ],
        "xl/sharedStrings.xml": [
            b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org'
            b'/spreadsheetml/2006/main" count="2" uniqueCount="2"><si><t>id</t></si><si><t>text'
            b"</t></si></sst>"
        ],
        "xl/worksheets/sheet1.xml": sheet(),
    }
    return streamed_zip(members)


def jsonl(rows: Iterable[dict[str, object]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


def cmmlu_zip(total: int) -> bytes:
    row = b"0,q,a,b,c,d,A\n" * 4096
    per = 8 * MIB
    return streamed_zip(
        {f"test/s{n}.csv": (row for _ in range(per // len(row))) for n in range(total // per)}
    )


@dataclass
class Bomb:
    name: str
    send: Callable[[int, dict[str, object]], tuple[int, str]]


def body_bomb(
    path: str, total: int, *, who: str | None, chunked: bool = False, json_body: bool = False
) -> Callable[[int, dict[str, object]], tuple[int, str]]:
    def send(port: int, ids: dict[str, object]) -> tuple[int, str]:
        headers: dict[str, str] = {}
        if who == "cookie":
            headers = {
                "Cookie": f"mosu_session={ids['cookie']}",
                "Origin": f"http://127.0.0.1:{port}",
            }
        elif who is not None:
            headers = {"Authorization": f"Bearer {ids[who]}"}
        return post_raw(
            port,
            path.format(**ids),
            total=total,
            head=b'{"title": "' if json_body else FILE_HEAD,
            content_type="application/json" if json_body else MULTIPART,
            headers=headers,
            chunked=chunked,
        )

    return send


def import_bomb(
    filename: str, make: Callable[[], bytes]
) -> Callable[[int, dict[str, object]], tuple[int, str]]:
    def send(port: int, ids: dict[str, object]) -> tuple[int, str]:
        content = make()
        path = f"/api/v1/corpus/datasets/{ids['dataset']}/versions"
        return post_file(port, path, str(ids["supplier"]), filename, content)

    return send


BOMBS = [
    Bomb(
        "anonymous JSON 600 MB → /api/v1/scenarios",
        body_bomb("/api/v1/scenarios", 600 * MIB, who=None, json_body=True),
    ),
    Bomb("anonymous multipart 1 GB → /login", body_bomb("/login", 1024 * MIB, who=None)),
    Bomb(
        "anonymous multipart 1 GB chunked → /login",
        body_bomb("/login", 1024 * MIB, who=None, chunked=True),
    ),
    Bomb("signed in 1 GB → /corpus/new", body_bomb("/corpus/new", 1024 * MIB, who="cookie")),
    Bomb(
        "signed in 1 GB → /corpus/{dataset}/import",
        body_bomb("/corpus/{dataset}/import", 1024 * MIB, who="cookie"),
    ),
    Bomb(
        "signed in 1 GB → /supply/applications/new",
        body_bomb("/supply/applications/new", 1024 * MIB, who="cookie"),
    ),
    Bomb("signed in 1 GB → /import", body_bomb("/import", 1024 * MIB, who="cookie")),
    Bomb(
        "signed in 1 GB chunked → /import",
        body_bomb("/import", 1024 * MIB, who="cookie", chunked=True),
    ),
    Bomb(
        "API 1 GB chunked → /api/v1/import/orgs",
        body_bomb("/api/v1/import/orgs", 1024 * MIB, who="operator", chunked=True),
    ),
    Bomb(
        "xlsx 0.3 MB, one 300 MB cell → corpus version",
        import_bomb("bomb.xlsx", lambda: xlsx_with_huge_cell(300 * MIB)),
    ),
    Bomb(
        "JSONL 4 rows of 4 MB → corpus version",
        import_bomb(
            "rows.jsonl", lambda: jsonl({"id": n, "text": "字" * (4 * MIB // 3)} for n in range(4))
        ),
    ),
    Bomb(
        "JSONL 120,000 rows → corpus version",
        import_bomb(
            "many.jsonl",
            lambda: jsonl(
                {"id": n, "text": f"第{n}号工单：{n * 7919 % 100003}"} for n in range(120_000)
            ),
        ),
    ),
    Bomb(
        "CMMLU zip unpacking to 512 MiB → corpus version",
        import_bomb("cmmlu.zip", lambda: cmmlu_zip(512 * MIB)),
    ),
]


# ---------------------------------------------------------------- the server


class Server:
    """``mosu serve`` from ``src`` with a watchdog on its RSS."""

    def __init__(self, src: Path, url: str, folder: Path, cap_mb: int) -> None:
        self.port = web.free_port()
        self.cap_kb = cap_mb * 1024
        self.env = {
            **os.environ,
            "PYTHONPATH": str(src),
            "MOSU_DATABASE_URL": url,
            "MOSU_SECRET_KEY": secrets.token_urlsafe(24),
            "MOSU_PORT": str(self.port),
            "MOSU_DATA_DIR": str(folder / "data"),
            "MOSU_EMBEDDED_WORKER": "false",
            "TMPDIR": str(folder / "tmp"),
        }
        (folder / "tmp").mkdir(exist_ok=True)
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None
        self.killed = False

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from mosu.cli import main; main()", "serve"],
            env=self.env,
            cwd=self.folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v1/orgs", timeout=2)
                return
            time.sleep(0.2)
        raise RuntimeError("mosu serve did not start")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def watch(self, stop: threading.Event) -> None:
        while not stop.wait(0.01):
            if proc(self.pid, "status").get("VmRSS", 0) > self.cap_kb:
                self.killed = True
                os.kill(self.pid, signal.SIGKILL)
                return

    def stop(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def bystander(port: int, stop: threading.Event, tally: list[int]) -> None:
    """Another visitor: GET /api/v1/orgs every 100 ms; ``tally`` is [requests, errors]."""
    while not stop.wait(0.1):
        tally[0] += 1
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/orgs", timeout=5) as r:
                tally[1] += r.status != 200
        except OSError:
            tally[1] += 1


def written(url: str, data_dir: Path) -> str:
    engine = create_engine(url)
    with engine.connect() as conn:
        counts = [conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES]
    engine.dispose()
    files = sum(1 for p in data_dir.rglob("*") if p.is_file()) if data_dir.exists() else 0
    return f"{'/'.join(str(c) for c in counts)} · {files}"


def run(kind: str, src: Path, cap_mb: int, bombs: list[Bomb]) -> Table:
    table = Table(title=f"upload bombs · {kind} · mosu from {src}")
    for column in (
        "bomb",
        "answer",
        "RSS before MB",
        "peak RSS MB",
        "CPU s",
        "read MB",
        "wrote MB",
        "orgs/datasets/versions/rows/scenarios · files",
        "bystander req/err",
    ):
        table.add_column(column, justify="left" if column in ("bomb", "answer") else "right")
    with (
        tempfile.TemporaryDirectory(prefix="mosu-bench-uploads-") as tmp,
        web.database(kind, Path(tmp)) as url,
    ):
        folder = Path(tmp)
        setup = subprocess.run(
            [sys.executable, "-c", SETUP, url],
            env={**os.environ, "PYTHONPATH": str(src)},
            capture_output=True,
            text=True,
            check=True,
            cwd=folder,
        )
        ids: dict[str, object] = json.loads(setup.stdout.strip().splitlines()[-1])
        server = Server(src, url, folder, cap_mb)
        server.start()
        try:
            base_rss = proc(server.pid, "status").get("VmRSS", 0) // 1024
            table.caption = f"server RSS at rest {base_rss} MB; watchdog at {cap_mb} MB"
            for bomb in bombs:
                if not server.alive():
                    server.killed = False
                    server.start()
                Path(f"/proc/{server.pid}/clear_refs").write_text("5")  # VmHWM := VmRSS
                rss_before = proc(server.pid, "status").get("VmRSS", 0) // 1024
                io_before, cpu_before = proc(server.pid, "io"), web.cpu_seconds(server.pid)
                stop, tally = threading.Event(), [0, 0]
                threads = [
                    threading.Thread(target=server.watch, args=(stop,)),
                    threading.Thread(target=bystander, args=(server.port, stop, tally)),
                ]
                for thread in threads:
                    thread.start()
                status, answer = bomb.send(server.port, ids)
                time.sleep(0.3)
                peak = proc(server.pid, "status").get("VmHWM", 0) // 1024
                io_after, cpu = proc(server.pid, "io"), web.cpu_seconds(server.pid) - cpu_before
                stop.set()
                for thread in threads:
                    thread.join()
                if server.killed:
                    status_text, peak_text = "killed by the watchdog", f"> {cap_mb}"
                else:
                    status_text = f"{status} {message_of(answer).split(' / ')[0][:60]}"
                    peak_text = str(peak)
                read = (io_after.get("rchar", 0) - io_before.get("rchar", 0)) / MIB
                wrote = (io_after.get("wchar", 0) - io_before.get("wchar", 0)) / MIB
                table.add_row(
                    bomb.name,
                    status_text.replace("\n", " "),
                    str(rss_before),
                    peak_text,
                    f"{cpu:.1f}",
                    f"{read:.0f}",
                    f"{wrote:.0f}",
                    written(url, folder / "data"),
                    f"{tally[0]}/{tally[1]}",
                )
        finally:
            server.stop()
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--src", type=Path, default=REPO, help="the mosu source to serve")
    parser.add_argument("--rss-cap-mb", type=int, default=2500)
    parser.add_argument("--only", default="", help="only the bombs whose name contains this")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # clean up the databases
    for kind in args.databases:
        bombs = [b for b in BOMBS if args.only in b.name]
        console.print(run(kind, args.src.resolve(), args.rss_cap_mb, bombs))


if __name__ == "__main__":
    main()
