"""The agencies area where a review found it wanting: a regulator reading the change it reviews,
records at their size limits, the daily check isolating a failing agency, the directory's keyword
with an item filter, a staff user half-created, short phone numbers in public."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from tests.conftest import Api
from tests.support.samples import agency_profile, catalogue_item, certificate, safety_item, two_item_profile
from tests.support.schemas import EVENTS_DIR

SAFETY_ITEM = safety_item()
APPLICANT = "user-agency-applicant"


def _env(api: Api) -> Any:
    return api.as_role("regulator", "RG-ENV", industries=("environment",))


def _safety(api: Api) -> Any:
    return api.as_role("regulator", "RG-SAFE", industries=("work_safety",))


def _admit(api: Api, agency_id: str, profile: dict[str, Any], subject: str | None = None) -> None:
    applied = api.as_role("agency", agency_id, subject=subject).post("/agencies", profile)
    assert applied.status == 201, applied.body
    slots = applied.body["required_slots"]
    reviewers = [api.as_role("admin")]
    if "industry:environment" in slots:
        reviewers.append(_env(api))
    if "industry:work_safety" in slots:
        reviewers.append(_safety(api))
    for reviewer in reviewers:
        reply = reviewer.post(f"/agencies/{agency_id}/reviews", {"submission": 1, "decision": "approve"})
        assert reply.status == 200, reply.body


@pytest.fixture
def admitted(api: Api) -> Api:
    """AG-001 admitted for ZJ-HP-001 (environment); ZJ-AP-001 (work safety) is in the catalogue."""
    admin = api.as_role("admin")
    assert admin.post("/catalogue/items", catalogue_item()).status == 201
    assert admin.post("/catalogue/items", SAFETY_ITEM).status == 201
    _admit(api, "AG-001", agency_profile(), subject=APPLICANT)
    assert api.call("GET", "/agencies/AG-001").body["status"] == "admitted"
    return api


def _check(today: date) -> dict[str, Any]:
    from app import app
    from marketplace.clock import FixedClock, SystemClock, use_clock

    scheduled = json.loads((EVENTS_DIR / "functions" / "check_certificates.schedule.json").read_text())
    use_clock(FixedClock(datetime(today.year, today.month, today.day, 1, tzinfo=UTC)))
    try:
        return dict(app.handler_map["check_certificates"](scheduled, None))
    finally:
        use_clock(SystemClock())


def test_a_regulator_asked_to_review_a_change_can_read_the_submission(admitted: Api) -> None:
    """A change that adds a work-safety item needs the work-safety regulator's review; the queue
    tells it so, but the submission it must judge is refused to it (403)."""
    profile = two_item_profile()
    change = admitted.as_role("agency", "AG-001").put("/agencies/AG-001", profile)
    assert change.status == 202, change.body
    assert "industry:work_safety" in change.body["required_slots"]
    safety = _safety(admitted)
    queued = safety.get("/reviews/queue").body["items"]
    assert [(i["agency_id"], i["submission"]) for i in queued] == [("AG-001", 2)]

    seen = safety.get("/agencies/AG-001/submissions")
    assert seen.status == 200, seen.body
    assert [s["kind"] for s in seen.body][-1] == "change"


def test_the_largest_record_is_admitted_and_then_replaced_whole_in_one_change(api: Api) -> None:
    """Approving puts a record in force in one DynamoDB transaction (at most 100 items). A record
    at the limits (20 offerings, 20 certificates) is admitted, and a change replacing every offering
    and every certificate is approved too: the worst case the limits allow."""
    admin = api.as_role("admin")
    codes = [f"ZJ-HP-{n:03d}" for n in range(1, 41)]
    for code in codes:
        assert admin.post("/catalogue/items", catalogue_item(code)).status == 201
    profile = agency_profile()
    template = profile["offerings"][0]
    profile["certificates"] = [certificate(f"HP-2026-{n:03d}") for n in range(1, 21)]
    profile["offerings"] = [{**template, "item_code": code} for code in codes[:20]]
    _admit(api, "AG-001", profile)
    assert api.call("GET", "/agencies/AG-001").body["status"] == "admitted"

    changed = {
        **profile,
        "certificates": [certificate(f"HP-2027-{n:03d}") for n in range(1, 21)],
        "offerings": [{**template, "item_code": code} for code in codes[20:]],
    }
    submitted = api.as_role("agency", "AG-001").put("/agencies/AG-001", changed)
    assert submitted.status == 202, submitted.body
    assert admin.post("/agencies/AG-001/reviews", {"submission": 2, "decision": "approve"}).status == 200
    last = _env(api).post("/agencies/AG-001/reviews", {"submission": 2, "decision": "approve"})
    assert last.status == 200, last.body
    assert last.body["status"] == "approved"
    record = api.call("GET", "/agencies/AG-001").body["record"]
    assert [o["item_code"] for o in record["offerings"]] == codes[20:]
    listed = api.call("GET", "/agencies?item_code=ZJ-HP-001").body["items"]
    assert listed == []  # the removed offering rows are gone from the directory


def test_a_record_beyond_the_limits_is_refused_naming_the_field(api: Api) -> None:
    admin = api.as_role("admin")
    codes = [f"ZJ-HP-{n:03d}" for n in range(1, 22)]
    for code in codes:
        assert admin.post("/catalogue/items", catalogue_item(code)).status == 201
    profile = agency_profile()
    profile["offerings"] = [{**profile["offerings"][0], "item_code": code} for code in codes]
    refused = api.as_role("agency", "AG-001").post("/agencies", profile)
    assert refused.status == 422
    assert refused.body["errors"][0]["field"] == "offerings"
    assert api.call("GET", "/agencies/AG-001").status == 404


def test_one_large_agency_does_not_stop_the_daily_check_for_the_others(api: Api) -> None:
    """AG-001 (20 items, 20 certificates, all expiring 2029-12-31) and AG-002 (one item) are both
    admitted. On 2030-01-02 the check suspends both agencies' items, the largest suspension the
    limits allow included."""
    admin = api.as_role("admin")
    codes = [f"ZJ-HP-{n:03d}" for n in range(1, 21)]
    for code in codes:
        assert admin.post("/catalogue/items", catalogue_item(code)).status == 201
    big = agency_profile()
    big["certificates"] = [certificate(f"HP-2026-{n:03d}") for n in range(1, 21)]
    big["offerings"] = [{**big["offerings"][0], "item_code": code} for code in codes]
    _admit(api, "AG-001", big)
    small = agency_profile("91330106MA2H7Y41", certificates=[certificate("HP-SMALL-1")])
    small["legal_entity"]["name"] = "杭州青山环境咨询有限公司"
    _admit(api, "AG-002", small)

    report = _check(date(2030, 1, 2))
    small_now = api.call("GET", "/agencies/AG-002").body
    assert "ZJ-HP-001" in small_now["suspended_items"]
    big_now = api.call("GET", "/agencies/AG-001").body
    assert len(big_now["suspended_items"]) == 20
    assert "AG-002/ZJ-HP-001" in report["suspended_items"] and report["deferred"] == []


def test_the_directory_keyword_finds_an_agency_by_credit_code_with_or_without_an_item_filter(
    admitted: Api,
) -> None:
    """Searching the directory by credit code finds the agency, until the search is narrowed to an
    item it offers: the offering rows search the name only."""
    code = agency_profile()["legal_entity"]["credit_code"]
    everywhere = admitted.call("GET", f"/agencies?keyword={code}").body["items"]
    assert [a["agency_id"] for a in everywhere] == ["AG-001"]
    by_item = admitted.call("GET", f"/agencies?item_code=ZJ-HP-001&keyword={code}")
    assert by_item.status == 200, by_item.body
    assert [a["agency_id"] for a in by_item.body["items"]] == ["AG-001"]


def test_a_staff_user_whose_creation_failed_halfway_can_be_added_on_retry(
    admitted: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The directory creates the user, then fails to put it in the `agency` group: the request is a
    503 (retry shortly) and the member row is dropped, but the user stays in the pool with the
    agency's org id and no role. The retry is then refused for ever (409), and the administrator
    cannot remove it either (404)."""
    from botocore.exceptions import ClientError

    from marketplace.repositories import directory

    administrator = admitted.as_role("agency", "AG-001", subject=APPLICANT)
    client = directory._cognito()
    real = client.admin_add_user_to_group
    failures = {"left": 1}

    def flaky(**kwargs: Any) -> Any:
        if failures["left"]:
            failures["left"] -= 1
            raise ClientError(
                {"Error": {"Code": "InternalErrorException", "Message": "try again"}}, "AdminAddUserToGroup"
            )
        return real(**kwargs)

    monkeypatch.setattr(client, "admin_add_user_to_group", flaky)
    body = {"name": "张三", "email": "zhangsan@example.cn"}
    first = administrator.post("/agencies/AG-001/users", body)
    assert first.status == 503, first.body

    retried = administrator.post("/agencies/AG-001/users", body)
    assert retried.status == 201, retried.body
    users = administrator.get("/agencies/AG-001/users").body
    assert [m["username"] for m in users] == ["zhangsan@example.cn"]


