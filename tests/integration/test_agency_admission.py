"""Agency admission: apply, eligibility, joint review, admitted and listed; returned and resubmitted."""

from __future__ import annotations

import threading

from tests.conftest import Api
from tests.support.samples import agency_profile, catalogue_item, certificate, safety_item, two_item_profile

PROBLEM = "application/problem+json"
SAFETY_ITEM = safety_item()


def _catalogue(api: Api) -> None:
    admin = api.as_role("admin")
    assert admin.post("/catalogue/items", catalogue_item()).status == 201
    assert admin.post("/catalogue/items", SAFETY_ITEM).status == 201


def _reviewers(api: Api):
    return (
        api.as_role("admin"),
        api.as_role("regulator", "RG-ENV", industries=("environment",)),
        api.as_role("regulator", "RG-SAFE", industries=("work_safety",)),
    )


def test_an_agency_is_admitted_when_the_admin_and_every_industry_regulator_approve(
    api: Api, published_events
) -> None:
    _catalogue(api)
    agency = api.as_role("agency", "AG-001")
    applied = agency.post("/agencies", two_item_profile())
    assert applied.status == 201, applied.body
    assert applied.body["required_slots"] == ["admin", "industry:environment", "industry:work_safety"]
    assert all(e["eligible"] for e in applied.body["eligibility"])
    assert api.call("GET", "/agencies/AG-001").body["status"] == "applying"

    admin, env, safety = _reviewers(api)
    assert admin.post("/agencies/AG-001/reviews", {"submission": 1, "decision": "approve"}).status == 200
    assert env.post("/agencies/AG-001/reviews", {"submission": 1, "decision": "approve"}).status == 200
    assert api.call("GET", "/agencies/AG-001").body["status"] == "applying"
    last = safety.post(
        "/agencies/AG-001/reviews", {"submission": 1, "decision": "approve", "reasons": "资质符合"}
    )
    assert last.status == 200 and last.body["status"] == "approved"

    public = api.call("GET", "/agencies/AG-001").body
    assert public["status"] == "admitted" and public["record_version"] == 1
    assert [o["item_code"] for o in public["record"]["offerings"]] == ["ZJ-HP-001", "ZJ-AP-001"]
    listed = api.call("GET", "/agencies?item_code=ZJ-AP-001").body["items"]
    assert [a["agency_id"] for a in listed] == ["AG-001"] and listed[0]["offering"]["fee"][
        "amount_yuan"
    ] == "30000.00"
    by_region = api.call("GET", "/agencies?region=330200&status=admitted").body["items"]
    assert [a["agency_id"] for a in by_region] == ["AG-001"]
    assert api.call("GET", "/agencies?region=310000").body["items"] == []
    types = published_events.types()
    assert types[2:] == [
        "AgencyApplied",
        "AgencyReviewed",
        "AgencyReviewed",
        "AgencyReviewed",
        "AgencyAdmitted",
    ]


def test_the_public_sees_no_personal_data(api: Api) -> None:
    _catalogue(api)
    api.as_role("agency", "AG-001").post("/agencies", agency_profile())
    admin, env, _ = _reviewers(api)
    admin.post("/agencies/AG-001/reviews", {"submission": 1, "decision": "approve"})
    env.post("/agencies/AG-001/reviews", {"submission": 1, "decision": "approve"})
    public = api.call("GET", "/agencies/AG-001")
    other_agency = api.as_role("agency", "AG-OTHER").get("/agencies/AG-001")
    listing = api.call("GET", "/agencies")
    for reply in (public, other_agency, listing):
        text = str(reply.body)
        assert "330106198001011234" not in text and "13900000002" not in text and "13900000001" not in text
    assert public.body["record"]["practitioners"][0]["certificates"][0]["number"] == "***0001"
    assert all("by" not in change for change in public.body["history"])
    assert public.body["record"]["contacts"][0]["phone"] == "139****0001"
    own = api.as_role("agency", "AG-001").get("/agencies/AG-001").body
    assert own["record"]["practitioners"][0]["id_number"] == "330106198001011234"


