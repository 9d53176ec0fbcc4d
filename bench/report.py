"""Targets and the human-readable BENCHMARKS.md."""

from __future__ import annotations

from typing import Any

COLD_START_RATIO_MAX = 1.25
FUNCTION_ZIP_MAX = 200 * 1024
LAYER_MAX = 6 * 1024 * 1024


def targets(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    worst = max(f["ratio"] for f in results["cold_start"].values())
    return {
        "cold_start_ratio": {
            "target": f"<= {COLD_START_RATIO_MAX}",
            "value": worst,
            "met": worst <= COLD_START_RATIO_MAX,
        },
        "scans_on_request_paths": {
            "target": "0",
            "value": results["scans_on_request_paths"],
            "met": results["scans_on_request_paths"] == 0,
        },
        "function_zip_bytes": {
            "target": f"< {FUNCTION_ZIP_MAX}",
            "value": results["function_zip_bytes"],
            "met": results["function_zip_bytes"] < FUNCTION_ZIP_MAX,
        },
        "layer_unzipped_bytes": {
            "target": f"< {LAYER_MAX}",
            "value": results["layer_unzipped_bytes"],
            "met": results["layer_unzipped_bytes"] < LAYER_MAX,
        },
    }


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Produced by `{results['command']}` on {results['measured_at']} "
        f"(Python {results['machine']['python']}, {results['machine']['platform']}). "
        "Machine-readable: `bench/results.json`.",
        "",
        "## Targets",
        "",
        "| target | goal | measured | met |",
        "|---|---|---|---|",
    ]
    for name, t in results["targets"].items():
        lines.append(f"| {name} | {t['target']} | {t['value']} | {'yes' if t['met'] else 'NO'} |")
    lines += [
        "",
        "## Cold start (import of the function's module in a fresh interpreter)",
        "",
        "The floor is a bare `import boto3, pynamodb.models, chalice, aws_xray_sdk.core`, sampled (CPU time)",
        "alternately with each function (5 pairs); the ratio compares the fastest of each.",
        "",
        "| function | import ms (fastest) | import ms (median) | floor ms (fastest) | ratio |",
        "|---|---|---|---|---|",
    ]
    for name, f in sorted(results["cold_start"].items()):
        lines.append(
            f"| {name} | {f['import_ms']} | {f['import_median_ms']} | {f['floor_ms']} | {f['ratio']} |"
        )
    lines += [
        "",
        "## DynamoDB calls per operation (one call of each route, on moto)",
        "",
        "| operation | calls | by API |",
        "|---|---|---|",
    ]
    for name, total in sorted(results["dynamodb_calls"].items()):
        by_api = ", ".join(f"{k} {v}" for k, v in results["dynamodb_calls_by_api"][name].items()) or "-"
        lines.append(f"| {name} | {total} | {by_api} |")
    lines += [
        "",
        f"Scans on request paths: **{results['scans_on_request_paths']}**.",
        "",
        "## Sizes",
        "",
        f"- function package (chalice deployment.zip): {results['function_zip_bytes']:,} bytes",
        f"- common layer, unzipped: {results['layer_unzipped_bytes']:,} bytes",
        "",
    ]
    return "\n".join(lines)
