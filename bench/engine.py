"""Speed benchmark of the evaluation engine against its peers (a script, not a test).

Starts mosu's fake OpenAI-compatible server (50 ms latency) and races one model on a
synthetic task of 2,000 and 20,000 samples at concurrency 64 with mosu, lm-evaluation-harness
(``local-chat-completions``, ``num_concurrent=64``) and Inspect AI (``--max-connections
64``), the peers pinned (:data:`PEER_PACKAGES`) and installed into a throwaway venv under
/tmp. With ``--repeat`` the tools take turns (mosu, lm-eval, inspect-ai, mosu, …), so a
busy minute on the shared CPUs does not fall on one tool's runs. Prints one table: request
rate against the physical limit (64 / 50 ms = 1,280 requests per second) twice, between
the first and the last request the server saw and counted from the tool's process start
(what start-up and work before the first request cost), CPU milliseconds per sample, peak
RSS and wall time from process start to final scores.

CPU and peak RSS are the tool's own process (``wait4`` on it: its CPU with its waited
children, the largest RSS among them); the fake server is a separate child reaped after
the measurement; its own CPU per request is read from ``/proc`` and shown beside it, with
the machine's load average before each run, since the CPUs may be shared. mosu's modules
are compiled to bytecode first, as pip does when it installs a wheel (the peers' venv has
theirs).

Two more rows give ceilings instead of peers. ``floor`` is the least a Python client does
(:data:`FLOOR_CLIENT`, 30 lines of asyncio streams): its rate from process start is what
this machine's Python allows any tool. ``floor-typer`` is the same client with its command
line parsed by Typer and pydantic and PyYAML imported (:data:`FLOOR_TYPER_CLIENT`): the
ceiling of a tool built on this project's stack, before any work of its own.

``--rows N`` writes a data file of N rows and, where N is above the size raced, gives mosu's
task ``limit: SIZE`` (a seeded sample of the file): what reading a large task costs.

    python bench/engine.py                 # both sizes, the three tools and the two floors
    python bench/engine.py --sizes 2000 --tools mosu,floor,floor-typer --repeat 5  # ceilings
    python bench/engine.py --sizes 2000 --tools mosu --repeat 5   # only mosu's rows, 5 runs
    python bench/engine.py --sizes 20000,200000 --tools mosu      # RSS as the data grows
    python bench/engine.py --sizes 1000 --rows 2000000 --tools mosu   # --limit on 2M rows
    python bench/engine.py --vision 256 --sizes 500 --tools mosu,inspect-ai   # vision case

The vision case (``--vision SIDE``) gives every sample a SIDE × SIDE PNG of random pixels
(incompressible: about 3 × SIDE² bytes, a third more in base64), sent as an ``image_url``
data URL; the fake server checks and decodes each image and answers by its sha256. Inspect AI
runs it (``ContentImage``); lm-evaluation-harness sends images to chat APIs only for tasks
whose ``doc_to_image`` reads PIL images from a Hugging Face dataset (``max_images``), which a
JSON-lines task of image paths is not, so its row says so.
"""

from __future__ import annotations

import argparse
import compileall
import functools
import hashlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
LATENCY = 0.05
CONCURRENCY = 64
LIMIT = CONCURRENCY / LATENCY
PEERS_VENV = Path(os.environ.get("MOSU_BENCH_PEERS_VENV", "/tmp/mosu-bench-peers"))
PEER_PACKAGES = ["lm-eval[api]==0.4.13", "inspect-ai==0.3.285", "openai==3.63.0"]
console = Console(width=230)


@dataclass
class Row:
    tool: str
    samples: int
    score: float | None = None
    requests: int = 0
    server_rate: float = 0.0
    start_rate: float = 0.0
    first_s: float = 0.0
    rss_mb: float = 0.0
    wall: float = 0.0
    cpu_ms: float = 0.0
    server_cpu_ms: float = 0.0
    load: float = 0.0
    note: str = ""


