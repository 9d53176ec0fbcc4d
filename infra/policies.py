"""The per-operation policy file: a compact form, validated, and resolved to IAM statements.

The file maps an operation name (a route's name, a task's name, a state machine's name) to grants:

    {"create_catalogue_item": [
        {"actions": ["dynamodb:PutItem"], "tables": ["catalogue", "outbox"]},
        {"actions": ["events:PutEvents"], "bus": true}]}

Each grant names actions (never a wildcard) and exactly one kind of resource:
`tables` (table suffixes), `indexes` ("table" for all its indexes or "table/index"), `bus`,
`queues`, `bucket` (the documents bucket itself), `objects` (key prefixes in the documents bucket,
or in another bucket named before a colon: "opendata:ocds/" is `ocds/` in the open-data bucket), `keys`
("data", "signing"), `state_machines`, `executions` (the executions of the named state machines),
`functions`, `user_pool` (this stack's Cognito user pool,
`"user_pool": true`). An optional `why` documents the grant.
Keys starting with `$` are comments. The KMS use that an encrypted store implies (DynamoDB, S3, SQS
under the data key) is added by the resolver, limited to calls made through that service.

The user pool exists only where Cognito has user pools (`names.HAS_USER_POOLS`: not in the China
regions). A `user_pool` grant becomes a statement inside `Fn::If` on that condition: where the pool
does not exist, the statement is left out (`AWS::NoValue`) rather than pointed at an ARN that is not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra import names
from infra.cfn import NO_VALUE, Json, get_att, sub
from infra.definitions import DOCUMENTS_BUCKET, OPEN_DATA_BUCKET, TableSpec
from infra.errors import BuildError

DEFAULT_POLICY_FILE = Path(__file__).resolve().parent / "policies.json"
ACTION = re.compile(r"^[a-z0-9-]+:[A-Z][A-Za-z0-9]*$")
SELECTOR_SERVICES = {
    "tables": "dynamodb",
    "indexes": "dynamodb",
    "bus": "events",
    "queues": "sqs",
    "bucket": "s3",
    "objects": "s3",
    "keys": "kms",
    "state_machines": "states",
    "executions": "states",
    "functions": "lambda",
    "user_pool": "cognito-idp",
}
BOOLEAN_SELECTORS = {"bus", "bucket", "user_pool"}
# Selectors whose resource exists only under a template condition: their statements carry it.
CONDITIONAL_SELECTORS = {"user_pool": names.HAS_USER_POOLS}
INDEX_ACTIONS = {"dynamodb:Query", "dynamodb:Scan"}
EXECUTION_ARN_PREFIX = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:"
KEYS = {"data": names.DATA_KEY, "signing": names.SIGNING_KEY, "sealing": names.SEALING_KEY}
# Buckets an `objects` grant may name ("<bucket>:<prefix>"; a bare prefix is the documents bucket's).
BUCKETS = {DOCUMENTS_BUCKET: names.DOCUMENTS_BUCKET, OPEN_DATA_BUCKET: names.OPEN_DATA_BUCKET}
# Encrypted with S3-managed keys, not the data key (infra/storage.py): no KMS use is implied.
SSE_S3_BUCKETS = {OPEN_DATA_BUCKET}
# kms:Decrypt on the sealing key is granted by the key's own policy to the roles whose grant asks for
# it, never by IAM (infra/keys.py sealing_key): an administrator's IAM permissions do not open a
# sealed quote. Their IAM statements leave it out; `sealing_decrypters` names the operations.
SEALED_READ = "kms:Decrypt"
# X-Ray's write API has no resource-level permissions: `Resource: "*"` is the only form IAM accepts.
XRAY_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
# Services that encrypt with the data key on the caller's behalf: the caller needs the key too.
KMS_READ = ("kms:Decrypt", "kms:DescribeKey")
KMS_WRITE = ("kms:Encrypt", "kms:GenerateDataKey")
READ_ONLY_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:ConditionCheckItem",
    "s3:GetObject",
    "s3:GetObjectVersion",
    "sqs:ReceiveMessage",
}
NO_KEY_ACTIONS = {
    "s3:ListBucket",
    "s3:DeleteObject",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ChangeMessageVisibility",
}


@dataclass(frozen=True)
class Grant:
    """Actions on one kind of resource; `targets` is empty for the bus, the bucket and the user pool."""

    actions: tuple[str, ...]
    selector: str
    targets: tuple[str, ...] = ()
    why: str = ""

    @property
    def service(self) -> str:
        return SELECTOR_SERVICES[self.selector]


PolicyFile = dict[str, list[Grant]]


def object_target(target: str) -> tuple[str, str]:
    """An `objects` target as (bucket name, key prefix): "opendata:ocds/" or "letters/" (documents)."""
    bucket, colon, prefix = target.partition(":")
    return (bucket, prefix) if colon else (DOCUMENTS_BUCKET, target)


@dataclass(frozen=True)
class Catalog:
    """What a grant may name, and the logical ids behind those names."""

    tables: dict[str, TableSpec]
    queues: dict[str, str]  # queue name -> logical id
    state_machines: dict[str, str]  # state machine name -> logical id
    functions: dict[str, str]  # operation name -> function logical id


def _grant(operation: str, raw: Any) -> Grant:
    where = f"policy for {operation!r}"
    if not isinstance(raw, dict):
        raise BuildError(f"{where}: each grant is an object, got {raw!r}")
    actions = raw.get("actions")
    if not isinstance(actions, list) or not actions or not all(isinstance(a, str) for a in actions):
        raise BuildError(f"{where}: 'actions' must be a non-empty list of strings")
    for action in actions:
        if "*" in action or not ACTION.match(action):
            raise BuildError(f"{where}: {action!r} is not a single IAM action (service:Action, no wildcard)")
    selectors = [k for k in raw if k in SELECTOR_SERVICES]
    unknown = [k for k in raw if k not in SELECTOR_SERVICES and k not in ("actions", "why")]
    if unknown or len(selectors) != 1:
        raise BuildError(
            f"{where}: a grant names exactly one of {sorted(SELECTOR_SERVICES)} (got {sorted(raw)})"
        )
    selector = selectors[0]
    value = raw[selector]
    if selector in BOOLEAN_SELECTORS:
        if value is not True:
            raise BuildError(f"{where}: {selector!r} must be true")
        targets: tuple[str, ...] = ()
    elif isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        targets = tuple(value)
    else:
        raise BuildError(f"{where}: {selector!r} must be a non-empty list of names")
    service = SELECTOR_SERVICES[selector]
    wrong = [a for a in actions if a.split(":", 1)[0] != service]
    if wrong:
        raise BuildError(f"{where}: {wrong} do not act on {selector} (expected {service}:* actions)")
    if selector == "objects":
        for target in targets:
            bucket, prefix = object_target(target)
            if bucket not in BUCKETS or not prefix:
                raise BuildError(
                    f"{where}: {target!r} is not a key prefix in a known bucket "
                    f'("<prefix>" in the documents bucket or "<bucket>:<prefix>", buckets: {sorted(BUCKETS)})'
                )
    if selector == "indexes" and not set(actions) <= INDEX_ACTIONS:
        raise BuildError(f"{where}: indexes only take {sorted(INDEX_ACTIONS)}, got {actions}")
    return Grant(
        actions=tuple(sorted(set(actions))), selector=selector, targets=targets, why=str(raw.get("why", ""))
    )


def load(path: Path = DEFAULT_POLICY_FILE) -> PolicyFile:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BuildError(f"policy file {path} does not exist") from exc
    except ValueError as exc:
        raise BuildError(f"policy file {path} is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise BuildError(f"policy file {path} must map operation names to lists of grants")
    policies: PolicyFile = {}
    for operation, grants in document.items():
        if operation.startswith("$"):
            continue
        if not isinstance(grants, list):
            raise BuildError(f"policy for {operation!r}: a list of grants (empty for none), got {grants!r}")
        policies[operation] = [_grant(operation, g) for g in grants]
    return policies


def require(policies: PolicyFile, operations: Iterable[str], path: Path) -> None:
    """Every operation needs an entry, even an empty one: no function ships with an unreviewed role."""
    missing = [name for name in operations if name not in policies]
    if missing:
        raise BuildError(
            f"no policy entry in {path} for: {', '.join(missing)}. Add one per operation listing what it "
            'may do, e.g. "' + missing[0] + '": [{"actions": ["dynamodb:GetItem"], "tables": ["catalogue"]}] '
            "(an empty list grants only logs and tracing)"
        )


def unused(policies: PolicyFile, operations: Iterable[str]) -> list[str]:
    known = set(operations)
    return sorted(name for name in policies if name not in known)


def _table(catalog: Catalog, operation: str, suffix: str) -> TableSpec:
    spec = catalog.tables.get(suffix)
    if spec is None:
        raise BuildError(
            f"policy for {operation!r}: unknown table {suffix!r} (tables: {sorted(catalog.tables)})"
        )
    return spec


def _index_arn(catalog: Catalog, operation: str, target: str) -> Json:
    suffix, _, index = target.partition("/")
    spec = _table(catalog, operation, suffix)
    known = [g["IndexName"] for g in spec.global_secondary_indexes]
    if not known:
        raise BuildError(f"policy for {operation!r}: table {suffix!r} has no indexes")
    if index and index not in known:
        raise BuildError(
            f"policy for {operation!r}: table {suffix!r} has no index {index!r} (indexes: {known})"
        )
    return sub(f"${{{spec.logical_id}.Arn}}/index/{index or '*'}")


def _named(mapping: dict[str, str], kind: str, operation: str, target: str) -> str:
    if target not in mapping:
        raise BuildError(f"policy for {operation!r}: unknown {kind} {target!r} (known: {sorted(mapping)})")
    return mapping[target]


def _resources(grant: Grant, catalog: Catalog, operation: str) -> list[Json]:
    if grant.selector == "tables":
        return [get_att(_table(catalog, operation, t).logical_id, "Arn") for t in grant.targets]
    if grant.selector == "indexes":
        return [_index_arn(catalog, operation, t) for t in grant.targets]
    if grant.selector == "bus":
        return [get_att(names.EVENT_BUS, "Arn")]
    if grant.selector == "bucket":
        return [get_att(names.DOCUMENTS_BUCKET, "Arn")]
    if grant.selector == "user_pool":
        return [get_att(names.USER_POOL, "Arn")]
    if grant.selector == "objects":
        located = [object_target(t) for t in grant.targets]
        return [sub(f"${{{BUCKETS[bucket]}.Arn}}/{prefix.rstrip('*')}*") for bucket, prefix in located]
    if grant.selector == "keys":
        return [get_att(_named(KEYS, "key", operation, t), "Arn") for t in grant.targets]
    if grant.selector == "queues":
        return [get_att(_named(catalog.queues, "queue", operation, t), "Arn") for t in grant.targets]
    if grant.selector == "state_machines":
        return [{"Ref": _named(catalog.state_machines, "state machine", operation, t)} for t in grant.targets]
    if grant.selector == "executions":
        for t in grant.targets:
            _named(catalog.state_machines, "state machine", operation, t)
        # By name, as STATE_MACHINE_ARN_PREFIX: a Ref from a task's role back to its machine is a cycle.
        return [sub(f"{EXECUTION_ARN_PREFIX}${{AWS::StackName}}-{t}:*") for t in grant.targets]
    return [get_att(_named(catalog.functions, "function", operation, t), "Arn") for t in grant.targets]


def _implied_key_use(grants: list[Grant]) -> list[Json]:
    """DynamoDB, S3 and SQS use the data key with the caller's permissions: allow exactly that."""
    by_service: dict[str, set[str]] = {}
    for grant in grants:
        if grant.service not in ("dynamodb", "s3", "sqs"):
            continue
        if grant.selector == "objects" and all(object_target(t)[0] in SSE_S3_BUCKETS for t in grant.targets):
            continue
        for action in grant.actions:
            if action in NO_KEY_ACTIONS:
                continue
            needed = by_service.setdefault(grant.service, set())
            needed.update(KMS_READ)
            if action not in READ_ONLY_ACTIONS:
                needed.update(KMS_WRITE)
    return [
        {
            "Sid": f"DataKeyVia{service.capitalize()}",
            "Effect": "Allow",
            "Action": sorted(actions),
            "Resource": get_att(names.DATA_KEY, "Arn"),
            "Condition": {
                "StringEquals": {"kms:ViaService": sub(f"{service}.${{AWS::Region}}.${{AWS::URLSuffix}}")}
            },
        }
        for service, actions in sorted(by_service.items())
    ]


