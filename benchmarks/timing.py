"""Median per-call timings, measured side by side in one process run."""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any


def median_us(run_batch: Callable[[int], float], *, batch: int = 2000, repeat: int = 9) -> float:
    """``run_batch(n)`` runs n calls and returns seconds; the median over batches, in µs per call."""
    run_batch(max(batch // 10, 10))  # warm-up
    gc.collect()
    gc.disable()
    try:
        samples = [run_batch(batch) / batch * 1e6 for _ in range(repeat)]
    finally:
        gc.enable()
    return statistics.median(samples)


def sync_batch(call: Callable[[Any], object], args: Sequence[Any]) -> Callable[[int], float]:
    def run(n: int) -> float:
        items = [args[i % len(args)] for i in range(n)]
        t0 = time.perf_counter()
        for item in items:
            call(item)
        return time.perf_counter() - t0

    return run


def async_batch(call: Callable[[Any], Awaitable[object]], args: Sequence[Any]) -> Callable[[int], float]:
    loop = asyncio.new_event_loop()

    async def many(items: list[Any]) -> float:
        t0 = time.perf_counter()
        for item in items:
            await call(item)
        return time.perf_counter() - t0

    def run(n: int) -> float:
        return loop.run_until_complete(many([args[i % len(args)] for i in range(n)]))

    return run
