"""Pure purchase rules: regions, credit standing, refusals, the methods' results, the due step."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from marketplace.domain.agencies import Agency, AgencyProfile
from marketplace.domain.catalogue import CertificateRequirement
from marketplace.domain.credit import (
    DEFAULT_RULES,
    CreditEvent,
    CreditLevel,
    CreditStanding,
    compute_standing,
)
from marketplace.domain.draw import verify
from marketplace.domain.enrollment import refusals
from marketplace.domain.purchases import (
    Purchase,
    PurchaseRequest,
    PurchaseStatus,
    Result,
    SelectionMethod,
    next_due,
    public_view,
    stamp,
)
from marketplace.domain.regions import covers, serves
from marketplace.domain.selection import SelectionInput, direct_result, long_list, move_up, pick, select
from tests.support.market import purchase_request
from tests.support.samples import agency_profile

NOW = "2026-12-02T00:00:00Z"
RULES = DEFAULT_RULES


def _purchase(**changes: Any) -> Purchase:
    return Purchase(
        **PurchaseRequest.model_validate(purchase_request(**changes)).model_dump(),
        purchase_id="P-1",
        owner_id="OW-1",
        status=PurchaseStatus.enrollment_open,
        created_at=NOW,
        created_by="u",
        updated_at=NOW,
        item_qualification=CertificateRequirement(certificate_type="环评资质", min_grade=2),
    )


def _agency(**changes: Any) -> Agency:
    document = {
        "agency_id": "AG-1",
        "name": "某咨询公司",
        "credit_code": "91330106MA2H7Y4K0X",
        "status": "admitted",
        "record": AgencyProfile.model_validate(agency_profile()),
        "created_at": NOW,
        "updated_at": NOW,
        **changes,
    }
    return Agency.model_validate(document)


def _codes(purchase: Purchase, agency: Agency, standing: CreditStanding | None = None) -> list[str]:
    found = refusals(
        purchase,
        agency,
        standing or CreditStanding(agency_id=agency.agency_id),
        purchase.item_qualification,
        today=date(2026, 12, 2),
        now=NOW,
        rules=RULES,
    )
    return [r.code for r in found]


@pytest.mark.parametrize(
    ("service_region", "place", "expected"),
    [
        ("330000", "330106", True),  # the province covers a district
        ("330100", "330106", True),  # the city too
        ("330106", "330106", True),
        ("330106", "330108", False),
        ("330200", "330106", False),
        ("110000", "330106", False),
    ],
)
def test_a_region_covers_the_divisions_below_it(service_region: str, place: str, expected: bool) -> None:
    assert covers(service_region, place) is expected


def test_serves_any_of_the_regions() -> None:
    assert serves(["110000", "330100"], "330106")
    assert not serves([], "330106")


def _event(points: int, valid_until: str = "2027-01-01T00:00:00Z") -> CreditEvent:
    return CreditEvent(
        credit_event_id=f"c{points}",
        agency_id="AG-1",
        points=points,
        reason="r",
        basis="b",
        source="regulator",
        kind="penalty",
        cause={"type": "decision", "id": "d-1"},
        occurred_at="2026-01-01T00:00:00Z",
        recorded_at="2026-01-01T00:00:00Z",
        valid_until=valid_until,
        rules_version=1,
    )


def _standing(*events: CreditEvent) -> CreditStanding:
    return compute_standing("AG-1", list(events), RULES, NOW)


def test_credit_counts_only_valid_events_and_levels_follow_the_thresholds() -> None:
    standing = _standing(_event(-20), _event(-30, "2026-06-01T00:00:00Z"))
    assert standing.score(RULES, NOW) == 80
    assert standing.level(RULES, NOW) == CreditLevel.B
    assert CreditStanding(agency_id="AG-1").level(RULES, NOW) == CreditLevel.A
    assert _standing(_event(-41)).level(RULES, NOW) == CreditLevel.D
    assert CreditStanding(agency_id="AG-1", blacklisted_until="2027-01-01T00:00:00Z").blacklisted(NOW)
    assert not CreditStanding(agency_id="AG-1", blacklisted_until="2026-01-01T00:00:00Z").blacklisted(NOW)


def test_an_admitted_qualified_agency_may_enroll() -> None:
    assert _codes(_purchase(), _agency()) == []


def test_every_refusal_is_named() -> None:
    assert _codes(_purchase(), _agency(status="expelled")) == ["expelled"]
    assert _codes(_purchase(), _agency(status="suspended")) == ["suspended"]
    assert _codes(_purchase(), _agency(status="applying", record=None)) == [
        "not_admitted",
        "missing_qualification",
    ]
    assert _codes(_purchase(item_code="ZJ-XX-001"), _agency()) == ["not_admitted_for_item"]
    assert _codes(_purchase(), _agency(suspended_items={"ZJ-HP-001": "expired"})) == ["item_suspended"]
    excluded = _purchase(exclusions=[{"agency_id": "AG-1", "reason": "关联"}])
    assert _codes(excluded, _agency()) == ["excluded"]
    extra = _purchase(
        extra_qualification={"kind": "certificate", "certificate_type": "甲", "min_grade": None}
    )
    assert _codes(extra, _agency()) == ["missing_qualification"]
    black = CreditStanding(agency_id="AG-1", blacklisted_until="2027-01-01T00:00:00Z")
    assert _codes(_purchase(), _agency(), black) == ["blacklisted"]
    assert _codes(_purchase(), _agency(), _standing(_event(-50))) == ["credit_level"]


def test_a_certificate_of_a_lower_grade_does_not_qualify() -> None:
    profile = agency_profile()
    profile["certificates"][0]["grade"] = 3
    agency = _agency(record=AgencyProfile.model_validate(profile))
    assert _codes(_purchase(), agency) == ["missing_qualification"]


def test_the_request_needs_the_fields_its_method_needs() -> None:
    with pytest.raises(ValidationError):
        PurchaseRequest.model_validate(purchase_request(method="credit_best_value"))
    with pytest.raises(ValidationError):
        PurchaseRequest.model_validate(
            purchase_request(short_listing={"long_list": 3, "short_list": 4}, method="credit_best_value")
        )
    with pytest.raises(ValidationError):
        PurchaseRequest.model_validate(purchase_request(short_listing={"long_list": 3, "short_list": 2}))
    with pytest.raises(ValidationError):
        PurchaseRequest.model_validate(
            purchase_request(
                method="direct",
                direct={"agency_id": "AG-1", "reason": "x"},
                exclusions=[{"agency_id": "AG-1", "reason": "y"}],
            )
        )


def test_times_are_kept_in_utc_to_the_second() -> None:
    request = PurchaseRequest.model_validate(
        purchase_request(
            enrollment_deadline="2026-12-04T17:00:00.750+08:00", selection_time="2026-12-04T17:00:00+08:00"
        )
    )
    assert stamp(request.enrollment_deadline) == "2026-12-04T09:00:00Z"
    assert stamp(datetime(2026, 1, 2, 3, 4, 5, 999, tzinfo=UTC)) == "2026-01-02T03:04:05Z"


def test_the_long_list_is_best_credit_first_then_agency_id() -> None:
    scores = {"AG-3": 100, "AG-1": 100, "AG-2": 110, "AG-4": 90}
    assert long_list(scores, 3) == ["AG-2", "AG-1", "AG-3"]


def test_a_random_draw_gives_one_winner_and_the_reserves_in_drawn_order() -> None:
    purchase = _purchase()
    proof, result = select(
        SelectionInput(
            purchase=purchase,
            seed=bytes(32),
            eligible=["AG-3", "AG-1", "AG-2", "AG-4"],
            reserves=2,
            drawn_at=NOW,
            confirmation_deadline="2026-12-04T15:59:59Z",
        )
    )
    assert verify(proof.as_dict()) == []
    assert result.selected_agency == proof.winners[0]
    assert result.reserves == proof.reserves and len(result.reserves) == 2
    assert proof.as_dict()["method"] == "random_draw"


def test_credit_best_value_draws_the_short_list_from_the_long_list() -> None:
    purchase = _purchase(method="credit_best_value", short_listing={"long_list": 3, "short_list": 2})
    scores = {"AG-1": 80, "AG-2": 105, "AG-3": 100, "AG-4": 110}
    proof, result = select(
        SelectionInput(
            purchase=purchase,
            seed=bytes(32),
            eligible=list(scores),
            credit_scores=scores,
            reserves=2,
            drawn_at=NOW,
            confirmation_deadline=NOW,
        )
    )
    assert proof.candidates == ["AG-2", "AG-3", "AG-4"]
    assert result.selected_agency is None and result.short_list == proof.winners and len(proof.winners) == 2
    assert verify(proof.as_dict()) == []
    picked = pick(result, proof.winners[1], NOW)
    assert picked.selected_agency == proof.winners[1] and picked.reserves == [proof.winners[0]]
    with pytest.raises(ValueError):
        pick(result, "AG-1", NOW)


def test_abandonment_moves_the_first_reserve_up_with_a_fresh_window() -> None:
    result = Result(
        method=SelectionMethod.random_draw,
        selected_agency="AG-1",
        reserves=["AG-2", "AG-3"],
        selected_at=NOW,
        confirmation_deadline=NOW,
        owner_confirmed_at=NOW,
    )
    moved = move_up(result, "AG-1", "人员变动", NOW, "2026-12-08T15:59:59Z")
    assert moved.selected_agency == "AG-2" and moved.reserves == ["AG-3"]
    assert moved.owner_confirmed_at is None and moved.confirmation_deadline == "2026-12-08T15:59:59Z"
    escalated = result.model_copy(update={"escalated_at": NOW})
    assert move_up(escalated, "AG-1", "x", NOW, NOW).escalated_at is None  # the reserve's window is watched
    assert [a.agency_id for a in moved.abandoned] == ["AG-1"]
    assert move_up(moved.model_copy(update={"reserves": []}), "AG-2", "x", NOW, NOW).selected_agency is None


def test_direct_selection_is_the_named_agency_with_its_reason() -> None:
    purchase = _purchase(method="direct", direct={"agency_id": "AG-9", "reason": "抢险"})
    result = direct_result(purchase, NOW, NOW)
    assert (result.selected_agency, result.direct_reason) == ("AG-9", "抢险")


def test_the_due_step_follows_the_state() -> None:
    purchase = _purchase()
    assert next_due(purchase) == ("close", "2026-12-04T09:00:00Z")
    assert next_due(purchase.model_copy(update={"status": PurchaseStatus.enrollment_closed}))[0] == "select"
    result = Result(
        method=SelectionMethod.random_draw, selected_agency="A", selected_at=NOW, confirmation_deadline=NOW
    )
    selected = purchase.model_copy(update={"status": PurchaseStatus.selected, "result": result})
    assert next_due(selected) == ("confirmation", NOW)
    escalated = result.model_copy(update={"escalated_at": NOW})
    assert next_due(selected.model_copy(update={"result": escalated})) is None
    confirmed = selected.model_copy(update={"status": PurchaseStatus.confirmed, "confirmed_at": NOW})
    assert next_due(confirmed) == ("letter", NOW)
    assert next_due(confirmed.model_copy(update={"letter_id": "L-1"})) is None
    assert next_due(purchase.model_copy(update={"status": PurchaseStatus.failed})) is None


def test_the_public_page_leaves_out_the_internals() -> None:
    page = public_view(_purchase()).model_dump()
    assert "created_by" not in page and "flagged" not in page and "item_qualification" not in page
    assert page["status"] == "enrollment_open"
