"""One Lambda function per operation, each with its own role; the functions of one area share a log
group. API Gateway invokes the route functions with one integration role (infra/api.py
invoke_role), not a permission on each (docs/adr/0018-resource-count.md)."""

from __future__ import annotations

from infra import names
from infra.cfn import NO_VALUE, Json, get_att, ref, service_role, sub
from infra.definitions import OPEN_DATA_FUNCTIONS
from infra.identity import token_environment
from infra.keys import data_key_arn, sealing_key_alias
from infra.messaging import EVENT_SOURCE
from infra.operations import Operation
from infra.tables import TABLE_PREFIX

# States machines are named `<stack>-<file>` (infra/workflows.py); the app appends the file name.
STATE_MACHINE_ARN_PREFIX = (
    "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${AWS::StackName}-"
)

RUNTIME = "python3.11"
ARCHITECTURES = ["arm64"]
CHALICE_CODE_URI = "./deployment.zip"  # chalice package's CodeUri for every function it emits
ROUTE_HANDLER = "app.app"  # Chalice dispatches on resource path and method: each copy serves its route
ROUTE_MEMORY_MB = 512
ROUTE_TIMEOUT_SECONDS = 20  # API Gateway gives up at 29 s; SDK timeouts are 2 s connect, 5 s read
TASK_MEMORY_MB = 256
TASK_TIMEOUT_SECONDS = 60
LOG_RETENTION_DAYS = 365  # China's Cybersecurity Law asks for at least six months of logs

CONCURRENCY = (
    "ReservedConcurrentExecutions comes from the ReservedConcurrencyPerFunction parameter; 0 (the "
    "default) reserves nothing. Reserving for every function fails on new accounts, whose concurrency "
    "quota can be 10 with 100 required to stay unreserved; the API stage's throttling (MethodSettings) "
    "bounds concurrent route invocations instead. Set the parameter where the quota allows it."
)
NO_VPC = (
    "Not in a VPC: the function calls only AWS APIs (DynamoDB, EventBridge, KMS, S3, Step Functions) over "
    "TLS with IAM authentication and reaches no private resource; a VPC would add NAT gateways or "
    "endpoints and protect no data path."
)
DEFAULT_ENVIRONMENT_KEY = (
    "Environment variables encrypted with the Lambda service key: they hold resource names, ARNs and "
    "URLs, never a secret, so a customer managed key would protect nothing more."
)
NO_DEAD_LETTER = {
    "api": "No dead-letter queue: API Gateway invokes the function synchronously and the caller receives "
    "its (problem+json) error; Lambda keeps nothing to redrive.",
    "schedule": "No dead-letter queue: the schedule's event carries no work of its own; each run looks up "
    "what is pending (outbox rows, overdue windows, expiring certificates), so the next run (a minute, "
    "five minutes or a day later) redoes what a failed one left.",
    "queue": "No dead-letter queue on the function: SQS invokes it synchronously through the event source "
    "mapping, and a message that keeps failing moves to the queue's own dead-letter queue, which is "
    "alarmed.",
    "workflow": "No dead-letter queue: Step Functions invokes the function synchronously; the state "
    "machine's Retry and Catch (FlagPurchase) handle a failure, and the sweep_purchases schedule reruns "
    "any step an execution missed.",
}


# Each function's Metadata gives every suppression a short reason (cfn-nag and checkov read only the
# resource's own Metadata); the full reasons above are said once, in the template's Metadata under
# SCANNER_REASONS_KEY, which each short one names. Repeating them made ~1.9 KB per function
# (docs/adr/0017-template-globals.md).
SCANNER_REASONS_KEY = "ScannerReasons"
SHORT_NO_VPC = f"Not in a VPC: it calls only AWS APIs, over TLS with IAM ({SCANNER_REASONS_KEY}.NoVpc)."
SHORT_CONCURRENCY = (
    f"Reserved only where ReservedConcurrencyPerFunction is set; the stage throttles routes "
    f"({SCANNER_REASONS_KEY}.Concurrency)."
)
SHORT_ENVIRONMENT_KEY = (
    f"Its environment holds names and ARNs, never a secret: the service key suffices "
    f"({SCANNER_REASONS_KEY}.EnvironmentKey)."
)
SHORT_DEAD_LETTER = {
    "api": "API Gateway invokes it synchronously and the caller gets the error",
    "schedule": "each scheduled run looks up what is pending, so the next run redoes it",
    "queue": "a failing message moves to the queue's own dead-letter queue, which is alarmed",
    "workflow": "Step Functions invokes it synchronously and retries or catches the failure",
}


def scanner_reasons() -> Json:
    """The full reasons, for the template's Metadata: what each function's short reason names."""
    return {
        "NoVpc": NO_VPC,
        "Concurrency": CONCURRENCY,
        "EnvironmentKey": DEFAULT_ENVIRONMENT_KEY,
        "DeadLetter": dict(NO_DEAD_LETTER),
    }


