"""Template hardening a review asked for: agency roles without the Query they never make, an alarm
and TLS on every dead-letter queue, a dead-letter queue and retry policy on every rule target,
a concurrency bound on every queue consumer."""

from __future__ import annotations

from typing import Any

import pytest

from infra import names
from infra.definitions import QUEUES
from tests.infra.conftest import as_list, of_type, statements


def _role_statements(resources: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for policy in resources[role_id]["Properties"]["Policies"]:
        found += statements(policy["PolicyDocument"])
    return found


@pytest.mark.parametrize(
    "role_id",
    [
        "ApplyForAdmissionFunctionRole",
        "RequestAgencyChangeFunctionRole",
        "RequestAgencyExtensionFunctionRole",
        "ReinstateAgencyFunctionRole",
    ],
)
def test_agency_roles_that_never_query_the_agencies_table_may_not(
    resources: dict[str, Any], role_id: str
) -> None:
    """services.agencies.apply / request_change / request_extension read the profile (GetItem) and
    take the submission number from its `submissions` attribute, then write in one transaction;
    reinstate is admin-only (route roles ("admin",), service checks is_admin), so `_regulates` and
    `_open_submission`, the only callers of repositories.agencies.submissions (Query), never run.
    Yet each role may Query the whole agencies table (every agency's submissions, personal data)."""
    agencies = {"Fn::GetAtt": ["AgenciesTable", "Arn"]}
    for statement in _role_statements(resources, role_id):
        if agencies in as_list(statement["Resource"]):
            assert "dynamodb:Query" not in as_list(statement["Action"]), f"{role_id}: {statement}"


@pytest.mark.parametrize("spec", QUEUES, ids=lambda q: q.name)
def test_every_dead_letter_queue_has_an_alarm(resources: dict[str, Any], spec: Any) -> None:
    """A message parked in the DLQ (a notification never delivered) is seen by nobody: the template
    has no AWS::CloudWatch::Alarm at all, let alone one on the DLQ's visible messages."""
    dlq = names.dead_letter_queue(spec.name)
    alarmed = [
        alarm_id
        for alarm_id, alarm in of_type(resources, "AWS::CloudWatch::Alarm").items()
        if alarm["Properties"].get("Namespace") == "AWS/SQS"
        and {"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq, "QueueName"]}}
        in alarm["Properties"].get("Dimensions", [])
    ]
    assert alarmed, f"no alarm on {dlq}"


@pytest.mark.parametrize("spec", QUEUES, ids=lambda q: q.name)
def test_every_dead_letter_queue_is_tls_only(resources: dict[str, Any], spec: Any) -> None:
    """The source queue denies requests without aws:SecureTransport, its DLQ (same messages, kept
    14 days) has no queue policy at all, so it accepts plain-HTTP receives and sends."""
    dlq = {"Ref": names.dead_letter_queue(spec.name)}
    dlq_arn = {"Fn::GetAtt": [names.dead_letter_queue(spec.name), "Arn"]}
    tls_only = False
    for policy in of_type(resources, "AWS::SQS::QueuePolicy").values():
        if dlq not in policy["Properties"]["Queues"]:
            continue
        for statement in statements(policy["Properties"]["PolicyDocument"]):
            if (
                statement["Effect"] == "Deny"
                and dlq_arn in as_list(statement["Resource"])
                and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
            ):
                tls_only = True
    assert tls_only, f"{dlq['Ref']} is not TLS-only"


def test_every_event_rule_target_has_a_dead_letter_queue_and_retry_policy(resources: dict[str, Any]) -> None:
    """An event EventBridge cannot deliver to the queue (KMS or queue-policy denial, throttling past
    the retry window) is dropped: the queue's own DLQ only catches messages that reached the queue,
    so the Metadata's reason does not cover delivery failures. Each target needs DeadLetterConfig
    (an encrypted SQS queue) and an explicit RetryPolicy."""
    rules = of_type(resources, "AWS::Events::Rule")
    assert rules
    for rule_id, rule in rules.items():
        for target in rule["Properties"]["Targets"]:
            where = f"{rule_id}/{target['Id']}"
            assert "Arn" in target.get("DeadLetterConfig", {}), f"{where}: no DeadLetterConfig"
            assert "RetryPolicy" in target, f"{where}: no RetryPolicy"


@pytest.mark.parametrize("spec", QUEUES, ids=lambda q: q.name)
def test_queue_consumers_have_a_concurrency_bound(resources: dict[str, Any], spec: Any) -> None:
    """Routes are bounded by the stage throttle and the Metadata says so; the queue consumer has no
    bound at all by default (ReservedConcurrencyPerFunction defaults to 0), so a burst of events
    scales it up to the account's unreserved pool and starves the API functions. An SQS event
    source's ScalingConfig.MaximumConcurrency bounds it without reserving account concurrency."""
    consumers = [
        (function_id, event)
        for function_id, function in of_type(resources, "AWS::Serverless::Function").items()
        for event in (function["Properties"].get("Events") or {}).values()
        if event.get("Type") == "SQS"
        and event["Properties"]["Queue"] == {"Fn::GetAtt": [names.queue(spec.name), "Arn"]}
    ]
    assert consumers
    for function_id, event in consumers:
        maximum = event["Properties"].get("ScalingConfig", {}).get("MaximumConcurrency")
        assert isinstance(maximum, int) and 2 <= maximum <= 1000, f"{function_id}: unbounded SQS consumer"
