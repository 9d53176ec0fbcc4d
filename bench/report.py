"""Targets and the human-readable BENCHMARKS.md."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from bench import coldstart

COLD_START_RATIO_MAX = 1.15
COLD_START_MEDIAN_MAX = 1.05
FUNCTION_ZIP_MAX = 200 * 1024
LAYER_MAX = 24 * 1024 * 1024  # with bytecode and cryptography (docs/adr/0009-layer-size.md)
# The open-data layer (ocdsmerge and requests), only for the OCDS record functions (docs/adr/0016-...).
OPENDATA_LAYER_MAX = 5 * 1024 * 1024
ENROLL_ROUND_TRIPS_MAX = 2
ENROLL_WRU_MAX = 10
COST_PER_PURCHASE_USD_MAX = 0.0010  # the whole lifecycle: to the evaluations (issue 10)
CREDIT_PROFILE_ROUND_TRIPS_MAX = 1
CREDIT_EVENT_WRU_MAX = 6
SFN_TRANSITIONS_MAX = 12
DRAW_10000_MS_MAX = 50
QUOTE_ROUND_TRIPS_MAX = 2
BIDDING_TRANSITIONS_MAX = 20  # a three-round price-bidding purchase (issue 11)
STATISTICS_QUERY_ROUND_TRIPS_MAX = 1  # one GET /statistics answer: one Query (issue 12)
NOT_MEASURED = "not measured (see Errors)"


def _target(goal: str, value: Any, met: Callable[[Any], bool]) -> dict[str, Any]:
    if value is None:
        return {"target": goal, "value": NOT_MEASURED, "met": False}
    return {"target": goal, "value": value, "met": met(value)}


def targets(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    ratios = [f["ratio"] for f in results["cold_start"].values() if "ratio" in f]
    failed = sum(1 for f in results["cold_start"].values() if "error" in f)
    worst = max(ratios) if ratios else None
    median = round(statistics.median(ratios), 3) if ratios else None
    failures = f" ({failed} function(s) failed to import)" if failed else ""
    return {
        "cold_start_ratio": {
            "target": f"<= {COLD_START_RATIO_MAX} (every function, against {coldstart.REFERENCE_NAME})",
            "value": f"{worst}{failures}" if failed else worst,
            "met": worst is not None and worst <= COLD_START_RATIO_MAX and not failed,
        },
        "cold_start_ratio_median": {
            "target": f"<= {COLD_START_MEDIAN_MAX} (median over the functions)",
            "value": f"{median}{failures}" if failed else median,
            "met": median is not None and median <= COLD_START_MEDIAN_MAX and not failed,
        },
        "scans_on_request_paths": _target("0", results["scans_on_request_paths"], lambda v: v == 0),
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
        "opendata_layer_unzipped_bytes": _target(
            f"< {OPENDATA_LAYER_MAX}",
            results.get("opendata_layer_unzipped_bytes"),
            lambda v: v < OPENDATA_LAYER_MAX,
        ),
        "enroll_round_trips": _target(
            f"<= {ENROLL_ROUND_TRIPS_MAX}",
            results.get("enroll_round_trips"),
            lambda v: v <= ENROLL_ROUND_TRIPS_MAX,
        ),
        "sfn_transitions_per_purchase": _target(
            f"<= {SFN_TRANSITIONS_MAX}",
            results.get("sfn_transitions_per_purchase"),
            lambda v: v <= SFN_TRANSITIONS_MAX,
        ),
        "draw_10000_ms": _target(
            f"< {DRAW_10000_MS_MAX}", results.get("draw_10000_ms"), lambda v: v < DRAW_10000_MS_MAX
        ),
        "enroll_wru": _target(
            f"<= {ENROLL_WRU_MAX}", results.get("enroll_wru"), lambda v: v <= ENROLL_WRU_MAX
        ),
        "credit_profile_round_trips": _target(
            f"<= {CREDIT_PROFILE_ROUND_TRIPS_MAX}",
            results.get("credit_profile_round_trips"),
            lambda v: v <= CREDIT_PROFILE_ROUND_TRIPS_MAX,
        ),
        "credit_event_wru": _target(
            f"<= {CREDIT_EVENT_WRU_MAX}", results.get("credit_event_wru"), lambda v: v <= CREDIT_EVENT_WRU_MAX
        ),
        "cost_per_purchase_usd": _target(
            f"<= {COST_PER_PURCHASE_USD_MAX}",
            results.get("cost_per_purchase_usd"),
            lambda v: v <= COST_PER_PURCHASE_USD_MAX,
        ),
        "quote_round_trips": _target(
            f"<= {QUOTE_ROUND_TRIPS_MAX}",
            results.get("quote_round_trips"),
            lambda v: v <= QUOTE_ROUND_TRIPS_MAX,
        ),
        "bidding_transitions_per_purchase": _target(
            f"<= {BIDDING_TRANSITIONS_MAX} (three rounds)",
            results.get("bidding_transitions_per_purchase"),
            lambda v: v <= BIDDING_TRANSITIONS_MAX,
        ),
        "statistics_query_round_trips": _target(
            f"<= {STATISTICS_QUERY_ROUND_TRIPS_MAX}",
            results.get("statistics_query_round_trips"),
            lambda v: v <= STATISTICS_QUERY_ROUND_TRIPS_MAX,
        ),
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
        *_cold_start_reference(results),
        "| function | import ms (fastest) | import ms (median) | reference ms (fastest) | ratio "
        "| ratio, both with the collector paused | measured as |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, f in sorted(results["cold_start"].items()):
        if "error" in f:
            lines.append(f"| {name} | import failed: {f['error']} | | | | | |")
            continue
        shared = "itself" if f["measured_as"] == name else f"`{f['measured_as']}` (same modules)"
        lines.append(
            f"| {name} | {f['import_ms']} | {f['import_median_ms']} | {f['reference_ms']} | {f['ratio']} "
            f"| {f.get('ratio_collector_paused_both', '-')} | {shared} |"
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
        f"- open-data layer (ocdsmerge; OCDS record functions only), unzipped: "
        f"{results.get('opendata_layer_unzipped_bytes') or 0:,} bytes",
        "",
    ]
    lines += _enrollment(results)
    lines += _credit(results)
    lines += _transitions(results)
    lines += _draw(results)
    lines += _cost(results)
    lines += _bidding(results)
    lines += _ocds(results)
    lines += _red_flags(results)
    if results.get("errors"):
        lines += [
            "## Errors",
            "",
            "Measurements that did not complete (their targets are reported unmet):",
            "",
        ]
        lines += [f"- `{name}`: {message}" for name, message in results["errors"].items()]
        lines.append("")
    return "\n".join(lines)


def _calls_per_run(calls: dict[str, int], runs: int) -> str:
    """`service.Operation n` per run when every run made the same number, else the totals."""
    if not calls:
        return "-"
    if all(n % runs == 0 for n in calls.values()):
        return ", ".join(f"{k} {n // runs}" for k, n in calls.items())
    return "in all: " + ", ".join(f"{k} {n}" for k, n in calls.items())


def _money(usd: float) -> str:
    return f"${usd:.8f}".rstrip("0").rstrip(".") if usd else "$0"


def _enrollment(results: dict[str, Any]) -> list[str]:
    e = results.get("enrollment")
    lines = ["## Enrollment: DynamoDB round trips (`enroll`)", ""]
    if not e:
        return [*lines, NOT_MEASURED, ""]
    scenario = results.get("dynamodb_calls_by_api", {}).get("enroll")
    lines += [
        f"Counted on each of the {e['enrollments']} enrollments of the purchase below (in-process on moto, "
        "botocore call events, in call order); every enrollment made "
        + ("the same calls." if e["all_alike"] else "calls of its own; the costliest counts."),
        "",
        f"- **enroll_round_trips = {e['deciding_calls']}**: the sequential DynamoDB calls that decide the "
        f"enrollment, before its event is published: {', '.join(e['deciding'])} (the read of the purchase, "
        "its window row, the enrollment, the agency and its credit standing in one request; then the "
        "transaction that writes the enrollment, the count on the purchase's window row and the outbox row "
        "under their conditions). The Idempotency-Key's claim before them guards the request and decides "
        "nothing of the enrollment.",
        f"- **enroll_dynamodb_calls_total = {e['total_calls']}**: every DynamoDB call of the request: "
        f"{', '.join(e['total'])}: the idempotency claim, the two above, the outbox row's delete once the "
        "event is on the bus (a failed delete is left to the relay, and does not change the answer), the "
        "idempotency record's completion.",
    ]
    if "wru" in e:
        by_call = "; ".join(
            f"{c['call']} {c['wru']:g} + {c['index_wru']:g} on indexes" for c in e["wru_by_call"]
        )
        lines.append(f"- **enroll_wru = {e['wru']:g}**: the write request units of those calls: {by_call}.")
    if scenario:
        by_api = ", ".join(f"{k} {v}" for k, v in scenario.items())
        lines.append(f"- The shared scenario (table above) counts for `enroll`: {by_api}.")
    return [*lines, ""]


def _credit(results: dict[str, Any]) -> list[str]:
    c = results.get("credit")
    lines = ["## Credit: the public profile and recording an event (bench/credit_calls.py)", ""]
    if not c:
        return [*lines, NOT_MEASURED, ""]
    cases = "; ".join(
        f"{name} {case['wru']:g} ("
        + ", ".join(
            f"{b['call']} {b['wru']:g} + {b['index_wru']:g} on the due index" for b in case["by_call"]
        )
        + f"; read first: {case['rru']:g} RRU)"
        for name, case in c["cases"].items()
    )
    profile_calls = ", ".join(c["profile_calls"])
    no_record = ", ".join(c["no_record_profile_calls"])
    lines += [
        f"In-process on moto, an agency with {c['events_before']} events (abandonment, completion, "
        "an owner's evaluation, a regulator's penalty and reward).",
        "",
        f"- **credit_profile_round_trips = {c['profile_round_trips']}**: `GET /agencies/{{id}}/credit` "
        f"in a fresh execution environment: {profile_calls} of the agency's partition (the standing, "
        f"every event with the score it left, the history rows), {c['profile_rru']:g} RRU. An agency "
        f"with no record at all: {no_record} (its partition, empty, then the credit rules for the base "
        "score, cached for 5 minutes per execution environment).",
        f"- **credit_event_wru = {c['wru']:g}** (the costliest, `{c['worst_case']}`): the credit "
        "table's write request units to record one event and keep the standing current, in one "
        "transaction (2 WRU per KB of each item: the event row with the score it left, the standing; "
        f"the due index's entry at 1 WRU per KB, 2 when it moves). Per case: {cases}.",
        "- With the `CreditEventRecorded` outbox row in the same transaction and its delete once "
        f"published (`services.credit.record`): {c['with_outbox']['wru']:g} WRU.",
        "",
    ]
    return lines


def _transitions(results: dict[str, Any]) -> list[str]:
    t = results.get("sfn_transitions")
    lines = ["## Step Functions state transitions per purchase", ""]
    if not t:
        return [*lines, NOT_MEASURED, ""]
    lines += [
        "The local stack ran in a subprocess with `RULE_ENROLLMENT_MIN_WORKING_DAYS=0`; one privately "
        "funded purchase went through its API with the enrollment deadline "
        f"{t['window_seconds']} s after the draft, 3 agencies enrolled, the real state machine on moto "
        f"closed and drew ({t['drawn_after_seconds']} s after the enrollments began), the owner confirmed "
        f"and the selected agency accepted, which stops the execution (`{t['purchase_id']}`, then "
        f"{t.get('execution_status', 'RUNNING')}): nothing is left for it to time. A running one would wait "
        "for the confirmation deadline, days away, and then check.",
        "",
        "AWS bills a Standard workflow per state transition: every state entered (each `*StateEntered` "
        "event of the history), and every task retry.",
        "",
        f"- measured in the execution history: {t['measured_transitions']} "
        f"({' → '.join(t['measured_states'])})",
        (
            f"- still to come, read from the ASL for a confirmed purchase: {len(t['remaining_states'])} "
            f"({' → '.join(t['remaining_states'])})"
            if t["remaining_states"]
            else "- still to come: none (the execution was stopped)"
        ),
        f"- **sfn_transitions_per_purchase = {t['total_transitions']}**",
        f"- locally also {t['local_retries']} task retr{'y' if t['local_retries'] == 1 else 'ies'} "
        f"(total {t['local_total_with_retries']} with them): moto ends a timestamp Wait up to a second "
        "early (it truncates the seconds to wait), so CloseEnrollment answers StepNotDue once and retries "
        "5 s later. AWS ends the Wait at the timestamp, so the figure above leaves that retry out.",
        "",
    ]
    return lines


def _draw(results: dict[str, Any]) -> list[str]:
    d = results.get("draw")
    lines = ["## The draw over 10,000 candidates", ""]
    if not d:
        return [*lines, NOT_MEASURED, ""]
    return [
        *lines,
        f"`marketplace.domain.draw.draw` over {d['candidates']:,} unsorted candidate ids (1 winner, "
        f"2 reserves), wall time, fastest of {d['runs']} runs in this process: **{d['draw_ms']} ms** "
        f"(median {d['draw_median_ms']} ms; fastest CPU time {d['draw_cpu_ms']} ms). "
        f"`verify` of its proof, for information: {d['verify_ms']} ms (median {d['verify_median_ms']} ms).",
        "",
    ]


def _cost(results: dict[str, Any]) -> list[str]:
    c, steps = results.get("purchase_cost"), results.get("purchase_steps")
    lines = ["## Cost of one purchase at AWS list prices", ""]
    if not c or not steps:
        return [*lines, NOT_MEASURED, ""]
    lines += [
        f"One {c['funding_type']} random-draw purchase with {c['enrollments']} enrollments: draft, submit, "
        f"review, {c['enrollments']} enrollments, one public read of the purchase and one of its draw "
        "proof, the window's two tasks (close, select: the confirmation stops the window), the owner's "
        "confirmation and the agency's acceptance (which signs and stores the letter), and the "
        "notification consumer for every event delivered to it. Quantities are measured "
        "(bench/purchase_calls.py in-process on moto, bench/transitions.py on the local stack) except "
        "where the assumptions below say otherwise. "
        f"Prices: {c['region_priced']} list prices in USD recorded {c['prices_recorded']} (bench/cost.py), "
        "free tiers left out. The deployment's China regions (cn-north-1, cn-northwest-1) are priced in "
        "CNY on the AWS China pricing pages, with different unit prices.",
        "",
        "| item | quantity | unit | list price | cost (USD) | price source |",
        "|---|---|---|---|---|---|",
    ]
    for name, line in c["lines"].items():
        per = f"per {line['per']:,}" if line["per"] > 1 else "each"
        lines.append(
            f"| {name} | {line['quantity']:g} | {line['unit']} | ${line['price_usd']:g} {per} | "
            f"{_money(line['cost_usd'])} | {line['source']} |"
        )
    wru = c["lines"]["dynamodb_wru"]["quantity"]
    index_wru = sum(row["index_wru"] for row in steps.values())
    lines += [
        f"| **total** | | | | **{_money(c['total_usd'])}** | |",
        "",
        f"Of the {wru:g} write request units, {index_wru:g} are writes to global secondary indexes (the "
        "per-step table below).",
        "",
        f"At the DynamoDB on-demand prices before 2024-11-01 ($1.25 per million WRU, $0.25 per million RRU) "
        f"the total would be {_money(c['total_usd_at_pre_2024_dynamodb_prices'])}.",
        "",
        "Assumptions:",
        "",
        *[f"- {a}" for a in c["assumptions"]],
        *[f"- Note: {n}" for n in c.get("notes", [])],
        "",
        "Per step of the purchase (DynamoDB request units summed over its runs; WRU on the table, then on "
        "its global secondary indexes):",
        "",
        "| step | kind | runs | AWS calls per run | RRU | WRU | index WRU | ms (all runs) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in steps.items():
        per_run = _calls_per_run(row["calls"], row["runs"])
        lines.append(
            f"| {name} | {row['kind']} | {row['runs']} | {per_run} | {row['rru']:g} | {row['wru']:g} | "
            f"{row['index_wru']:g} | {row['ms']:.0f} |"
        )
    return [*lines, ""]


def _cold_start_reference(results: dict[str, Any]) -> list[str]:
    reference = results.get("cold_start_reference", {})
    figure = reference.get(coldstart.REFERENCE_NAME) or {}
    paused = reference.get("collector_paused") or {}
    return [
        f"The reference (`{reference.get('name', coldstart.REFERENCE_NAME)}`) is what every function must "
        f"import anyway: `{coldstart.REFERENCE_IMPORTS}`, {figure.get('import_ms')} ms at its fastest "
        f"(median {figure.get('import_median_ms')} ms over {figure.get('samples')} samples). Both sides",
        "import from the layer as built (compiled) and the function package compiled the same way, in a",
        "fresh interpreter with a deployed function's environment; reference and function are sampled",
        f"(CPU time) alternately, {coldstart.SAMPLES} pairs, and the ratio compares the fastest of each.",
        "Functions whose import loads the same modules share one measurement (the last column names it).",
        "The reference includes boto3, which no function imports at its start (clients are botocore's),",
        "so a function can measure under 1.0 (docs/adr/0005-libraries-and-cold-start.md).",
        "",
        "Every function pauses Python's garbage collector while it imports",
        "(functions/chalicelib/startup.py),",
        "which the reference, as the issue defines it, does not. For a like-with-like reading, the",
        "reference was also sampled with the collector paused "
        f"({paused.get('import_ms')} ms at its fastest over {paused.get('samples')} samples); the",
        "column `ratio, both with the collector paused` compares against that: it is what our own modules",
        "cost over what every function must import, whatever the collector does.",
        "",
    ]


def _bidding(results: dict[str, Any]) -> list[str]:
    q, path, c = results.get("quotes"), results.get("bidding_transitions"), results.get("bidding_cost")
    lines = ["## Price bidding (bench/bidding_calls.py, bench/transitions.py)", ""]
    if q:
        lines += [
            f"Counted on each of the {q['quotes']} quotes of a three-round purchase with 20 agencies "
            "(in-process on moto, in call order).",
            "",
            f"- **quote_round_trips = {q['deciding_calls']}**: the DynamoDB calls that decide a quote, "
            f"before its event is published: {', '.join(q['deciding'])} (the purchase, its window row, "
            "the agency's enrollment and its quote rows in one read; then the transaction that checks "
            "the enrollment, puts the sealed quote and counts it on the window row under the round's "
            f"deadline). The sealing itself is {', '.join(q['kms_calls'])} on the KMS key, not a "
            f"DynamoDB call; every DynamoDB call of the request: {', '.join(q['total'])} (the outbox "
            "row's delete once published).",
        ]
    else:
        lines.append(f"- quote_round_trips: {NOT_MEASURED}")
    if path:
        lines += [
            f"- **bidding_transitions_per_purchase = {path['transitions']}**: the states a "
            f"{path['rounds']}-round purchase enters, read from the ASL with each task answering as the "
            "window's functions do, to the end of a purchase confirmed before its deadline "
            f"({' → '.join(path['states'])}). A confirmation stops the execution at "
            "WaitForConfirmationDeadline, 3 states earlier.",
        ]
    else:
        lines.append(f"- bidding_transitions_per_purchase: {NOT_MEASURED}")
    if c:
        lines.append(
            f"- **bidding_cost_per_purchase_usd = {_money(c['total_usd'])}**: the whole lifecycle of "
            "that purchase (three rounds, 35 quotes, each sealed with one KMS Encrypt and opened with "
            "one Decrypt, then as the purchase above from the award to the evaluations), at the prices "
            "of the cost section."
        )
    lines.append("")
    return lines


def _ocds(results: dict[str, Any]) -> list[str]:
    """ocds (issue 12): reported, no target."""
    o = results.get("ocds_release")
    lines = ["## OCDS release (`ocds_release_ms`, reported, no target)", ""]
    if not o:
        return [*lines, NOT_MEASURED, ""]
    return [
        *lines,
        f"- **ocds_release_ms = {o['median_ms']}**: build one release of a completed purchase with "
        f"{o['enrollments']} enrollments and validate its release package against the OCDS 1.1.5 schemas "
        f"(median of {o['runs']} runs; fastest {o['fastest_ms']} ms; the build alone "
        f"{o['build_median_ms']} ms). bench/ocds_release.py, docs/ocds.md.",
        "",
    ]


def _red_flags(results: dict[str, Any]) -> list[str]:
    """red flags (issue 12): reported, no target."""
    c = results.get("red_flags_cost")
    lines = ["## Red flags (`red_flags_cost_per_purchase_usd`, reported, no target)", ""]
    if not c:
        return [*lines, NOT_MEASURED, ""]
    typical = c["typical"]
    steps = ", ".join(
        f"{step}: {v['calls']} calls, {v['rru']:g} RRU, {v['wru']:g} WRU"
        for step, v in typical["by_step"].items()
    )
    return [
        *lines,
        f"- **red_flags_cost_per_purchase_usd = {_money(c['red_flags_cost_per_purchase_usd'])}**: the "
        f"`compute_red_flags` consumer's Lambda, SQS and DynamoDB cost for one completed random-draw "
        f"purchase with {typical['enrollments']} enrollments ({typical['events_delivered']} events "
        f"delivered; {steps}), at the prices of the cost section. bench/red_flag_calls.py.",
        f"- with R044 naming all {typical['enrollments']} agencies (every one sharing a contact): "
        f"{_money(c['red_flags_cost_per_flagged_purchase_usd'])}.",
        "",
    ]
