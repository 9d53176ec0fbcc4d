"""`ocds_release_ms` (issue 12, docs/ocds.md): build one OCDS release for a completed purchase with
20 enrollments (marketplace.domain.ocds.build_release, from its public view and the organisations it
names) and validate its release package against the OCDS 1.1.5 schemas (tests/support/
ocds_validation: jsonschema, Draft 4, offline). Wall time per release, median of many runs after one
warm-up (which compiles the validator once, as a long-lived process would). Reported, no target."""

from __future__ import annotations

import statistics
import time
from typing import Any

ENROLLMENTS = 20
RUNS = 200


def measure(enrollments: int = ENROLLMENTS, runs: int = RUNS) -> dict[str, Any]:
    from marketplace.domain import ocds
    from tests.support import ocds_samples
    from tests.support.ocds_validation import validate_release_package

    view = ocds_samples.completed(enrollments)
    organisations = ocds_samples.organisations(enrollments)

    def once(n: int) -> None:
        trigger = ocds.Trigger(f"bench-{n}", "EvaluationRecorded")
        release = ocds.build_release(
            view, organisations, trigger, prefix=ocds.DEFAULT_OCID_PREFIX, date="2026-12-23T00:00:00Z"
        )
        validate_release_package(
            ocds.release_package(
                [release],
                uri="https://bench/ocds/releases",
                published_date=release["date"],
                publisher="bench",
            )
        )

    once(-1)  # warm-up: the validator and its registry are built once per process
    times, build_times = [], []
    for n in range(runs):
        started = time.perf_counter()
        once(n)
        times.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        ocds.build_release(
            view, organisations, ocds.Trigger("b", "EvaluationRecorded"), prefix="ocds-213czf", date="x"
        )
        build_times.append((time.perf_counter() - started) * 1000)
    return {
        "enrollments": enrollments,
        "runs": runs,
        "median_ms": round(statistics.median(times), 3),
        "fastest_ms": round(min(times), 3),
        "build_median_ms": round(statistics.median(build_times), 3),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(measure()))
