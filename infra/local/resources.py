"""Create the system's resources on the emulator, one function per kind, from the same definitions
(`infra/definitions.py`) the deployable template is built from."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infra.local import naming

if TYPE_CHECKING:  # importing definitions imports the table models, which read TABLE_PREFIX once
    from infra.definitions import EventRule, QueueSpec, TableSpec

DLQ_RETENTION_SECONDS = 14 * 24 * 3600
USER_POOL_NAME = f"{naming.APP_NAME}-{naming.STAGE}"
# Cognito has no user pools in the China regions (nor has moto): the local pool lives in a region that
# has them, as in the in-process tests (tests/support/resources.py). Clients take the region from the
# pool id ("ap-northeast-1_..."), as marketplace.repositories.directory does.
USER_POOL_REGION = "ap-northeast-1"


@dataclass(frozen=True)
class UserPool:
    id: str
    arn: str
    name: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class Queue:
    name: str
    url: str
    arn: str
    dlq_url: str


def _trust(service: str) -> str:
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def create_role(iam: Any, name: str, service: str) -> str:
    """moto refuses a Lambda function or state machine whose role does not exist."""
    return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust(service))["Role"]["Arn"])


def create_tables(dynamodb: Any, specs: list[TableSpec], prefix: str) -> dict[str, str]:
    """Each table with its indexes and TTL; logical id -> (name, ARN) as placeholder values."""
    values = {}
    for spec in specs:
        name = prefix + spec.logical_suffix
        table = dynamodb.create_table(**spec.create_table_kwargs(name))["TableDescription"]
        if spec.ttl_attribute:
            # Accepted, never enforced by moto: code must not rely on TTL deletion.
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute}
            )
        values[f"{spec.logical_id}Name"] = name
        values[f"{spec.logical_id}Arn"] = table["TableArn"]
    return values


def create_event_bus(events: Any, name: str) -> str:
    return str(events.create_event_bus(Name=name)["EventBusArn"])


def _queue_arn(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def create_queues(sqs: Any, specs: list[QueueSpec]) -> dict[str, Queue]:
    """Each queue with its dead-letter queue and redrive policy; spec name -> Queue."""
    queues = {}
    for spec in specs:
        name = naming.resource_name(spec.name)
        dlq_url = sqs.create_queue(
            QueueName=f"{name}-dlq", Attributes={"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)}
        )["QueueUrl"]
        redrive = json.dumps(
            {"deadLetterTargetArn": _queue_arn(sqs, dlq_url), "maxReceiveCount": str(spec.max_receive_count)}
        )
        attributes = {"VisibilityTimeout": str(spec.visibility_timeout), "RedrivePolicy": redrive}
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        queues[spec.name] = Queue(name=name, url=url, arn=_queue_arn(sqs, url), dlq_url=dlq_url)
    return queues


def create_rules(
    events: Any, rules: list[EventRule], queues: dict[str, Queue], *, bus: str, source: str
) -> list[str]:
    """Each rule on the domain bus, matching its detail types, with its queue as the target."""
    names = []
    for rule in rules:
        if rule.target_queue not in queues:
            raise ValueError(f"event rule {rule.name} targets unknown queue {rule.target_queue}")
        pattern = {"source": [source], "detail-type": list(rule.detail_types)}
        events.put_rule(Name=rule.name, EventBusName=bus, EventPattern=json.dumps(pattern), State="ENABLED")
        target = {"Id": rule.target_queue, "Arn": queues[rule.target_queue].arn}
        events.put_targets(Rule=rule.name, EventBusName=bus, Targets=[target])
        names.append(rule.name)
    return names


def create_bucket(s3: Any, name: str) -> str:
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": naming.REGION})
    return name


def create_signing_key(kms: Any, alias: str) -> str:
    """The ECC_NIST_P256 SIGN_VERIFY key that signs confirmation letters; returns its ARN."""
    key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY", Description="confirmation letters")
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyMetadata"]["KeyId"])
    return str(key["KeyMetadata"]["Arn"])


def create_sealing_key(kms: Any, alias: str) -> str:
    """The symmetric key sealed quotes and proposals are encrypted under; returns its ARN. moto does
    not enforce key policies: locally any function may decrypt, and the template's key policy (that
    only the closing tasks' roles may) is checked on the built template (tests/infra)."""
    key = kms.create_key(KeySpec="SYMMETRIC_DEFAULT", KeyUsage="ENCRYPT_DECRYPT", Description="sealed bids")
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyMetadata"]["KeyId"])
    return str(key["KeyMetadata"]["Arn"])


