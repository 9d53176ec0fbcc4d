"""What one purchase costs at AWS list prices, from measured counts.

Quantities come from the in-process purchase (bench/purchase_calls.py: every AWS call of a fiscal
purchase with N enrollments, with the DynamoDB request units each consumes) and from the local
stack's execution history (bench/transitions.py: Step Functions state transitions). What is not
measured is an assumption, stated in ASSUMPTIONS and shown in BENCHMARKS.md.

Prices: us-east-1 list prices in USD, recorded 2026-11-29 from the AWS pricing pages named in each
entry; free tiers are left out. They are not fetched when the bench runs: check the pages before
relying on the figure. The deployment's own regions (cn-north-1, cn-northwest-1) are priced in CNY
on the AWS China pricing pages (amazonaws.cn), with other unit prices: this is an order of magnitude
to compare designs with, not a quote.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PRICES_RECORDED = "2026-11-29"
LAMBDA_MEMORY_GB = 0.25  # 256 MB, arm64
SQS_REQUESTS_PER_DELIVERED_EVENT = (
    3  # EventBridge's SendMessage, the poller's ReceiveMessage, DeleteMessageBatch
)


KMS_SYMMETRIC = ("Encrypt", "Decrypt")  # the sealing key (price bidding); Sign is the letters' key


@dataclass(frozen=True)
class Price:
    usd: float  # per `per` units
    per: int
    unit: str
    source: str

    def of(self, quantity: float) -> float:
        return quantity * self.usd / self.per


PRICES: dict[str, Price] = {
    "api_gateway_requests": Price(
        3.50,
        1_000_000,
        "REST API request",
        "Amazon API Gateway pricing: REST APIs, first 333 million a month",
    ),
    "lambda_requests": Price(0.20, 1_000_000, "invocation", "AWS Lambda pricing: requests"),
    "lambda_gb_seconds": Price(
        0.0000133334,
        1,
        "GB-second (arm64)",
        "AWS Lambda pricing: duration, Arm, first 7.5 billion GB-s a month",
    ),
    "dynamodb_wru": Price(
        0.625,
        1_000_000,
        "write request unit",
        "Amazon DynamoDB pricing, on-demand capacity (halved on 2024-11-01 from $1.25)",
    ),
    "dynamodb_rru": Price(
        0.125,
        1_000_000,
        "read request unit",
        "Amazon DynamoDB pricing, on-demand capacity (halved on 2024-11-01 from $0.25)",
    ),
    "sfn_transitions": Price(
        0.025, 1_000, "state transition", "AWS Step Functions pricing: Standard workflows"
    ),
    "eventbridge_events": Price(
        1.00, 1_000_000, "custom event (64 KB chunk)", "Amazon EventBridge pricing: custom events published"
    ),
    "sqs_requests": Price(
        0.40,
        1_000_000,
        "request (64 KB chunk)",
        "Amazon SQS pricing: standard queues, after the first million",
    ),
    "kms_asymmetric_requests": Price(
        0.15,
        10_000,
        "request on the ECC_NIST_P256 key",
        "AWS Key Management Service pricing: key usage, asymmetric requests except RSA 2048 "
        "($0.03 per 10,000 is the symmetric rate)",
    ),
    "kms_symmetric_requests": Price(
        0.03,
        10_000,
        "request on the symmetric sealing key",
        "AWS Key Management Service pricing: key usage, symmetric requests (sealing and opening quotes)",
    ),
    "s3_put_requests": Price(
        0.005, 1_000, "PUT request", "Amazon S3 pricing: S3 Standard, PUT, COPY, POST, LIST requests"
    ),
    "s3_get_requests": Price(
        0.0004, 1_000, "GET request", "Amazon S3 pricing: S3 Standard, GET, SELECT and all other requests"
    ),
}

# Brief's DynamoDB figures, which predate the 2024-11-01 reduction: shown beside the estimate.
DYNAMODB_PRE_2024 = {"dynamodb_wru": 1.25, "dynamodb_rru": 0.25}

ASSUMPTIONS = [
    "Every API call is one API Gateway request and one Lambda invocation; every window task and every "
    "notification delivery is one Lambda invocation (the consumer gets each event alone in its batch: "
    "the most invocations, since SQS may batch up to 10).",
    "Lambda duration: the wall time of each step measured in-process on moto (DynamoDB answered in the "
    "same process, not over the network), billed at 256 MB arm64; cold-start init time is not included.",
    f"SQS: {SQS_REQUESTS_PER_DELIVERED_EVENT} requests per delivered event (EventBridge's SendMessage, the "
    "Lambda poller's ReceiveMessage, its DeleteMessageBatch). The pollers' empty long polls are a fixed "
    "cost of the queue, not of a purchase.",
    "Step Functions: the transitions AWS bills for the path this purchase takes (states entered), without "
    "the retry the local emulator adds (its timestamp Waits end up to a second early).",
    "DynamoDB: request units computed from the real item sizes (bench/aws_calls.py): transactional writes "
    "at 2 WRU per KB of each item, ConditionChecks included; a global secondary index written only when a "
    "write adds, changes or removes the item's entry in it (its keys and projected attributes), a key change "
    "as a delete and a put, each at 1 WRU per KB of the entry. Each enrollment sends an Idempotency-Key "
    "(its record's claim and completion are counted). Reads of the tables by the scheduled relay and "
    "sweeper, storage, backups and streams are not per-purchase costs and are left out.",
    "Not included: the scheduled functions (outbox relay every minute, sweeper every 5 minutes, daily "
    "certificate check), CloudWatch Logs, X-Ray traces, the KMS key's $1 a month, S3 storage, data "
    "transfer, the Cognito user pool, and the reads of the letter and notification pages afterwards.",
]


def quantities(purchase: dict[str, Any], transitions: int) -> dict[str, float]:
    steps = purchase["steps"]
    calls = [c for s in steps for c in s["calls"]]

    def count(service: str, *operations: str) -> int:
        return sum(
            1 for c in calls if c["service"] == service and (not operations or c["operation"] in operations)
        )

    invocations = [s for s in steps if s["kind"] in ("api", "task", "consumer")]
    return {
        "api_gateway_requests": sum(1 for s in steps if s["kind"] == "api"),
        "lambda_requests": len(invocations),
        "lambda_gb_seconds": sum(s["ms"] for s in steps) / 1000 * LAMBDA_MEMORY_GB,
        "dynamodb_wru": sum(c["wru"] + c["index_wru"] for c in calls),
        "dynamodb_rru": sum(c["rru"] for c in calls),
        "sfn_transitions": transitions,
        "eventbridge_events": sum(c.get("entries", 0) for c in calls),
        "sqs_requests": len(purchase["events_delivered"]) * SQS_REQUESTS_PER_DELIVERED_EVENT,
        "kms_asymmetric_requests": count("kms") - count("kms", *KMS_SYMMETRIC),
        "kms_symmetric_requests": count("kms", *KMS_SYMMETRIC),
        "s3_put_requests": count("s3", "PutObject"),
        "s3_get_requests": count("s3", "GetObject", "HeadObject"),
    }


def estimate(purchase: dict[str, Any], transitions: int) -> dict[str, Any]:
    amounts = quantities(purchase, transitions)
    lines: dict[str, dict[str, Any]] = {
        name: {
            "quantity": round(quantity, 4),
            "unit": PRICES[name].unit,
            "price_usd": PRICES[name].usd,
            "per": PRICES[name].per,
            "cost_usd": PRICES[name].of(quantity),
            "source": PRICES[name].source,
        }
        for name, quantity in amounts.items()
    }
    total = sum(line["cost_usd"] for line in lines.values())
    old_dynamodb = sum(amounts[name] * usd / PRICES[name].per for name, usd in DYNAMODB_PRE_2024.items())
    new_dynamodb = lines["dynamodb_wru"]["cost_usd"] + lines["dynamodb_rru"]["cost_usd"]
    return {
        "enrollments": purchase["enrollments"],
        "funding_type": purchase["funding_type"],
        "prices_recorded": PRICES_RECORDED,
        "region_priced": "us-east-1",
        "lines": lines,
        "total_usd": total,
        "total_usd_at_pre_2024_dynamodb_prices": total - new_dynamodb + old_dynamodb,
        "assumptions": ASSUMPTIONS,
        "notes": purchase.get("notes", []),
    }


def by_step(purchase: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per step name: how often it ran and, per run, its AWS calls and DynamoDB request units."""
    table: dict[str, dict[str, Any]] = {}
    for step in purchase["steps"]:
        row = table.setdefault(
            step["name"],
            {
                "kind": step["kind"],
                "runs": 0,
                "calls": {},
                "rru": 0.0,
                "wru": 0.0,
                "index_wru": 0.0,
                "ms": 0.0,
            },
        )
        row["runs"] += 1
        row["ms"] += step["ms"]
        for c in step["calls"]:
            name = f"{c['service']}.{c['operation']}"
            row["calls"][name] = row["calls"].get(name, 0) + 1
            row["rru"] += c["rru"]
            row["wru"] += c["wru"]
            row["index_wru"] += c["index_wru"]
    return table
