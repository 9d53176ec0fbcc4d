"""Create the system's resources on moto in-process, from the same definitions as the template."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import boto3

from infra.definitions import table_specs
from marketplace import auth
from marketplace.repositories import directory, event_bus
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
    settings = get_settings()
    dynamodb = boto3.client("dynamodb", region_name=settings.region)
    for spec in table_specs():
        dynamodb.create_table(**spec.create_table_kwargs(settings.table_prefix + spec.logical_suffix))
    boto3.client("events", region_name=settings.region).create_event_bus(Name=settings.event_bus_name)
    create_user_pool()


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