def test_a_rejection_returns_the_application_with_reasons_and_it_can_be_resubmitted(
    api: Api, published_events
) -> None:
    _catalogue(api)
    agency = api.as_role("agency", "AG-001")
    agency.post("/agencies", agency_profile())
    admin, env, _ = _reviewers(api)
    refused = env.post(
        "/agencies/AG-001/reviews", {"submission": 1, "decision": "reject", "reasons": "报告样本不合格"}
    )
    assert refused.status == 200 and refused.body["status"] == "returned"
    assert api.call("GET", "/agencies/AG-001").body["status"] == "returned"
    late = admin.post("/agencies/AG-001/reviews", {"submission": 1, "decision": "approve"})
    assert late.status == 409
    assert admin.get("/reviews/queue").body["items"] == []

    again = agency.post("/agencies", agency_profile(), headers={"Idempotency-Key": "resubmit-1"})
    assert again.status == 201 and again.body["number"] == 2
    public_history = api.call("GET", "/agencies/AG-001").body["history"]
    assert [h["status"] for h in public_history] == ["applying", "returned", "applying"]
    history = agency.get("/agencies/AG-001/submissions").body
    assert [s["status"] for s in history] == ["returned", "under_review"]
    assert history[0]["decisions"][0]["reasons"] == "报告样本不合格"
    assert "AgencyRejected" in published_events.types()


def test_a_rejection_needs_reasons(api: Api) -> None:
    _catalogue(api)
    api.as_role("agency", "AG-001").post("/agencies", agency_profile())
    reply = api.as_role("admin").post("/agencies/AG-001/reviews", {"submission": 1, "decision": "reject"})
    assert reply.status == 422
    assert api.as_role("admin").get("/agencies/AG-001/submissions").body[0]["decisions"] == []


def test_unmet_qualification_is_shown_before_applying_and_refused_when_applying(api: Api) -> None:
    _catalogue(api)
    agency = api.as_role("agency", "AG-001")
    profile = two_item_profile()
    profile["certificates"][1]["grade"] = 3  # the safety item needs grade 2 or better
    preview = agency.post("/agencies/eligibility", profile)
    assert preview.status == 200 and preview.body["eligible"] is False
    safety = next(i for i in preview.body["items"] if i["item_code"] == "ZJ-AP-001")
    assert safety["checks"][0]["met_by"] == [] and "grade 2" in safety["problems"][-1]
    environment = next(i for i in preview.body["items"] if i["item_code"] == "ZJ-HP-001")
    met = {c["certificate_type"]: c["met_by"] for c in environment["checks"]}
    assert environment["eligible"] and met == {"环境影响评价工程师": [], "环评资质": ["HP-2026-001"]}

    refused = agency.post("/agencies", profile)
    assert refused.status == 422 and refused.content_type.startswith(PROBLEM)
    assert refused.body["errors"][0]["field"] == "offerings[ZJ-AP-001]"
    assert api.call("GET", "/agencies/AG-001").status == 404


def test_an_expired_certificate_does_not_qualify(api: Api) -> None:
    _catalogue(api)
    profile = agency_profile(certificates=[certificate(expires_on="2025-06-30", issued_on="2020-01-01")])
    refused = api.as_role("agency", "AG-001").post("/agencies", profile)
    assert refused.status == 422 and "offerings[ZJ-HP-001]" in str(refused.body["errors"])


def test_unknown_or_retired_items_cannot_be_offered(api: Api) -> None:
    _catalogue(api)
    api.as_role("admin").post(
        "/catalogue/items/ZJ-AP-001/retirement", {"reason": "取消", "effective_from": "2026-01-02"}
    )
    profile = agency_profile()
    profile["offerings"].append({**profile["offerings"][0], "item_code": "ZJ-NOPE-9"})
    profile["offerings"].append({**profile["offerings"][0], "item_code": "ZJ-AP-001"})
    refused = api.as_role("agency", "AG-001").post("/agencies", profile)
    assert refused.status == 422
    problems = {e["field"]: e["message"] for e in refused.body["errors"]}
    assert "not in the catalogue" in problems["offerings[ZJ-NOPE-9]"]
    assert "retired" in problems["offerings[ZJ-AP-001]"]


def test_an_invalid_credit_code_is_refused_and_nothing_written(api: Api) -> None:
    _catalogue(api)
    profile = agency_profile()
    profile["legal_entity"]["credit_code"] = "91350100M000100Y44"
    refused = api.as_role("agency", "AG-001").post("/agencies", profile)
    assert refused.status == 422 and refused.body["errors"][0]["field"] == "legal_entity.credit_code"
    assert api.call("GET", "/agencies/AG-001").status == 404


