"""Each operation's policy allows every AWS call the operation really makes: the routes are called
in-process on moto, and every DynamoDB, EventBridge, Cognito user-pool, S3 (documents bucket) and KMS
(signing key) call is checked against the policy file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from infra import policies
from marketplace.settings import get_settings
from tests.conftest import Api
from tests.support.scenario import every_operation, on_clients

TRANSACT_ITEMS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Get": "dynamodb:GetItem",
}


@dataclass(frozen=True)
class Call:
    """An IAM action on a resource named the policy file's way."""

    action: str
    selector: str  # tables, indexes, bus, user_pool, objects, keys
    target: str = ""  # "catalogue", "catalogue/by-type", "letters/L-1.json", "signing"


class Recorder:
    def __init__(self) -> None:
        self.calls: set[Call] = set()

    def _table(self, name: str) -> str:
        return name.removeprefix(get_settings().table_prefix)

    def dynamodb(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name in ("TransactWriteItems", "TransactGetItems"):
            for item in params["TransactItems"]:
                ((kind, body),) = item.items()
                self.calls.add(Call(TRANSACT_ITEMS[kind], "tables", self._table(body["TableName"])))
        elif model.name in ("BatchGetItem", "BatchWriteItem"):
            for table in params["RequestItems"]:
                self.calls.add(Call(f"dynamodb:{model.name}", "tables", self._table(table)))
        elif params.get("IndexName"):
            target = f"{self._table(params['TableName'])}/{params['IndexName']}"
            self.calls.add(Call(f"dynamodb:{model.name}", "indexes", target))
        else:
            self.calls.add(Call(f"dynamodb:{model.name}", "tables", self._table(params["TableName"])))

    def events(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        assert model.name == "PutEvents", model.name
        assert {e["EventBusName"] for e in params["Entries"]} == {get_settings().event_bus_name}
        self.calls.add(Call("events:PutEvents", "bus"))

    def s3(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        # The documents bucket's keys are bare prefixes; the open-data bucket's are `opendata:<key>`.
        buckets = {get_settings().documents_bucket: "", get_settings().open_data_bucket: "opendata:"}
        assert params.get("Bucket") in buckets, (model.name, params.get("Bucket"))
        # HeadObject is authorised as s3:GetObject; the others by their own name.
        action = "s3:GetObject" if model.name == "HeadObject" else f"s3:{model.name}"
        self.calls.add(Call(action, "objects", buckets[params["Bucket"]] + params["Key"]))

    def kms(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        keys = {get_settings().signing_key_id: "signing", get_settings().sealing_key_id: "sealing"}
        assert params.get("KeyId") in keys, (model.name, params.get("KeyId"))
        self.calls.add(Call(f"kms:{model.name}", "keys", keys[params["KeyId"]]))

    def cognito(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        assert params.get("UserPoolId") == get_settings().user_pool_id, (model.name, params.get("UserPoolId"))
        self.calls.add(Call(f"cognito-idp:{model.name}", "user_pool"))


def allowed(call: Call, grants: list[policies.Grant]) -> bool:
    for grant in grants:
        if call.action not in grant.actions or grant.selector != call.selector:
            continue
        if call.selector in policies.BOOLEAN_SELECTORS or call.target in grant.targets:
            return True
        if call.selector == "indexes" and call.target.split("/")[0] in grant.targets:
            return True
        if call.selector == "objects" and any(call.target.startswith(p.rstrip("*")) for p in grant.targets):
            return True
    return False


def test_the_scenario_calls_every_operation(api: Api) -> None:
    from infra.operations import discover

    called = {name for name, _ in every_operation(api)}
    missing = sorted(op.name for op in discover() if op.name not in called)
    assert not missing, f"operations tests/support/scenario.py never calls: {', '.join(missing)}"


def test_every_call_an_operation_makes_is_in_its_policy(api: Api) -> None:
    from marketplace.repositories import credit
    from marketplace.services import calendar

    granted = policies.load()
    missing: dict[str, set[Call]] = {}
    steps = every_operation(api)
    recorder = Recorder()
    hooks = {
        "dynamodb": ("before-parameter-build", recorder.dynamodb),
        "events": ("before-parameter-build", recorder.events),
        "cognito-idp": ("before-parameter-build", recorder.cognito),
        "s3": ("before-parameter-build", recorder.s3),
        "kms": ("before-parameter-build", recorder.kms),
    }
    with on_clients(hooks):
        for name, step in steps:
            calendar.forget_cache()  # as a fresh execution environment would
            credit.forget_rules_cache()
            recorder.calls.clear()
            reply = step()
            status = getattr(reply, "status", 200)
            assert status < 400, f"{name}: {status} {getattr(reply, 'body', reply)}"
            assert recorder.calls or name in ("health", "me", "openapi"), f"{name} made no AWS call?"
            denied = {c for c in recorder.calls if not allowed(c, granted[name])}
            if denied:
                missing.setdefault(name, set()).update(denied)
    if missing:
        pytest.fail(f"calls the policy file does not allow: {missing}")


def test_asking_for_a_draw_not_made_yet_is_allowed_its_calls(api: Api) -> None:
    """GET /purchases/{id}/draw before the draw reads the purchase to say why there is none: the
    404 must not become an AccessDenied (500) in a deployment."""
    from marketplace.repositories.base import reset_connections
    from marketplace.repositories.tables import ALL_MODELS
    from tests.support.market import open_market

    granted = policies.load()
    recorder = Recorder()
    for market in open_market(api):
        purchase_id = market.publish()
        with on_clients({"dynamodb": ("before-parameter-build", recorder.dynamodb)}):
            reset_connections(ALL_MODELS)
            reply = api.call("GET", f"/purchases/{purchase_id}/draw")
        reset_connections(ALL_MODELS)
        assert reply.status == 404, reply.body
        assert "no draw yet" in reply.body["detail"]
        assert recorder.calls
        denied = {c for c in recorder.calls if not allowed(c, granted["get_draw_proof"])}
        assert not denied, f"calls the policy file does not allow: {denied}"
