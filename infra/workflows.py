"""Each state machine in statemachines/ as an AWS::Serverless::StateMachine: the ASL file's
${Placeholders} are resolved to this stack's resources, and it gets its own role from the policy file."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from infra import names
from infra.cfn import Json, get_att, ref, service_role, sub
from infra.definitions import TableSpec
from infra.errors import BuildError
from infra.keys import data_key_arn
from infra.lambdas import LOG_RETENTION_DAYS
from infra.messaging import EVENT_SOURCE
from infra.operations import Operation

PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
# CloudWatch Logs delivery for Step Functions has no resource-level permissions: IAM accepts only "*".
LOG_DELIVERY_ACTIONS = (
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
)


@dataclass(frozen=True)
class Workflow:
    name: str  # its key in the policy file
    path: Path

    @property
    def state_machine_id(self) -> str:
        return names.state_machine(self.name)

    @property
    def role_id(self) -> str:
        return self.state_machine_id + "Role"

    @property
    def log_group_id(self) -> str:
        return self.state_machine_id + "LogGroup"


def workflows(files: list[Path]) -> list[Workflow]:
    return [Workflow(name=f.name.removesuffix(".asl.json"), path=f) for f in files]


def substitutions(
    workflow: Workflow, tasks: list[Operation], tables: list[TableSpec]
) -> dict[str, Json | str]:
    """Placeholder -> value, for exactly the placeholders the file uses; an unknown one fails."""
    known: dict[str, Json | str] = {
        "EventBusName": ref(names.EVENT_BUS),
        "EventBusArn": get_att(names.EVENT_BUS, "Arn"),
        "EventSource": EVENT_SOURCE,
        "DocumentsBucketName": ref(names.DOCUMENTS_BUCKET),
    }
    for op in tasks:
        known[op.function_id + "FunctionArn"] = get_att(op.function_id, "Arn")
    for spec in tables:
        known[spec.logical_id + "Name"] = ref(spec.logical_id)
        known[spec.logical_id + "Arn"] = get_att(spec.logical_id, "Arn")
    used = sorted(set(PLACEHOLDER.findall(workflow.path.read_text(encoding="utf-8"))))
    unknown = [p for p in used if p not in known]
    if unknown:
        raise BuildError(
            f"{workflow.path.name}: unknown placeholders {unknown}; known ones are <Task>FunctionArn "
            f"(e.g. {next(iter(op.function_id for op in tasks), 'CloseWindow')}FunctionArn), "
            "<Table>Name/<Table>Arn (e.g. CatalogueTableName), EventBusName, EventBusArn, EventSource, "
            "DocumentsBucketName"
        )
    return {p: known[p] for p in used}


def baseline(log_group_id: str) -> list[Json]:
    return [
        {"Sid": "LogDelivery", "Effect": "Allow", "Action": list(LOG_DELIVERY_ACTIONS), "Resource": "*"},
        {
            "Sid": "Tracing",
            "Effect": "Allow",
            "Action": [
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
                "xray:PutTelemetryRecords",
                "xray:PutTraceSegments",
            ],
            "Resource": "*",
        },
    ]


def resources(
    workflow: Workflow,
    definition_base: Path,
    substitution_values: dict[str, Json | str],
    statements: list[Json],
) -> dict[str, Json]:
    """`definition_base`: the directory the DefinitionUri is relative to (where chalice writes sam.json)."""
    definition_uri = os.path.relpath(workflow.path, definition_base)
    properties: Json = {
        # Named, so functions can know its ARN (STATE_MACHINE_ARN_PREFIX) without a Ref: the machine
        # refers to the task functions, and a Ref back from their environment would be a cycle.
        "Name": sub(f"${{AWS::StackName}}-{workflow.name}"),
        "Type": "STANDARD",
        "DefinitionUri": definition_uri,
        "Role": get_att(workflow.role_id, "Arn"),
        "Logging": {
            "Level": "ERROR",
            "IncludeExecutionData": False,
            "Destinations": [
                {"CloudWatchLogsLogGroup": {"LogGroupArn": get_att(workflow.log_group_id, "Arn")}}
            ],
        },
        "Tracing": {"Enabled": True},
    }
    if substitution_values:
        properties["DefinitionSubstitutions"] = substitution_values
    return {
        workflow.state_machine_id: {
            "Type": "AWS::Serverless::StateMachine",
            "Properties": properties,
            "Metadata": {"operation": workflow.name},
        },
        workflow.role_id: {
            "Type": "AWS::IAM::Role",
            "Properties": service_role(
                "states",
                description=f"runs the {workflow.name} state machine only",
                policy_name=workflow.name,
                statements=statements,
            ),
            "Metadata": {
                "operation": workflow.name,
                "why": "Log delivery and X-Ray actions have no resource-level permissions: Resource '*'.",
            },
        },
        workflow.log_group_id: {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": sub(f"/aws/vendedlogs/states/${{AWS::StackName}}-{workflow.name}"),
                "RetentionInDays": LOG_RETENTION_DAYS,
                "KmsKeyId": data_key_arn(),
            },
        },
    }
