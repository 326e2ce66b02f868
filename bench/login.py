"""Sign-in under load (a script, not a test): memory of concurrent logins, and a
password-guessing run against the throttle.

Builds a fresh SQLite database with one operator whose password is hashed at mosu's
production argon2 cost (64 MiB), serves it with uvicorn in a subprocess on loopback, then

1. sends ``--concurrent`` sign-ins with the right password at once (each on its own
   connection, after fetching the form when it carries a CSRF token) and reports the
   server process's peak resident memory (``VmHWM``) before and after the burst;
2. sends ``--guesses`` wrong passwords for the account, then the right one, from
   ``--guessers`` concurrent clients, and counts the answers by status (401 checked the
   password, 429 refused without checking it).

    python bench/login.py                     # 40 concurrent sign-ins, 200 guesses
    python bench/login.py --concurrent 80 --guesses 500

Every request goes to 127.0.0.1; the script stops the server when it is done.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

SECRET = "bench-login-secret-key-0123456789"
PASSWORD = "bench-operator-passphrase"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mib(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of ``pid`` in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def setup(url: str, env: dict[str, str]) -> None:
    code = (
        "from mosu import migrate; from mosu.core.db import make_engine, make_sessionmaker;"
        "from mosu.accounts.models import Role; from mosu.accounts.service import create_user;"
        f"e = make_engine({url!r}); migrate.upgrade(e);"
        "s = make_sessionmaker(e)();"
        f"create_user(s, username='operator', password={PASSWORD!r}, role=Role.operator); s.commit()"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


def sign_in(base: str, password: str) -> int:
    with httpx.Client(base_url=base, timeout=120, headers={"Origin": base}) as client:
        form = client.get("/login")
        data = {"username": "operator", "password": password, "next": "/"}
        found = CSRF.search(form.text)
        if found:
            data["csrf_token"] = found.group(1)
        return client.post("/login", data=data).status_code


def burst(base: str, n: int) -> collections.Counter[int]:
    statuses: collections.Counter[int] = collections.Counter()
    barrier = threading.Barrier(n)
    lock = threading.Lock()

    def one() -> None:
        barrier.wait()
        status = sign_in(base, PASSWORD)
        with lock:
            statuses[status] += 1

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def guessing(base: str, guesses: int, guessers: int) -> collections.Counter[int]:
    statuses: collections.Counter[int] = collections.Counter()
    lock = threading.Lock()
    numbers = iter(range(guesses))

    def worker() -> None:
        while True:
            with lock:
                n = next(numbers, None)
            if n is None:
                return
            status = sign_in(base, f"guess-number-{n:05d}")
            with lock:
                statuses[status] += 1

    threads = [threading.Thread(target=worker) for _ in range(guessers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrent", type=int, default=40)
    parser.add_argument("--guesses", type=int, default=200)
    parser.add_argument("--guessers", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'login.db'}"
        env = {**os.environ, "MOSU_DATABASE_URL": url, "MOSU_SECRET_KEY": SECRET}
        env["MOSU_DATA_DIR"] = str(Path(tmp) / "data")
        setup(url, env)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "mosu.app:from_env",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            env=env,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(base + "/login", timeout=5)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit("server did not start") from None
                    time.sleep(0.2)
            rss, peak = peak_rss_mib(server.pid)
            print(f"server idle: RSS {rss:.0f} MiB, peak {peak:.0f} MiB")
            started = time.perf_counter()
            statuses = burst(base, args.concurrent)
            took = time.perf_counter() - started
            rss, peak = peak_rss_mib(server.pid)
            print(
                f"{args.concurrent} concurrent sign-ins: statuses {dict(statuses)}, "
                f"{took:.1f} s; server RSS {rss:.0f} MiB, peak {peak:.0f} MiB"
            )
            statuses = guessing(base, args.guesses, args.guessers)
            right = sign_in(base, PASSWORD)
            print(
                f"{args.guesses} wrong passwords from {args.guessers} clients: "
                f"statuses {dict(sorted(statuses.items()))}; then the right one: {right}"
            )
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
