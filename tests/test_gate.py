"""The database gate: writes have their own turns, so reads pass writers that wait."""

from __future__ import annotations

import anyio
import pytest

from mosu.core.gate import DatabaseGate


def test_turns_split_a_quarter_to_writes() -> None:
    gate = DatabaseGate(40)
    assert (gate.reads, gate.writes, gate.threads) == (30, 10, 48)
    assert (DatabaseGate(2).reads, DatabaseGate(2).writes) == (1, 1)
    with pytest.raises(ValueError):
        DatabaseGate(1)


def test_a_read_passes_while_every_write_turn_is_taken() -> None:
    gate = DatabaseGate(8)
    passed: list[str] = []

    async def main() -> None:
        release = anyio.Event()

        async def write() -> None:
            async with gate.turn("POST"):
                await release.wait()

        async with anyio.create_task_group() as tasks:
            for _ in range(gate.writes + 1):  # every write turn taken, one more waiting
                tasks.start_soon(write)
            await anyio.wait_all_tasks_blocked()
            with anyio.move_on_after(10):  # a guard against a hang, not a measurement
                async with gate.turn("GET"):
                    passed.append("GET")
            release.set()

    anyio.run(main)
    assert passed == ["GET"]
