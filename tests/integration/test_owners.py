"""The owner registry through the API, on moto in-process."""

from __future__ import annotations

from tests.conftest import Api
from tests.support.samples import owner_profile

PROBLEM = "application/problem+json"


def test_an_owner_registers_its_unit_under_its_token_organisation(api: Api, published_events) -> None:
    owner = api.as_role("owner", "OW-HZ-001")
    registered = owner.post("/owners", owner_profile())
    assert registered.status == 201
    assert registered.body["owner_id"] == "OW-HZ-001"
    assert registered.body["credit_code"] == owner_profile()["credit_code"]
    assert published_events.types() == ["OwnerRegistered"]


def test_the_owner_and_the_admin_see_everything_the_public_sees_name_and_type(api: Api) -> None:
    api.as_role("owner", "OW-HZ-001").post("/owners", owner_profile())
    own = api.as_role("owner", "OW-HZ-001").get("/owners/OW-HZ-001")
    admin = api.as_role("admin").get("/owners/OW-HZ-001")
    public = api.call("GET", "/owners/OW-HZ-001")
    other_owner = api.as_role("owner", "OW-OTHER").get("/owners/OW-HZ-001")
    agency = api.as_role("agency", "AG-1").get("/owners/OW-HZ-001")
    assert own.body["contacts"][0]["phone"] == "0571-87000000"
    assert admin.body["contacts"][0]["phone"] == "0571-87000000"
    for reply in (public, other_owner, agency):
        assert reply.status == 200
        assert reply.body == {
            "owner_id": "OW-HZ-001",
            "name": "杭州市城市建设发展中心",
            "owner_type": "government_unit",
        }


def test_the_admin_lists_every_owner_others_get_the_public_view(api: Api) -> None:
    api.as_role("owner", "OW-1").post("/owners", owner_profile("1133010000249611"))
    api.as_role("owner", "OW-2").post(
        "/owners",
        owner_profile(
            "91330100MA2B3C4D",
            name="杭州某某房地产开发有限公司",
            owner_type="company",
            funding_types=["private"],
        ),
    )
    listed = api.as_role("admin").get("/owners").body["items"]
    assert {o["owner_id"] for o in listed} == {"OW-1", "OW-2"}
    assert all("contacts" in o for o in listed)
    public = api.call("GET", "/owners?owner_type=company").body["items"]
    assert public == [{"owner_id": "OW-2", "name": "杭州某某房地产开发有限公司", "owner_type": "company"}]


def test_an_invalid_credit_code_is_refused_and_nothing_is_written(api: Api) -> None:
    body = owner_profile()
    body["credit_code"] = body["credit_code"][:-1] + ("0" if body["credit_code"][-1] != "0" else "1")
    refused = api.as_role("owner", "OW-1").post("/owners", body)
    assert refused.status == 422 and refused.content_type.startswith(PROBLEM)
    assert refused.body["errors"][0]["field"] == "credit_code"
    assert "check character" in refused.body["errors"][0]["message"]
    assert api.as_role("admin").get("/owners/OW-1").status == 404


def test_a_unit_registers_once_and_a_credit_code_belongs_to_one_owner(api: Api) -> None:
    api.as_role("owner", "OW-1").post("/owners", owner_profile())
    again = api.as_role("owner", "OW-1").post("/owners", owner_profile(name="改名"))
    same_code = api.as_role("owner", "OW-2").post("/owners", owner_profile())
    assert again.status == 409 and same_code.status == 409
    assert api.as_role("admin").get("/owners/OW-2").status == 404
    assert api.as_role("admin").get("/owners/OW-1").body["name"] == "杭州市城市建设发展中心"


def test_only_owner_users_register_and_only_the_owner_itself_updates(api: Api) -> None:
    assert api.as_role("agency", "AG-1").post("/owners", owner_profile()).status == 403
    assert api.call("POST", "/owners", owner_profile()).status == 401
    api.as_role("owner", "OW-1").post("/owners", owner_profile())
    hijack = api.as_role("owner", "OW-2").put("/owners/OW-1", owner_profile(name="被篡改"))
    assert hijack.status == 403
    assert api.as_role("admin").get("/owners/OW-1").body["name"] == "杭州市城市建设发展中心"
    updated = api.as_role("owner", "OW-1").put("/owners/OW-1", owner_profile(address="杭州市新地址1号"))
    assert updated.status == 200 and updated.body["address"] == "杭州市新地址1号"


def test_changing_the_credit_code_moves_its_guard(api: Api) -> None:
    api.as_role("owner", "OW-1").post("/owners", owner_profile("1133010000249611"))
    api.as_role("owner", "OW-1").put("/owners/OW-1", owner_profile("1133010000249612"))
    freed = api.as_role("owner", "OW-2").post("/owners", owner_profile("1133010000249611", name="新单位"))
    assert freed.status == 201


def test_missing_contacts_and_unknown_fields_are_named(api: Api) -> None:
    body = owner_profile(contacts=[], nickname="x")
    refused = api.as_role("owner", "OW-1").post("/owners", body)
    assert refused.status == 422
    assert {"contacts", "nickname"} <= {e["field"] for e in refused.body["errors"]}
