"""The catalogue and owner flows as a client uses them: the local stack over real HTTP."""

from __future__ import annotations

import requests

from tests.support.samples import catalogue_item, owner_profile

PROBLEM = "application/problem+json"


def _headers(token: str | None = None, **extra: str) -> dict[str, str]:
    headers = {"Content-Type": "application/json", **extra}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def test_catalogue_lifecycle_over_http(local_stack) -> None:
    api, admin = local_stack.api, local_stack.token("admin", "ADMIN-1")
    created = requests.post(
        f"{api}/catalogue/items",
        json=catalogue_item("E2E-HP-001"),
        headers=_headers(admin, **{"Idempotency-Key": "e2e-create-1"}),
        timeout=10,
    )
    assert created.status_code == 201, created.text
    replay = requests.post(
        f"{api}/catalogue/items",
        json=catalogue_item("E2E-HP-001"),
        headers=_headers(admin, **{"Idempotency-Key": "e2e-create-1"}),
        timeout=10,
    )
    assert replay.status_code == 201 and replay.json() == created.json()

    definition = {k: v for k, v in catalogue_item().items() if k != "code"}
    revised = requests.put(
        f"{api}/catalogue/items/E2E-HP-001",
        json={
            **definition,
            "name": "建设项目环境影响评价（修订）",
            "change_note": "修订",
            "expected_version": 1,
        },
        headers=_headers(admin),
        timeout=10,
    )
    assert revised.status_code == 200 and revised.json()["version"] == 2

    detail = requests.get(f"{api}/catalogue/items/E2E-HP-001?version=1", timeout=10).json()
    assert detail["item"]["name"] == "建设项目环境影响评价"
    assert [v["version"] for v in detail["history"]] == [1, 2]
    listed = requests.get(f"{api}/catalogue/items?keyword=修订", timeout=10).json()["items"]
    assert [i["code"] for i in listed] == ["E2E-HP-001"]


def test_bad_input_and_wrong_roles_over_http(local_stack) -> None:
    api = local_stack.api
    owner = local_stack.token("owner", "OW-E2E-1")
    forbidden = requests.post(
        f"{api}/catalogue/items", json=catalogue_item("E2E-X-1"), headers=_headers(owner), timeout=10
    )
    assert forbidden.status_code == 403 and forbidden.headers["content-type"].startswith(PROBLEM)
    anonymous = requests.post(
        f"{api}/catalogue/items", json=catalogue_item("E2E-X-1"), headers=_headers(), timeout=10
    )
    assert anonymous.status_code == 401 and anonymous.headers["content-type"].startswith(PROBLEM)
    invalid = requests.post(
        f"{api}/catalogue/items",
        json=catalogue_item("E2E-X-1", service_type="nonsense"),
        headers=_headers(local_stack.token("admin", "ADMIN-1")),
        timeout=10,
    )
    assert invalid.status_code == 422 and invalid.json()["errors"][0]["field"] == "service_type"
    assert requests.get(f"{api}/catalogue/items/E2E-X-1", timeout=10).status_code == 404


def test_owner_registration_and_visibility_over_http(local_stack) -> None:
    api = local_stack.api
    owner = local_stack.token("owner", "OW-E2E-2")
    registered = requests.post(
        f"{api}/owners", json=owner_profile("1133010000249637"), headers=_headers(owner), timeout=10
    )
    assert registered.status_code == 201, registered.text
    own = requests.get(f"{api}/owners/OW-E2E-2", headers=_headers(owner), timeout=10).json()
    public = requests.get(f"{api}/owners/OW-E2E-2", timeout=10).json()
    assert own["contacts"] and set(public) == {"owner_id", "name", "owner_type"}
    other = local_stack.token("owner", "OW-E2E-3")
    hijack = requests.put(
        f"{api}/owners/OW-E2E-2",
        json=owner_profile("1133010000249637", name="篡改"),
        headers=_headers(other),
        timeout=10,
    )
    assert hijack.status_code == 403
    bad_code = owner_profile("1133010000249637")
    bad_code["credit_code"] = "91350100M000100Y44"
    refused = requests.post(f"{api}/owners", json=bad_code, headers=_headers(other), timeout=10)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "credit_code"
