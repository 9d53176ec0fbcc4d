"""The template stays well under CloudFormation's size limit as operations are added, and saying
once what every function shares (SAM `Globals`, infra/sam_globals.py) changes nothing SAM creates:
each function still gets the environment, layers, runtime, tracing, sizes, role and log group it is
generated with (docs/adr/0017-template-globals.md)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from samtranslator.translator.transform import transform

from infra import lambdas, names
from infra.build import BuildResult
from infra.cfn import get_att, ref
from infra.definitions import OPEN_DATA_FUNCTIONS
from infra.operations import Operation, discover
from infra.sam_globals import expand
from tests.infra.test_template_validates import NoManagedPolicies

LIMIT = 1_000_000  # bytes: the largest template CloudFormation takes (from S3)
MARGIN = 0.15  # room for the operations still to come before anyone has to act
BUDGET = int(LIMIT * (1 - MARGIN))
# What `sam package` / `aws cloudformation package` put in place of a local artifact path: the
# longest bucket name and an MD5 key, so the measure does not depend on where it is deployed.
S3_URI = "s3://" + "b" * 63 + "/" + "0" * 32


class _Flat(yaml.SafeDumper):
    def ignore_aliases(self, data: object) -> bool:
        return True


def _as_packaged(template: dict[str, Any]) -> str:
    """The template as the packaging commands upload it: local paths replaced by S3 URIs, written
    again as block YAML with PyYAML's defaults (their yaml_dump), not as infra/build wrote it."""
    packaged = copy.deepcopy(template)
    for resource in packaged["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri", "DefinitionUri"):
            if isinstance(properties.get(key), str):
                properties[key] = S3_URI
    return str(yaml.dump(packaged, Dumper=_Flat, default_flow_style=False, sort_keys=False))


