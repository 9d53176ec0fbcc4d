"""The merge template: everything the deployment needs beyond what `chalice package` emits, and
the overrides of what it emits (its functions' roles, the REST API, the disabled APIHandler)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from infra import api, identity, keys, lambdas, messaging, names, policies, storage, tables, workflows
from infra.cfn import Json, deep_merge, get_att, ref
from infra.definitions import EventRule, QueueSpec, TableSpec
from infra.errors import BuildError
from infra.operations import Operation
from infra.workflows import Workflow
from marketplace.settings import Settings

# What marketplace.settings accepts as OCID_PREFIX: CloudFormation refuses anything else at deploy time.
OCID_PREFIX_PATTERN = "^ocds-[a-z0-9]{6}$"

DISABLED_WHY = (
    "Chalice puts every route in this one function; each route has its own function and role instead "
    "(docs/adr/0001-per-operation-lambdas.md). A merge template can only add or override keys, so it "
    "is switched off with a condition that is always false."
)
DISABLED_METADATA: Json = {"why": DISABLED_WHY}
# Always false, because stack names cannot contain spaces. Two literals would do the same, but
# cfn-lint reports that (W8003) on the Conditions section, where no resource Metadata can scope it.
NEVER_TRUE: Json = {"Fn::Equals": [ref("AWS::StackName"), "no stack is named this"]}


@dataclass(frozen=True)
class Sources:
    """What the template is generated from."""

    operations: list[Operation]
    policies: policies.PolicyFile
    policy_path: Path
    tables: list[TableSpec]
    queues: list[QueueSpec]
    rules: list[EventRule]
    workflows: list[Workflow]
    chalice_dir: Path  # where chalice writes sam.json: relative paths in the merge template start there
    layer_dir: Path
    open_data_layer_dir: Path


def _add(resources: dict[str, Json], new: dict[str, Json]) -> None:
    clash = sorted(set(resources) & set(new))
    if clash:
        raise BuildError(f"two parts of the template define {clash}: rename an operation or a resource")
    resources.update(new)


def _parameters() -> Json:
    return {
        **identity.parameters(),
        names.STAGE: {
            "Type": "String",
            "Default": "dev",
            "AllowedPattern": "^[a-z0-9-]{1,20}$",
            "Description": "STAGE as the functions see it",
        },
        names.LOG_LEVEL: {
            "Type": "String",
            "Default": "INFO",
            "AllowedValues": ["DEBUG", "INFO", "WARNING", "ERROR"],
        },
        names.OCID_PREFIX: {
            "Type": "String",
            "Default": Settings.ocid_prefix,
            "AllowedPattern": OCID_PREFIX_PATTERN,
            "Description": "the district's OCDS ocid prefix, registered with the Open Contracting "
            "Partnership (ocds- and six lowercase letters or digits); the default is the standard's example",
        },
        names.RESERVED_CONCURRENCY: {
            "Type": "Number",
            "Default": 0,
            "MinValue": 0,
            "Description": "reserved concurrency of each function; 0: none (see Metadata ScannerReasons)",
        },
        names.ALARM_TOPIC: {
            "Type": "String",
            "Default": "",
            "Description": "SNS topic the operators' alarms notify (dead-letter queues); empty: the alarms "
            "only change state in CloudWatch",
        },
    }


def _conditions() -> Json:
    return {
        names.NEVER: NEVER_TRUE,
        names.HAS_RESERVED_CONCURRENCY: {"Fn::Not": [{"Fn::Equals": [ref(names.RESERVED_CONCURRENCY), "0"]}]},
        names.HAS_USER_POOLS: identity.condition(),
        names.HAS_ALARM_TOPIC: {"Fn::Not": [{"Fn::Equals": [ref(names.ALARM_TOPIC), ""]}]},
    }


def _outputs() -> Json:
    outputs: Json = {
        "UserPoolId": {"Condition": names.HAS_USER_POOLS, "Value": ref(names.USER_POOL)},
        "UserPoolClientId": {"Condition": names.HAS_USER_POOLS, "Value": ref(names.USER_POOL_CLIENT)},
        "EventBusName": {"Value": ref(names.EVENT_BUS)},
        "DocumentsBucketName": {"Value": ref(names.DOCUMENTS_BUCKET)},
        "OpenDataBucketName": {"Value": ref(names.OPEN_DATA_BUCKET)},
        "SigningKeyArn": {"Value": get_att(names.SIGNING_KEY, "Arn")},
        "CommonLayerArn": {"Value": ref(names.COMMON_LAYER)},
        "OpenDataLayerArn": {"Value": ref(names.OPEN_DATA_LAYER)},
    }
    for output in names.API_HANDLER_OUTPUTS:  # Chalice's, about the disabled function
        outputs[output] = {"Condition": names.NEVER}
    return outputs


def _layer_version(name: str, description: str, layer_dir: Path, base: Path) -> Json:
    return {
        "Type": "AWS::Serverless::LayerVersion",
        "Properties": {
            "LayerName": {"Fn::Sub": f"${{AWS::StackName}}-{name}"},
            "Description": description,
            "ContentUri": os.path.relpath(layer_dir, base),
            "CompatibleRuntimes": [lambdas.RUNTIME],
            "CompatibleArchitectures": lambdas.ARCHITECTURES,
            "RetentionPolicy": "Delete",
        },
    }


def _layers(layer_dir: Path, open_data_layer_dir: Path, base: Path) -> dict[str, Json]:
    return {
        names.COMMON_LAYER: _layer_version(
            "common",
            "the marketplace package and its runtime requirements (boto3: the runtime's)",
            layer_dir,
            base,
        ),
        names.OPEN_DATA_LAYER: _layer_version(
            "opendata",
            "ocdsmerge and its imports (urllib3: the runtime's), for the functions compiling OCDS records",
            open_data_layer_dir,
            base,
        ),
    }


def _disabled_api_handler() -> dict[str, Json]:
    return {
        names.API_HANDLER: {"Condition": names.NEVER, "Metadata": DISABLED_METADATA},
        names.API_HANDLER_PERMISSION: {"Condition": names.NEVER, "Metadata": DISABLED_METADATA},
        names.API_HANDLER_ROLE: {"Condition": names.NEVER, "Metadata": DISABLED_METADATA},
    }


def _catalog(sources: Sources) -> policies.Catalog:
    return policies.Catalog(
        tables={spec.logical_suffix: spec for spec in sources.tables},
        queues=messaging.queue_ids(sources.queues),
        state_machines={w.name: w.state_machine_id for w in sources.workflows},
        functions={op.name: op.function_id for op in sources.operations},
    )


def _operations(sources: Sources, catalog: policies.Catalog) -> dict[str, Json]:
    resources: dict[str, Json] = {}
    for op in sources.operations:
        statements = policies.baseline(op.log_group_id) + policies.statements(
            op.name, sources.policies[op.name], catalog, on_request_path=op.is_route
        )
        _add(resources, {op.role_id: lambdas.role(op, statements)})
        if op.log_group_id not in resources:  # the area's, shared by its functions
            _add(resources, {op.log_group_id: lambdas.log_group(op.area)})
        if op.is_route:
            _add(resources, {op.function_id: lambdas.route_function(op)})
        else:
            _add(resources, {op.function_id: lambdas.task_overrides(op)})
    tasks = {op.name: op.function_id for op in sources.operations if not op.is_route}
    for function_id, wiring in messaging.consumer_wiring(
        sources.queues, tasks, lambdas.TASK_TIMEOUT_SECONDS
    ).items():
        deep_merge(resources[function_id], wiring)
    return resources


def _workflows(sources: Sources, catalog: policies.Catalog) -> dict[str, Json]:
    resources: dict[str, Json] = {}
    tasks = [op for op in sources.operations if not op.is_route]
    for workflow in sources.workflows:
        statements = workflows.baseline(workflow.log_group_id) + policies.statements(
            workflow.name, sources.policies[workflow.name], catalog, on_request_path=False
        )
        values = workflows.substitutions(workflow, tasks, sources.tables)
        _add(resources, workflows.resources(workflow, sources.chalice_dir, values, statements))
    return resources


def merge_template(sources: Sources) -> Json:
    """The template `chalice package --merge-template` merges over its own."""
    policies.require(
        sources.policies,
        [op.name for op in sources.operations] + [w.name for w in sources.workflows],
        sources.policy_path,
    )
    catalog = _catalog(sources)
    resources: dict[str, Json] = {}
    for part in (
        keys.data_key(queues=bool(sources.queues)),
        keys.signing_key(),
        keys.sealing_key(
            [
                op.role_id
                for op in sources.operations
                if op.name in policies.sealing_decrypters(sources.policies)
            ]
        ),
        tables.tables(sources.tables),
        messaging.event_bus(),
        messaging.queues(sources.queues, sources.rules),
        storage.documents_bucket(),
        storage.open_data_bucket(),
        identity.user_pool(),
        api.access_logging(),
        _layers(sources.layer_dir, sources.open_data_layer_dir, sources.chalice_dir),
        _operations(sources, catalog),
        _workflows(sources, catalog),
        api.invoke_role([op for op in sources.operations if op.is_route]),
        {names.REST_API: api.rest_api_overrides([op for op in sources.operations if op.is_route])},
        _disabled_api_handler(),
    ):
        _add(resources, part)
    return {
        "Description": "Online intermediary-service marketplace: one Lambda function and role per operation",
        "Metadata": {lambdas.SCANNER_REASONS_KEY: lambdas.scanner_reasons()},
        "Parameters": _parameters(),
        "Rules": identity.rules(),
        "Conditions": _conditions(),
        "Resources": resources,
        "Outputs": _outputs(),
    }
