"""The service-item catalogue through the API, on moto in-process."""

from __future__ import annotations

import threading

from marketplace.auth import Principal
from marketplace.domain.catalogue import ItemDefinition
from marketplace.errors import Conflict
from marketplace.services import catalogue as service
from tests.conftest import Api
from tests.support.samples import catalogue_item

PROBLEM = "application/problem+json"


def test_admin_creates_an_item_and_anyone_reads_it(api: Api, published_events) -> None:
    admin = api.as_role("admin")
    created = admin.post("/catalogue/items", catalogue_item())
    assert created.status == 201
    assert created.body["version"] == 1 and created.body["status"] == "active"

    detail = api.call("GET", "/catalogue/items/ZJ-HP-001")
    assert detail.status == 200
    assert detail.body["item"]["name"] == "建设项目环境影响评价"
    assert detail.body["in_force"]["version"] == 1
    assert [v["version"] for v in detail.body["history"]] == [1]
    assert published_events.types() == ["CatalogueItemCreated"]


def test_every_change_is_a_new_version_and_history_stays_readable(api: Api) -> None:
    admin = api.as_role("admin")
    admin.post("/catalogue/items", catalogue_item())
    revised = admin.put(
        "/catalogue/items/ZJ-HP-001",
        {
            **_definition(),
            "name": "建设项目环境影响评价（报告书）",
            "change_note": "名称调整",
            "expected_version": 1,
        },
    )
    assert revised.status == 200 and revised.body["version"] == 2

    latest = api.call("GET", "/catalogue/items/ZJ-HP-001")
    first = api.call("GET", "/catalogue/items/ZJ-HP-001?version=1")
    assert latest.body["item"]["name"] == "建设项目环境影响评价（报告书）"
    assert first.body["item"]["name"] == "建设项目环境影响评价"
    assert [v["version"] for v in latest.body["history"]] == [1, 2]
    assert api.call("GET", "/catalogue/items/ZJ-HP-001?version=9").status == 404


def test_a_future_version_is_not_in_force_until_its_date(api: Api) -> None:
    admin = api.as_role("admin")
    admin.post("/catalogue/items", catalogue_item())
    admin.put(
        "/catalogue/items/ZJ-HP-001",
        {**_definition(), "effective_from": "2099-01-01", "change_note": "新标准", "expected_version": 1},
    )
    detail = api.call("GET", "/catalogue/items/ZJ-HP-001")
    assert detail.body["item"]["version"] == 2
    assert detail.body["in_force"]["version"] == 1


def test_retiring_keeps_the_history_and_stops_further_revisions(api: Api, published_events) -> None:
    admin = api.as_role("admin")
    admin.post("/catalogue/items", catalogue_item())
    retired = admin.post(
        "/catalogue/items/ZJ-HP-001/retirement", {"reason": "事项取消", "effective_from": "2026-06-01"}
    )
    assert retired.status == 200 and retired.body["status"] == "retired" and retired.body["version"] == 2

    again = admin.put("/catalogue/items/ZJ-HP-001", {**_definition(), "change_note": "x"})
    assert again.status == 409 and again.content_type.startswith(PROBLEM)
    history = api.call("GET", "/catalogue/items/ZJ-HP-001").body["history"]
    assert [v["status"] for v in history] == ["active", "retired"]
    active = api.call("GET", "/catalogue/items").body["items"]
    assert active == []
    listed = api.call("GET", "/catalogue/items?status=retired").body["items"]
    assert [i["code"] for i in listed] == ["ZJ-HP-001"]
    assert published_events.types() == ["CatalogueItemCreated", "CatalogueItemRetired"]


def test_duplicate_code_is_a_conflict_and_writes_nothing(api: Api) -> None:
    admin = api.as_role("admin")
    admin.post("/catalogue/items", catalogue_item())
    duplicate = admin.post("/catalogue/items", catalogue_item(name="另一个事项"))
    assert duplicate.status == 409
    assert duplicate.body["status"] == 409 and "already exists" in duplicate.body["detail"]
    assert api.call("GET", "/catalogue/items/ZJ-HP-001").body["item"]["name"] == "建设项目环境影响评价"


def test_unknown_type_and_missing_legal_basis_are_refused_with_the_fields_named(api: Api) -> None:
    admin = api.as_role("admin")
    body = catalogue_item(service_type="fortune_telling")
    del body["legal_basis"]
    refused = admin.post("/catalogue/items", body)
    assert refused.status == 422 and refused.content_type.startswith(PROBLEM)
    fields = {e["field"] for e in refused.body["errors"]}
    assert {"service_type", "legal_basis"} <= fields
    assert api.call("GET", "/catalogue/items/ZJ-HP-001").status == 404