def function_values(function_arns: dict[str, str]) -> dict[str, str]:
    """handler name -> ARN, as `${<Handler>FunctionArn}` values."""
    return {f"{naming.placeholder(handler)}FunctionArn": arn for handler, arn in function_arns.items()}


def defer_user_pool_signing_key() -> Callable[[], None]:
    """Make moto import its token-signing key when it first signs a token, not for every pool it
    creates; returns the undo.

    moto 5.2.5 imports the same RSA JWK for each new user pool (`CognitoIdpUserPool.__init__`): prime
    recovery and key validation, 0.12-0.17 s of CPU that holds the GIL, so it slows the whole startup
    (and every in-process test that creates a pool). The key only signs the tokens moto issues
    (InitiateAuth), which the local stack never asks for: it mints its own (infra/local/tokens.py)."""
    from moto.cognitoidp import models

    from infra.local.patches import check_moto_version

    check_moto_version()  # written against moto.cognitoidp.models of that version
    if models.jwk is _DeferredImport:
        return lambda: None
    original_jwk = models.jwk
    if not isinstance(models.CognitoIdpUserPool.__dict__.get("json_web_key"), _KeyOnFirstUse):
        setattr(models.CognitoIdpUserPool, "json_web_key", _KeyOnFirstUse(original_jwk))  # noqa: B010
    setattr(models, "jwk", _DeferredImport)  # noqa: B010 - mypy refuses replacing a module

    def undo() -> None:
        # New pools import their key at once again; the descriptor stays, so that pools created
        # meanwhile still import theirs when they first sign a token.
        setattr(models, "jwk", original_jwk)  # noqa: B010

    return undo


class _DeferredImport:
    """Stands in for `joserfc.jwk` in moto.cognitoidp.models, whose only use is
    `self.json_web_key = jwk.RSAKey.import_key(jwks_file)` in CognitoIdpUserPool.__init__."""

    class RSAKey:
        @staticmethod
        def import_key(value: Any) -> Any:
            return value


class _KeyOnFirstUse:
    """`CognitoIdpUserPool.json_web_key`: keeps the JWK moto assigns, imports it when first read."""

    def __init__(self, jwk: Any) -> None:
        self._jwk = jwk

    def __set__(self, pool: Any, value: Any) -> None:
        pool.__dict__["json_web_key"] = value

    def __get__(self, pool: Any, owner: Any = None) -> Any:
        if pool is None:
            return self
        value = pool.__dict__["json_web_key"]
        if isinstance(value, dict):
            value = pool.__dict__["json_web_key"] = self._jwk.RSAKey.import_key(value)
        return value


def user_pool_client(endpoint_url: str) -> Any:
    """A cognito-idp client on the emulator, in the user pool's region."""
    import boto3

    return boto3.client(
        "cognito-idp",
        endpoint_url=endpoint_url,
        region_name=USER_POOL_REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def create_user_pool(cognito: Any, name: str = USER_POOL_NAME) -> UserPool:
    """The user pool as infra/identity.py defines it (sign-in by email, administrators create users,
    the password policy, mutable custom:org_id and custom:industries), with one group per role."""
    from infra import identity  # imports marketplace.auth, which reads settings: only once they are set
    from marketplace.auth import ROLES

    pool = cognito.create_user_pool(
        PoolName=name,
        UsernameAttributes=list(identity.USERNAME_ATTRIBUTES),
        AutoVerifiedAttributes=list(identity.AUTO_VERIFIED_ATTRIBUTES),
        AdminCreateUserConfig=dict(identity.ADMIN_CREATE_USER_CONFIG),
        Policies={"PasswordPolicy": dict(identity.PASSWORD_POLICY)},
        Schema=[identity.schema_attribute(a) for a in identity.CUSTOM_ATTRIBUTES],
    )["UserPool"]
    for role in ROLES:
        description = identity.group_description(role)
        cognito.create_group(GroupName=role, UserPoolId=pool["Id"], Description=description)
    return UserPool(id=str(pool["Id"]), arn=str(pool["Arn"]), name=name, groups=tuple(ROLES))
