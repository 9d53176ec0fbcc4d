"""From Chalice's merged output to the deployable template: paths made relative to the template,
the invariants of the per-operation design checked, and the YAML written."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from infra import names
from infra.cfn import Json, references
from infra.errors import BuildError

LOCAL_PATH_PROPERTIES = ("CodeUri", "ContentUri", "DefinitionUri")
FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Serverless::StateMachine")
# Roles that API Gateway, not a function, assumes.
SERVICE_ROLES = (names.API_GATEWAY_LOGS_ROLE, names.API_INVOKE_ROLE)


def rebase_paths(template: Json, from_dir: Path, to_dir: Path) -> None:
    """Local artifact paths are relative to the template that names them: move them with it."""
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        for key in LOCAL_PATH_PROPERTIES:
            value = properties.get(key)
            if isinstance(value, str) and "://" not in value:
                properties[key] = os.path.relpath((from_dir / value).resolve(), to_dir.resolve())


def _enabled(template: Json) -> dict[str, Json]:
    return {k: v for k, v in template["Resources"].items() if v.get("Condition") != names.NEVER}


def check(template: Json) -> None:
    resources = template["Resources"]
    enabled = _enabled(template)
    disabled = set(resources) - set(enabled)
    defined = set(resources) | set(template.get("Parameters", {}))
    for logical_id, resource in enabled.items():
        refs = references(resource)
        if refs & disabled:
            raise BuildError(f"{logical_id} still refers to {sorted(refs & disabled)}, which is switched off")
        if refs - defined:
            raise BuildError(f"{logical_id} refers to undefined {sorted(refs - defined)}")
    for name, output in template.get("Outputs", {}).items():
        if output.get("Condition") != names.NEVER and references(output) & disabled:
            raise BuildError(f"output {name} refers to a switched-off resource")
    role_users: dict[str, list[str]] = {}
    for logical_id, resource in enabled.items():
        if resource.get("Type") not in FUNCTION_TYPES:
            continue
        role = resource.get("Properties", {}).get("Role")
        if not (isinstance(role, dict) and "Fn::GetAtt" in role):
            raise BuildError(f"{logical_id} has no role of its own (Role: {role!r})")
        role_users.setdefault(role["Fn::GetAtt"][0], []).append(logical_id)
        for event_id, event in resource.get("Properties", {}).get("Events", {}).items():
            if "Type" not in event:
                raise BuildError(
                    f"{logical_id}: event {event_id} has no Type (an override missed Chalice's event)"
                )
    shared = {role: users for role, users in role_users.items() if len(users) > 1}
    if shared:
        raise BuildError(f"roles shared between functions: {shared}")
    for logical_id, resource in enabled.items():
        is_role = resource.get("Type") == "AWS::IAM::Role"
        if is_role and logical_id not in role_users and logical_id not in SERVICE_ROLES:
            raise BuildError(f"role {logical_id} is used by no function: an orphan from chalice package?")


class _NoAliases(yaml.SafeDumper):
    """CloudFormation's YAML parser takes no anchors or aliases: write repeated values out."""

    def ignore_aliases(self, data: object) -> bool:
        return True


SECTION_ORDER = (
    "AWSTemplateFormatVersion",
    "Transform",
    "Description",
    "Metadata",
    "Parameters",
    "Rules",
    "Mappings",
    "Conditions",
    "Globals",
    "Resources",
    "Outputs",
)


def write_yaml(template: Json, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ordered = {key: template[key] for key in SECTION_ORDER if key in template}
    ordered.update({k: v for k, v in template.items() if k not in ordered})
    text = yaml.dump(ordered, Dumper=_NoAliases, sort_keys=False, allow_unicode=True, width=120)
    path.write_text(text, encoding="utf-8")
