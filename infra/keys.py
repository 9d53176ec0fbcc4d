"""KMS keys: one symmetric key for data at rest (tables, bucket, queues, log groups) and the
asymmetric key that signs confirmation letters."""

from __future__ import annotations

from infra import names
from infra.cfn import Json, arn, get_att, ref, sub
from infra.definitions import SEALING_KEY_ALIAS, SIGNING_KEY_ALIAS

RETAIN = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
# The account administers its keys through IAM. Listed, not `kms:*`: no wildcard actions anywhere.
ADMINISTRATION = [
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:CreateGrant",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RetireGrant",
    "kms:RevokeGrant",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
]
ENCRYPTION = [
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
]
SIGNATURE = ["kms:GetPublicKey", "kms:Sign", "kms:Verify"]
GRANTS = ("kms:CreateGrant", "kms:RetireGrant", "kms:RevokeGrant")
KEY_POLICY_WHY = (
    "A key policy's Resource is always '*': it means this key. The account statement delegates use "
    "to IAM policies, which grant each role only what it needs."
)


def _account(actions: list[str]) -> Json:
    return {
        "Sid": "AccountAdministersThroughIam",
        "Effect": "Allow",
        "Principal": {"AWS": sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")},
        "Action": actions,
        "Resource": "*",
    }


def _logs() -> Json:
    return {
        "Sid": "CloudWatchLogsEncryptsThisAccountsLogGroups",
        "Effect": "Allow",
        "Principal": {"Service": sub("logs.${AWS::Region}.${AWS::URLSuffix}")},
        "Action": [
            "kms:Decrypt",
            "kms:DescribeKey",
            "kms:Encrypt",
            "kms:GenerateDataKey",
            "kms:ReEncryptFrom",
            "kms:ReEncryptTo",
        ],
        "Resource": "*",
        "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": arn("logs", "log-group:*")}},
    }


def _eventbridge() -> Json:
    return {
        "Sid": "EventBridgeDeliversToEncryptedQueues",
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}},
    }


def data_key(*, queues: bool) -> dict[str, Json]:
    statements = [_account(ADMINISTRATION + ENCRYPTION), _logs()]
    if queues:
        statements.append(_eventbridge())
    return {
        names.DATA_KEY: {
            "Type": "AWS::KMS::Key",
            **RETAIN,
            "Properties": {
                "Description": sub("${AWS::StackName}: data at rest (tables, documents, queues, logs)"),
                "EnableKeyRotation": True,
                "KeySpec": "SYMMETRIC_DEFAULT",
                "KeyUsage": "ENCRYPT_DECRYPT",
                "KeyPolicy": {"Version": "2012-10-17", "Statement": statements},
            },
            "Metadata": {"why": KEY_POLICY_WHY},
        },
        names.DATA_KEY_ALIAS: {
            "Type": "AWS::KMS::Alias",
            "Properties": {
                "AliasName": sub("alias/${AWS::StackName}-data"),
                "TargetKeyId": ref(names.DATA_KEY),
            },
        },
    }


def signing_key() -> dict[str, Json]:
    return {
        names.SIGNING_KEY: {
            "Type": "AWS::KMS::Key",
            **RETAIN,
            "Properties": {
                "Description": sub("${AWS::StackName}: signs confirmation letters (ECDSA P-256)"),
                "KeySpec": "ECC_NIST_P256",
                "KeyUsage": "SIGN_VERIFY",
                "KeyPolicy": {"Version": "2012-10-17", "Statement": [_account(ADMINISTRATION + SIGNATURE)]},
            },
            "Metadata": {
                "why": KEY_POLICY_WHY + " No automatic rotation: KMS rotates only symmetric keys, and a "
                "letter's signature must stay verifiable; a new key pair is a new key and alias target.",
            },
        },
        names.SIGNING_KEY_ALIAS: {
            "Type": "AWS::KMS::Alias",
            "Properties": {
                "AliasName": sub(f"alias/${{AWS::StackName}}-{SIGNING_KEY_ALIAS}"),
                "TargetKeyId": ref(names.SIGNING_KEY),
            },
        },
    }


def sealing_key(decrypting_roles: list[str]) -> dict[str, Json]:
    """The key sealed quotes and proposals are encrypted under. The account administers it and may
    encrypt with it through IAM, but may not decrypt: only the roles named here (the closing tasks')
    may, by this policy alone, so no IAM policy (an administrator's included) opens a sealed bid."""
    # No grants either: a grant would give Decrypt to a principal without touching this policy.
    administration = [a for a in ADMINISTRATION if a not in GRANTS]
    statements: list[Json] = [_account([*administration, "kms:Encrypt"])]
    if decrypting_roles:
        statements.append(
            {
                "Sid": "OnlyTheClosingTasksOpenSealedSubmissions",
                "Effect": "Allow",
                "Principal": {"AWS": [get_att(role, "Arn") for role in decrypting_roles]},
                "Action": ["kms:Decrypt"],
                "Resource": "*",
            }
        )
    return {
        names.SEALING_KEY: {
            "Type": "AWS::KMS::Key",
            **RETAIN,
            "Properties": {
                "Description": sub("${AWS::StackName}: seals quotes and proposals until their round closes"),
                "EnableKeyRotation": True,
                "KeySpec": "SYMMETRIC_DEFAULT",
                "KeyUsage": "ENCRYPT_DECRYPT",
                "KeyPolicy": {"Version": "2012-10-17", "Statement": statements},
            },
            "Metadata": {
                "why": KEY_POLICY_WHY + " The account statement leaves out kms:Decrypt on purpose: "
                "decryption is granted here, by name, to the closing tasks' roles only (docs/adr)."
            },
        },
        names.SEALING_KEY_ALIAS: {
            "Type": "AWS::KMS::Alias",
            "Properties": {
                "AliasName": sub(f"alias/${{AWS::StackName}}-{SEALING_KEY_ALIAS}"),
                "TargetKeyId": ref(names.SEALING_KEY),
            },
        },
    }


def sealing_key_alias() -> Json:
    """By alias, not ARN: every function names the key, and the key's policy names the closing roles,
    so a Ref from the functions to the key would be one more edge in a cycle-prone graph."""
    return sub(f"alias/${{AWS::StackName}}-{SEALING_KEY_ALIAS}")


def data_key_arn() -> Json:
    return get_att(names.DATA_KEY, "Arn")
