"""One Lambda function per operation, each with its own role, log group and (for routes) the
permission that lets only its own method and path of the REST API invoke it."""

from __future__ import annotations

import re

from infra import names
from infra.cfn import NO_VALUE, Json, get_att, ref, service_role, sub
from infra.identity import token_environment
from infra.keys import data_key_arn
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
WHY_ROUTE = {
    "vpc": "Not in a VPC: the function only calls AWS APIs (DynamoDB, EventBridge, KMS) over TLS with "
    "IAM authentication; a VPC would add NAT or endpoints and protect no data path.",
    "dead_letter": "No dead-letter queue or failure destination: API Gateway invokes it synchronously and "
    "the caller receives the (problem+json) error.",
    "environment": "Environment encrypted with the Lambda service key: it holds names and URLs, no secrets.",
}
WHY_TASK = {
    **WHY_ROUTE,
    "dead_letter": "No dead-letter queue: a failed scheduled run leaves its work pending (the outbox rows "
    "stay) and the next run retries it; queue consumers use the queue's dead-letter queue.",
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
            "SIGNING_KEY_ID": get_att(names.SIGNING_KEY, "Arn"),
            "STATE_MACHINE_ARN_PREFIX": sub(STATE_MACHINE_ARN_PREFIX),
            # No pydantic plugins are used: skip scanning every installed distribution at cold start.
            "PYDANTIC_DISABLE_PLUGINS": "__all__",
            **token_environment(),
        }
    }


def _common(op: Operation, memory: int, timeout: int) -> Json:
    return {
        "Runtime": RUNTIME,
        "Architectures": ARCHITECTURES,
        "MemorySize": memory,
        "Timeout": timeout,
        "Tracing": "Active",
        "Layers": [ref(names.COMMON_LAYER)],
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
        "Metadata": {"operation": op.name, "concurrency": CONCURRENCY, "why": WHY_ROUTE},
    }


def task_overrides(op: Operation) -> Json:
    """Merged over the function Chalice emits for a schedule or task (its Handler, CodeUri, Events stay)."""
    return {
        "Properties": _common(op, TASK_MEMORY_MB, TASK_TIMEOUT_SECONDS),
        "Metadata": {"operation": op.name, "concurrency": CONCURRENCY, "why": WHY_TASK},
    }


def role(op: Operation, statements: list[Json]) -> Json:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": service_role(
            "lambda", description=f"runs {op.name} only", policy_name=op.name, statements=statements
        ),
        "Metadata": {"operation": op.name},
    }


def log_group(op: Operation) -> Json:
    return {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {
            "LogGroupName": sub(f"/aws/lambda/${{AWS::StackName}}/{op.name}"),
            "RetentionInDays": LOG_RETENTION_DAYS,
            "KmsKeyId": data_key_arn(),
        },
    }


def execute_api_path(path: str) -> str:
    """`/catalogue/items/{code}` -> `catalogue/items/*`, as execute-api ARNs name resources."""
    return re.sub(r"\{[^}]+\}", "*", path).lstrip("/")


def permission(op: Operation) -> Json:
    source = (
        "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:"
        f"${{{names.REST_API}}}/*/{op.method}/{execute_api_path(op.path)}"
    )
    return {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "FunctionName": get_att(op.function_id, "Arn"),
            "Action": "lambda:InvokeFunction",
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": sub(source),
        },
    }