def write_data(folder: Path, n: int, side: int = 0) -> tuple[Path, Path]:
    """Samples ``{"id", "q", "y"}`` and the fake server's answer key (prompt → answer); with
    ``side``, each sample also has ``image``, the path of a side × side PNG of random pixels,
    and the key answers by the image's sha256."""
    data, key = folder / "data.jsonl", folder / "key.jsonl"
    if side:
        (folder / "images").mkdir()
    with data.open("w", encoding="utf-8") as d, key.open("w", encoding="utf-8") as k:
        for i in range(n):
            q = f"第{i}题：下列选项中哪一个是正确的？请只回答选项字母。"
            y = "ABCD"[(i * 7) % 4]
            row: dict[str, object] = {"id": i, "q": q, "y": y}
            line: dict[str, object] = {"prompt": q, "answer": y}
            if side:
                png = random_png(side)
                (folder / "images" / f"{i}.png").write_bytes(png)
                row["image"] = str(folder / "images" / f"{i}.png")
                line = {"image_sha256": hashlib.sha256(png).hexdigest(), "answer": y}
            d.write(json.dumps(row, ensure_ascii=False) + "\n")
            k.write(json.dumps(line, ensure_ascii=False) + "\n")
    return data, key


def random_png(side: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buffer, "PNG")
    return buffer.getvalue()


def start_server(key: Path, port: int) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "mosu.evals.fakeserver", "--latency", str(LATENCY)]
    command += ["--answers", str(key), "--port", str(port)]
    env = {k: v for k, v in os.environ.items() if k != "MOSU_EVAL_LOOP"}  # its default loop
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().split()[-1]
    return proc, url


def server_stats(url: str) -> dict[str, float]:
    with urllib.request.urlopen(url.removesuffix("/v1") + "/stats", timeout=30) as response:
        stats = json.loads(response.read())
    return {"requests": stats["requests"], "first": stats["first"], "last": stats["last"]}


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a running process has used so far, from ``/proc``."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Timed:
    """A finished command: its start on the monotonic clock the fake server stamps requests
    with, wall and CPU seconds, peak RSS (MB), exit status and last line of stderr."""

    start: float
    wall: float
    cpu: float
    rss_mb: float
    returncode: int
    error: str


def timed(command: list[str], env: dict[str, str], cwd: Path) -> Timed:
    """Run ``command``; ``wait4`` gives its own CPU (with its waited children) and peak RSS."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        lines = err.read().decode("utf-8", "replace").strip().splitlines() or ["(no output)"]
    cpu = usage.ru_utime + usage.ru_stime
    return Timed(start, wall, cpu, usage.ru_maxrss / 1024, proc.returncode, lines[-1][:120])


def run_mosu(
    folder: Path, data: Path, url: str, n: int, rows: int = 0
) -> tuple[list[str], dict[str, str], Callable[[], float]]:
    task = folder / "task.yaml"
    limit = f", limit: {n}" if rows > n else ""
    fields, template = "input_fields: [q]", "'{{ q }}'"
    if VISION:
        fields, template = "input_fields: [q, image], image_fields: [image]", "'{{ image }}{{ q }}'"
    task.write_text(
        "name: bench\nsplits:\n  test: {format: jsonl, path: "
        + json.dumps(str(data))
        + f", id_field: id, label_field: y, {fields}{limit}}}\n"
        f"prompt: {{template: {template}}}\nparser: {{name: choice_letter}}\nscorers: [accuracy]\n",
        encoding="utf-8",
    )
    out = folder / "mosu-out"
    model = f"m=openai:{url}#m?concurrency={CONCURRENCY}"
    command = [
        sys.executable,
        "-c",
        "from mosu.cli import main; main()",  # the user's `mosu eval run`
        "eval",
        "run",
        str(task),
        "--model",
        model,
        "--out",
        str(out),
        "-q",
    ]

    def score() -> float:
        result = json.loads((out / "results.json").read_text(encoding="utf-8"))
        line = result["models"][0]
        service = line["service"]  # what mosu records of every answer, beside its score
        RECORDED[n] = (
            f"recorded per sample: latency p50 {service['latency_p50'] * 1000:.0f} ms, "
            f"p95 {service['latency_p95'] * 1000:.0f} ms, {service['tokens_per_answer']:.1f} "
            f"tokens/answer, {service['truncated']} cut"
        )
        return float(line["metrics"]["accuracy"]["value"])

    return command, dict(os.environ), score


RECORDED: dict[int, str] = {}
VISION = 0
"""The side of each sample's image in pixels (``--vision``); 0: text only."""


