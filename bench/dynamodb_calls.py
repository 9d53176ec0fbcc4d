"""DynamoDB calls per operation, counted through botocore's `before-call` events while each route
is called once in-process on moto, and the number of Scans among them (must be 0)."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import botocore.session

ROOT = Path(__file__).resolve().parent.parent


class CallCounter:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __call__(self, model: Any, **kwargs: Any) -> None:
        self.calls[model.name] += 1

    def reset(self) -> None:
        self.calls.clear()


@contextmanager
def counting(counter: CallCounter) -> Iterator[None]:
    """Register the counter on every DynamoDB client created meanwhile (PynamoDB makes its own)."""
    original = botocore.session.Session.create_client

    def create_client(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        client = original(self, service_name, *args, **kwargs)
        if service_name == "dynamodb":
            client.meta.events.register("before-call.dynamodb", counter)
        return client

    botocore.session.Session.create_client = create_client
    try:
        yield
    finally:
        botocore.session.Session.create_client = original


def _scenario(api: Any) -> list[tuple[str, Callable[[], Any]]]:
    """One call of every operation, in an order where each finds what it needs."""
    from tests.integration.test_calendars import CALENDAR_2027
    from tests.support.samples import catalogue_item, owner_profile

    admin, owner = api.as_role("admin"), api.as_role("owner", "OW-1")
    definition = {k: v for k, v in catalogue_item().items() if k != "code"}
    schedule = json.loads((ROOT / "events/functions/relay_outbox.schedule.json").read_text())
    from app import app

    return [
        ("health", lambda: api.call("GET", "/health")),
        ("me", lambda: owner.get("/me")),
        ("openapi", lambda: api.call("GET", "/openapi.json")),
        ("create_catalogue_item", lambda: admin.post("/catalogue/items", catalogue_item())),
        (
            "revise_catalogue_item",
            lambda: admin.put("/catalogue/items/ZJ-HP-001", {**definition, "change_note": "调整"}),
        ),
        ("list_catalogue_items", lambda: api.call("GET", "/catalogue/items?keyword=环境")),
        ("get_catalogue_item", lambda: api.call("GET", "/catalogue/items/ZJ-HP-001")),
        (
            "retire_catalogue_item",
            lambda: admin.post(
                "/catalogue/items/ZJ-HP-001/retirement", {"reason": "取消", "effective_from": "2026-12-01"}
            ),
        ),
        ("register_owner", lambda: owner.post("/owners", owner_profile())),
        ("update_owner", lambda: owner.put("/owners/OW-1", owner_profile(address="新地址"))),
        ("list_owners", lambda: admin.get("/owners")),
        ("get_owner", lambda: api.call("GET", "/owners/OW-1")),
        ("load_calendar_year", lambda: admin.put("/calendars/2027", CALENDAR_2027)),
        ("get_calendar_year", lambda: api.call("GET", "/calendars/2026")),
        ("relay_outbox", lambda: app.handler_map["relay_outbox"](schedule, None)),
    ]


def measure() -> tuple[dict[str, dict[str, int]], int]:
    """Per operation: DynamoDB calls by API name; and the Scans seen on any request path."""
    from chalice.test import Client
    from moto import mock_aws

    import tests.conftest  # noqa: F401 - sets the test environment (fake credentials, names)
    from app import app
    from marketplace.services import calendar
    from tests.conftest import Api
    from tests.support.resources import create_all
    from tests.support.tokens import SigningKey

    key = SigningKey.generate("bench")
    jwks = ROOT / "bench" / ".jwks.json"
    os.environ["JWKS_URL"] = key.write_jwks(jwks)
    counter = CallCounter()
    per_operation: dict[str, dict[str, int]] = {}
    try:
        with mock_aws(), counting(counter):
            create_all()
            with Client(app) as client:
                api = Api(client, key)
                for name, call in _scenario(api):
                    calendar.forget_cache()  # each operation as a fresh execution environment would
                    counter.reset()
                    reply = call()
                    status = getattr(reply, "status", 200)
                    if status >= 400:
                        raise RuntimeError(f"bench scenario step {name} failed: {status} {reply.body}")
                    per_operation[name] = dict(sorted(counter.calls.items()))
    finally:
        jwks.unlink(missing_ok=True)
    scans = sum(calls.get("Scan", 0) for calls in per_operation.values())
    return per_operation, scans
