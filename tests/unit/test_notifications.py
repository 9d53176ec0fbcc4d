"""Who is told what about each domain event (marketplace.domain.notifications): pure, no AWS."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from marketplace.domain import notifications as n
from marketplace.domain.agencies import AgencyStatus
from marketplace.domain.purchases import EnrollmentStatus
from marketplace.events import EVENT_TYPES
from tests.support.schemas import EVENTS_DIR

TZ = "Asia/Shanghai"
OWNER, AGENCY = "owner:OW-1", "agency:AG-1"


def detail(event_type: str, data: dict[str, Any], **envelope: Any) -> dict[str, Any]:
    return {
        "event_id": "11111111-2222-4333-8444-555555555555",
        "event_type": event_type,
        "occurred_at": "2026-11-30T02:00:00.123456Z",
        "subject": data.get("purchase_id") or data.get("agency_id", "X"),
        "actor": "user-1",
        "data": data,
        **envelope,
    }


def told(event_type: str, **data: Any) -> dict[str, n.Notice]:
    plan = n.plan(detail(event_type, data), timezone=TZ)
    assert plan is not None
    return {e.recipient: n.Notice(e.recipient, e.title, e.text) for e in n.entries(plan, plan.notices)}


PURCHASE = {"purchase_id": "PU-1", "owner_id": "OW-1"}


def test_every_notified_type_is_a_domain_event_type() -> None:
    assert set(n.NOTIFIED_TYPES) <= set(EVENT_TYPES)
    assert "PurchaseReannounced" not in n.NOTIFIED_TYPES  # the owner did it; no one else is concerned


def test_the_admitted_status_is_the_agency_models_own() -> None:
    assert AgencyStatus.admitted.value == n.ADMITTED


def test_admins_share_one_inbox_no_organisation_can_name() -> None:
    assert n.inbox_of("admin", "ADMIN-1") == n.inbox_of("admin", "ADMIN-2") == n.ADMINS
    assert n.inbox_of("owner", "OW-1") == OWNER
    assert n.inbox_of("owner", "admin") != n.ADMINS
    assert n.inbox_of("regulator", "RG-1") == "regulator:RG-1"
    assert n.inbox_of("owner", "SAME-ID") != n.inbox_of("agency", "SAME-ID")  # one id, two roles


def test_an_entry_id_depends_on_the_event_and_the_recipient_only_and_sorts_by_time() -> None:
    first = n.notification_id("e-1", OWNER, "2026-11-30T02:00:00Z")
    assert first == n.notification_id("e-1", OWNER, "2026-11-30T02:00:00.000000Z")
    assert first != n.notification_id("e-1", AGENCY, "2026-11-30T02:00:00Z")
    assert first != n.notification_id("e-2", OWNER, "2026-11-30T02:00:00Z")
    later = n.notification_id("e-0", OWNER, "2026-11-30T02:00:00.000001Z")
    assert first < later
    assert re.match(n.ID_PATTERN, first) and first.startswith("20261130T020000000000Z-")


@pytest.mark.parametrize(
    ("event_type", "data", "recipients", "title"),
    [
        ("PurchaseReturned", {**PURCHASE, "reasons": "预算依据不足"}, {OWNER}, "采购申请被退回"),
        (
            "EnrollmentReceived",
            {**PURCHASE, "agency_id": "AG-1", "enrollments": 3},
            {OWNER},
            "收到报名",  # not who: the list is sealed until enrollment closes
        ),
        (
            "EnrollmentWithdrawn",
            {**PURCHASE, "agency_id": "AG-1", "enrollments": 2},
            {OWNER},
            "报名已撤销",
        ),
        (
            "PurchaseFailed",
            {**PURCHASE, "reason": "有效报名不足", "eligible": 1, "minimum": 2},
            {OWNER},
            "采购未成交：PU-1",
        ),
        (
            "AgencyPicked",
            {**PURCHASE, "agency_id": "AG-1", "confirmation_deadline": "2026-12-02T09:00:00Z"},
            {OWNER, AGENCY},
            "已选定中选机构：AG-1",
        ),
        ("ResultConfirmed", {**PURCHASE, "agency_id": "AG-1"}, {OWNER, AGENCY}, "中选结果已确认：PU-1"),
        ("ResultAccepted", {**PURCHASE, "agency_id": "AG-1"}, {OWNER}, "中选机构已接受：AG-1"),
        ("ResultAbandoned", {**PURCHASE, "agency_id": "AG-1", "reason": "人员变动"}, {OWNER}, None),
        (
            "ReserveMovedUp",
            {
                **PURCHASE,
                "agency_id": "AG-1",
                "previous_agency_id": "AG-0",
                "confirmation_deadline": "2026-12-02T09:00:00Z",
            },
            {OWNER, AGENCY},
            "候补递补：PU-1",
        ),
        ("PurchaseConfirmed", {**PURCHASE, "agency_id": "AG-1"}, {OWNER, AGENCY}, "采购已确认：PU-1"),
        (
            "LetterIssued",
            {**PURCHASE, "agency_id": "AG-1", "letter_id": "L-1"},
            {OWNER, AGENCY},
            "电子中选确认书已出具",
        ),
        ("PurchaseEscalated", {**PURCHASE, "agency_id": None, "reason": "逾期"}, {n.ADMINS}, None),
        ("PurchaseFlagged", {**PURCHASE, "reason": "Lambda.Unknown"}, {n.ADMINS}, "流程异常：PU-1"),
        (
            "CreditEventRecorded",
            {
                "agency_id": "AG-1",
                "credit_event_id": "C-1",
                "points": -5,
                "reason": "放弃中选",
                "purchase_id": None,
            },
            {AGENCY},
            "信用记录：-5 分",
        ),
    ],
)
def test_each_purchase_event_reaches_who_it_concerns(
    event_type: str, data: dict[str, Any], recipients: set[str], title: str | None
) -> None:
    notices = told(event_type, **data)
    assert set(notices) == recipients
    if title is not None:
        assert {x.title for x in notices.values()} >= {title}
    assert all(x.title and x.text for x in notices.values())


def test_a_purchase_is_announced_to_the_admins_only_when_it_needs_review() -> None:
    data = {**PURCHASE, "project_code": "2026-330106-01", "funding_type": "fiscal"}
    assert told("PurchaseSubmitted", **data, needs_review=False) == {}
    notices = told("PurchaseSubmitted", **data, needs_review=True)
    assert set(notices) == {n.ADMINS} and "财政资金" in notices[n.ADMINS].text


def test_a_result_reaches_the_owner_the_selected_agency_the_short_list_and_the_reserves_once_each() -> None:
    notices = told(
        "ResultPublished",
        **PURCHASE,
        method="random_draw",
        selected_agency="AG-1",
        short_list=["AG-1"],
        reserves=["AG-2", "AG-3"],
        confirmation_deadline="2026-12-02T09:00:00Z",
    )
    assert set(notices) == {OWNER, AGENCY, "agency:AG-2", "agency:AG-3"}
    assert notices[AGENCY].title == "您已中选：PU-1"  # not also told it is on the short list
    assert "第 2 候补" in notices["agency:AG-3"].text
    assert "2026-12-02 17:00" in notices[OWNER].text  # deadlines in the region's time


def test_a_short_list_waiting_for_the_owner_tells_each_candidate() -> None:
    notices = told(
        "ResultPublished",
        **PURCHASE,
        method="credit_best_value",
        selected_agency=None,
        short_list=["AG-1", "AG-2"],
        reserves=[],
        confirmation_deadline="2026-12-02T09:00:00Z",
    )
    assert set(notices) == {OWNER, AGENCY, "agency:AG-2"}
    assert "AG-1、AG-2" in notices[OWNER].text and notices[AGENCY].title == "您已入围：PU-1"


ENROLLED_IN_PU_1 = [
    n.Enrollee("AG-1", n.ENROLLED, counted=True),
    n.Enrollee("AG-2", n.ENROLLED, counted=True),
    n.Enrollee("AG-3", n.ENROLLED, counted=True),
    n.Enrollee("AG-4", n.ENROLLED, counted=False, why_not="agency AG-4 is suspended: 超时"),
    n.Enrollee("AG-5", "withdrawn"),
]


def told_enrollees(event_type: str, **data: Any) -> dict[str, n.Notice]:
    """What the enrollees of PU-1 no notice names are told."""
    plan = n.plan(detail(event_type, data), timezone=TZ)
    assert plan is not None and plan.enrollees is not None and plan.enrollees.purchase_id == "PU-1"
    return {e.recipient: e for e in n.enrollee_notices(plan, ENROLLED_IN_PU_1)}


def test_the_enrollment_status_is_the_enrollment_models_own() -> None:
    assert EnrollmentStatus.enrolled.value == n.ENROLLED


def test_a_drawn_result_tells_every_other_enrollee_it_was_not_selected_and_one_not_counted_why() -> None:
    others = told_enrollees(
        "ResultPublished",
        **PURCHASE,
        method="random_draw",
        selected_agency="AG-1",
        short_list=[],
        reserves=["AG-2"],
        confirmation_deadline="2026-12-02T09:00:00Z",
    )
    # the selected agency and the reserve have their own notices; a withdrawn enrollment is told nothing
    assert set(others) == {"agency:AG-3", "agency:AG-4"}
    assert {o.title for o in others.values()} == {"未中选：PU-1"}
    assert others["agency:AG-3"].text == "采购 PU-1 的选取结果已公布，中选机构为 AG-1；您未中选。"
    assert "未计入有效报名（agency AG-4 is suspended: 超时）" in others["agency:AG-4"].text


def test_a_short_list_tells_every_other_enrollee_it_was_not_short_listed() -> None:
    others = told_enrollees(
        "ResultPublished",
        **PURCHASE,
        method="credit_best_value",
        selected_agency=None,
        short_list=["AG-1", "AG-2"],
        reserves=[],
        confirmation_deadline="2026-12-02T09:00:00Z",
    )
    assert set(others) == {"agency:AG-3", "agency:AG-4"}
    assert others["agency:AG-3"].title == "未入围：PU-1" and "您未入围" in others["agency:AG-3"].text


def test_a_failed_purchase_tells_every_enrollee_that_it_failed_and_why() -> None:
    others = told_enrollees("PurchaseFailed", **PURCHASE, reason="too few", eligible=1, minimum=2)

    assert set(others) == {"agency:AG-1", "agency:AG-2", "agency:AG-3", "agency:AG-4"}
    assert all(o.title == "采购未成交：PU-1" for o in others.values())
    assert "有效报名 1 家，少于最低 2 家（too few）" in others["agency:AG-1"].text
    assert "重新公告" not in others["agency:AG-1"].text  # the owner's to do, not theirs


def published(**changes: Any) -> dict[str, Any]:
    data = {
        **PURCHASE,
        "project_code": "2026-330106-01",
        "title": "文三路地块环境影响评价",
        "item_code": "ZJ-HP-001",
        "region": "330106",
        "method": "random_draw",
        "enrollment_deadline": "2026-12-02T09:00:00Z",
        "commitment": "ab" * 32,
        "reannounces": None,
    }
    return detail("PurchasePublished", {**data, **changes})


def test_an_announcement_names_its_audience_and_tells_the_owner() -> None:
    plan = n.plan(published(), timezone=TZ)
    assert plan is not None and plan.link == "/purchases/PU-1"
    assert plan.audience == n.Audience(
        "ZJ-HP-001",
        "330106",
        "新的采购公告：文三路地块环境影响评价",
        "事项 ZJ-HP-001，项目代码 2026-330106-01，报名截止 2026-12-02 17:00。",
    )
    assert [x.recipient for x in plan.notices] == [OWNER]
    again = n.plan(published(reannounces="PU-0"), timezone=TZ)
    assert again is not None and again.audience is not None and "重新公告" in again.audience.text


def holder(agency_id: str, *regions: str, status: str = "admitted", suspended: bool = False) -> n.OfferHolder:
    return n.OfferHolder(agency_id, status, regions, suspended)


def test_the_audience_is_the_admitted_unsuspended_agencies_serving_the_region() -> None:
    plan = n.plan(published(), timezone=TZ)
    assert plan is not None and plan.audience is not None
    holders = [
        holder("AG-CITY", "330100"),
        holder("AG-PROVINCE", "330000"),
        holder("AG-DISTRICT", "330106"),
        holder("AG-NEXT-DISTRICT", "330108"),
        holder("AG-NINGBO", "330200", "330203"),
        holder("AG-BRANCH", "330200", "330100"),
        holder("AG-SUSPENDED", "330100", status="suspended"),
        holder("AG-EXPELLED", "330100", status="expelled"),
        holder("AG-ITEM-SUSPENDED", "330100", suspended=True),
        holder("AG-CITY", "330100"),
    ]
    told_ = n.audience_members(plan.audience, holders)
    assert [x.recipient for x in told_] == [
        "agency:AG-BRANCH",
        "agency:AG-CITY",
        "agency:AG-DISTRICT",
        "agency:AG-PROVINCE",
    ]
    assert {x.title for x in told_} == {"新的采购公告：文三路地块环境影响评价"}


AGENCY_EVENTS = (
    "AgencyApplied",
    "AgencyReviewed",
    "AgencyAdmitted",
    "AgencyRejected",
    "AgencyChanged",
    "AgencySuspended",
    "AgencyExpelled",
    "AgencyReinstated",
    "CertificateExpiring",
    "ItemSuspended",
    "ItemRestored",
)
AGENCY_SAMPLES = [EVENTS_DIR / "domain" / f"{name}.json" for name in AGENCY_EVENTS]


@pytest.mark.parametrize("path", AGENCY_SAMPLES, ids=lambda p: p.stem)
def test_the_agency_event_samples_reach_the_agency_they_name(path: Any) -> None:
    sample = json.loads(path.read_text(encoding="utf-8"))
    plan = n.plan(sample["detail"], timezone=TZ)
    if path.stem in ("AgencyApplied", "AgencyReviewed"):
        assert plan is None  # the reviewers' queue shows these; the agency learns the outcome
        return
    assert plan is not None
    assert [x.recipient for x in plan.notices] == [n.agency_inbox(sample["detail"]["data"]["agency_id"])]
    assert plan.link == f"/agencies/{sample['detail']['data']['agency_id']}"


@pytest.mark.parametrize("path", sorted((EVENTS_DIR / "domain").glob("*.json")), ids=lambda p: p.stem)
def test_every_event_sample_is_read_and_each_notified_type_tells_someone(path: Any) -> None:
    plan = n.plan(json.loads(path.read_text(encoding="utf-8"))["detail"], timezone=TZ)
    assert (plan is not None) == (path.stem in n.NOTIFIED_TYPES)
    if plan is not None:
        assert plan.notices or plan.audience or path.stem == "PurchaseSubmitted"


def test_rejection_reasons_given_as_a_list_are_joined() -> None:
    notices = told("AgencyRejected", agency_id="AG-1", submission=2, kind="change", reasons=["甲", "乙"])
    assert notices[AGENCY].title == "变更申请被退回" and "甲；乙" in notices[AGENCY].text


def test_an_event_no_one_is_told_about_makes_no_plan() -> None:
    assert n.plan(detail("OwnerRegistered", {"owner_id": "OW-1"}), timezone=TZ) is None
    assert n.plan({"event_type": None}, timezone=TZ) is None


def test_long_titles_and_texts_are_bounded() -> None:
    plan = n.plan(published(title="评" * 500), timezone=TZ)
    assert plan is not None
    (entry,) = n.entries(plan, plan.notices)
    assert len(entry.title) == n.MAX_TITLE and entry.title.endswith("…")


@pytest.mark.parametrize(
    "broken",
    [
        {"data": {**PURCHASE}},  # the reasons are missing
        {"data": {**PURCHASE, "reasons": "x"}, "event_id": ""},
        {"data": {**PURCHASE, "reasons": "x"}, "occurred_at": "yesterday"},
        {"data": {**PURCHASE, "reasons": "x"}, "occurred_at": "2026-11-30T02:00:00"},
        {"data": "not an object"},
    ],
)
def test_a_malformed_event_is_refused_as_such(broken: dict[str, Any]) -> None:
    event = {**detail("PurchaseReturned", {}), **broken}
    with pytest.raises(n.MalformedEvent):
        n.plan(event, timezone=TZ)


def test_wrong_types_in_the_data_are_refused() -> None:
    with pytest.raises(n.MalformedEvent):
        told("EnrollmentReceived", **PURCHASE, agency_id="AG-1", enrollments="3")
    with pytest.raises(n.MalformedEvent):
        told(
            "ResultPublished",
            **PURCHASE,
            method="x",
            short_list="AG-1",
            confirmation_deadline="2026-12-02T09:00:00Z",
        )


@pytest.mark.parametrize("body", ["", "not json", "[]", '{"detail": "x"}', '{"version": "0"}'])
def test_a_message_body_that_is_not_an_eventbridge_event_is_refused(body: str) -> None:
    with pytest.raises(n.MalformedEvent):
        n.detail_of(body)


def test_the_detail_is_read_from_the_eventbridge_envelope() -> None:
    batch = json.loads((EVENTS_DIR / "functions" / "notify.sqs.json").read_text(encoding="utf-8"))
    details = [n.detail_of(r["body"]) for r in batch["Records"]]
    assert [d["event_type"] for d in details] == ["PurchasePublished", "EnrollmentReceived"]


@pytest.mark.parametrize("event_type", ["EnrollmentReceived", "EnrollmentWithdrawn"])
def test_the_owner_is_told_how_many_enrolled_but_not_who(event_type: str) -> None:
    notices = told(event_type, **PURCHASE, agency_id="AG-SECRET", enrollments=3)
    notice = notices[OWNER]
    assert "AG-SECRET" not in notice.title + notice.text and "3" in notice.text
