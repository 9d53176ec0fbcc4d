"""An agency's administrator (the user who applied) adds and removes staff users."""

from __future__ import annotations

import boto3
import pytest

from infra.local.resources import USER_POOL_REGION
from marketplace.settings import get_settings
from tests.conftest import Api
from tests.support.samples import agency_profile, catalogue_item

APPLICANT = "user-agency-applicant"


@pytest.fixture
def agency_api(api: Api) -> Api:
    api.as_role("admin").post("/catalogue/items", catalogue_item())
    applied = api.as_role("agency", "AG-001", subject=APPLICANT).post("/agencies", agency_profile())
    assert applied.status == 201
    return api


def _pool_users() -> dict[str, dict[str, str]]:
    cognito = boto3.client("cognito-idp", region_name=USER_POOL_REGION)
    users = cognito.list_users(UserPoolId=get_settings().user_pool_id)["Users"]
    attributes = [{a["Name"]: a["Value"] for a in u["Attributes"]} for u in users]
    return {a["email"]: a for a in attributes}  # the pool signs in by email


def test_the_administrator_adds_a_staff_user_who_acts_for_the_agency(agency_api: Api) -> None:
    administrator = agency_api.as_role("agency", "AG-001", subject=APPLICANT)
    added = administrator.post("/agencies/AG-001/users", {"name": "张三", "email": "zhangsan@example.cn"})
    assert added.status == 201 and added.body["subject"]
    assert _pool_users()["zhangsan@example.cn"]["custom:org_id"] == "AG-001"
    groups = boto3.client("cognito-idp", region_name=USER_POOL_REGION).admin_list_groups_for_user(
        UserPoolId=get_settings().user_pool_id, Username="zhangsan@example.cn"
    )["Groups"]
    assert [g["GroupName"] for g in groups] == ["agency"]
    listed = administrator.get("/agencies/AG-001/users").body
    assert [m["username"] for m in listed] == ["zhangsan@example.cn"]
    assert agency_api.as_role("admin").get("/agencies/AG-001/users").status == 200


def test_removing_a_user_deletes_it_from_the_directory(agency_api: Api) -> None:
    administrator = agency_api.as_role("agency", "AG-001", subject=APPLICANT)
    administrator.post("/agencies/AG-001/users", {"name": "李四", "email": "lisi@example.cn"})
    removed = administrator.delete("/agencies/AG-001/users/lisi@example.cn")
    assert removed.status == 204
    assert "lisi@example.cn" not in _pool_users()
    assert administrator.get("/agencies/AG-001/users").body == []
    assert administrator.delete("/agencies/AG-001/users/lisi@example.cn").status == 404


def test_staff_and_other_agencies_do_not_manage_users(agency_api: Api) -> None:
    body = {"name": "王五", "email": "wangwu@example.cn"}
    staff = agency_api.as_role("agency", "AG-001", subject="user-staff")
    assert staff.post("/agencies/AG-001/users", body).status == 403
    assert (
        agency_api.as_role("agency", "AG-002", subject=APPLICANT).post("/agencies/AG-001/users", body).status
        == 403
    )
    assert agency_api.as_role("admin").post("/agencies/AG-001/users", body).status == 403
    assert staff.get("/agencies/AG-001/users").status == 403
    assert "wangwu@example.cn" not in _pool_users()


def test_a_taken_user_name_is_a_conflict_and_leaves_nothing(agency_api: Api) -> None:
    administrator = agency_api.as_role("agency", "AG-001", subject=APPLICANT)
    body = {"name": "赵六", "email": "zhaoliu@example.cn"}
    assert administrator.post("/agencies/AG-001/users", body).status == 201
    assert administrator.post("/agencies/AG-001/users", body).status == 409
    assert [m["username"] for m in administrator.get("/agencies/AG-001/users").body] == ["zhaoliu@example.cn"]


def test_bad_user_input_is_named(agency_api: Api) -> None:
    administrator = agency_api.as_role("agency", "AG-001", subject=APPLICANT)
    reply = administrator.post("/agencies/AG-001/users", {"name": "", "email": "not-an-email"})
    assert reply.status == 422
    assert {"name", "email"} <= {e["field"] for e in reply.body["errors"]}


def test_without_a_user_pool_the_platform_says_users_are_managed_elsewhere(
    agency_api: Api, monkeypatch
) -> None:
    from marketplace.settings import reset_settings

    monkeypatch.setenv("USER_POOL_ID", "")
    reset_settings()
    administrator = agency_api.as_role("agency", "AG-001", subject=APPLICANT)
    reply = administrator.post("/agencies/AG-001/users", {"name": "钱七", "email": "q@example.cn"})
    assert reply.status == 501 and "identity provider" in reply.body["detail"]
    assert administrator.get("/agencies/AG-001/users").body == []
