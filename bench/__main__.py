"""`make bench`: measure, then write bench/results.json (machine) and BENCHMARKS.md (human).

A measurement that fails is recorded under `errors` with its message, its target is reported unmet,
and the other measurements still run; the exit status is then 1, as for a target missed."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from bench import (
    bidding_calls,
    coldstart,
    cost,
    credit_calls,
    draw_timing,
    dynamodb_calls,
    ocds_release,
    purchase_calls,
    red_flag_calls,
    report,
    sizes,
    statistics_calls,
    transitions,
)

ROOT = Path(__file__).resolve().parent.parent
COMMAND = "make bench"
T = TypeVar("T")


def _attempt(name: str, errors: dict[str, str], measure: Callable[[], T]) -> T | None:
    try:
        return measure()
    except Exception as exc:
        errors[name] = f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
        return None


def _fresh(module: str, argument: int) -> dict[str, Any]:
    """A bench module in a fresh interpreter: no client or cache of an earlier measurement. Its
    result is the last line it prints (the app's own logs come before it)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(str(ROOT / p) for p in ("layers/common/python", "functions", "."))
    env["AWS_DEFAULT_REGION"] = "cn-north-1"
    done = subprocess.run(
        [sys.executable, "-m", module, str(argument)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{module} exited with {done.returncode}: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _purchase() -> dict[str, Any]:
    return _fresh("bench.purchase_calls", purchase_calls.ENROLLMENTS)


def _bidding() -> dict[str, Any]:
    return _fresh("bench.bidding_calls", bidding_calls.AGENCIES)


def bidding_results(errors: dict[str, str]) -> dict[str, Any]:
    """Price bidding: a quote's round trips, the transitions and the cost of a three-round purchase."""
    results: dict[str, Any] = {}
    purchase = _attempt("bidding_calls", errors, _bidding)
    quotes = _attempt("quotes", errors, lambda: bidding_calls.quotes(purchase or {"steps": []}))
    results["quotes"] = quotes
    results["quote_round_trips"] = quotes["deciding_calls"] if quotes else None
    path = _attempt("bidding_transitions", errors, transitions.bidding)
    results["bidding_transitions"] = path
    results["bidding_transitions_per_purchase"] = path["transitions"] if path else None
    estimate = (
        _attempt("bidding_cost", errors, lambda: cost.estimate(purchase, path["transitions"]))
        if purchase and path
        else None
    )
    results["bidding_cost"] = estimate
    results["bidding_cost_per_purchase_usd"] = round(estimate["total_usd"], 6) if estimate else None
    return results


def main() -> int:
    from infra.operations import discover

    errors: dict[str, str] = {}
    measured = _attempt("dynamodb_calls", errors, dynamodb_calls.measure)
    per_operation, scans = measured if measured is not None else ({}, None)
    functions = {op.name: (op.area, op.is_route) for op in discover()}
    results: dict[str, Any] = {
        "command": COMMAND,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        **coldstart.measure(functions),
        "dynamodb_calls": {name: sum(calls.values()) for name, calls in per_operation.items()},
        "dynamodb_calls_by_api": per_operation,
        "scans_on_request_paths": scans,
        **sizes.measure(),
    }

    draw = _attempt("draw", errors, draw_timing.measure)
    results["draw"] = draw
    results["draw_10000_ms"] = draw["draw_ms"] if draw else None

    purchase = _attempt("purchase_calls", errors, _purchase)
    enrollment = _attempt("enrollment", errors, lambda: purchase_calls.enrollment(purchase or {"steps": []}))
    results["enrollment"] = enrollment
    results["enroll_round_trips"] = enrollment["deciding_calls"] if enrollment else None
    results["enroll_dynamodb_calls_total"] = enrollment["total_calls"] if enrollment else None
    results["enroll_wru"] = enrollment["wru"] if enrollment else None

    credit = _attempt("credit", errors, credit_calls.measure)
    results["credit"] = credit
    results["credit_profile_round_trips"] = credit["profile_round_trips"] if credit else None
    results["credit_event_wru"] = credit["wru"] if credit else None

    window = _attempt("sfn_transitions", errors, transitions.measure)
    results["sfn_transitions"] = window
    results["sfn_transitions_per_purchase"] = window["total_transitions"] if window else None

    results["purchase_steps"] = cost.by_step(purchase) if purchase else None
    estimate = (
        _attempt("purchase_cost", errors, lambda: cost.estimate(purchase, window["total_transitions"]))
        if purchase and window
        else None
    )
    results["purchase_cost"] = estimate
    results["cost_per_purchase_usd"] = round(estimate["total_usd"], 6) if estimate else None
    results.update(bidding_results(errors))
    # ocds (issue 12): reported, no target.
    ocds = _attempt("ocds_release", errors, ocds_release.measure)
    results["ocds_release"] = ocds
    results["ocds_release_ms"] = ocds["median_ms"] if ocds else None
    # statistics (issue 12): the DynamoDB calls of one GET /statistics answer.
    stats = _attempt("statistics", errors, statistics_calls.measure)
    results["statistics"] = stats
    results["statistics_query_round_trips"] = stats["round_trips"] if stats else None
    # Red flags (issue 12 red-flags): the consumer's cost for one completed purchase.
    red = _attempt("red_flags", errors, lambda: _fresh("bench.red_flag_calls", red_flag_calls.ENROLLMENTS))
    results["red_flags_cost"] = red
    results["red_flags_cost_per_purchase_usd"] = red["red_flags_cost_per_purchase_usd"] if red else None
    results["errors"] = errors

    results["targets"] = report.targets(results)
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    (ROOT / "BENCHMARKS.md").write_text(report.markdown(results))
    print(report.markdown(results))
    return 0 if all(t["met"] for t in results["targets"].values()) and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
