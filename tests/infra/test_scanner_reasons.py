"""Where a common AWS practice does not apply to a function (a VPC, a dead-letter queue, a customer
managed key for its environment, reserved concurrency), the function's Metadata says why, in the
shape cfn-nag and checkov read, so a security review sees the reason instead of a finding."""

from __future__ import annotations

import re
from typing import Any

import pytest
from samtranslator.translator.transform import transform

from infra.build import BuildResult
from infra.names import NEVER
from tests.infra.conftest import of_type, without_local_paths
from tests.infra.test_template_validates import NoManagedPolicies

CFN_NAG_RULES = {"W89", "W92"}  # inside a VPC; ReservedConcurrentExecutions
# concurrency limit, dead-letter queue, inside a VPC, environment variables' key
CHECKOV_CHECKS = {"CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173"}
SENTENCE = re.compile(r"^[A-Z][^\n]{30,}[.]$")


def _functions(resources: dict[str, Any]) -> dict[str, Any]:
    functions = of_type(resources, "AWS::Serverless::Function")
    assert len(functions) > 50
    return functions


def _reasons(metadata: dict[str, Any]) -> dict[str, str]:
    """Check id -> reason, from both scanners' sections."""
    found = {rule["id"]: rule["reason"] for rule in metadata.get("cfn_nag", {}).get("rules_to_suppress", [])}
    found.update({check["id"]: check["comment"] for check in metadata.get("checkov", {}).get("skip", [])})
    return found


def test_every_function_says_why_each_common_practice_does_not_apply(resources: dict[str, Any]) -> None:
    for logical_id, function in _functions(resources).items():
        reasons = _reasons(function.get("Metadata", {}))
        missing = (CFN_NAG_RULES | CHECKOV_CHECKS) - set(reasons)
        assert not missing, f"{logical_id} gives no reason for {sorted(missing)}"
        for check, reason in reasons.items():
            assert isinstance(reason, str) and SENTENCE.match(reason), f"{logical_id} {check}: {reason!r}"
            assert len(reason.split()) >= 8, f"{logical_id} {check}: {reason!r}"


def test_a_suppression_never_covers_what_the_function_actually_has(resources: dict[str, Any]) -> None:
    """A reason for skipping a check is only true while the practice really is absent."""
    for logical_id, function in _functions(resources).items():
        properties, reasons = function["Properties"], _reasons(function["Metadata"])
        if "VpcConfig" in properties:
            assert "W89" not in reasons and "CKV_AWS_117" not in reasons, logical_id
        if "DeadLetterQueue" in properties or "EventInvokeConfig" in properties:
            assert "CKV_AWS_116" not in reasons, logical_id
        if "KmsKeyArn" in properties:
            assert "CKV_AWS_173" not in reasons, logical_id


@pytest.mark.parametrize(
    ("function_id", "invoker"),
    [
        ("EnrollFunction", "API Gateway"),
        ("RelayOutbox", "next run"),
        ("Notify", "queue's own dead-letter queue"),
        ("CloseEnrollment", "Step Functions"),
    ],
)
def test_the_dead_letter_reason_names_how_the_function_is_invoked(
    resources: dict[str, Any], function_id: str, invoker: str
) -> None:
    assert invoker in _reasons(resources[function_id]["Metadata"])["CKV_AWS_116"]


def test_the_queue_consumers_failures_do_reach_a_dead_letter_queue(resources: dict[str, Any]) -> None:
    """Its reason says a failing message moves to the queue's dead-letter queue: so it must."""
    events = resources["Notify"]["Properties"]["Events"].values()
    queue_ids = [event["Properties"]["Queue"]["Fn::GetAtt"][0] for event in events if event["Type"] == "SQS"]
    assert queue_ids
    for queue_id in queue_ids:
        assert "deadLetterTargetArn" in resources[queue_id]["Properties"]["RedrivePolicy"], queue_id


def test_the_reasons_reach_the_lambda_functions_sam_creates(
    built: BuildResult, template: dict[str, Any]
) -> None:
    """Scanners run on the template as written and on the transformed one: SAM carries Metadata over."""
    output = transform(without_local_paths(template, built.template_path.parent), {}, NoManagedPolicies())
    created = {k: v for k, v in output["Resources"].items() if v.get("Condition") != NEVER}
    lambdas = of_type(created, "AWS::Lambda::Function")
    assert len(lambdas) > 50
    for logical_id, function in lambdas.items():
        missing = (CFN_NAG_RULES | CHECKOV_CHECKS) - set(_reasons(function.get("Metadata", {})))
        assert not missing, f"{logical_id} lost its reasons for {sorted(missing)} in the transform"
