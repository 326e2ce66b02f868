"""Built-in job handlers. ``eval.race`` runs the evaluation engine on a payload.

Payload of ``eval.race``::

    {"task": "gov_messages" or "path/to/task.yaml",
     "data_dir": "../shared/data",            # optional, where the task's data paths point
     "models": {"name": "spec", ...},         # openai specs may name a registered endpoint's
                                              # stored key: ...?key_ref=endpoint:ID
     "store": "runs/race-12",                 # the run's name in the platform's run store
     "results": "runs/race-12/results.json",  # optional: the full scored race is written here
     "replicates": 1000, "seed": 0, "retry_errors": false}

With ``MOSU_RAY_ADDRESS`` set, the race's shards run as Ray tasks on that cluster.
The engine commits every finished sample to the run ``store`` in the platform's database
(:mod:`mosu.jobs.run_store`), so a job that is claimed again after its worker died, by a
worker on any machine, re-runs the same race on the same run and sends no request that had
already completed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mosu.evals import stats
from mosu.evals.observe import race_observer
from mosu.evals.ray_executor import executor_for
from mosu.evals.run import Progress, arun
from mosu.evals.tasks import load_task
from mosu.jobs.errors import RACE_NEEDS_ENGINE, RACE_PAYLOAD_INCOMPLETE
from mosu.jobs.run_store import DatabaseRunStore
from mosu.jobs.worker import JobContext, handler


def _path(value: str, ctx: JobContext) -> Path:
    path = Path(value)
    return path if path.is_absolute() else ctx.data_dir / path


@handler("eval.race")
async def eval_race(ctx: JobContext) -> dict[str, Any]:
    """Race the payload's models on its task; the result is the leaderboard."""
    payload = ctx.payload
    missing = [k for k in ("task", "models", "store") if not payload.get(k)]
    if missing:
        raise RACE_PAYLOAD_INCOMPLETE(fields=", ".join(missing))
    data_dir = payload.get("data_dir")
    task = load_task(payload["task"], data_dir=Path(data_dir) if data_dir else None)
    if ctx.engine is None:
        raise RACE_NEEDS_ENGINE()
    store = DatabaseRunStore(ctx.engine, f"eval.race:{payload['store']}")
    counters: dict[str, Progress] = {}

    def progress(counter: Progress) -> None:
        counters[counter.model] = counter
        ctx.progress(
            sum(c.done for c in counters.values()), sum(c.total for c in counters.values())
        )

    result = await arun(
        task,
        dict(payload["models"]),
        store=store,
        progress=progress,
        retry_errors=bool(payload.get("retry_errors", False)),
        replicates=int(payload.get("replicates", stats.DEFAULT_REPLICATES)),
        seed=int(payload.get("seed", 0)),
        secrets=ctx.secrets,
        executor=executor_for(
            ctx.ray_address, seed=int(payload.get("seed", 0)), loop=ctx.eval_loop
        ),
        network=ctx.address_policy,
        observe=race_observer(),
    )
    if payload.get("results"):
        target = _path(payload["results"], ctx)
        target.parent.mkdir(parents=True, exist_ok=True)
        result.write(target)
    return {
        "task": result.task,
        "samples": result.samples,
        "primary": result.primary,
        "models": [
            {
                "name": m.name,
                "rank": m.rank,
                "value": m.metrics[result.primary].value,
                "low": m.metrics[result.primary].low,
                "high": m.metrics[result.primary].high,
                "errors": m.errors,
                "requests": m.requests,
            }
            for m in result.models
        ],
        "failed": [{"name": f.name, "reason": f.reason} for f in result.failed],
    }
