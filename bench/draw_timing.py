"""Time of the verifiable draw (marketplace.domain.draw) over many candidates: `draw` as the selection
runs it, and `verify` as anyone checking the published proof runs it (for information). Wall time of
each call, fastest of several runs (the run least disturbed by the machine's other work); the median
and the fastest CPU time (process time, which leaves out the moments another process held the core)
are kept as well. The candidates are given unsorted, as the selection passes them."""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

CANDIDATES = 10_000
RUNS = 25


def measure(candidates: int = CANDIDATES, runs: int = RUNS) -> dict[str, Any]:
    from marketplace.domain.draw import draw, verify

    ids = [f"AG-{n:06d}" for n in range(candidates)]
    random.Random(20261201).shuffle(ids)
    seed = bytes(range(32))
    draws, verifies, draw_cpu = [], [], []
    proof: dict[str, Any] = {}
    for _ in range(runs):
        started, cpu = time.perf_counter(), time.process_time()
        result = draw("P-BENCH-0001", seed, ids, winners=1, reserves=2, drawn_at="2026-12-04T09:00:00Z")
        draws.append((time.perf_counter() - started) * 1000)
        draw_cpu.append((time.process_time() - cpu) * 1000)
        proof = result.as_dict()
        started = time.perf_counter()
        problems = verify(proof)
        verifies.append((time.perf_counter() - started) * 1000)
        if problems:
            raise RuntimeError(f"the draw's own proof does not verify: {problems}")
    return {
        "candidates": candidates,
        "runs": runs,
        "draw_ms": round(min(draws), 2),
        "draw_median_ms": round(statistics.median(draws), 2),
        "draw_cpu_ms": round(min(draw_cpu), 2),
        "verify_ms": round(min(verifies), 2),
        "verify_median_ms": round(statistics.median(verifies), 2),
    }
