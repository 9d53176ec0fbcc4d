"""Parts that nothing in the app uses yet (queues, rules, state machines), built from stand-ins."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra import messaging, workflows
from infra.definitions import EventRule, QueueSpec, table_specs
from infra.errors import BuildError
from infra.operations import Operation

CLOSE = Operation(name="close_window", function_id="CloseWindow", role_id="CloseWindowRole", log_group_id="X")


def test_a_queue_gets_an_encrypted_dead_letter_queue_and_only_its_rules_may_send() -> None:
    queue = QueueSpec(name="notifications", consumer="notify")
    rule = EventRule(name="owner-events", detail_types=("OwnerRegistered",), target_queue="notifications")
    resources = messaging.queues([queue], [rule])
    assert resources["NotificationsQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 5
    assert "KmsMasterKeyId" in resources["NotificationsDeadLetterQueue"]["Properties"]
    allow = resources["NotificationsQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][1]
    assert allow["Condition"]["ArnEquals"]["aws:SourceArn"] == [{"Fn::GetAtt": ["OwnerEventsRule", "Arn"]}]
    target = resources["OwnerEventsRule"]["Properties"]["Targets"][0]
    assert target["Arn"] == {"Fn::GetAtt": ["NotificationsQueue", "Arn"]}


def test_a_consumer_is_pointed_at_the_stacks_queue() -> None:
    wiring = messaging.consumer_wiring(
        [QueueSpec(name="notifications", consumer="notify")], {"notify": "Notify"}, 60
    )
    event = wiring["Notify"]["Properties"]["Events"]["NotifySqsEventSource"]
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": ["NotificationsQueue", "Arn"]}


def test_a_rule_to_an_unknown_queue_or_a_missing_consumer_fails() -> None:
    with pytest.raises(BuildError):
        messaging.queues([], [EventRule(name="r", detail_types=("X",), target_queue="nowhere")])
    with pytest.raises(BuildError):
        messaging.consumer_wiring([QueueSpec(name="q", consumer="ghost")], {}, 60)


def test_a_state_machine_gets_its_placeholders_its_role_and_its_log_group(tmp_path: Path) -> None:
    asl = tmp_path / "purchase_windows.asl.json"
    asl.write_text('{"States": {"A": {"Resource": "${CloseWindowFunctionArn}", "T": "${NoSuchTableName}"}}}')
    (workflow,) = workflows.workflows([asl])
    tables = table_specs()
    with pytest.raises(BuildError, match="NoSuchTableName"):
        workflows.substitutions(workflow, [CLOSE], tables)
    asl.write_text(
        '{"States": {"A": {"Resource": "${CloseWindowFunctionArn}", "T": "${CatalogueTableName}"}}}'
    )
    values = workflows.substitutions(workflow, [CLOSE], tables)
    assert values == {
        "CloseWindowFunctionArn": {"Fn::GetAtt": ["CloseWindow", "Arn"]},
        "CatalogueTableName": {"Ref": "CatalogueTable"},
    }
    resources = workflows.resources(workflow, tmp_path, values, workflows.baseline(workflow.log_group_id))
    machine = resources["PurchaseWindowsStateMachine"]["Properties"]
    assert machine["DefinitionUri"] == "purchase_windows.asl.json"
    assert machine["Role"] == {"Fn::GetAtt": ["PurchaseWindowsStateMachineRole", "Arn"]}
    assert machine["Tracing"] == {"Enabled": True}
