"""After admission: changes and extensions under review, certificates over time, supervision."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from marketplace.domain.agencies import AGENCY
from tests.conftest import Api
from tests.support.samples import agency_profile, catalogue_item, certificate
from tests.support.schemas import EVENTS_DIR


@pytest.fixture
def admitted(api: Api) -> Api:
    """AG-001 admitted for ZJ-HP-001 (environment), its certificate valid until 2029."""
    assert api.as_role("admin").post("/catalogue/items", catalogue_item()).status == 201
    assert api.as_role("agency", "AG-001").post("/agencies", agency_profile()).status == 201
    for reviewer in (api.as_role("admin"), api.as_role("regulator", "RG-ENV", industries=("environment",))):
        assert (
            reviewer.post("/agencies/AG-001/reviews", {"submission": 1, "decision": "approve"}).status == 200
        )
    assert api.call("GET", "/agencies/AG-001").body["status"] == "admitted"
    return api


def _approve(api: Api, number: int) -> None:
    for reviewer in (api.as_role("admin"), api.as_role("regulator", "RG-ENV", industries=("environment",))):
        reply = reviewer.post("/agencies/AG-001/reviews", {"submission": number, "decision": "approve"})
        assert reply.status == 200, reply.body


def test_a_change_is_reviewed_and_the_old_record_stays_in_force_until_approved(
    admitted: Api, published_events
) -> None:
    agency = admitted.as_role("agency", "AG-001")
    changed = agency_profile(regions=["330100", "330106", "330108"])
    changed["offerings"][0]["time_limit_working_days"] = 12
    submitted = agency.put("/agencies/AG-001", {**changed, "note": "扩大服务区域"})
    assert submitted.status == 202 and submitted.body["kind"] == "change" and submitted.body["number"] == 2

    public = admitted.call("GET", "/agencies/AG-001").body
    assert public["record"]["regions"] == ["330100", "330106"] and public["record_version"] == 1
    assert agency.put("/agencies/AG-001", changed).status == 409  # one open submission at a time

    _approve(admitted, 2)
    public = admitted.call("GET", "/agencies/AG-001").body
    assert public["record"]["regions"] == ["330100", "330106", "330108"] and public["record_version"] == 2
    assert public["record"]["offerings"][0]["time_limit_working_days"] == 12
    assert "AgencyChanged" in published_events.types()
    history = agency.get("/agencies/AG-001/submissions").body
    assert [(s["kind"], s["status"]) for s in history] == [("admission", "approved"), ("change", "approved")]


def test_the_credit_code_cannot_change(admitted: Api) -> None:
    other = agency_profile("91330106MA2H7Y41")
    refused = admitted.as_role("agency", "AG-001").put("/agencies/AG-001", other)
    assert refused.status == 422 and refused.body["errors"][0]["field"] == "legal_entity.credit_code"


def test_an_extension_renews_a_certificate(admitted: Api) -> None:
    agency = admitted.as_role("agency", "AG-001")
    renewed = certificate(expires_on="2032-12-31", issued_on="2026-11-01")
    submitted = agency.post("/agencies/AG-001/extensions", {"certificates": [renewed], "note": "证书换证"})
    assert submitted.status == 202 and submitted.body["kind"] == "extension"
    _approve(admitted, 2)
    certificates = admitted.call("GET", "/agencies/AG-001").body["record"]["certificates"]
    assert [(c["number"], c["expires_on"]) for c in certificates] == [("HP-2026-001", "2032-12-31")]


def test_only_the_agency_itself_changes_its_record(admitted: Api) -> None:
    assert admitted.as_role("agency", "AG-002").put("/agencies/AG-001", agency_profile()).status == 403
    assert admitted.as_role("admin").put("/agencies/AG-001", agency_profile()).status == 403
    assert admitted.call("PUT", "/agencies/AG-001", agency_profile()).status == 401


def _check(admitted: Api, today: date) -> dict:
    from app import app
    from marketplace.clock import FixedClock, SystemClock, use_clock

    scheduled = json.loads((EVENTS_DIR / "functions" / "check_certificates.schedule.json").read_text())
    use_clock(FixedClock(datetime(today.year, today.month, today.day, 1, tzinfo=UTC)))
    try:
        return app.handler_map["check_certificates"](scheduled, None)
    finally:
        use_clock(SystemClock())


def test_a_certificate_expiring_within_the_notice_period_notifies_once(
    admitted: Api, published_events
) -> None:
    published_events.received()
    first = _check(admitted, date(2029, 12, 10))
    again = _check(admitted, date(2029, 12, 11))
    assert first["notified"] == ["AG-001/HP-2026-001"] and again["notified"] == []
    expiring = [e for e in published_events.received() if e["detail-type"] == "CertificateExpiring"]
    assert len(expiring) == 1 and expiring[0]["detail"]["data"]["days_left"] == 21
    assert _check(admitted, date(2029, 11, 1))["notified"] == []  # outside the 30-day window


def test_an_expired_certificate_suspends_its_items_and_a_renewal_restores_them(
    admitted: Api, published_events
) -> None:
    report = _check(admitted, date(2030, 1, 2))
    assert report["suspended_items"] == ["AG-001/ZJ-HP-001"]
    public = admitted.call("GET", "/agencies/AG-001").body
    assert public["suspended_items"] == {"ZJ-HP-001": "certificate expired: HP-2026-001"}
    listed = admitted.call("GET", "/agencies?item_code=ZJ-HP-001").body["items"]
    assert listed[0]["item_suspended"] is True
    assert _check(admitted, date(2030, 1, 3))["suspended_items"] == []  # handled once
    assert "ItemSuspended" in published_events.types()

    renewed = certificate(expires_on="2034-12-31", issued_on="2026-11-01")
    admitted.as_role("agency", "AG-001").post("/agencies/AG-001/extensions", {"certificates": [renewed]})
    _approve(admitted, 2)
    public = admitted.call("GET", "/agencies/AG-001").body
    assert public["suspended_items"] == {}
    assert admitted.call("GET", "/agencies?item_code=ZJ-HP-001").body["items"][0]["item_suspended"] is False
    assert "ItemRestored" in published_events.types()


def test_expulsion_is_public_with_its_reason_and_only_the_admin_reverses_it(
    admitted: Api, published_events
) -> None:
    regulator = admitted.as_role("regulator", "RG-ENV", industries=("environment",))
    expelled = regulator.post(
        "/agencies/AG-001/expulsion", {"reason": "出具虚假评价报告", "basis": "《中介服务管理办法》第二十条"}
    )
    assert expelled.status == 200 and expelled.body["status"] == "expelled"
    listed = admitted.call("GET", "/agencies?status=expelled").body["items"]
    assert [(a["agency_id"], a["status_reason"]) for a in listed] == [("AG-001", "出具虚假评价报告")]
    by_item = admitted.call("GET", "/agencies?item_code=ZJ-HP-001").body["items"]
    assert by_item[0]["status"] == "expelled" and by_item[0]["status_reason"] == "出具虚假评价报告"
    history = admitted.call("GET", "/agencies/AG-001").body["history"]
    assert history[-1]["status"] == "expelled" and history[-1]["reason"] == "出具虚假评价报告"
    assert admitted.call("GET", "/agencies?item_code=ZJ-HP-001&status=admitted").body["items"] == []

    assert regulator.post("/agencies/AG-001/reinstatement", {"reason": "r", "basis": "b"}).status == 403
    back = admitted.as_role("admin").post(
        "/agencies/AG-001/reinstatement", {"reason": "复核撤销", "basis": "复核决定书"}
    )
    assert back.status == 200 and back.body["status"] == "admitted"
    assert [h["status"] for h in back.body["history"]] == ["applying", "admitted", "expelled", "admitted"]
    types = published_events.types()
    assert "AgencyExpelled" in types and "AgencyReinstated" in types


def test_a_regulator_supervises_only_its_industries(admitted: Api) -> None:
    outsider = admitted.as_role("regulator", "RG-SAFE", industries=("work_safety",))
    body = {"reason": "x", "basis": "y"}
    assert outsider.post("/agencies/AG-001/suspension", body).status == 403
    assert admitted.as_role("owner", "OW-1").post("/agencies/AG-001/expulsion", body).status == 403
    assert admitted.as_role("agency", "AG-001").post("/agencies/AG-001/suspension", body).status == 403
    assert admitted.call("GET", "/agencies/AG-001").body["status"] == "admitted"


def test_suspension_needs_a_reason_and_basis_and_a_suspended_agency_is_not_suspended_again(
    admitted: Api,
) -> None:
    admin = admitted.as_role("admin")
    assert admin.post("/agencies/AG-001/suspension", {"reason": "超时"}).status == 422
    assert admin.post("/agencies/AG-001/suspension", {"reason": "超时", "basis": "承诺制度"}).status == 200
    assert admin.post("/agencies/AG-001/suspension", {"reason": "超时", "basis": "承诺制度"}).status == 409
    assert admitted.call("GET", "/agencies/AG-001").body["status"] == "suspended"


def test_every_admitted_version_stays_readable_without_personal_data_for_the_public(admitted: Api) -> None:
    agency = admitted.as_role("agency", "AG-001")
    agency.put("/agencies/AG-001", agency_profile(regions=["330100"]))
    _approve(admitted, 2)
    reply = admitted.call("GET", "/agencies/AG-001/versions")
    assert reply.status == 200, reply.body
    public = reply.body
    assert [(v["version"], v["submission"], v["record"]["regions"]) for v in public] == [
        (1, 1, ["330100", "330106"]),
        (2, 2, ["330100"]),
    ]
    assert "330106198001011234" not in str(public)
    own = agency.get("/agencies/AG-001/versions").body
    assert own[0]["record"]["practitioners"][0]["id_number"] == "330106198001011234"
    assert admitted.call("GET", "/agencies/AG-404/versions").status == 404


def test_expelling_an_agency_returns_its_open_change_and_empties_the_queues(admitted: Api) -> None:
    admitted.as_role("agency", "AG-001").put("/agencies/AG-001", agency_profile(regions=["330100"]))
    admin = admitted.as_role("admin")
    assert admin.post("/agencies/AG-001/expulsion", {"reason": "虚假材料", "basis": "管理办法"}).status == 200
    assert admin.get("/reviews/queue").body["items"] == []
    late = admin.post("/agencies/AG-001/reviews", {"submission": 2, "decision": "approve"})
    assert late.status == 409
    public = admitted.call("GET", "/agencies/AG-001").body
    assert public["status"] == "expelled" and public["record_version"] == 1
    submissions = admin.get("/agencies/AG-001/submissions").body
    assert [s["status"] for s in submissions] == ["approved", "returned"]


def test_a_decided_submission_whose_close_failed_is_closed_by_the_next_reviewer_call(
    admitted: Api, monkeypatch
) -> None:
    from marketplace.errors import Conflict
    from marketplace.repositories import agencies as repo

    admitted.as_role("agency", "AG-001").put("/agencies/AG-001", agency_profile(regions=["330100"]))
    admin = admitted.as_role("admin")
    regulator = admitted.as_role("regulator", "RG-ENV", industries=("environment",))
    assert admin.post("/agencies/AG-001/reviews", {"submission": 2, "decision": "approve"}).status == 200
    close = repo.close_approved

    def always_overtaken(*args, **kwargs):
        raise Conflict("the profile changed meanwhile")

    monkeypatch.setattr(repo, "close_approved", always_overtaken)
    stuck = regulator.post("/agencies/AG-001/reviews", {"submission": 2, "decision": "approve"})
    assert stuck.status == 503 and stuck.headers["retry-after"]
    assert admin.get("/agencies/AG-001/submissions").body[-1]["status"] == "under_review"

    monkeypatch.setattr(repo, "close_approved", close)
    retried = admin.post("/agencies/AG-001/reviews", {"submission": 2, "decision": "approve"})
    assert retried.status == 200 and retried.body["status"] == "approved"
    assert admitted.call("GET", "/agencies/AG-001").body["record"]["regions"] == ["330100"]


def test_no_profile_write_replaces_a_profile_changed_since_it_was_read(admitted: Api) -> None:
    """A suspension that read the profile before the daily check wrote it does not erase the
    check's suspended items: it conflicts, and the caller reads again."""
    from marketplace.errors import Conflict
    from marketplace.repositories import agencies as repo

    stale = repo.get("AG-001", consistent=True)
    _check(admitted, date(2030, 1, 2))  # suspends ZJ-HP-001 for the expired certificate
    suspension = AGENCY.expect(stale.status, "suspend")
    suspended = suspension.apply(stale)
    with pytest.raises(Conflict):
        repo.change_status(suspended, stale, [], transition=suspension)
    current = admitted.call("GET", "/agencies/AG-001").body
    assert current["status"] == "admitted" and "ZJ-HP-001" in current["suspended_items"]