def scanner_exceptions(op: Operation) -> Json:
    """Why the common checks that do not apply here do not, where cfn-nag and checkov read it."""
    dead_letter = (
        f"No dead-letter queue: {SHORT_DEAD_LETTER[op.invoked_by]} "
        f"({SCANNER_REASONS_KEY}.DeadLetter.{op.invoked_by})."
    )
    return {
        "cfn_nag": {
            "rules_to_suppress": [
                {"id": "W89", "reason": SHORT_NO_VPC},  # Lambda functions should be deployed inside a VPC
                {"id": "W92", "reason": SHORT_CONCURRENCY},  # ... should define ReservedConcurrentExecutions
            ]
        },
        "checkov": {
            "skip": [
                {"id": "CKV_AWS_117", "comment": SHORT_NO_VPC},  # inside a VPC
                {"id": "CKV_AWS_116", "comment": dead_letter},  # a dead-letter queue
                {"id": "CKV_AWS_173", "comment": SHORT_ENVIRONMENT_KEY},  # environment variables' key
                {"id": "CKV_AWS_115", "comment": SHORT_CONCURRENCY},  # function-level concurrency limit
            ]
        },
    }


def environment(op: Operation | None = None) -> Json:
    """What marketplace.settings reads, wired to this stack's resources; and the one area of the
    app this function loads (chalicelib/areas.py)."""
    area = {"MARKETPLACE_AREA": op.area} if op is not None and op.area else {}
    return {
        "Variables": {
            **area,
            "STAGE": ref(names.STAGE),
            "TABLE_PREFIX": sub(TABLE_PREFIX),
            "EVENT_BUS_NAME": ref(names.EVENT_BUS),
            "EVENT_SOURCE": EVENT_SOURCE,
            "LOG_LEVEL": ref(names.LOG_LEVEL),
            "AWS_XRAY_SDK_ENABLED": "true",
            "DOCUMENTS_BUCKET": ref(names.DOCUMENTS_BUCKET),
            "OPEN_DATA_BUCKET": ref(names.OPEN_DATA_BUCKET),
            "OCID_PREFIX": ref(names.OCID_PREFIX),
            "SIGNING_KEY_ID": get_att(names.SIGNING_KEY, "Arn"),
            "SEALING_KEY_ID": sealing_key_alias(),
            "STATE_MACHINE_ARN_PREFIX": sub(STATE_MACHINE_ARN_PREFIX),
            # No pydantic plugins are used: skip scanning every installed distribution at cold start.
            "PYDANTIC_DISABLE_PLUGINS": "__all__",
            **token_environment(),
        }
    }


def layers(op: Operation) -> list[Json]:
    """Every function loads the common layer; only the ones that compile OCDS records
    (OPEN_DATA_FUNCTIONS) load the open-data layer too, so no other cold start pays for it."""
    if op.name in OPEN_DATA_FUNCTIONS:
        return [ref(names.COMMON_LAYER), ref(names.OPEN_DATA_LAYER)]
    return [ref(names.COMMON_LAYER)]


def _common(op: Operation, memory: int, timeout: int) -> Json:
    return {
        "Runtime": RUNTIME,
        "Architectures": ARCHITECTURES,
        "MemorySize": memory,
        "Timeout": timeout,
        "Tracing": "Active",
        "Layers": layers(op),
        "Role": get_att(op.role_id, "Arn"),
        "Environment": environment(op),
        "LoggingConfig": {"LogGroup": ref(op.log_group_id), "LogFormat": "Text"},
        "ReservedConcurrentExecutions": {
            "Fn::If": [names.HAS_RESERVED_CONCURRENCY, ref(names.RESERVED_CONCURRENCY), NO_VALUE]
        },
    }


def route_function(op: Operation) -> Json:
    properties = {
        "CodeUri": CHALICE_CODE_URI,
        "Handler": ROUTE_HANDLER,
        "Description": f"{op.method} {op.path}: {op.summary}"[:256],
        **_common(op, ROUTE_MEMORY_MB, ROUTE_TIMEOUT_SECONDS),
    }
    return {
        "Type": "AWS::Serverless::Function",
        "Properties": properties,
        "Metadata": {"operation": op.name, **scanner_exceptions(op)},
    }


def task_overrides(op: Operation) -> Json:
    """Merged over the function Chalice emits for a schedule or task (its Handler, CodeUri, Events stay)."""
    return {
        "Properties": _common(op, TASK_MEMORY_MB, TASK_TIMEOUT_SECONDS),
        "Metadata": {"operation": op.name, **scanner_exceptions(op)},
    }


def role(op: Operation, statements: list[Json]) -> Json:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": service_role(
            "lambda", description=f"runs {op.name} only", policy_name=op.name, statements=statements
        ),
        "Metadata": {"operation": op.name},
    }


def log_group(area: str) -> Json:
    """The log group of every function of one area (chalicelib/areas.py). Lambda names each stream
    `YYYY/MM/DD/<function name>[<version>]<environment id>` in a shared group, so every line still
    says which function wrote it; each function's role may write this group only (policies.baseline).
    Under `/area/`, so no name is one a per-function group of an earlier version had."""
    return {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {
            "LogGroupName": sub(f"/aws/lambda/${{AWS::StackName}}/area/{area}"),
            "RetentionInDays": LOG_RETENTION_DAYS,
            "KmsKeyId": data_key_arn(),
        },
        "Metadata": {"area": area},
    }