def run_lm_eval(
    folder: Path, data: Path, url: str, n: int, rows: int = 0
) -> tuple[list[str], dict[str, str], Callable[[], float]]:
    if VISION:
        raise Unsupported("lm-eval sends images only from an HF dataset's PIL images")
    tasks = folder / "lm_tasks"
    tasks.mkdir()
    (tasks / "mosu_bench.yaml").write_text(
        "task: mosu_bench\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    test: "
        + json.dumps(str(data))
        + "\n"
        "test_split: test\noutput_type: generate_until\ndoc_to_text: '{{q}}'\ndoc_to_target: '{{y}}'\n"
        "generation_kwargs:\n  until: ['\\n\\n']\n  max_gen_toks: 8\n  do_sample: false\n"
        "metric_list:\n  - metric: exact_match\n",
        encoding="utf-8",
    )
    out = folder / "lm-out"
    args = f"model=m,base_url={url}/chat/completions,num_concurrent={CONCURRENCY},max_retries=3,tokenized_requests=False"
    command = [
        str(PEERS_VENV / "bin" / "lm_eval"), "--model", "local-chat-completions", "--model_args", args,
        "--tasks", "mosu_bench", "--include_path", str(tasks), "--apply_chat_template", "--output_path", str(out),
    ]  # fmt: skip
    env = {
        **os.environ,
        "HF_DATASETS_OFFLINE": "1",
        "HF_HUB_OFFLINE": "1",
        "OPENAI_API_KEY": "none",
    }

    def score() -> float:
        result = json.loads(next(out.rglob("results_*.json")).read_text(encoding="utf-8"))
        metrics = result["results"]["mosu_bench"]
        return float(next(v for k, v in metrics.items() if k.startswith("exact_match,")))

    return command, env, score


def run_inspect(
    folder: Path, data: Path, url: str, n: int, rows: int = 0
) -> tuple[list[str], dict[str, str], Callable[[], float]]:
    task = folder / "inspect_task.py"
    dataset = f"json_dataset({str(data)!r}, FieldSpec(input='q', target='y', id='id'))"
    if VISION:
        dataset = f"json_dataset({str(data)!r}, image_sample)"
    task.write_text(
        "from inspect_ai import Task, task\nfrom inspect_ai.dataset import FieldSpec, Sample, json_dataset\n"
        "from inspect_ai.model import ChatMessageUser, ContentImage, ContentText\n"
        "from inspect_ai.scorer import match\nfrom inspect_ai.solver import generate\n\n"
        "def image_sample(r):\n    content = [ContentImage(image=r['image']), ContentText(text=r['q'])]\n"
        "    return Sample(input=[ChatMessageUser(content=content)], target=r['y'], id=r['id'])\n\n"
        f"@task\ndef bench():\n    return Task(dataset={dataset},"
        " solver=generate(), scorer=match(location='exact'))\n",
        encoding="utf-8",
    )
    logs = folder / "inspect-logs"
    command = [
        str(PEERS_VENV / "bin" / "inspect"), "eval", f"{task}@bench", "--model", "openai-api/fake/m",
        "--max-connections", str(CONCURRENCY), "--display", "none", "--log-dir", str(logs), "--log-format", "json",
    ]  # fmt: skip
    env = {
        **os.environ,
        "FAKE_API_KEY": "none",
        "FAKE_BASE_URL": url,
        "INSPECT_LOG_LEVEL": "warning",
    }

    def score() -> float:
        log = json.loads(next(logs.glob("*.json")).read_text(encoding="utf-8"))
        return float(log["results"]["scores"][0]["metrics"]["accuracy"]["value"])

    return command, env, score


FLOOR_RACE = """
async def main(data, host, port, concurrency, out):
    rows = [json.loads(line) for line in open(data, encoding="utf-8")]
    todo, right = iter(rows), 0

    async def slot():
        nonlocal right
        reader, writer = await asyncio.open_connection(host, port)
        for row in todo:
            messages = [{"role": "user", "content": row["q"]}]
            body = json.dumps({"model": "m", "messages": messages, "max_tokens": 8}).encode()
            head = f"POST /v1/chat/completions HTTP/1.1\\r\\nHost: {host}\\r\\n"
            head += f"Content-Type: application/json\\r\\nContent-Length: {len(body)}\\r\\n\\r\\n"
            writer.write(head.encode() + body)
            lines = (await reader.readuntil(b"\\r\\n\\r\\n")).decode().lower().split("\\r\\n")
            size = next(int(x.split(":")[1]) for x in lines if x.startswith("content-length:"))
            answer = json.loads(await reader.readexactly(size))
            right += answer["choices"][0]["message"]["content"].strip()[:1] == row["y"]
        writer.close()

    await asyncio.gather(*(slot() for _ in range(concurrency)))
    open(out, "w").write(json.dumps({"accuracy": right / len(rows)}))
"""
"""The race both floor clients run: ``concurrency`` connections kept busy with one bare
request after another, the right answers counted."""

