"""What a browser transfers for mosu's pages (a script, not a test).

Builds a SQLite database with the demo community and its challenges, starts ``mosu serve``
from a checkout (``--repo``, this one by default: give another to measure it the same way),
and loads each page below in Debian's Chromium through Playwright with an empty cache, then
once more with the cache the first visit left. For each visit it sums, over every request
the page made, the bytes on the wire (the encoded body and the response headers) and the
bodies' decoded size; the ratio of the two is what compression saved, and the second visit
shows what caching saved.

    python bench/page_weight.py
    PYTHONPATH=/other/checkout python bench/page_weight.py --repo /other/checkout
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, Request, sync_playwright
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
PAGES = ["/", "/orgs", "/challenges", "/challenges/1/race", "/supply"]
console = Console(width=140)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(url: str, folder: Path) -> None:
    from mosu import migrate
    from mosu.core.db import make_engine, make_sessionmaker, transaction
    from mosu.core.settings import Settings
    from mosu.demo.challenge import build_demo_challenges
    from mosu.demo.loader import load_community

    engine = make_engine(url)
    migrate.upgrade(engine)
    with transaction(make_sessionmaker(engine)) as session:
        load_community(session)
    settings = Settings.from_env(
        {},
        database_url=url,
        secret_key=secrets.token_urlsafe(32),
        data_dir=folder / "demo-data",
        allow_private_endpoints=True,
    )
    build_demo_challenges(engine, settings)
    engine.dispose()


def visit(page: Page, path: str) -> tuple[int, int, int]:
    """Requests made, bytes on the wire, decoded bytes: one load of ``path``."""
    finished: list[Request] = []

    def keep(request: Request) -> None:
        finished.append(request)

    page.on("requestfinished", keep)
    page.goto(path, wait_until="networkidle")
    page.remove_listener("requestfinished", keep)
    wire = decoded = 0
    for request in finished:
        sizes = request.sizes()
        wire += sizes["responseBodySize"] + sizes["responseHeadersSize"]
        response = request.response()
        decoded += len(response.body()) if response is not None and response.status == 200 else 0
    return len(finished), wire, decoded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=REPO)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mosu-bench-weight-") as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'weight.db'}"
        prepare(url, folder)
        port = free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(args.repo),
            "MOSU_DATABASE_URL": url,
            "MOSU_SECRET_KEY": secrets.token_urlsafe(32),
            "MOSU_PORT": str(port),
            "MOSU_DATA_DIR": str(folder / "data"),
        }
        server = subprocess.Popen(
            [sys.executable, "-c", "from mosu.cli import main; main()", "serve"],
            env=env,
            cwd=args.repo,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    urllib.request.urlopen(base + "/healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.2)
            measure(base, args.repo)
        finally:
            server.terminate()
            server.wait(30)


def measure(base: str, repo: Path) -> None:
    table = Table(title=f"bytes a browser transfers, {repo}")
    for column in ("page", "requests", "on the wire", "decoded", "decoded / wire", "again"):
        table.add_column(column, justify="right")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for path in PAGES:
            context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900})
            page = context.new_page()
            count, wire, decoded = visit(page, path)
            _, again, _ = visit(page, path)
            table.add_row(
                path,
                str(count),
                f"{wire:,}",
                f"{decoded:,}",
                f"{decoded / wire:.1f}×",
                f"{again:,}",
            )
            context.close()
        browser.close()
    console.print(table)


if __name__ == "__main__":
    main()