def test_the_public_view_masks_an_eight_digit_contact_phone(api: Api) -> None:
    """An eight-digit landline (常见的座机号) 87654321 is shown to anyone as `876****4321`:
    seven of its eight digits. A masked phone must hide at least the four digits the mask shows as stars."""
    assert api.as_role("admin").post("/catalogue/items", catalogue_item()).status == 201
    profile = agency_profile()
    profile["contacts"][0]["phone"] = "87654321"
    _admit(api, "AG-001", profile)
    public = api.call("GET", "/agencies/AG-001").body
    shown = public["record"]["contacts"][0]["phone"]
    visible = [c for c in shown if c.isdigit()]
    assert len(visible) <= 4, f"the public sees {shown} for 87654321"


def test_an_agency_whose_suspension_fails_is_deferred_and_the_others_are_still_checked(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from marketplace.repositories import agencies as agencies_repo

    assert api.as_role("admin").post("/catalogue/items", catalogue_item()).status == 201
    _admit(api, "AG-001", agency_profile())
    second = agency_profile("91330106MA2H7Y41", certificates=[certificate("HP-SMALL-1")])
    second["legal_entity"]["name"] = "杭州青山环境咨询有限公司"
    _admit(api, "AG-002", second)
    real = agencies_repo.save_item_suspensions

    def failing_for_one(agency: Any, *args: Any, **kwargs: Any) -> None:
        if agency.agency_id == "AG-001":
            raise RuntimeError("DynamoDB said no")
        real(agency, *args, **kwargs)

    monkeypatch.setattr(agencies_repo, "save_item_suspensions", failing_for_one)
    report = _check(date(2030, 1, 2))
    assert report["deferred"] == ["AG-001"]
    assert "AG-002/ZJ-HP-001" in report["suspended_items"]
    assert not api.call("GET", "/agencies/AG-001").body["suspended_items"]
    assert list(api.call("GET", "/agencies/AG-002").body["suspended_items"]) == ["ZJ-HP-001"]