def test_government_price_without_fee_basis_is_refused(api: Api) -> None:
    refused = api.as_role("admin").post(
        "/catalogue/items", catalogue_item(pricing={"mode": "government", "fee_basis": ""})
    )
    assert refused.status == 422
    assert any(e["field"].startswith("pricing") for e in refused.body["errors"])


def test_only_the_admin_writes_the_catalogue(api: Api) -> None:
    for role, org in (("owner", "OW-1"), ("agency", "AG-1"), ("regulator", "RG-1")):
        refused = api.as_role(role, org).post("/catalogue/items", catalogue_item())
        assert refused.status == 403, role
    anonymous = api.call("POST", "/catalogue/items", catalogue_item())
    assert anonymous.status == 401 and anonymous.content_type.startswith(PROBLEM)
    assert api.call("GET", "/catalogue/items/ZJ-HP-001").status == 404


def test_malformed_json_is_a_400_problem(api: Api) -> None:
    reply = api.call("POST", "/catalogue/items", raw=b"{not json", token=api.token("admin"))
    assert reply.status == 400 and reply.content_type.startswith(PROBLEM)


def test_list_filters_by_type_department_and_keyword_with_cursor_pages(api: Api) -> None:
    admin = api.as_role("admin")
    for n in range(5):
        admin.post("/catalogue/items", catalogue_item(f"ZJ-HP-00{n}", name=f"环评{n}"))
    admin.post(
        "/catalogue/items",
        catalogue_item("ZJ-AQ-001", name="安全预评价", service_type="evaluation", department="市应急管理局"),
    )
    by_type = api.call("GET", "/catalogue/items?service_type=evaluation").body["items"]
    assert [i["code"] for i in by_type] == ["ZJ-AQ-001"]
    by_department = api.call("GET", "/catalogue/items?department=市生态环境局").body["items"]
    assert len(by_department) == 5
    by_keyword = api.call("GET", "/catalogue/items?keyword=安全").body["items"]
    assert [i["code"] for i in by_keyword] == ["ZJ-AQ-001"]

    seen: list[str] = []
    cursor = None
    while True:
        path = "/catalogue/items?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = api.call("GET", path).body
        seen += [i["code"] for i in page["items"]]
        cursor = page["cursor"]
        if not cursor:
            break
    assert seen == sorted(seen) and len(seen) == 6 and len(set(seen)) == 6


def test_a_forged_cursor_is_a_400(api: Api) -> None:
    reply = api.call("GET", "/catalogue/items?cursor=bm90LWEtY3Vyc29y")
    assert reply.status == 400 and reply.content_type.startswith(PROBLEM)


def test_two_concurrent_revisions_of_the_same_version_one_wins(api: Api) -> None:
    # Straight to the use case: Chalice's in-process client shares one request object across
    # threads, while each Lambda environment serves one request at a time.
    admin = api.as_role("admin")
    admin.post("/catalogue/items", catalogue_item())
    results: list[int] = []
    by = Principal(subject="admin-user", role="admin", org_id="")

    start = threading.Barrier(4)

    def revise(n: int) -> None:
        definition = ItemDefinition.model_validate({**_definition(), "name": f"版本{n}"})
        start.wait()
        try:
            service.revise_item("ZJ-HP-001", definition, by, expected_version=1, note=f"并发{n}")
            results.append(200)
        except Conflict:
            results.append(409)

    threads = [threading.Thread(target=revise, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results).count(200) == 1 and results.count(409) == 3
    history = api.call("GET", "/catalogue/items/ZJ-HP-001").body["history"]
    assert [v["version"] for v in history] == [1, 2]


def test_idempotency_key_replays_the_first_response_and_refuses_a_different_body(api: Api) -> None:
    admin = api.as_role("admin")
    headers = {"Idempotency-Key": "create-zj-hp-001"}
    first = admin.post("/catalogue/items", catalogue_item(), headers=headers)
    replay = admin.post("/catalogue/items", catalogue_item(), headers=headers)
    assert first.status == replay.status == 201
    assert first.body == replay.body
    different = admin.post("/catalogue/items", catalogue_item(name="别的"), headers=headers)
    assert different.status == 422
    history = api.call("GET", "/catalogue/items/ZJ-HP-001").body["history"]
    assert len(history) == 1


def _definition() -> dict:
    body = catalogue_item()
    body.pop("code")
    return body
