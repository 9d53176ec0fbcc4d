"""What every route shares: health, the caller, errors as problems, the API document, events."""

from __future__ import annotations

import json

import pytest
from openapi_spec_validator import validate

from app import app
from marketplace.web.http import ROUTES
from tests.conftest import Api
from tests.support.samples import catalogue_item
from tests.support.schemas import EVENTS_DIR

PROBLEM = "application/problem+json"


def test_health_answers_without_a_token(api: Api) -> None:
    reply = api.call("GET", "/health")
    assert reply.status == 200 and reply.body["status"] == "ok"
    assert reply.headers["x-correlation-id"]


def test_me_returns_what_the_token_says(api: Api) -> None:
    reply = api.as_role("regulator", "RG-ENV", industries=("environment",)).get("/me")
    assert reply.status == 200
    assert reply.body["role"] == "regulator" and reply.body["org_id"] == "RG-ENV"
    assert reply.body["industries"] == ["environment"]


def test_me_without_a_token_is_a_401_problem_with_a_challenge(api: Api) -> None:
    reply = api.call("GET", "/me")
    assert reply.status == 401 and reply.content_type.startswith(PROBLEM)
    assert reply.headers["www-authenticate"].startswith("Bearer")
    assert set(reply.body) >= {"type", "title", "status", "detail", "instance", "correlation_id"}


def test_a_correlation_id_sent_by_the_caller_comes_back(api: Api) -> None:
    reply = api.call("GET", "/health", headers={"X-Correlation-Id": "trace-me-123"})
    assert reply.headers["x-correlation-id"] == "trace-me-123"


def test_an_unexpected_failure_is_a_500_problem_without_internals(api: Api, monkeypatch) -> None:
    from marketplace.services import catalogue

    def explode(*args, **kwargs):
        raise RuntimeError("secret table name marketplace-test-catalogue")

    monkeypatch.setattr(catalogue, "list_items", explode)
    reply = api.call("GET", "/catalogue/items")
    assert reply.status == 500 and reply.content_type.startswith(PROBLEM)
    assert "secret" not in str(reply.body) and "RuntimeError" not in str(reply.body)
    assert reply.body["correlation_id"] == reply.headers["x-correlation-id"]


def test_a_throttled_store_is_a_503_with_retry_after(api: Api, monkeypatch) -> None:
    from marketplace.errors import ServiceUnavailable
    from marketplace.services import catalogue

    def busy(*args, **kwargs):
        raise ServiceUnavailable("the data store is busy; retry shortly", retry_after=2)

    monkeypatch.setattr(catalogue, "list_items", busy)
    reply = api.call("GET", "/catalogue/items")
    assert reply.status == 503 and reply.headers["retry-after"] == "2"


def test_a_wrong_content_type_is_a_415_problem(api: Api) -> None:
    reply = api.call(
        "POST",
        "/catalogue/items",
        raw=b"code=x",
        token=api.token("admin"),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert reply.status == 415 and reply.content_type.startswith(PROBLEM)


def test_an_unknown_query_parameter_is_named(api: Api) -> None:
    reply = api.call("GET", "/catalogue/items?colour=red")
    assert reply.status == 422 and reply.body["errors"][0]["field"] == "colour"


def test_the_openapi_document_is_valid_and_covers_every_route(api: Api) -> None:
    document = api.call("GET", "/openapi.json").body
    validate(document)
    operations = {(path, method.upper()) for path, ops in document["paths"].items() for method in ops}
    assert operations == {(r.path, r.method) for r in ROUTES}
    create = document["paths"]["/catalogue/items"]["post"]
    assert create["x-roles"] == ["admin"] and create["security"] == [{"bearer": []}]
    assert "requestBody" in create and "201" in create["responses"]
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])
    assert document["paths"]["/health"]["get"]["security"] == []


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_every_route_states_who_may_call_it(route) -> None:
    assert route.roles or route.public
    assert route.summary


def test_events_left_in_the_outbox_are_relayed(api: Api, published_events, monkeypatch) -> None:
    from marketplace.repositories import event_bus
    from marketplace.repositories.tables import OutboxRow

    def bus_down(entries):
        raise RuntimeError("bus unavailable")

    monkeypatch.setattr(event_bus, "_put", bus_down)
    created = api.as_role("admin").post("/catalogue/items", catalogue_item())
    assert created.status == 201  # the change was accepted; its event waits in the outbox
    assert published_events.types() == []
    assert len(list(OutboxRow.scan())) == 1

    monkeypatch.undo()
    monkeypatch.setattr(event_bus, "RELAY_GRACE", event_bus.timedelta(seconds=-1))
    scheduled = json.loads((EVENTS_DIR / "functions" / "relay_outbox.schedule.json").read_text())
    assert app.handler_map["relay_outbox"](scheduled, None) == {"published": 1}
    assert published_events.types() == ["CatalogueItemCreated"]
    assert list(OutboxRow.scan()) == []
