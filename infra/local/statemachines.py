"""State machines from statemachines/*.asl.json, with their `${Placeholders}` resolved as SAM's
DefinitionSubstitutions resolve them in AWS.

Placeholder names are the template build's (infra/workflows.py `substitutions`):
- `${<Handler>FunctionArn}`: a Lambda function, `<Handler>` the CamelCase Chalice handler name
  (`close_enrollment` -> `${CloseEnrollmentFunctionArn}`);
- `${<Suffix>TableName}` / `${<Suffix>TableArn}`: a table (`catalogue` -> `${CatalogueTableName}`);
- `${EventBusName}`, `${EventBusArn}`, `${EventSource}`, `${DocumentsBucketName}`.
A placeholder with no value is an error, never left in the definition.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from infra.local import naming

PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def machine_name(path: Path) -> str:
    """`purchase-window.asl.json` -> `marketplace-local-purchase-window`."""
    return naming.resource_name(path.name.removesuffix(".json").removesuffix(".asl"))


def substitute(definition: str, values: dict[str, str]) -> str:
    missing = sorted({m for m in PLACEHOLDER.findall(definition) if m not in values})
    if missing:
        raise ValueError(f"no local value for placeholder(s): {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], definition)


def create(sfn_client: Any, files: list[Path], values: dict[str, str], role_arn: str) -> dict[str, str]:
    """Create each state machine; name -> ARN. (With no files, moto's Step Functions backend, ~1.3 s
    and ~120 MB to load, is never touched.)"""
    arns = {}
    for path in files:
        name = machine_name(path)
        definition = substitute(path.read_text(encoding="utf-8"), values)
        created = sfn_client.create_state_machine(name=name, definition=definition, roleArn=role_arn)
        arns[name] = created["stateMachineArn"]
    return arns
