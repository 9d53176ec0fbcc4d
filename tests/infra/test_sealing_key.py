"""Sealed quotes and proposals on the built template: the sealing key's policy lets the account
administer it and encrypt, and lets only the closing tasks' roles (the operations whose policy asks
for kms:Decrypt on it) decrypt; no IAM statement anywhere grants kms:Decrypt on that key, nor
kms:Decrypt on every key, so an administrator's IAM permissions do not open a sealed bid."""

from __future__ import annotations

from typing import Any

from infra import names, policies
from infra.operations import discover
from tests.infra.conftest import as_list, policy_documents, statements


def _decrypt_statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        s
        for s in statements(document)
        if s.get("Effect") == "Allow"
        and any(a in ("kms:Decrypt", "kms:*", "*") for a in as_list(s.get("Action", [])))
    ]


def test_only_the_closing_roles_may_decrypt_with_the_sealing_key(template: dict[str, Any]) -> None:
    key = template["Resources"][names.SEALING_KEY]["Properties"]
    account, *others = key["KeyPolicy"]["Statement"]
    assert "kms:Decrypt" not in account["Action"] and "kms:Encrypt" in account["Action"]
    # A grant would hand out Decrypt without the key policy: the account may not create one.
    assert not {"kms:CreateGrant", "kms:RetireGrant", "kms:RevokeGrant"} & set(account["Action"])
    expected = sorted(
        op.role_id for op in discover() if op.name in policies.sealing_decrypters(policies.load())
    )
    granted = sorted(
        principal["Fn::GetAtt"][0]
        for s in others
        if "kms:Decrypt" in as_list(s["Action"])
        for principal in as_list(s["Principal"]["AWS"])
    )
    assert granted == expected


def test_the_decrypters_are_exactly_the_closing_steps() -> None:
    # Round one's quotes and the proposals open as enrollment closes, each further round's as it
    # closes. Nothing else: the sweeper hands a missed sealed step to a new execution.
    decrypters = sorted(policies.sealing_decrypters(policies.load()))
    assert decrypters == ["close_enrollment", "close_round"]


def test_no_iam_policy_grants_decryption_of_sealed_submissions(template: dict[str, Any]) -> None:
    for owner, kind, document in policy_documents(template):
        if kind != "identity":
            continue
        for statement in _decrypt_statements(document):
            resources = repr(as_list(statement.get("Resource", [])))
            assert names.SEALING_KEY not in resources, owner
            assert "'*'" not in resources or "kms:ViaService" in repr(statement.get("Condition")), owner


def test_functions_name_the_sealing_key_by_alias(resources: dict[str, Any]) -> None:
    functions = [r for r in resources.values() if r["Type"] == "AWS::Serverless::Function"]
    assert functions
    for function in functions:
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        if "SEALING_KEY_ID" in variables:
            assert variables["SEALING_KEY_ID"] == {"Fn::Sub": "alias/${AWS::StackName}-sealing"}
