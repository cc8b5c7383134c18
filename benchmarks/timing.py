"""Median per-call timings, measured side by side in one process run."""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any


def interleaved(cases: dict[str, Callable[[int], float]], *, batch: int = 1000, repeat: int = 15) -> dict[str, float]:
    """Median µs per call for every case, their batches taken in turn.

    Round-robin sampling spreads a noisy neighbour's bursts over every case alike, so the
    ratios between cases hold even when the absolute figures drift.
    """
    for run_batch in cases.values():
        run_batch(max(batch // 10, 10))  # warm-up
    samples: dict[str, list[float]] = {name: [] for name in cases}
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeat):
            for name, run_batch in cases.items():
                samples[name].append(run_batch(batch) / batch * 1e6)
    finally:
        gc.enable()
    return {name: statistics.median(values) for name, values in samples.items()}


class _Cycle:
    """The arguments in turn, each batch going on where the last one stopped (so that a
    "new token each time" case stays cold however its batches are sized)."""

    def __init__(self, args: Sequence[Any]) -> None:
        self.args = args
        self.next = 0

    def take(self, n: int) -> list[Any]:
        args, start = self.args, self.next
        self.next = (start + n) % len(args)
        return [args[(start + i) % len(args)] for i in range(n)]


def sync_batch(
    call: Callable[[Any], object], args: Sequence[Any], clock: Callable[[], float] = time.perf_counter
) -> Callable[[int], float]:
    """Seconds for ``n`` calls, by ``clock`` (``time.thread_time`` leaves out the time other processes held the CPU)."""
    cycle = _Cycle(args)

    def run(n: int) -> float:
        items = cycle.take(n)
        t0 = clock()
        for item in items:
            call(item)
        return clock() - t0

    return run


def async_batch(
    call: Callable[[Any], Awaitable[object]], args: Sequence[Any], clock: Callable[[], float] = time.perf_counter
) -> Callable[[int], float]:
    loop = asyncio.new_event_loop()
    cycle = _Cycle(args)

    async def many(items: list[Any]) -> float:
        t0 = clock()
        for item in items:
            await call(item)
        return clock() - t0

    def run(n: int) -> float:
        return loop.run_until_complete(many(cycle.take(n)))

    return run