def test_an_expulsion_read_before_a_change_opened_does_not_miss_it(admitted: Api) -> None:
    from marketplace.errors import Conflict
    from marketplace.repositories import agencies as repo

    stale = repo.get("AG-001", consistent=True)
    admitted.as_role("agency", "AG-001").put("/agencies/AG-001", agency_profile(regions=["330100"]))
    expulsion = AGENCY.expect(stale.status, "expel")
    with pytest.raises(Conflict):
        repo.change_status(expulsion.apply(stale), stale, [], closing=None, transition=expulsion)
    admin = admitted.as_role("admin")
    assert admin.post("/agencies/AG-001/expulsion", {"reason": "虚假材料", "basis": "管理办法"}).status == 200
    assert admin.get("/agencies/AG-001/submissions").body[-1]["status"] == "returned"


def test_approval_checks_eligibility_again_on_the_day(admitted: Api, published_events) -> None:
    from marketplace.clock import FixedClock, SystemClock, use_clock

    agency = admitted.as_role("agency", "AG-001")
    agency.put("/agencies/AG-001", agency_profile(regions=["330100"]))  # its certificate ends 2029-12-31
    use_clock(FixedClock(datetime(2030, 1, 3, 2, tzinfo=UTC)))
    try:
        _approve(admitted, 2)
    finally:
        use_clock(SystemClock())
    public = admitted.call("GET", "/agencies/AG-001").body
    assert public["record"]["regions"] == ["330100"]
    assert public["suspended_items"]["ZJ-HP-001"].startswith("not eligible")
    assert "ItemRestored" not in published_events.types()


