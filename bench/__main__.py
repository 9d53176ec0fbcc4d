"""`make bench`: measure, then write bench/results.json (machine) and BENCHMARKS.md (human)."""

from __future__ import annotations

import json
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import coldstart, dynamodb_calls, report, sizes

ROOT = Path(__file__).resolve().parent.parent
COMMAND = "make bench"


def main() -> int:
    from infra.operations import discover

    per_operation, scans = dynamodb_calls.measure()
    functions = {op.name: (op.area, op.is_route) for op in discover()}
    results: dict[str, Any] = {
        "command": COMMAND,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "cold_start": coldstart.measure(functions),
        "dynamodb_calls": {name: sum(calls.values()) for name, calls in per_operation.items()},
        "dynamodb_calls_by_api": per_operation,
        "scans_on_request_paths": scans,
        **sizes.measure(),
    }
    results["targets"] = report.targets(results)
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    (ROOT / "BENCHMARKS.md").write_text(report.markdown(results))
    print(report.markdown(results))
    return 0 if all(t["met"] for t in results["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