def test_a_regulator_reviews_only_its_industries_and_others_not_at_all(api: Api) -> None:
    _catalogue(api)
    api.as_role("agency", "AG-001").post("/agencies", agency_profile())
    outsider = api.as_role("regulator", "RG-SAFE", industries=("work_safety",))
    assert outsider.post("/agencies/AG-001/reviews", {"submission": 1, "decision": "approve"}).status == 403
    owner = api.as_role("owner", "OW-1")
    assert owner.post("/agencies/AG-001/reviews", {"submission": 1, "decision": "approve"}).status == 403
    other_agency = api.as_role("agency", "AG-002")
    assert (
        other_agency.post("/agencies/AG-001/reviews", {"submission": 1, "decision": "approve"}).status == 403
    )
    assert other_agency.put("/agencies/AG-001", agency_profile()).status == 403
    assert other_agency.get("/agencies/AG-001/submissions").status == 403
    assert api.as_role("admin").get("/agencies/AG-001/submissions").body[0]["decisions"] == []


def test_the_review_queue_lists_what_each_reviewer_owes(api: Api) -> None:
    _catalogue(api)
    api.as_role("agency", "AG-001").post("/agencies", two_item_profile())
    admin, env, safety = _reviewers(api)
    assert [i["agency_id"] for i in admin.get("/reviews/queue").body["items"]] == ["AG-001"]
    assert [i["slot"] for i in env.get("/reviews/queue").body["items"]] == ["industry:environment"]
    env.post("/agencies/AG-001/reviews", {"submission": 1, "decision": "approve"})
    assert env.get("/reviews/queue").body["items"] == []
    assert len(safety.get("/reviews/queue").body["items"]) == 1


def test_two_reviewers_at_once_are_both_recorded_and_one_twice_at_once_once(api: Api) -> None:
    from marketplace.auth import Principal
    from marketplace.domain.agencies import ReviewDecision
    from marketplace.errors import Conflict
    from marketplace.services import agencies as service

    _catalogue(api)
    api.as_role("agency", "AG-001").post("/agencies", two_item_profile())
    admin = Principal(subject="u-admin", role="admin", org_id="")
    env = Principal(subject="u-env", role="regulator", org_id="RG-ENV", industries=("environment",))
    outcomes: list[str] = []
    start = threading.Barrier(4)

    def decide(who: Principal) -> None:
        start.wait()
        try:
            service.review("AG-001", 1, ReviewDecision.approve, "", who)
            outcomes.append("recorded")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=decide, args=(p,)) for p in (admin, admin, env, env)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "conflict", "recorded", "recorded"]
    decisions = api.as_role("admin").get("/agencies/AG-001/submissions").body[0]["decisions"]
    assert sorted(d["slot"] for d in decisions) == ["admin", "industry:environment"]


def test_the_last_two_approvals_at_once_admit_exactly_once(api: Api, published_events) -> None:
    from marketplace.auth import Principal
    from marketplace.domain.agencies import ReviewDecision
    from marketplace.services import agencies as service

    _catalogue(api)
    api.as_role("agency", "AG-001").post("/agencies", two_item_profile())
    api.as_role("admin").post("/agencies/AG-001/reviews", {"submission": 1, "decision": "approve"})
    env = Principal(subject="u-env", role="regulator", org_id="RG-ENV", industries=("environment",))
    safety = Principal(subject="u-safe", role="regulator", org_id="RG-SAFE", industries=("work_safety",))
    start = threading.Barrier(2)

    def decide(who: Principal) -> None:
        start.wait()
        service.review("AG-001", 1, ReviewDecision.approve, "", who)

    threads = [threading.Thread(target=decide, args=(p,)) for p in (env, safety)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert api.call("GET", "/agencies/AG-001").body["status"] == "admitted"
    assert published_events.types().count("AgencyAdmitted") == 1


def test_one_credit_code_one_agency(api: Api) -> None:
    _catalogue(api)
    assert api.as_role("agency", "AG-001").post("/agencies", agency_profile()).status == 201
    assert api.as_role("agency", "AG-002").post("/agencies", agency_profile()).status == 409
    assert api.as_role("agency", "AG-001").post("/agencies", agency_profile()).status == 409
