"""The domain event bus, and for each queue its dead-letter queue, the rules that feed it and
the consumer function that drains it."""

from __future__ import annotations

from infra import names
from infra.cfn import Json, get_att, ref
from infra.definitions import EventRule, QueueSpec
from infra.errors import BuildError
from infra.keys import data_key_arn
from marketplace.settings import Settings

EVENT_SOURCE = Settings().event_source  # what every publisher puts in `source`
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
CONSUMER_MAX_CONCURRENCY = 5
# Listed instead of `sqs:*`: no wildcard actions anywhere, even in a Deny.
SQS_ACTIONS = [
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:PurgeQueue",
    "sqs:ReceiveMessage",
    "sqs:SendMessage",
    "sqs:SetQueueAttributes",
]


def event_bus() -> dict[str, Json]:
    return {
        names.EVENT_BUS: {
            "Type": "AWS::Events::EventBus",
            "Properties": {"Name": ref("AWS::StackName")},
            "Metadata": {
                "why": "Encrypted at rest with an AWS owned key; events carry ids and summaries, the "
                "records themselves stay in the KMS-encrypted tables.",
            },
        }
    }


def _queue(spec: QueueSpec, dead_letter: bool) -> Json:
    properties: Json = {
        "KmsMasterKeyId": data_key_arn(),
        "KmsDataKeyReusePeriodSeconds": 300,
    }
    if dead_letter:
        properties["MessageRetentionPeriod"] = DLQ_RETENTION_SECONDS
    else:
        properties["VisibilityTimeout"] = spec.visibility_timeout
        properties["RedrivePolicy"] = {
            "deadLetterTargetArn": get_att(names.dead_letter_queue(spec.name), "Arn"),
            "maxReceiveCount": spec.max_receive_count,
        }
    return {"Type": "AWS::SQS::Queue", "DeletionPolicy": "Delete", "Properties": properties}


def _queue_policy(spec: QueueSpec, rules: list[EventRule]) -> Json:
    """One policy for the queue and its dead-letter queue: TLS only for both; the rules that feed
    the queue may send to it, and to the dead-letter queue when they cannot deliver."""
    queue_arn = get_att(names.queue(spec.name), "Arn")
    both = [queue_arn, get_att(names.dead_letter_queue(spec.name), "Arn")]
    statements: list[Json] = [
        {
            "Sid": "TlsOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": SQS_ACTIONS,
            "Resource": both,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
    feeding = [get_att(names.event_rule(r.name), "Arn") for r in rules if r.target_queue == spec.name]
    if feeding:
        statements.append(
            {
                "Sid": "RulesDeliver",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": ["sqs:SendMessage"],
                "Resource": both,
                "Condition": {"ArnEquals": {"aws:SourceArn": feeding}},
            }
        )
    return {
        "Type": "AWS::SQS::QueuePolicy",
        "Properties": {
            "Queues": [ref(names.queue(spec.name)), ref(names.dead_letter_queue(spec.name))],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
        },
    }


RULE_DESCRIPTION_LIMIT = 512  # AWS::Events::Rule Description's maximum length


def _rule_description(rule: EventRule) -> str:
    """The types the rule forwards, while they fit; then their number (the pattern lists them)."""
    listed = f"{', '.join(rule.detail_types)} -> {rule.target_queue}"
    if len(listed) <= RULE_DESCRIPTION_LIMIT:
        return listed
    return f"{len(rule.detail_types)} domain event types (listed in the pattern) -> {rule.target_queue}"


def _rule(rule: EventRule) -> Json:
    return {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "Description": _rule_description(rule),
            "EventBusName": ref(names.EVENT_BUS),
            "EventPattern": {"source": [EVENT_SOURCE], "detail-type": list(rule.detail_types)},
            "State": "ENABLED",
            "Targets": [
                {
                    "Id": "queue",
                    "Arn": get_att(names.queue(rule.target_queue), "Arn"),
                    # Events EventBridge cannot deliver (a denied key or policy, throttling past a
                    # day) land beside the ones the consumer could not handle, under the same alarm.
                    "DeadLetterConfig": {"Arn": get_att(names.dead_letter_queue(rule.target_queue), "Arn")},
                    "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400},
                }
            ],
        },
    }


def _dead_letter_alarm(spec: QueueSpec) -> Json:
    """Anything in a dead-letter queue is a notification or event not delivered: someone must look."""
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": f"messages wait in the {spec.name} dead-letter queue: undelivered events",
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [
                {"Name": "QueueName", "Value": get_att(names.dead_letter_queue(spec.name), "QueueName")}
            ],
            "Statistic": "Maximum",
            "Period": 300,
            "EvaluationPeriods": 1,
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": {
                "Fn::If": [names.HAS_ALARM_TOPIC, [ref(names.ALARM_TOPIC)], ref("AWS::NoValue")]
            },
        },
    }


def queues(specs: list[QueueSpec], rules: list[EventRule]) -> dict[str, Json]:
    known = {q.name for q in specs}
    for rule in rules:
        if rule.target_queue not in known:
            raise BuildError(f"event rule {rule.name!r} targets unknown queue {rule.target_queue!r}")
    resources: dict[str, Json] = {}
    for spec in specs:
        resources[names.dead_letter_queue(spec.name)] = _queue(spec, dead_letter=True)
        resources[names.queue(spec.name)] = _queue(spec, dead_letter=False)
        resources[names.queue_policy(spec.name)] = _queue_policy(spec, rules)
        resources[names.dead_letter_alarm(spec.name)] = _dead_letter_alarm(spec)
    for rule in rules:
        resources[names.event_rule(rule.name)] = _rule(rule)
    return resources


def consumer_wiring(specs: list[QueueSpec], function_ids: dict[str, str], timeout: int) -> dict[str, Json]:
    """Point each consumer's Chalice SQS event source at our queue (Chalice only knows its name)."""
    wiring: dict[str, Json] = {}
    for spec in specs:
        if spec.visibility_timeout < timeout:
            raise BuildError(
                f"queue {spec.name!r}: visibility timeout {spec.visibility_timeout}s is shorter than its "
                f"consumer's {timeout}s timeout (SQS would redeliver messages still being handled)"
            )
        function_id = function_ids.get(spec.consumer)
        if function_id is None:
            raise BuildError(
                f"queue {spec.name!r}: consumer {spec.consumer!r} is not an @app.on_sqs_message function"
            )
        event_id = function_id + "SqsEventSource"  # chalice: '<name>-sqs-event-source'
        wiring[function_id] = {
            "Properties": {
                "Events": {
                    event_id: {
                        "Properties": {
                            "Queue": get_att(names.queue(spec.name), "Arn"),
                            # Without it Lambda ignores `batchItemFailures` and deletes the whole batch.
                            "FunctionResponseTypes": ["ReportBatchItemFailures"],
                            # A burst of events must not take the account's concurrency from the API
                            # (functions reserve none by default); it reserves nothing itself.
                            "ScalingConfig": {"MaximumConcurrency": CONSUMER_MAX_CONCURRENCY},
                        }
                    }
                }
            }
        }
    return wiring


def queue_ids(specs: list[QueueSpec]) -> dict[str, str]:
    return {spec.name: names.queue(spec.name) for spec in specs}