@pytest.fixture(scope="module")
def transformed(template: dict[str, Any]) -> dict[str, Any]:
    packaged = copy.deepcopy(template)
    for resource in packaged["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri", "DefinitionUri"):
            if isinstance(properties.get(key), str):
                properties[key] = f"s3://artifacts/{Path(properties[key]).name}"
    output: dict[str, Any] = transform(packaged, {}, NoManagedPolicies())
    # SAM names a LayerVersion by its logical id and a hash of its content: refer to it by the former.
    renamed = {
        logical_id: name
        for logical_id, resource in output["Resources"].items()
        if resource["Type"] == "AWS::Lambda::LayerVersion"
        for name in (names.COMMON_LAYER, names.OPEN_DATA_LAYER)
        if re.fullmatch(re.escape(name) + "[0-9a-f]{10}", logical_id)
    }
    for resource in output["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function":
            layers = resource["Properties"].get("Layers", [])
            resource["Properties"]["Layers"] = [
                ref(renamed.get(layer.get("Ref"), layer.get("Ref"))) for layer in layers
            ]
    return output


@pytest.fixture(scope="module")
def operations() -> list[Operation]:
    return discover()


def test_the_template_file_is_under_the_limit_with_a_margin(built: BuildResult) -> None:
    size = built.template_path.stat().st_size
    assert size <= BUDGET, f"template.yaml is {size:,} bytes; the budget is {BUDGET:,} (limit {LIMIT:,})"


def test_the_template_as_packaged_is_under_the_limit_with_a_margin(template: dict[str, Any]) -> None:
    size = len(_as_packaged(template).encode("utf-8"))
    assert size <= BUDGET, f"the packaged template is {size:,} bytes; the budget is {BUDGET:,}"


def test_the_processed_template_stays_under_the_limit(transformed: dict[str, Any]) -> None:
    """CloudFormation keeps the transformed template too (JSON); Globals are expanded there, so it
    is larger than what we write: it must still fit."""
    size = len(json.dumps(transformed, separators=(",", ":")).encode("utf-8"))
    assert size <= BUDGET, f"the processed template is {size:,} bytes (compact JSON)"


def test_no_function_repeats_what_globals_give_it(template: dict[str, Any]) -> None:
    shared = template["Globals"]["Function"]
    assert shared["Environment"]["Variables"]["AWS_XRAY_SDK_ENABLED"] == "true"
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function" or resource.get("Condition") == names.NEVER:
            continue
        properties = resource["Properties"]
        own = properties.get("Environment", {}).get("Variables", {})
        repeated = {k for k, v in own.items() if shared["Environment"]["Variables"].get(k) == v}
        assert not repeated, f"{logical_id} repeats {sorted(repeated)}"
        for name in ("Runtime", "Architectures", "Tracing", "ReservedConcurrentExecutions"):
            assert properties.get(name, shared[name]) == shared[name], f"{logical_id}: {name}"
            assert name not in properties, f"{logical_id} repeats {name}"


def _expected(op: Operation, written: dict[str, Any]) -> dict[str, Any]:
    """What the function is generated with (infra/lambdas.py), in AWS::Lambda::Function's terms."""
    route = op.is_route
    return {
        "Environment": lambdas.environment(op),
        "Layers": lambdas.layers(op),
        "Runtime": lambdas.RUNTIME,
        "Architectures": lambdas.ARCHITECTURES,
        "TracingConfig": {"Mode": "Active"},
        "MemorySize": lambdas.ROUTE_MEMORY_MB if route else lambdas.TASK_MEMORY_MB,
        "Timeout": lambdas.ROUTE_TIMEOUT_SECONDS if route else lambdas.TASK_TIMEOUT_SECONDS,
        # Chalice's own handler for a task; the written template keeps it (it is not the global one).
        "Handler": lambdas.ROUTE_HANDLER if route else written["Properties"]["Handler"],
        "Role": get_att(op.role_id, "Arn"),
        "LoggingConfig": {"LogGroup": ref(op.log_group_id), "LogFormat": "Text"},
        "ReservedConcurrentExecutions": {
            "Fn::If": [
                names.HAS_RESERVED_CONCURRENCY,
                ref(names.RESERVED_CONCURRENCY),
                {"Ref": "AWS::NoValue"},
            ]
        },
    }


def test_sam_gives_every_function_what_it_is_generated_with(
    template: dict[str, Any], transformed: dict[str, Any], operations: list[Operation]
) -> None:
    assert len(operations) > 50
    for op in operations:
        created = transformed["Resources"][op.function_id]
        assert created["Type"] == "AWS::Lambda::Function", op.name
        properties = created["Properties"]
        for name, value in _expected(op, template["Resources"][op.function_id]).items():
            assert properties.get(name) == value, (
                f"{op.name}: {name} is {properties.get(name)!r}, not {value!r}"
            )


def test_the_open_data_functions_get_both_layers_in_order(
    transformed: dict[str, Any], operations: list[Operation]
) -> None:
    users = [op for op in operations if op.name in OPEN_DATA_FUNCTIONS]
    for op in users:
        layers = transformed["Resources"][op.function_id]["Properties"]["Layers"]
        assert layers == [ref(names.COMMON_LAYER), ref(names.OPEN_DATA_LAYER)], op.name


def test_expand_merges_globals_as_sam_does(template: dict[str, Any], transformed: dict[str, Any]) -> None:
    """The tests read functions through `expand` (tests/infra/conftest.py): it must agree with SAM."""
    renamed = {"Tracing": "TracingConfig"}
    expanded = expand(template)["Resources"]
    checked = 0
    for logical_id, resource in expanded.items():
        if resource["Type"] != "AWS::Serverless::Function" or resource.get("Condition") == names.NEVER:
            continue
        created = transformed["Resources"][logical_id]["Properties"]
        for name in template["Globals"]["Function"]:
            mine = resource["Properties"].get(name)
            if name == "Tracing":
                mine = {"Mode": mine}
            assert created.get(renamed.get(name, name)) == mine, f"{logical_id}: {name}"
        checked += 1
    assert checked > 50


RESOURCE_LIMIT = 500  # CloudFormation's, per stack: it counts what the transformed template declares
RESOURCE_BUDGET = 450  # 10% under it (docs/adr/0018-resource-count.md)


def test_the_stack_declares_at_most_450_resources_after_sams_transform(
    template: dict[str, Any], transformed: dict[str, Any], operations: list[Operation]
) -> None:
    """SAM adds a rule and a permission per schedule and a mapping per queue; conditional resources
    (Chalice's switched-off handler) count too. Each new operation adds a function and a role."""
    count = len(transformed["Resources"])
    assert len(template["Resources"]) <= count <= RESOURCE_BUDGET, (
        f"{count} resources after the transform; the budget is {RESOURCE_BUDGET} (limit {RESOURCE_LIMIT})"
    )
    routes = [op for op in operations if op.is_route]
    kinds = [r["Type"] for r in transformed["Resources"].values()]
    # None per route: API Gateway invokes them with one role (infra/api.py invoke_role).
    assert kinds.count("AWS::Lambda::Permission") <= len(operations) - len(routes) + 1
    # One log group per area, the API's access log and one per state machine.
    assert kinds.count("AWS::Logs::LogGroup") < len(operations) / 2
