"""What people do with credit: a regulator records events only in its industries, the admin imports
an external system's records once, serious dishonesty blacklists and expels the agency from its items
until the period ends, and admission and enrollment refuse it with the reason and until when."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Api
from tests.support.market import ITEM, Market, agency_id, open_market
from tests.support.samples import agency_profile, certificate, sqs_record
from tests.support.schemas import EVENTS_DIR

REGULATOR = ("regulator", "RG-ENV")
ENVIRONMENT = ("environment",)


@pytest.fixture
def market(api: Api) -> Iterator[Market]:
    yield from open_market(api)


def regulator(market: Market, industries: tuple[str, ...] = ENVIRONMENT, org: str = "RG-ENV") -> Any:
    return market.api.as_role("regulator", org, industries=industries)


def penalty(points: int = -10, decision: str = "杭环罚〔2026〕12号", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "penalty",
        "points": points,
        "reason": "出具的环评报告存在重大遗漏",
        "basis": "《建设项目环境影响报告书（表）编制监督管理办法》第二十六条",
        "decision_number": decision,
        "occurred_on": "2026-11-20",
    }
    body.update(changes)
    return body


def dishonesty(decision: str = "杭环罚〔2026〕99号") -> dict[str, Any]:
    return {
        "kind": "serious_dishonesty",
        "reason": "出具虚假环评报告",
        "basis": "《环境影响评价法》第三十二条",
        "decision_number": decision,
        "occurred_on": "2026-11-30",
    }


def ledger(market: Market, agency: str) -> list[dict[str, Any]]:
    """The agency's credit events as stored (the ledger's rows)."""
    from marketplace.repositories.tables import CreditRow

    return [r.document for r in CreditRow.query(agency, CreditRow.sk.startswith("EVENT#"))]


def standing(agency: str) -> Any:
    from marketplace.repositories import credit

    return credit.standings([agency])[agency]


def directory_entry(market: Market, agency: str, query: str = "") -> dict[str, Any]:
    reply = market.api.call("GET", f"/agencies{query}")
    assert reply.status == 200, reply.body
    (entry,) = [e for e in reply.body["items"] if e["agency_id"] == agency]
    return dict(entry)


def deliver(published_events: Any) -> None:
    from app import app

    records = [
        sqs_record(json.dumps(event, ensure_ascii=False), str(uuid.uuid4()))
        for event in published_events.received()
    ]
    for start in range(0, len(records), 10):
        result = app.handler_map["notify"]({"Records": records[start : start + 10]}, None)
        assert result == {"batchItemFailures": []}


def inbox(market: Market, role: str, org: str, **kwargs: Any) -> list[dict[str, Any]]:
    reply = market.api.as_role(role, org, **kwargs).get("/me/notifications?limit=100")
    assert reply.status == 200, reply.body
    return list(reply.body["items"])


# A regulator's events.


def test_a_regulator_records_a_penalty_the_agency_sees_in_its_inbox_linked_to_its_profile(
    market: Market, published_events: Any
) -> None:
    # When the environment regulator records a penalty against an agency offering an environment item
    reply = regulator(market).post(f"/agencies/{agency_id(1)}/credit/events", penalty())
    # Then it is in the ledger as the regulator's, resting on its decision
    assert reply.status == 201, reply.body
    recorded = reply.body
    assert (recorded["source"], recorded["kind"], recorded["points"]) == ("regulator", "penalty", -10)
    assert recorded["cause"] == {"type": "decision", "id": "杭环罚〔2026〕12号", "purchase_id": None}
    assert recorded["occurred_at"] == "2026-11-19T16:00:00Z"  # the local date's start, in UTC
    assert [e["credit_event_id"] for e in ledger(market, agency_id(1))] == [recorded["credit_event_id"]]
    assert standing(agency_id(1)).score(_rules(), "2026-12-01T03:00:00Z") == 90
    # And the agency reads it in its inbox, linked to its public credit profile
    deliver(published_events)
    (entry,) = [e for e in inbox(market, "agency", agency_id(1)) if e["event_type"] == "CreditEventRecorded"]
    assert entry["link"] == f"/agencies/{agency_id(1)}/credit" and entry["title"] == "信用记录：-10 分"


def _rules() -> Any:
    from marketplace.domain.credit import DEFAULT_RULES

    return DEFAULT_RULES


def test_the_same_decision_again_records_nothing_and_answers_with_the_event(market: Market) -> None:
    path = f"/agencies/{agency_id(1)}/credit/events"
    first = regulator(market).post(path, penalty())
    again = regulator(market).post(path, penalty())
    assert (first.status, again.status) == (201, 200)
    assert again.body["credit_event_id"] == first.body["credit_event_id"]
    assert len(ledger(market, agency_id(1))) == 1


def test_one_decision_recorded_by_two_admins_is_one_event(market: Market) -> None:
    path = f"/agencies/{agency_id(1)}/credit/events"
    first = market.api.as_role("admin", subject="admin-user-1").post(path, penalty())
    again = market.api.as_role("admin", subject="admin-user-2").post(path, penalty())
    assert (first.status, again.status) == (201, 200), again.body
    assert len(ledger(market, agency_id(1))) == 1


def test_an_idempotency_key_returns_the_first_reply(market: Market) -> None:
    path, key = f"/agencies/{agency_id(1)}/credit/events", {"idempotency-key": "reg-1"}
    first = market.admin.post(path, penalty(), headers=key)
    again = market.admin.post(path, penalty(), headers=key)
    assert first.status == again.status == 201 and again.body == first.body
    other = market.admin.post(path, penalty(decision="另一决定"), headers=key)
    assert other.status == 422 and other.body["errors"][0]["field"] == "Idempotency-Key"
    assert len(ledger(market, agency_id(1))) == 1


def test_only_a_regulator_of_the_agencys_industries_or_the_admin_records_events(market: Market) -> None:
    path = f"/agencies/{agency_id(1)}/credit/events"
    outside = regulator(market, ("construction",), "RG-BUILD").post(path, penalty())
    assert outside.status == 403 and "industries" in outside.body["detail"]
    for role, org in (("agency", agency_id(1)), ("agency", agency_id(2)), ("owner", "OW-001")):
        assert market.api.as_role(role, org).post(path, penalty()).status == 403
    assert market.api.call("POST", path, penalty()).status == 401
    assert ledger(market, agency_id(1)) == []
    unknown = regulator(market).post("/agencies/AG-NOBODY/credit/events", penalty())
    assert unknown.status == 404
    # the admin records for any agency
    assert market.admin.post(path, penalty()).status == 201


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"points": 10}, "points"),  # a penalty takes points away
        ({"kind": "reward", "points": -5}, "points"),  # a reward adds
        ({"points": -51}, "points"),  # beyond the rules' max_event_points (50)
        ({"points": None}, "points"),  # a penalty states its points
        ({"occurred_on": "2026-12-02"}, "occurred_on"),  # tomorrow
        ({"valid_until": "2026-11-01"}, "valid_until"),  # before it occurred
        ({"kind": "completion"}, "kind"),  # the platform's kind, not a regulator's
        ({"decision_number": ""}, "decision_number"),
        ({"basis": ""}, "basis"),
        ({"extra": "x"}, "extra"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_nothing_is_written(
    market: Market, change: dict[str, Any], field: str
) -> None:
    reply = regulator(market).post(f"/agencies/{agency_id(1)}/credit/events", penalty(**change))
    assert reply.status == 422, reply.body
    assert field in [e["field"] for e in reply.body["errors"]]
    assert ledger(market, agency_id(1)) == []


# Imports.


def _holds(agency: str, credit_code: str) -> None:
    """The credit-code guard row admission writes (the market's agencies are written directly)."""
    from marketplace.repositories.tables import AgencyRow

    AgencyRow(agency_id=f"credit-code#{credit_code}", sk="PROFILE", holder=agency).save()


def _code(n: int) -> str:
    return str(agency_profile(first16=f"91330106MA2H7Y{n % 100:02d}")["legal_entity"]["credit_code"])


def batch(*records: dict[str, Any], source: str = "creditchina") -> dict[str, Any]:
    return {"source": source, "records": list(records)}


def imported(source_id: str, credit_code: str, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "source_id": source_id,
        "credit_code": credit_code,
        "kind": "reward",
        "points": 5,
        "reason": "守合同重信用企业",
        "basis": "浙江省守合同重信用企业公示",
        "occurred": "2026-10-01",
        "url": f"https://www.creditchina.gov.cn/record/{source_id}",
    }
    record.update(changes)
    return record


@pytest.fixture
def coded(market: Market) -> Market:
    for n in (1, 2, 3):
        _holds(agency_id(n), _code(n - 1))  # market.admit numbers credit codes from 0
    return market


def test_an_import_records_each_record_once_and_reports_unknown_agencies(coded: Market) -> None:
    market = coded
    stranger = _code(77)
    sent = batch(
        imported("CC-1", _code(0)),
        imported("CC-2", _code(1), kind="penalty", points=-8),
        imported("CC-3", stranger),
    )
    first = market.admin.post("/credit/imports", sent)
    assert first.status == 200, first.body
    assert (first.body["recorded"], first.body["already_recorded"], first.body["unknown_agency"]) == (2, 0, 1)
    outcomes = {r["source_id"]: (r["outcome"], r["agency_id"]) for r in first.body["records"]}
    assert outcomes == {
        "CC-1": ("recorded", agency_id(1)),
        "CC-2": ("recorded", agency_id(2)),
        "CC-3": ("unknown_agency", None),
    }
    (event,) = ledger(market, agency_id(1))
    assert (event["source"], event["points"], event["cause"]["type"]) == ("imported", 5, "import")
    assert "https://www.creditchina.gov.cn/record/CC-1" in event["basis"]

    # When the same batch is sent again, Then nothing new is recorded and the report says so
    again = market.admin.post("/credit/imports", sent)
    assert (again.body["recorded"], again.body["already_recorded"], again.body["unknown_agency"]) == (0, 2, 1)
    assert len(ledger(market, agency_id(1))) == len(ledger(market, agency_id(2))) == 1
    # and another source's record with the same source id is another record
    other = market.admin.post("/credit/imports", batch(imported("CC-1", _code(0)), source="provincial"))
    assert other.body["recorded"] == 1 and len(ledger(market, agency_id(1))) == 2


def test_the_same_import_sent_twice_at_once_is_counted_once(coded: Market) -> None:
    market = coded
    sent = batch(*(imported(f"CC-{n}", _code(n % 3)) for n in range(6)))
    with ThreadPoolExecutor(max_workers=2) as pool:
        replies = list(pool.map(lambda _: market.admin.post("/credit/imports", sent), range(2)))
    assert [r.status for r in replies] == [200, 200], [r.body for r in replies]
    assert sum(r.body["recorded"] for r in replies) == 6
    assert sum(r.body["already_recorded"] for r in replies) == 6
    assert sum(len(ledger(market, agency_id(n))) for n in (1, 2, 3)) == 6


def test_an_invalid_record_refuses_the_whole_batch_naming_each_field(coded: Market) -> None:
    market = coded
    sent = batch(
        imported("CC-1", _code(0)),
        imported("CC-2", _code(1), kind="penalty", points=9),
        imported("CC-3", _code(2), occurred="2027-01-01"),
    )
    refused = market.admin.post("/credit/imports", sent)
    assert refused.status == 422, refused.body
    assert {e["field"] for e in refused.body["errors"]} == {"records.1.points", "records.2.occurred"}
    assert all(ledger(market, agency_id(n)) == [] for n in (1, 2, 3))
    # a malformed record is refused by its shape, naming it as well
    shaped = market.admin.post("/credit/imports", batch(imported("CC-1", "123"), imported("CC-1", _code(0))))
    assert shaped.status == 422
    fields = {e["field"] for e in shaped.body["errors"]}
    assert "records.0.credit_code" in fields
    assert market.admin.post("/credit/imports", batch()).status == 422  # no records
    assert all(ledger(market, agency_id(n)) == [] for n in (1, 2, 3))


def test_only_the_admin_imports(coded: Market) -> None:
    sent = batch(imported("CC-1", _code(0)))
    assert regulator(coded).post("/credit/imports", sent).status == 403
    assert coded.agency(agency_id(1)).post("/credit/imports", sent).status == 403
    assert ledger(coded, agency_id(1)) == []


# The directory.


def test_the_directory_shows_each_agencys_credit_level(market: Market) -> None:
    path = f"/agencies/{agency_id(2)}/credit/events"
    assert regulator(market).post(path, penalty(points=-30)).status == 201
    levels = {e["agency_id"]: e["credit_level"] for e in market.api.call("GET", "/agencies").body["items"]}
    assert levels == {agency_id(1): "A", agency_id(2): "C", agency_id(3): "A"}
    by_item = directory_entry(market, agency_id(2), f"?item_code={ITEM}")
    assert by_item["credit_level"] == "C" and by_item["blacklisted_until"] is None


# Level D and the blacklist: refused with the reason, lifted by itself.


def _change(body: dict[str, Any] | None = None) -> dict[str, Any]:
    profile = agency_profile(first16="91330106MA2H7Y00")
    profile["legal_entity"]["name"] = f"测试环境咨询有限公司{agency_id(1)}"
    profile["offerings"][0]["item_code"] = ITEM
    return {**profile, "note": "变更联系人", **(body or {})}


def test_an_agency_at_level_d_may_neither_enroll_nor_change_its_record(market: Market) -> None:
    path = f"/agencies/{agency_id(1)}/credit/events"
    for n in (1, 2):
        assert regulator(market).post(path, penalty(points=-25, decision=f"D-{n}")).status == 201
    purchase_id = market.publish()
    refused = market.enroll(purchase_id, agency_id(1))
    assert refused.status == 403 and [r["code"] for r in refused.body["reasons"]] == ["credit_level"]
    change = market.agency(agency_id(1)).put(f"/agencies/{agency_id(1)}", _change())
    assert change.status == 403 and change.body["reason"] == "credit_level"
    assert change.body["reasons"][0]["code"] == "credit_level"
    assert directory_entry(market, agency_id(1))["credit_level"] == "D"


def test_serious_dishonesty_blacklists_expels_every_item_and_lifts_by_itself(
    market: Market, published_events: Any
) -> None:
    from app import app

    # When the regulator records serious dishonesty against agency 1
    found = regulator(market).post(f"/agencies/{agency_id(1)}/credit/events", dishonesty())
    assert found.status == 201, found.body
    assert found.body["points"] == -40  # the rules' points
    until = standing(agency_id(1)).blacklisted_until
    assert until is not None and until > "2027-11-29"

    # Then it is refused at enrollment, with the reason and until when
    purchase_id = market.publish()
    refused = market.enroll(purchase_id, agency_id(1))
    assert refused.status == 403
    reasons = {r["code"]: r for r in refused.body["reasons"]}
    assert reasons["blacklisted"]["until"] == until and until in reasons["blacklisted"]["message"]
    # and every item it offers is expelled, in its profile and the directory, with the reason and until
    profile = market.api.call("GET", f"/agencies/{agency_id(1)}").body
    assert profile["suspended_items"][ITEM].startswith("黑名单 blacklisted until " + until)
    entry = directory_entry(market, agency_id(1), f"?item_code={ITEM}")
    assert entry["item_suspended"] is True and entry["blacklisted_until"] == until
    # and it may not change its record either
    change = market.agency(agency_id(1)).put(f"/agencies/{agency_id(1)}", _change())
    assert change.status == 403 and change.body["reason"] == "blacklisted" and change.body["until"] == until
    # while the others enroll as before
    assert market.enroll(purchase_id, agency_id(2)).status == 201
    # and the agency, the admin and the regulator are told
    deliver(published_events)
    for role, org, kwargs in (
        ("agency", agency_id(1), {}),
        ("admin", "", {}),
        ("regulator", "RG-ENV", {"industries": ENVIRONMENT}),
    ):
        told = [e for e in inbox(market, role, org, **kwargs) if e["event_type"] == "AgencyBlacklisted"]
        assert len(told) == 1 and told[0]["link"] == f"/agencies/{agency_id(1)}/credit", (role, told)

    # When the task runs before the period ends, Then nothing lifts
    schedule = json.loads((EVENTS_DIR / "functions" / "lift_blacklists.schedule.json").read_text())

    def lift(*_: Any) -> dict[str, Any]:
        return dict(app.handler_map["lift_blacklists"](schedule, None))

    assert lift()["lifted"] == []

    # When the period has ended and the task runs
    after = datetime.fromisoformat(until.replace("Z", "+00:00")) + timedelta(hours=1)
    market.clock.set(after)
    assert lift()["lifted"] == [agency_id(1)]
    assert lift()["lifted"] == []  # once
    # Then its items are restored and it enrolls again
    profile = market.api.call("GET", f"/agencies/{agency_id(1)}").body
    assert profile["suspended_items"] == {}
    entry = directory_entry(market, agency_id(1), f"?item_code={ITEM}")
    assert entry["item_suspended"] is False and entry["blacklisted_until"] is None
    later = market.publish(**_window(after))
    assert market.enroll(later, agency_id(1)).status == 201
    deliver(published_events)
    lifted = [e for e in inbox(market, "agency", agency_id(1)) if e["event_type"] == "AgencyReadmitted"]
    assert len(lifted) == 1


def _window(now: datetime) -> dict[str, str]:
    deadline = (now + timedelta(days=10)).astimezone(UTC).strftime("%Y-%m-%dT09:00:00Z")
    return {"enrollment_deadline": deadline, "selection_time": deadline}


def test_an_imported_serious_dishonesty_blacklists_too(coded: Market) -> None:
    market = coded
    record = imported("CC-9", _code(1), kind="serious_dishonesty", points=None, occurred="2026-11-30")
    assert market.admin.post("/credit/imports", batch(record)).body["recorded"] == 1
    until = standing(agency_id(2)).blacklisted_until
    assert until is not None
    refused = market.enroll(market.publish(), agency_id(2))
    assert refused.status == 403 and "blacklisted" in [r["code"] for r in refused.body["reasons"]]
    renewed = {"certificates": [certificate(expires_on="2031-12-31")]}
    extension = market.agency(agency_id(2)).post(f"/agencies/{agency_id(2)}/extensions", renewed)
    assert extension.status == 403 and extension.body["reason"] == "blacklisted"
    assert extension.body["until"] == until


def test_a_blacklisted_applicant_may_neither_be_approved_nor_resubmit(market: Market) -> None:
    """A regulator's remit covers an agency applying for items of its industries: its finding
    blacklists the applicant, whose application can then only be rejected, and it may not resubmit."""
    applicant = market.api.as_role("agency", "AG-NEW")
    profile = agency_profile(first16="91330106MA2H7Y50")
    assert applicant.post("/agencies", profile).status == 201
    found = regulator(market).post("/agencies/AG-NEW/credit/events", dishonesty())
    assert found.status == 201, found.body
    approve = {"submission": 1, "decision": "approve"}
    refused = market.admin.post("/agencies/AG-NEW/reviews", approve)
    assert refused.status == 403 and refused.body["reason"] == "blacklisted"
    reject = {"submission": 1, "decision": "reject", "reasons": "严重失信，列入黑名单"}
    assert market.admin.post("/agencies/AG-NEW/reviews", reject).status == 200
    assert market.api.call("GET", "/agencies/AG-NEW").body["status"] == "returned"
    again = applicant.post("/agencies", profile)
    assert again.status == 403 and again.body["reason"] == "blacklisted"
    assert again.body["until"] == standing("AG-NEW").blacklisted_until


def test_an_expelled_agency_reinstated_during_its_blacklist_stays_expelled_from_its_items(
    market: Market,
) -> None:
    supervision = {"reason": "违规转包", "basis": "管理办法第十五条"}
    assert market.admin.post(f"/agencies/{agency_id(1)}/expulsion", supervision).status == 200
    assert regulator(market).post(f"/agencies/{agency_id(1)}/credit/events", dishonesty()).status == 201
    reinstated = market.admin.post(f"/agencies/{agency_id(1)}/reinstatement", supervision)
    assert reinstated.status == 200 and reinstated.body["status"] == "admitted"
    assert reinstated.body["suspended_items"][ITEM].startswith("黑名单 blacklisted until")
    entry = directory_entry(market, agency_id(1), f"?item_code={ITEM}")
    assert entry["status"] == "admitted" and entry["item_suspended"] is True
    refused = market.enroll(market.publish(), agency_id(1))
    assert {r["code"] for r in refused.body["reasons"]} == {"item_suspended", "blacklisted"}
