"""CloudFormation building blocks: intrinsic functions and logical ids, as plain dicts."""

from __future__ import annotations

import re
from typing import Any

from chalice.utils import to_cfn_resource_name

Json = dict[str, Any]
NO_VALUE: Json = {"Ref": "AWS::NoValue"}


def ref(name: str) -> Json:
    return {"Ref": name}


def get_att(resource: str, attribute: str) -> Json:
    return {"Fn::GetAtt": [resource, attribute]}


def sub(template: str, variables: dict[str, Any] | None = None) -> Json:
    return {"Fn::Sub": [template, variables] if variables else template}


def arn(service: str, resource: str) -> Json:
    """An ARN in this stack's partition, region and account: `arn(logs, "log-group:x")`."""
    return sub(f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}")


def camel(name: str) -> str:
    """`create_catalogue_item` -> `CreateCatalogueItem`, by Chalice's own rule, so that the ids
    derived for Chalice's resources are the ones it emits."""
    return str(to_cfn_resource_name(name))


def service_principal(service: str) -> str:
    """Service principals are the same in the aws and aws-cn partitions for what we use."""
    return f"{service}.amazonaws.com"


def service_role(service: str, *, description: str, policy_name: str, statements: list[Json]) -> Json:
    """The properties of a role only `service` assumes, with one inline policy of `statements`."""
    return {
        "Description": description,
        "AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service_principal(service)},
                    "Action": "sts:AssumeRole",
                }
            ],
        },
        "Policies": [
            {
                "PolicyName": policy_name[:128],
                "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
            }
        ],
    }


def deep_merge(base: Json, override: Json) -> Json:
    """Chalice's --merge-template rule: dicts merge key by key, anything else is replaced."""
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = value
    return base


SUB_NAME = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")


def references(node: Any) -> set[str]:
    """The logical ids (and parameters) a template fragment refers to, pseudo parameters excluded."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".")[0]
                found.add(target)
            elif key == "Fn::Sub":
                text, variables = (value[0], value[1]) if isinstance(value, list) else (value, {})
                found.update(n for n in SUB_NAME.findall(text) if n not in variables)
                found.update(references(variables))
            else:
                found.update(references(value))
    elif isinstance(node, list):
        for item in node:
            found.update(references(item))
    return {name for name in found if not name.startswith("AWS::")}
