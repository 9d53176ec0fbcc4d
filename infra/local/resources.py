"""Create the system's resources on the emulator, one function per kind, from the same definitions
(`infra/definitions.py`) the deployable template is built from."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infra.local import naming

if TYPE_CHECKING:  # importing definitions imports the table models, which read TABLE_PREFIX once
    from infra.definitions import EventRule, QueueSpec, TableSpec

DLQ_RETENTION_SECONDS = 14 * 24 * 3600


@dataclass(frozen=True)
class Queue:
    name: str
    url: str
    arn: str
    dlq_url: str


def _trust(service: str) -> str:
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def create_role(iam: Any, name: str, service: str) -> str:
    """moto refuses a Lambda function or state machine whose role does not exist."""
    return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust(service))["Role"]["Arn"])


def create_tables(dynamodb: Any, specs: list[TableSpec], prefix: str) -> dict[str, str]:
    """Each table with its indexes and TTL; logical id -> (name, ARN) as placeholder values."""
    values = {}
    for spec in specs:
        name = prefix + spec.logical_suffix
        table = dynamodb.create_table(**spec.create_table_kwargs(name))["TableDescription"]
        if spec.ttl_attribute:
            # Accepted, never enforced by moto: code must not rely on TTL deletion.
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute}
            )
        values[f"{spec.logical_id}Name"] = name
        values[f"{spec.logical_id}Arn"] = table["TableArn"]
    return values


def create_event_bus(events: Any, name: str) -> str:
    return str(events.create_event_bus(Name=name)["EventBusArn"])


def _queue_arn(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def create_queues(sqs: Any, specs: list[QueueSpec]) -> dict[str, Queue]:
    """Each queue with its dead-letter queue and redrive policy; spec name -> Queue."""
    queues = {}
    for spec in specs:
        name = naming.resource_name(spec.name)
        dlq_url = sqs.create_queue(
            QueueName=f"{name}-dlq", Attributes={"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)}
        )["QueueUrl"]
        redrive = json.dumps(
            {"deadLetterTargetArn": _queue_arn(sqs, dlq_url), "maxReceiveCount": str(spec.max_receive_count)}
        )
        attributes = {"VisibilityTimeout": str(spec.visibility_timeout), "RedrivePolicy": redrive}
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        queues[spec.name] = Queue(name=name, url=url, arn=_queue_arn(sqs, url), dlq_url=dlq_url)
    return queues


def create_rules(
    events: Any, rules: list[EventRule], queues: dict[str, Queue], *, bus: str, source: str
) -> list[str]:
    """Each rule on the domain bus, matching its detail types, with its queue as the target."""
    names = []
    for rule in rules:
        if rule.target_queue not in queues:
            raise ValueError(f"event rule {rule.name} targets unknown queue {rule.target_queue}")
        pattern = {"source": [source], "detail-type": list(rule.detail_types)}
        events.put_rule(Name=rule.name, EventBusName=bus, EventPattern=json.dumps(pattern), State="ENABLED")
        target = {"Id": rule.target_queue, "Arn": queues[rule.target_queue].arn}
        events.put_targets(Rule=rule.name, EventBusName=bus, Targets=[target])
        names.append(rule.name)
    return names


def create_bucket(s3: Any, name: str) -> str:
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": naming.REGION})
    return name


def create_signing_key(kms: Any, alias: str) -> str:
    """The ECC_NIST_P256 SIGN_VERIFY key that signs confirmation letters; returns its ARN."""
    key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY", Description="confirmation letters")
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyMetadata"]["KeyId"])
    return str(key["KeyMetadata"]["Arn"])


def function_values(function_arns: dict[str, str]) -> dict[str, str]:
    """handler name -> ARN, as `${<Handler>FunctionArn}` values."""
    return {f"{naming.placeholder(handler)}FunctionArn": arn for handler, arn in function_arns.items()}
