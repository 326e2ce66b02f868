"""The platform's run store: a race's outcomes in the database, resumed by another store."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from mosu.evals.errors import EvalError
from mosu.evals.fakeserver import serve_in_thread
from mosu.evals.run import run
from mosu.evals.store import Outcome, RunStore, prompt_hash, serialise
from mosu.jobs.run_store import DatabaseRunStore
from tests.helpers.evals import answer_config, toy_task


def test_outcomes_prompts_and_bindings_survive_the_store_that_wrote_them(engine: Engine) -> None:
    first = DatabaseRunStore(engine, "submission-1")
    first.bind("task", "abc", what="task definition")
    messages = [{"role": "user", "content": "第1题：甲还是乙？"}]
    text = serialise(messages)
    first.remember_prompts([(prompt_hash(text), text), (prompt_hash(text), text)])
    answered = Outcome("entry", "1", "甲", None, 2, latency=0.5, ttft=0.1, prompt_tokens=9,
                       completion_tokens=1, finish_reason="stop", prompt_hash=prompt_hash(text))  # fmt: skip
    erred = Outcome("entry", "2", None, "HTTP 500", 3, latency=1.5)
    first.write([answered, erred])
    first.write([Outcome("entry@judge0", "1", "5", None, 1)])
    first.close()

    again = DatabaseRunStore(engine, "submission-1")  # another worker, the same database
    assert again.finished("entry") == {"1": answered, "2": erred}
    assert again.models() == ["entry", "entry@judge0"]
    assert again.prompt(prompt_hash(text)) == messages and again.prompt("0" * 64) is None
    assert again.count() == 3 and again.cached([answered.cache_key or "k"]) == {}
    again.bind("task", "abc", what="task definition")
    with pytest.raises(EvalError, match="different task definition"):
        again.bind("task", "xyz", what="task definition")
    retried = Outcome("entry", "2", "乙", None, 1, latency=0.2)
    again.write([retried])
    assert again.finished("entry")["2"] == retried
    assert DatabaseRunStore(engine, "submission-2").finished("entry") == {}
    with pytest.raises(EvalError, match="1 to 200 characters"):
        DatabaseRunStore(engine, "x" * 201)


def test_a_race_resumed_from_the_database_sends_nothing_again(
    engine: Engine, tmp_path: Path
) -> None:
    task = toy_task(tmp_path, 30)
    with serve_in_thread(answer_config(task, accuracy=0.8)) as (url, server):
        model = {"m": f"openai:{url}#m?concurrency=4"}
        first = run(task, model, store=DatabaseRunStore(engine, "r"), replicates=20)
        assert server.requests == 30
        again = run(task, model, store=DatabaseRunStore(engine, "r"), replicates=20)
        assert server.requests == 30  # every outcome was committed: none is asked again
    assert again.models[0].metrics == first.models[0].metrics
    assert len(DatabaseRunStore(engine, "r").finished("m")) == 30


def test_a_race_stored_in_a_file_before_the_upgrade_is_adopted_once(
    engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "races" / "stage-1" / "submission-7.sqlite"
    text = serialise([{"role": "user", "content": "第7题"}])
    old = RunStore(path)
    old.remember_prompts([(prompt_hash(text), text)])
    kept = [
        Outcome("entry", str(i), "甲", None, 1, prompt_hash=prompt_hash(text)) for i in range(3)
    ]
    old.write([*kept, Outcome("entry@judge0", "1", "4", None, 1)])
    old.close()
    store = DatabaseRunStore(engine, "submission-7")
    assert store.adopt(tmp_path / "no-such.sqlite") == 0
    assert store.adopt(path) == 4
    assert store.finished("entry") == {o.sample_id: o for o in kept}
    assert store.prompt(prompt_hash(text)) == [{"role": "user", "content": "第7题"}]
    store.write([Outcome("entry", "3", "乙", None, 1)])
    assert store.adopt(path) == 0 and store.count() == 5  # the run has begun here: kept as is
