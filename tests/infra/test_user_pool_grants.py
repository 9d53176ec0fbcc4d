"""The `user_pool` grant: Cognito actions on this stack's user pool only, and only where a pool exists
(not in the China regions); and every function knows the pool as USER_POOL_ID."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra import names, policies
from infra.errors import BuildError
from tests.infra.conftest import of_type

CATALOG = policies.Catalog(tables={}, queues={}, state_machines={}, functions={})
ADD_USER = ["cognito-idp:AdminCreateUser", "cognito-idp:AdminAddUserToGroup"]
ONLY_WHERE_THERE_ARE_POOLS = names.HAS_USER_POOLS


def _file(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "policies.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _load(tmp_path: Path, grant: dict[str, Any]) -> list[policies.Grant]:
    return policies.load(_file(tmp_path, {"x": [grant]}))["x"]


def test_a_user_pool_grant_resolves_to_the_pool_arn_where_the_pool_exists(tmp_path: Path) -> None:
    grants = _load(tmp_path, {"actions": ADD_USER, "user_pool": True, "why": "staff users"})

    (statement,) = policies.statements("x", grants, CATALOG, on_request_path=True)

    condition, where_pools, elsewhere = statement["Fn::If"]
    assert condition == ONLY_WHERE_THERE_ARE_POOLS
    assert where_pools == {
        "Sid": "Grant1UserPool",
        "Effect": "Allow",
        "Action": sorted(ADD_USER),
        "Resource": [{"Fn::GetAtt": [names.USER_POOL, "Arn"]}],
    }
    assert elsewhere == {"Ref": "AWS::NoValue"}  # China: no pool, no statement (and no key use implied)


def test_other_grants_of_the_operation_stay_unconditional(tmp_path: Path) -> None:
    grants = policies.load(
        _file(
            tmp_path,
            {
                "x": [
                    {"actions": ["events:PutEvents"], "bus": True},
                    {"actions": ["cognito-idp:AdminDeleteUser"], "user_pool": True},
                ]
            },
        )
    )["x"]

    bus, pool = policies.statements("x", grants, CATALOG, on_request_path=True)

    assert bus["Sid"] == "Grant1Bus"
    assert pool["Fn::If"][1]["Sid"] == "Grant2UserPool"


@pytest.mark.parametrize("action", ["cognito-idp:*", "cognito-idp:Admin*", "*"])
def test_wildcard_actions_are_refused_on_the_user_pool(tmp_path: Path, action: str) -> None:
    with pytest.raises(BuildError, match="wildcard"):
        _load(tmp_path, {"actions": [action], "user_pool": True})


@pytest.mark.parametrize("action", ["dynamodb:GetItem", "cognito-identity:GetId", "iam:PassRole"])
def test_only_cognito_idp_actions_act_on_the_user_pool(tmp_path: Path, action: str) -> None:
    with pytest.raises(BuildError, match=r"do not act on user_pool \(expected cognito-idp:\* actions\)"):
        _load(tmp_path, {"actions": ["cognito-idp:AdminGetUser", action], "user_pool": True})


def test_cognito_actions_do_not_act_on_other_resources(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="do not act on tables"):
        _load(tmp_path, {"actions": ["cognito-idp:AdminGetUser"], "tables": ["agencies"]})


@pytest.mark.parametrize("value", [False, "true", ["UserPool"], 1])
def test_the_user_pool_selector_is_true_or_absent(tmp_path: Path, value: object) -> None:
    with pytest.raises(BuildError, match="'user_pool' must be true"):
        _load(tmp_path, {"actions": ADD_USER, "user_pool": value})


def test_a_grant_names_the_user_pool_and_nothing_else(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="exactly one of"):
        _load(tmp_path, {"actions": ADD_USER, "user_pool": True, "bus": True})


# --- In the built template ----------------------------------------------------------------------


def _user_pool_statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    found = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    return [s for s in found if "Fn::If" in s]


def test_only_operations_granted_the_pool_may_call_it_and_only_where_it_exists(
    resources: dict[str, Any],
) -> None:
    granted = {
        name
        for name, grants in policies.load().items()
        if any(grant.selector == "user_pool" for grant in grants)
    }
    assert granted, "no operation has a user_pool grant: the lint tests would not cover one"
    for logical_id, role in of_type(resources, "AWS::IAM::Role").items():
        if logical_id == names.API_INVOKE_ROLE:
            continue  # no inline policy: it may only invoke the route functions (test_template_functions)
        operation = role.get("Metadata", {}).get("operation")
        found = _user_pool_statements(role)
        every_action = [
            a
            for s in role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
            for a in s.get("Action", [])
        ]
        assert not [a for a in every_action if a.startswith("cognito-idp:")], (
            logical_id
        )  # never unconditional
        if operation not in granted:
            assert not found, logical_id
            continue
        assert found, logical_id
        for statement in found:
            condition, where_pools, elsewhere = statement["Fn::If"]
            assert condition == ONLY_WHERE_THERE_ARE_POOLS
            assert elsewhere == {"Ref": "AWS::NoValue"}
            assert where_pools["Resource"] == [{"Fn::GetAtt": [names.USER_POOL, "Arn"]}]
            assert all(a.startswith("cognito-idp:") and "*" not in a for a in where_pools["Action"])


def test_every_function_knows_the_pool_id_and_gets_nothing_where_there_is_none(
    resources: dict[str, Any],
) -> None:
    functions = of_type(resources, "AWS::Serverless::Function")
    assert functions
    for logical_id, function in functions.items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["USER_POOL_ID"] == {
            "Fn::If": [names.HAS_USER_POOLS, {"Ref": names.USER_POOL}, ""]
        }, logical_id