FLOOR_CLIENT = (
    "import asyncio, json, sys\n"
    + FLOOR_RACE
    + "\ndata, host, port, concurrency, out = sys.argv[1:]\n"
    "asyncio.run(main(data, host, int(port), int(concurrency), out))\n"
)
"""The least a Python client does: start, read the rows, keep ``concurrency`` connections
busy with one request after another, count the right answers. No retries, no store, no
statistics: what this machine's Python start-up and event loop allow, the ceiling under
any tool's rate from process start."""

FLOOR_TYPER_CLIENT = (
    "import asyncio, json, sys\nimport pydantic, typer, yaml\n"
    + FLOOR_RACE
    + "\ndef run(data: str, host: str, port: int, concurrency: int, out: str) -> None:\n"
    "    asyncio.run(main(data, host, port, concurrency, out))\n\n"
    "typer.run(run)\n"
)
"""The floor client with what a command line of the platform's stack loads before it can
read a task: its arguments parsed by Typer (which makes each parameter a pydantic adapter in
the version pinned, 0.29), pydantic and PyYAML imported. Nothing else of mosu: the ceiling
under the rate from process start of any tool that parses its command line with Typer and
checks its task with pydantic."""


def run_floor(
    folder: Path, data: Path, url: str, n: int, rows: int = 0, typer: bool = False
) -> tuple[list[str], dict[str, str], Callable[[], float]]:
    if VISION:
        raise Unsupported("the floor client sends text only")
    client, out = folder / "floor_client.py", folder / "floor.json"
    client.write_text(FLOOR_TYPER_CLIENT if typer else FLOOR_CLIENT, encoding="utf-8")
    address = urllib.parse.urlsplit(url)
    port = str(address.port)
    command = [sys.executable, str(client), str(data), str(address.hostname), port]
    command += [str(CONCURRENCY), str(out)]

    def score() -> float:
        return float(json.loads(out.read_text(encoding="utf-8"))["accuracy"])

    return command, dict(os.environ), score


TOOLS = {
    "mosu": run_mosu,
    "lm-eval": run_lm_eval,
    "inspect-ai": run_inspect,
    "floor": run_floor,
    "floor-typer": functools.partial(run_floor, typer=True),
}
PEERS = ("lm-eval", "inspect-ai")


class Unsupported(Exception):
    """The tool cannot run this case; the message says why."""


