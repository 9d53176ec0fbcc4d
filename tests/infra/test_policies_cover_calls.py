"""Each operation's policy allows every AWS call the operation really makes: the routes are called
in-process on moto, and every DynamoDB and EventBridge call is checked against the policy file."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from infra import policies
from marketplace.settings import get_settings
from tests.conftest import Api
from tests.integration.test_calendars import CALENDAR_2027
from tests.support.samples import catalogue_item, owner_profile

SCHEDULE_EVENT = Path(__file__).resolve().parents[2] / "events" / "functions" / "relay_outbox.schedule.json"
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
    selector: str  # tables, indexes, bus
    target: str = ""  # "catalogue", "catalogue/by-type"


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


@contextmanager
def recording(recorder: Recorder) -> Iterator[None]:
    """Hook every client created meanwhile (PynamoDB and the event bus make their own)."""
    original = botocore.session.Session.create_client

    def create_client(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        client = original(self, service_name, *args, **kwargs)
        if service_name in ("dynamodb", "events"):
            handler = getattr(recorder, service_name)
            client.meta.events.register(f"before-parameter-build.{service_name}", handler)
        return client

    botocore.session.Session.create_client = create_client
    try:
        yield
    finally:
        botocore.session.Session.create_client = original


def allowed(call: Call, grants: list[policies.Grant]) -> bool:
    for grant in grants:
        if call.action not in grant.actions or grant.selector != call.selector:
            continue
        if call.selector == "bus" or call.target in grant.targets:
            return True
        if call.selector == "indexes" and call.target.split("/")[0] in grant.targets:
            return True
    return False


def _scenario(api: Api) -> list[tuple[str, Callable[[], Any]]]:
    from app import app
    from marketplace.repositories.tables import OutboxRow

    admin, owner = api.as_role("admin"), api.as_role("owner", "OW-1")
    definition = {k: v for k, v in catalogue_item().items() if k != "code"}
    once = {"idempotency-key": "k-1"}

    # A row a failed flush left behind long ago: the relay publishes and deletes it.
    OutboxRow(event_id="e-1", created_at="2020-01-01T00:00:00Z", detail_type="OwnerUpdated", detail={}).save()

    def relay() -> Any:
        return app.handler_map["relay_outbox"](json.loads(SCHEDULE_EVENT.read_text(encoding="utf-8")), None)

    return [
        ("health", lambda: api.call("GET", "/health")),
        ("me", lambda: owner.get("/me")),
        ("openapi", lambda: api.call("GET", "/openapi.json")),
        ("create_catalogue_item", lambda: admin.post("/catalogue/items", catalogue_item(), headers=once)),
        (
            "revise_catalogue_item",
            lambda: admin.put("/catalogue/items/ZJ-HP-001", {**definition, "change_note": "x"}),
        ),
        ("list_catalogue_items", lambda: api.call("GET", "/catalogue/items")),
        ("list_catalogue_items", lambda: api.call("GET", "/catalogue/items?service_type=assessment")),
        ("list_catalogue_items", lambda: api.call("GET", "/catalogue/items?department=市生态环境局")),
        ("get_catalogue_item", lambda: api.call("GET", "/catalogue/items/ZJ-HP-001")),
        (
            "retire_catalogue_item",
            lambda: admin.post(
                "/catalogue/items/ZJ-HP-001/retirement", {"reason": "x", "effective_from": "2026-12-01"}
            ),
        ),
        ("register_owner", lambda: owner.post("/owners", owner_profile(), headers=once)),
        ("update_owner", lambda: owner.put("/owners/OW-1", owner_profile(first17="11330100002496128"))),
        ("list_owners", lambda: admin.get("/owners")),
        ("get_owner", lambda: api.call("GET", "/owners/OW-1")),
        ("load_calendar_year", lambda: admin.put("/calendars/2027", CALENDAR_2027)),
        ("get_calendar_year", lambda: api.call("GET", "/calendars/2026")),
        ("relay_outbox", relay),
    ]


def test_every_call_an_operation_makes_is_in_its_policy(api: Api) -> None:
    from marketplace.services import calendar

    granted = policies.load()
    missing: dict[str, set[Call]] = {}
    steps = _scenario(api)
    with recording(recorder := Recorder()):
        for name, step in steps:
            calendar.forget_cache()  # as a fresh execution environment would
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