def _opens_sealed(grant: Grant) -> bool:
    return grant.selector == "keys" and "sealing" in grant.targets and SEALED_READ in grant.actions


def sealing_decrypters(policies: PolicyFile) -> list[str]:
    """The operations that may open sealed submissions: their roles are named in the key policy."""
    return sorted(op for op, grants in policies.items() if any(_opens_sealed(g) for g in grants))


def _iam_grant(operation: str, grant: Grant) -> Grant | None:
    """The grant as IAM states it: decrypting sealed submissions is left to the sealing key's policy."""
    if not _opens_sealed(grant):
        return grant
    if grant.targets != ("sealing",):
        raise BuildError(f"policy for {operation!r}: grant kms:Decrypt on the sealing key alone")
    actions = tuple(a for a in grant.actions if a != SEALED_READ)
    return (
        Grant(actions=actions, selector=grant.selector, targets=grant.targets, why=grant.why)
        if actions
        else None
    )


def statements(operation: str, grants: list[Grant], catalog: Catalog, *, on_request_path: bool) -> list[Json]:
    """The IAM statements of an operation's grants, with ARNs, plus the key use they imply."""
    result: list[Json] = []
    for number, stated in enumerate(grants, start=1):
        grant = _iam_grant(operation, stated)
        if grant is None:
            continue
        if on_request_path and "dynamodb:Scan" in grant.actions:
            raise BuildError(f"policy for {operation!r}: a route may not Scan (query an index instead)")
        statement: Json = {
            "Sid": f"Grant{number}{grant.selector.title().replace('_', '')}",
            "Effect": "Allow",
            "Action": list(grant.actions),
            "Resource": _resources(grant, catalog, operation),
        }
        condition = CONDITIONAL_SELECTORS.get(grant.selector)
        result.append({"Fn::If": [condition, statement, NO_VALUE]} if condition else statement)
    return result + _implied_key_use(grants)


def baseline(log_group_id: str) -> list[Json]:
    """What every function may do: write its area's log group (no other) and its traces."""
    return [
        {
            "Sid": "AreaLogGroup",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": get_att(log_group_id, "Arn"),
        },
        {
            "Sid": "Tracing",
            "Effect": "Allow",
            "Action": list(XRAY_ACTIONS),
            "Resource": "*",
        },
    ]