def test_an_applicant_expelled_before_admission_is_reinstated_to_apply_again(api: Api) -> None:
    api.as_role("admin").post("/catalogue/items", catalogue_item())
    agency = api.as_role("agency", "AG-009")
    agency.post("/agencies", agency_profile("91330106MA2H7Y49"))
    admin = api.as_role("admin")
    assert admin.post("/agencies/AG-009/expulsion", {"reason": "冒用资质", "basis": "办法"}).status == 200
    back = admin.post("/agencies/AG-009/reinstatement", {"reason": "复核撤销", "basis": "复核决定"})
    assert back.status == 200 and back.body["status"] == "returned"
    again = agency.post("/agencies", agency_profile("91330106MA2H7Y49"))
    assert again.status == 201 and again.body["number"] == 2


def test_an_extension_beyond_the_limits_is_a_422(admitted: Api) -> None:
    many = [certificate(f"EXT-{n:03d}") for n in range(60)]
    reply = admitted.as_role("agency", "AG-001").post("/agencies/AG-001/extensions", {"certificates": many})
    assert reply.status == 422
    few_more = [certificate(f"EXT-{n:03d}") for n in range(50)]
    reply = admitted.as_role("agency", "AG-001").post(
        "/agencies/AG-001/extensions", {"certificates": few_more}
    )
    assert reply.status == 422 and reply.body["errors"][0]["field"].startswith("certificates")


def test_personal_data_is_for_the_regulators_of_the_agencys_industries_only(admitted: Api) -> None:
    own_regulator = admitted.as_role("regulator", "RG-ENV", industries=("environment",))
    other_regulator = admitted.as_role("regulator", "RG-SAFE", industries=("work_safety",))
    seen = own_regulator.get("/agencies/AG-001").body
    assert seen["record"]["practitioners"][0]["id_number"] == "330106198001011234"
    unseen = other_regulator.get("/agencies/AG-001")
    assert unseen.status == 200 and "330106198001011234" not in str(unseen.body)
    assert "330106198001011234" not in str(other_regulator.get("/agencies/AG-001/versions").body)
    assert other_regulator.get("/agencies/AG-001/submissions").status == 403
    assert own_regulator.get("/agencies/AG-001/submissions").status == 200
