"""Request handling at its edges, as a review found it wanting: odd cursors and claims, the
signing keys unavailable, field names inside unions, unknown query parameters, idempotent
enrollment, and problem documents that name the request and echo its correlation id."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest

from tests.conftest import Api
from tests.support.market import Market, admit, agency_id, open_market
from tests.support.samples import catalogue_item

PROBLEM = "application/problem+json"


def _is_problem(reply, status: int) -> None:
    assert reply.status == status, (reply.status, reply.body)
    assert reply.content_type.startswith(PROBLEM)
    assert reply.body["status"] == status


# --- pagination ---------------------------------------------------------------------------------


def test_a_deeply_nested_cursor_is_a_400_not_a_500(api: Api) -> None:
    # 1500 bytes of '[' is under the 2048-character cursor limit once base64-encoded.
    cursor = base64.urlsafe_b64encode(b"[" * 1500).decode().rstrip("=")
    assert len(cursor) <= 2048
    reply = api.call("GET", f"/catalogue/items?cursor={cursor}")
    _is_problem(reply, 400)
    assert "cursor" in reply.body["detail"]


# --- authentication -----------------------------------------------------------------------------


def test_a_groups_claim_that_is_not_a_list_is_refused_not_a_500(api: Api) -> None:
    token = api.token("admin", **{"cognito:groups": 5})
    reply = api.call("GET", "/me", token=token)
    assert reply.status in (401, 403), (reply.status, reply.body)
    assert reply.content_type.startswith(PROBLEM)


def test_a_regulator_industries_claim_as_a_json_array_is_read_or_refused_not_garbled(api: Api) -> None:
    token = api.token("regulator", "RG-ENV", **{"custom:industries": ["environment", "water"]})
    reply = api.call("GET", "/me", token=token)
    # Either the array is read as the list of industries, or the token is refused; never a
    # principal whose industries are fragments of Python's repr of the list.
    if reply.status == 200:
        assert reply.body["industries"] == ["environment", "water"], reply.body
    else:
        assert reply.status in (401, 403) and reply.content_type.startswith(PROBLEM)


def test_unavailable_signing_keys_are_a_503_not_a_401_blaming_the_token(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from marketplace.auth import clear_key_cache
    from marketplace.settings import reset_settings

    token = api.token("admin")  # a perfectly good token
    monkeypatch.setenv("JWKS_URL", "file:///nonexistent/marketplace/jwks.json")  # the key source is down
    reset_settings()
    clear_key_cache()
    try:
        reply = api.call("GET", "/me", token=token)
    finally:
        monkeypatch.undo()
        reset_settings()
        clear_key_cache()
    _is_problem(reply, 503)
    assert "retry-after" in reply.headers
    assert "www-authenticate" not in reply.headers


# --- validation ---------------------------------------------------------------------------------


def test_a_field_error_inside_a_tagged_union_names_the_field_as_the_client_sent_it(api: Api) -> None:
    body = catalogue_item()
    body["qualification"]["requirements"][1]["min_grade"] = "two"
    reply = api.as_role("admin").post("/catalogue/items", body)
    _is_problem(reply, 422)
    fields = [e["field"] for e in reply.body["errors"]]
    # pydantic's loc carries the union tags ("any_of", "certificate"), which are not fields of the
    # document the client sent.
    assert fields == ["qualification.requirements.1.min_grade"], fields


def test_an_unknown_query_parameter_is_refused_on_every_route_not_only_those_with_a_query_model(
    api: Api,
) -> None:
    admit([agency_id(1)])
    # /catalogue/items?colour=red is a 422 naming "colour"; a list without a query model ignores
    # ?limit=abc silently.
    reply = api.call("GET", f"/agencies/{agency_id(1)}/versions?limit=abc")
    _is_problem(reply, 422)
    assert reply.body["errors"][0]["field"] == "limit"


# --- idempotency --------------------------------------------------------------------------------


def test_reusing_an_idempotency_key_with_another_body_names_the_header_in_errors(api: Api) -> None:
    admin = api.as_role("admin")
    headers = {"Idempotency-Key": "create-once"}
    assert admin.post("/catalogue/items", catalogue_item(), headers=headers).status == 201
    reply = admin.post("/catalogue/items", catalogue_item(name="别的名称"), headers=headers)
    _is_problem(reply, 422)
    # The OpenAPI document promises for a 422: "invalid fields, each named in errors[]".
    assert [e["field"] for e in reply.body.get("errors", [])] == ["Idempotency-Key"], reply.body


@pytest.fixture
def market(api: Api) -> Iterator[Market]:
    yield from open_market(api)


def test_an_enrollment_repeated_with_the_same_idempotency_key_returns_the_first_result(
    market: Market,
) -> None:
    purchase_id = market.publish()
    agency = market.agency(agency_id(1))
    headers = {"Idempotency-Key": "enroll-once"}
    first = agency.post(f"/purchases/{purchase_id}/enrollments", headers=headers)
    assert first.status == 201, first.body
    replay = agency.post(f"/purchases/{purchase_id}/enrollments", headers=headers)  # response was lost
    assert replay.status == 201, replay.body
    assert replay.body == first.body


# --- problem documents --------------------------------------------------------------------------


def test_a_problem_instance_is_the_requested_path_not_the_route_template(api: Api) -> None:
    reply = api.call("GET", "/catalogue/items/ZJ-NOPE-001")
    _is_problem(reply, 404)
    assert reply.body["instance"] == "/catalogue/items/ZJ-NOPE-001"


def test_errors_chalice_raises_itself_echo_the_callers_correlation_id(api: Api) -> None:
    reply = api.call(
        "POST",
        "/catalogue/items",
        raw=b"code=x",
        token=api.token("admin"),
        headers={"content-type": "text/plain", "X-Correlation-Id": "trace-me-415"},
    )
    _is_problem(reply, 415)
    assert reply.headers["x-correlation-id"] == "trace-me-415"
    assert reply.body["correlation_id"] == "trace-me-415"


def test_a_cursor_with_empty_key_values_is_a_400(api: Api) -> None:
    # DynamoDB refuses empty key values with a ValidationException (moto does not): refused first.
    admin = api.as_role("admin")
    for n in (1, 2):
        assert admin.post("/catalogue/items", catalogue_item(code=f"ZJ-HP-{n:03d}")).status == 201
    real = api.call("GET", "/catalogue/items?limit=1").body["cursor"]
    key = json.loads(base64.urlsafe_b64decode(real + "=" * (-len(real) % 4)))
    assert api.call("GET", f"/catalogue/items?limit=1&cursor={real}").status == 200
    forged = {name: {"S": ""} for name in key}
    raw = json.dumps(forged, separators=(",", ":")).encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    reply = api.call("GET", f"/catalogue/items?cursor={cursor}")
    _is_problem(reply, 400)
    assert "cursor" in reply.body["detail"]


def test_a_path_parameter_longer_than_any_identifier_is_a_400(api: Api) -> None:
    code = "ZJ-" + "X" * 2100  # over DynamoDB's 2,048-byte key limit
    reply = api.call("GET", f"/catalogue/items/{code}")
    _is_problem(reply, 400)
    assert "code" in reply.body["detail"]
    assert api.as_role("admin").put(f"/catalogue/items/{code}", {}).status == 400
