"""The deployable template, built once per session into a temporary directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.build import BuildResult, build
from infra.names import NEVER
from infra.sam_globals import expand


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    return build(out_dir=tmp_path_factory.mktemp("infra-build"))


@pytest.fixture(scope="session")
def template(built: BuildResult) -> dict[str, Any]:
    return built.template


@pytest.fixture(scope="session")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    """The resources that get created (Chalice's switched-off APIHandler excluded), each function
    with what the template's `Globals` give it, merged by SAM's rules (infra/sam_globals.py `expand`;
    tests/infra/test_template_size.py checks that against SAM's own transform)."""
    expanded = expand(template)
    return {k: v for k, v in expanded["Resources"].items() if v.get("Condition") != NEVER}


def of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in resources.items() if v["Type"] == kind}


def policy_documents(template: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(resource id, kind of document, document) for every IAM-language document in the template."""
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        for policy in properties.get("Policies", []) or []:
            if isinstance(policy, dict) and "PolicyDocument" in policy:
                yield logical_id, "identity", policy["PolicyDocument"]
        if "AssumeRolePolicyDocument" in properties:
            yield logical_id, "trust", properties["AssumeRolePolicyDocument"]
        if "KeyPolicy" in properties:
            yield logical_id, "key", properties["KeyPolicy"]
        if resource["Type"] == "AWS::IAM::ManagedPolicy":
            yield logical_id, "identity", properties["PolicyDocument"]
        if resource["Type"] in ("AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy"):
            yield logical_id, "resource", properties["PolicyDocument"]


NO_VALUE = {"Ref": "AWS::NoValue"}


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The document's statements; one under `Fn::If` (a user-pool grant) counts with each branch."""
    found = document.get("Statement", [])
    unwrapped: list[dict[str, Any]] = []
    for statement in found if isinstance(found, list) else [found]:
        if isinstance(statement, dict) and list(statement) == ["Fn::If"]:
            _, when_true, when_false = statement["Fn::If"]
            unwrapped += [branch for branch in (when_true, when_false) if branch != NO_VALUE]
        else:
            unwrapped.append(statement)
    return unwrapped


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def without_local_paths(template: dict[str, Any], root: Path) -> dict[str, Any]:
    """What `sam package` does to the template: local artifacts become S3 URIs."""
    import copy

    packaged = copy.deepcopy(template)
    for resource in packaged["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri", "DefinitionUri"):
            value = properties.get(key)
            if isinstance(value, str):
                assert (root / value).exists(), f"{key} {value} does not exist next to the template"
                properties[key] = f"s3://artifacts/{Path(value).name}"
    return packaged
