"""The compact policy file: what it accepts, what it refuses; a route without an entry fails the build."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra import policies
from infra.build import build
from infra.definitions import table_specs
from infra.errors import BuildError

CATALOG = policies.Catalog(
    tables={spec.logical_suffix: spec for spec in table_specs()}, queues={}, state_machines={}, functions={}
)


def _file(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "policies.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_a_route_without_a_policy_entry_fails_the_build_naming_it(tmp_path: Path) -> None:
    document = json.loads(policies.DEFAULT_POLICY_FILE.read_text(encoding="utf-8"))
    del document["get_owner"]
    with pytest.raises(BuildError, match="get_owner"):
        build(policy_file=_file(tmp_path, document), out_dir=tmp_path / "build")
    assert not (tmp_path / "build" / "template.yaml").exists()


def test_wildcard_actions_are_refused(tmp_path: Path) -> None:
    for action in ("dynamodb:*", "*", "dynamodb:Get*"):
        with pytest.raises(BuildError, match="wildcard"):
            policies.load(_file(tmp_path, {"x": [{"actions": [action], "tables": ["catalogue"]}]}))


def test_an_action_must_belong_to_the_resource_it_names(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="do not act on tables"):
        policies.load(_file(tmp_path, {"x": [{"actions": ["events:PutEvents"], "tables": ["catalogue"]}]}))


def test_indexes_only_take_queries(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="indexes only take"):
        policies.load(_file(tmp_path, {"x": [{"actions": ["dynamodb:GetItem"], "indexes": ["catalogue"]}]}))


def test_unknown_tables_and_indexes_are_refused(tmp_path: Path) -> None:
    for grant in ({"tables": ["nope"]}, {"indexes": ["catalogue/nope"]}):
        action = "dynamodb:Query"
        loaded = policies.load(_file(tmp_path, {"x": [{"actions": [action], **grant}]}))
        with pytest.raises(BuildError, match="nope"):
            policies.statements("x", loaded["x"], CATALOG, on_request_path=True)


def test_a_route_may_not_scan(tmp_path: Path) -> None:
    loaded = policies.load(_file(tmp_path, {"x": [{"actions": ["dynamodb:Scan"], "tables": ["catalogue"]}]}))
    with pytest.raises(BuildError, match="Scan"):
        policies.statements("x", loaded["x"], CATALOG, on_request_path=True)


def test_index_grants_resolve_to_index_arns_and_imply_read_only_key_use(tmp_path: Path) -> None:
    loaded = policies.load(
        _file(tmp_path, {"x": [{"actions": ["dynamodb:Query"], "indexes": ["catalogue/by-type", "owners"]}]})
    )
    grant, key = policies.statements("x", loaded["x"], CATALOG, on_request_path=True)
    assert grant["Resource"] == [
        {"Fn::Sub": "${CatalogueTable.Arn}/index/by-type"},
        {"Fn::Sub": "${OwnersTable.Arn}/index/*"},
    ]
    assert key["Action"] == ["kms:Decrypt", "kms:DescribeKey"]
    assert "kms:ViaService" in key["Condition"]["StringEquals"]


def test_execution_grants_name_the_executions_of_this_stacks_machine_only(tmp_path: Path) -> None:
    catalog = policies.Catalog(
        tables={}, queues={}, state_machines={"purchase-window": "PurchaseWindow"}, functions={}
    )
    grants = [{"actions": ["states:StopExecution"], "executions": ["purchase-window"]}]
    loaded = policies.load(_file(tmp_path, {"x": grants}))
    (statement,) = policies.statements("x", loaded["x"], catalog, on_request_path=True)
    assert statement["Action"] == ["states:StopExecution"]
    assert statement["Resource"] == [
        {
            "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:"
            "${AWS::StackName}-purchase-window:*"
        }
    ]
    unknown = policies.load(_file(tmp_path, {"x": [{**grants[0], "executions": ["nope"]}]}))
    with pytest.raises(BuildError, match="unknown state machine 'nope'"):
        policies.statements("x", unknown["x"], catalog, on_request_path=True)


def test_the_shipped_file_covers_every_operation() -> None:
    from infra.operations import discover

    loaded = policies.load()
    policies.require(loaded, [op.name for op in discover()], policies.DEFAULT_POLICY_FILE)


def test_every_idempotent_route_may_use_the_idempotency_table() -> None:
    """A route that honours Idempotency-Key reads and writes the idempotency table whenever a
    client sends one: without the grant, such a request would fail with AccessDenied in AWS."""
    import app  # noqa: F401  (declares the routes)
    from marketplace.web.http import ROUTES

    granted = policies.load()
    needed = {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    lacking = [
        spec.name
        for spec in ROUTES
        if spec.idempotent
        and not any(
            "idempotency" in grant.targets and needed <= set(grant.actions) for grant in granted[spec.name]
        )
    ]
    assert lacking == []


def test_object_grants_name_the_open_data_bucket_before_a_colon_and_imply_no_key_use(tmp_path: Path) -> None:
    """export_ocds writes the day's releases under `ocds/` in the open-data bucket (SSE-S3: no KMS)."""
    loaded = policies.load(
        _file(tmp_path, {"x": [{"actions": ["s3:PutObject"], "objects": ["opendata:ocds/releases/"]}]})
    )
    (statement,) = policies.statements("x", loaded["x"], CATALOG, on_request_path=False)
    assert statement["Resource"] == [{"Fn::Sub": "${OpenDataBucket.Arn}/ocds/releases/*"}]


def test_a_bare_object_prefix_is_the_documents_buckets_and_unknown_buckets_are_refused(
    tmp_path: Path,
) -> None:
    loaded = policies.load(_file(tmp_path, {"x": [{"actions": ["s3:PutObject"], "objects": ["letters/"]}]}))
    statement, key = policies.statements("x", loaded["x"], CATALOG, on_request_path=False)
    assert statement["Resource"] == [{"Fn::Sub": "${DocumentsBucket.Arn}/letters/*"}]
    assert key["Sid"] == "DataKeyViaS3"  # the documents bucket is encrypted with the data key
    for target in ("elsewhere:ocds/", "opendata:"):
        with pytest.raises(BuildError, match="not a key prefix in a known bucket"):
            policies.load(_file(tmp_path, {"x": [{"actions": ["s3:PutObject"], "objects": [target]}]}))
