"""Create the system's resources on moto in-process, from the same definitions as the template."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import boto3

from infra.definitions import table_specs
from marketplace import auth
from marketplace.repositories import credit, directory, event_bus, letters
from marketplace.repositories.base import reset_connections
from marketplace.repositories.tables import ALL_MODELS
from marketplace.services import calendar
from marketplace.settings import get_settings, reset_settings
from tests.support.schemas import check_event


def create_all() -> None:
    reset_settings()
    reset_connections(ALL_MODELS)
    event_bus.reset_client()
    auth.clear_key_cache()
    calendar.forget_cache()
    credit.forget_rules_cache()
    settings = get_settings()
    dynamodb = boto3.client("dynamodb", region_name=settings.region)
    for spec in table_specs():
        dynamodb.create_table(**spec.create_table_kwargs(settings.table_prefix + spec.logical_suffix))
    boto3.client("events", region_name=settings.region).create_event_bus(Name=settings.event_bus_name)
    create_user_pool()
    create_state_machines()
    create_letter_store()


def create_state_machines() -> None:
    """The state machines, so that publishing can start executions. In-process, moto records an
    execution without running it: tests drive the window's task functions themselves (the e2e suite
    runs the real thing on the local stack)."""
    from infra.definitions import state_machine_files
    from infra.local.statemachines import PLACEHOLDER
    from marketplace.repositories import workflows

    region = get_settings().region
    role = boto3.client("iam", region_name=region).create_role(
        RoleName="states-test",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    sfn = boto3.client("stepfunctions", region_name=region)
    prefix = ""
    functions = f"arn:aws-cn:lambda:{region}:123456789012:function:"
    for path in state_machine_files():
        name = "marketplace-test-" + path.name.removesuffix(".asl.json")
        definition = PLACEHOLDER.sub(lambda m: functions + m.group(1), path.read_text(encoding="utf-8"))
        arn = sfn.create_state_machine(name=name, definition=definition, roleArn=role)["stateMachineArn"]
        prefix = arn.rsplit(":", 1)[0] + ":marketplace-test-"
    os.environ["STATE_MACHINE_ARN_PREFIX"] = prefix
    reset_settings()
    workflows.reset_client()


def create_letter_store() -> None:
    """The documents bucket and the ECC_NIST_P256 signing key (infra/local builds them the same
    way), named in DOCUMENTS_BUCKET and SIGNING_KEY_ID as the template's function environment does."""
    from infra.local.resources import create_bucket, create_sealing_key, create_signing_key

    region = get_settings().region
    bucket = create_bucket(boto3.client("s3", region_name=region), "marketplace-test-documents")
    key = create_signing_key(boto3.client("kms", region_name=region), "alias/marketplace-test-signing")
    sealing = create_sealing_key(boto3.client("kms", region_name=region), "alias/marketplace-test-sealing")
    open_data = create_bucket(boto3.client("s3", region_name=region), "marketplace-test-opendata")
    os.environ.update(
        {
            "DOCUMENTS_BUCKET": bucket,
            "SIGNING_KEY_ID": key,
            "SEALING_KEY_ID": sealing,
            "OPEN_DATA_BUCKET": open_data,
        }
    )
    reset_settings()
    letters.reset_clients()


def create_user_pool() -> str:
    """The user pool the template defines (infra/local builds it the same way), its id in
    USER_POOL_ID for the app to manage users in."""
    from infra.local.resources import USER_POOL_REGION
    from infra.local.resources import create_user_pool as create_pool

    pool = create_pool(boto3.client("cognito-idp", region_name=USER_POOL_REGION)).id
    os.environ["USER_POOL_ID"] = pool
    reset_settings()
    directory.reset_client()
    return pool


@dataclass
class EventTap:
    queue_url: str

    @classmethod
    def attach(cls) -> EventTap:
        settings = get_settings()
        sqs = boto3.client("sqs", region_name=settings.region)
        events = boto3.client("events", region_name=settings.region)
        url = sqs.create_queue(QueueName="event-tap")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(
            Name="tap",
            EventBusName=settings.event_bus_name,
            EventPattern=json.dumps({"source": [settings.event_source]}),
        )
        events.put_targets(
            Rule="tap", EventBusName=settings.event_bus_name, Targets=[{"Id": "q", "Arn": arn}]
        )
        return cls(url)

    def received(self) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs", region_name=get_settings().region)
        found: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return found
            for message in batch:
                event = json.loads(message["Body"])
                check_event(event)  # every event really published must match its schema
                found.append(event)
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def types(self) -> list[str]:
        return [e["detail-type"] for e in self.received()]