def ensure_peers() -> str | None:
    """Create the throwaway venv with the peers; the reason if that is impossible."""
    if (PEERS_VENV / "bin" / "lm_eval").exists() and (PEERS_VENV / "bin" / "inspect").exists():
        return None
    console.print(f"installing {', '.join(PEER_PACKAGES)} into {PEERS_VENV} …")
    try:
        subprocess.run(
            ["python3.11", "-m", "venv", str(PEERS_VENV)], check=True, capture_output=True
        )
        subprocess.run(
            [str(PEERS_VENV / "bin" / "pip"), "install", "-q", *PEER_PACKAGES],
            check=True,
            capture_output=True,
            text=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        return f"could not install peers: {exc}"
    return None


@dataclass
class Setup:
    """What every run of a bench shares: the data rows written, the fake server's port."""

    rows: int
    port: int
    peers_problem: str | None


def bench_one(tool: str, n: int, setup: Setup) -> Row:
    row = Row(tool, n)
    if tool in PEERS and setup.peers_problem:
        row.note = setup.peers_problem
        return row
    if tool != "mosu" and setup.rows > n:
        row.note = "--rows above the size: mosu only"
        return row
    with tempfile.TemporaryDirectory(prefix=f"mosu-bench-{tool}-") as tmp:
        folder = Path(tmp)
        data, key = write_data(folder, max(n, setup.rows), VISION)
        server, url = start_server(key, setup.port)
        try:
            try:
                command, env, score = TOOLS[tool](folder, data, url, n, setup.rows)
            except Unsupported as exc:
                row.note = str(exc)
                return row
            row.load = os.getloadavg()[0]
            server_before = process_cpu(server.pid)
            done = timed(command, env, folder)
            stats = server_stats(url)
            server_cpu = process_cpu(server.pid) - server_before
        finally:
            server.terminate()
            server.wait()
        row.wall, row.cpu_ms, row.requests = done.wall, done.cpu / n * 1000, int(stats["requests"])
        row.rss_mb = done.rss_mb
        row.server_cpu_ms = server_cpu / max(row.requests, 1) * 1000
        if stats["requests"] > 1 and stats["last"] > stats["first"]:
            row.server_rate = (stats["requests"] - 1) / (stats["last"] - stats["first"])
            # the same count over the time from the tool's start to its last request
            row.start_rate = stats["requests"] / (stats["last"] - done.start)
            row.first_s = stats["first"] - done.start
        if done.returncode != 0:
            row.note = f"exit {done.returncode}: {done.error}"
            return row
        try:
            row.score = score()
        except (StopIteration, KeyError, ValueError, OSError) as exc:
            row.note = f"no score found ({type(exc).__name__})"
        if tool == "mosu":
            row.note = RECORDED.pop(n, row.note)
    return row


def median_row(runs: list[Row]) -> Row:
    """The median of each figure over repeated runs (the CPUs may be shared)."""

    def mid(values: list[float]) -> float:
        return float(statistics.median(values))

    return Row(
        f"{runs[0].tool} (median)",
        runs[0].samples,
        runs[0].score,
        int(mid([r.requests for r in runs])),
        mid([r.server_rate for r in runs]),
        mid([r.start_rate for r in runs]),
        mid([r.first_s for r in runs]),
        mid([r.rss_mb for r in runs]),
        mid([r.wall for r in runs]),
        mid([r.cpu_ms for r in runs]),
        mid([r.server_cpu_ms for r in runs]),
        mid([r.load for r in runs]),
        f"{len(runs)} runs",
    )


COLUMNS = (
    "tool", "samples", "score", "requests", "req/s (server)", "% of limit", "% from start",
    "1st request s", "req/s (wall)", "CPU ms/sample", "peak RSS MB", "wall s",
    "server CPU ms/req", "load avg", "note",
)  # fmt: skip


def table_row(r: Row) -> list[str]:
    ran = bool(r.wall)
    return [
        r.tool,
        f"{r.samples:,}",
        f"{r.score:.3f}" if r.score is not None else "—",
        f"{r.requests:,}",
        f"{r.server_rate:,.0f}",
        f"{r.server_rate / LIMIT * 100:.0f}%",
        f"{r.start_rate / LIMIT * 100:.0f}%",
        f"{r.first_s:.2f}" if r.first_s else "—",
        f"{r.samples / r.wall:,.0f}" if ran else "—",
        f"{r.cpu_ms:.3f}" if ran else "—",
        f"{r.rss_mb:,.0f}" if ran else "—",
        f"{r.wall:.1f}" if ran else "—",
        f"{r.server_cpu_ms:.3f}" if ran else "—",
        f"{r.load:.1f}",
        r.note,
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="2000,20000")
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--repeat", type=int, default=1, help="runs of each tool and size")
    parser.add_argument("--rows", type=int, default=0, help="rows in the data file (mosu only)")
    parser.add_argument("--port", type=int, default=0, help="the fake server's port (0: any)")
    parser.add_argument("--vision", type=int, default=0, help="image side in pixels (0: text)")
    args = parser.parse_args()
    global VISION
    VISION = args.vision
    tools = [t for t in args.tools.split(",") if t]
    if "mosu" in tools:
        # mosu's bytecode, as pip writes it when it installs a wheel (the peers' venv has
        # theirs): an editable checkout run with PYTHONDONTWRITEBYTECODE=1 compiled every
        # module at every start, 0.1 s before the first request
        compileall.compile_dir(REPO / "mosu", quiet=1)
    peers_problem = ensure_peers() if any(t in PEERS for t in tools) else None
    setup = Setup(args.rows, args.port, peers_problem)
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        runs: dict[str, list[Row]] = {tool: [] for tool in tools}
        for _ in range(args.repeat):
            for tool in tools:  # in turns, so the machine's busy minutes spread over all
                console.print(f"running {tool} on {n} samples …")
                runs[tool].append(bench_one(tool, n, setup))
        for tool_runs in runs.values():
            rows += tool_runs
            if len(tool_runs) > 1:
                rows.append(median_row(tool_runs))
    table = Table(
        title=f"fake server: {LATENCY * 1000:.0f} ms latency, concurrency {CONCURRENCY}, "
        f"physical limit {LIMIT:,.0f} req/s; {os.cpu_count()} CPUs"
        + (f"; data file of {args.rows:,} rows" if args.rows else "")
        + (f"; a {VISION} × {VISION} PNG per sample" if VISION else "")
    )
    for column in COLUMNS:
        table.add_column(column, justify="left" if column in ("tool", "note") else "right")
    for r in rows:
        table.add_row(*table_row(r))
    console.print(table)


if __name__ == "__main__":
    main()
