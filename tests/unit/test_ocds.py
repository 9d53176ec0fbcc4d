"""The OCDS mapping (marketplace.domain.ocds, docs/ocds.md): one purchase's public state at each
stage as a release, each validated against the OCDS 1.1.5 schemas (tests/support/ocds_validation)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from marketplace.domain import ocds
from marketplace.domain.model import revised
from marketplace.domain.purchases import Cancellation, PurchasePublic, PurchaseStatus
from tests.support import ocds_samples as samples
from tests.support.ocds_validation import (
    personal_data_in,
    validate_record_package,
    validate_release,
    validate_release_package,
)

PREFIX = "ocds-213czf"
DATE = "2026-12-23T00:00:00Z"


def _release(view: PurchasePublic, event_type: str = "ResultPublished", **orgs: Any) -> dict[str, Any]:
    release = ocds.build_release(
        view,
        orgs.get("organisations", samples.organisations()),
        ocds.Trigger("3f1c6a8e-5d3b-4e0a-9a51-0c3e2b7d6002", event_type),
        prefix=PREFIX,
        date=DATE,
    )
    validate_release(release)
    validate_release_package(
        ocds.release_package([release], uri="https://x/ocds/releases", published_date=DATE, publisher="p")
    )
    return release


def _party(release: dict[str, Any], org_id: str) -> dict[str, Any]:
    code = samples.organisations()[org_id].credit_code
    return next(p for p in release["parties"] if p["id"] == f"CN-USCI-{code}")


def test_the_ocid_is_the_prefix_and_the_purchase_id_and_the_release_id_derives_from_the_event() -> None:
    release = _release(samples.published(), "PurchasePublished")
    assert release["ocid"] == f"{PREFIX}-{samples.PURCHASE_ID}"
    assert release["id"] == "PurchasePublished-3f1c6a8e-5d3b-4e0a-9a51-0c3e2b7d6002"
    assert release["date"] == DATE and release["initiationType"] == "tender"
    assert ocds.purchase_of(PREFIX, release["ocid"]) == samples.PURCHASE_ID


@pytest.mark.parametrize(
    "value", ["ocds-213czf-", "ocds-other1-P-20261201-3F9A1C2B7D", "P-20261201-3F9A1C2B7D", "ocds-213czf-P-1"]
)
def test_an_ocid_of_another_shape_is_malformed(value: str) -> None:
    with pytest.raises(ocds.MalformedOcid):
        ocds.purchase_of(PREFIX, value)


def test_a_published_purchase_is_a_tender_with_its_method_window_ceiling_and_item() -> None:
    release = _release(samples.published(), "PurchasePublished")
    tender = release["tender"]
    assert release["tag"] == ["tender"]
    assert tender["status"] == "active"
    assert tender["procurementMethod"] == "open"
    assert tender["procurementMethodDetails"].startswith("随机选取")
    assert tender["tenderPeriod"] == {"startDate": samples.PUBLISHED, "endDate": "2026-12-04T09:00:00Z"}
    assert tender["value"] == {"amount": 180000.0, "currency": "CNY"}
    assert tender["items"][0]["classification"] == {
        "scheme": ocds.ITEM_SCHEME,
        "id": "ZJ-HP-001",
        "description": "环境影响评价",
    }
    assert tender["numberOfTenderers"] == 0
    assert "awards" not in release and "contracts" not in release and "bids" not in release


def test_the_owner_is_buyer_and_procuring_entity_identified_by_its_credit_code() -> None:
    release = _release(samples.published(), "PurchasePublished")
    owner = _party(release, samples.OWNER)
    assert owner["roles"] == ["buyer", "procuringEntity"]
    assert owner["identifier"] == {
        "scheme": "CN-USCI",
        "id": "11330106002496123X",
        "legalName": "杭州市西湖区交通运输局",
    }
    assert release["buyer"] == {"id": owner["id"], "name": owner["name"]}


def test_a_buyer_who_is_a_person_is_named_by_its_role_alone() -> None:
    orgs = samples.organisations()
    orgs[samples.OWNER] = ocds.Organisation(samples.OWNER, ocds.PERSON_BUYER, None)
    release = _release(samples.published(), "PurchasePublished", organisations=orgs)
    assert release["buyer"] == {"id": samples.OWNER, "name": ocds.PERSON_BUYER}
    assert "identifier" not in release["parties"][0]


def test_the_selection_is_a_pending_award_to_the_selected_agency_with_the_draw_proof() -> None:
    release = _release(samples.selected(), "ResultPublished")
    (award,) = release["awards"]
    assert release["tag"] == ["award"]
    assert award["status"] == "pending" and award["date"] == samples.SELECTED
    assert award["suppliers"] == [
        {"id": _party(release, samples.agency(2))["id"], "name": "测试环境咨询有限公司002"}
    ]
    assert award["value"] == {"amount": 180000.0, "currency": "CNY"}
    assert award["documents"][0]["id"] == "draw-proof"
    assert release["tender"]["numberOfTenderers"] == 20 and release["tender"]["status"] == "complete"
    # Tenderers, not yet supplier: the award is not confirmed.
    assert _party(release, samples.agency(2))["roles"] == ["tenderer"]


def test_once_both_parties_confirmed_the_award_is_active_and_the_agency_a_supplier() -> None:
    release = _release(samples.confirmed(), "PurchaseConfirmed")
    assert release["tag"] == ["awardUpdate"]
    assert release["awards"][0]["status"] == "active"
    assert _party(release, samples.agency(2))["roles"] == ["tenderer", "supplier"]


def test_an_abandoned_selection_is_a_cancelled_award_beside_the_reserve_that_moved_up() -> None:
    from marketplace.domain.purchases import Abandonment

    view = samples.selected()
    assert view.result is not None
    result = revised(
        view.result,
        selected_agency=samples.agency(3),
        reserves=[samples.agency(1)],
        abandoned=[
            Abandonment(agency_id=samples.agency(2), reason="项目负责人离职", at="2026-12-05T00:00:00Z")
        ],
    )
    release = _release(revised(view, result=result), "ReserveMovedUp")
    statuses = {a["suppliers"][0]["name"][-3:]: a["status"] for a in release["awards"]}
    assert statuses == {"002": "cancelled", "003": "pending"}
    assert "项目负责人离职" not in str(release)  # free-text reasons may name a person: left out


def test_the_contract_carries_its_signature_date_amount_and_hash() -> None:
    release = _release(samples.contracted(), "ContractSigned")
    (contract,) = release["contracts"]
    assert release["tag"] == ["contractUpdate"]
    assert contract["status"] == "active"
    assert contract["dateSigned"] == "2026-12-07T00:00:00+08:00"
    assert contract["value"] == {"amount": 150000.0, "currency": "CNY"}
    assert contract["awardID"] == release["awards"][0]["id"]
    assert samples.SHA in contract["documents"][0]["description"]
    assert contract["documents"][0]["documentType"] == "contractSigned"
    assert release["awards"][0]["value"]["amount"] == 150000.0  # the contract's amount, once signed


def test_superseded_awards_keep_their_own_amount_and_date_the_contract_is_the_current_ones() -> None:
    """Agency 2 selected, then abandoned; agency 3 moved up and was annulled by a challenge;
    agency 1 moved up and signed the contract: only its award carries the contract's amount."""
    from marketplace.domain.purchases import Abandonment, Annulment

    view = samples.contracted()
    assert view.result is not None
    abandoned_at, annulled_at = "2026-12-05T03:00:00Z", "2026-12-06T00:30:00Z"
    result = revised(
        view.result,
        selected_agency=samples.agency(1),
        reserves=[],
        abandoned=[Abandonment(agency_id=samples.agency(2), reason="离职", at=abandoned_at)],
        annulled=[
            Annulment(
                agency_id=samples.agency(3),
                challenge_id="C-1",
                reason="质疑成立",
                at=annulled_at,
                replaced_by=samples.agency(1),
                replaced_from="reserves",
            )
        ],
    )
    release = _release(revised(view, result=result), "ContractSigned")
    awards = {a["suppliers"][0]["name"][-3:]: a for a in release["awards"]}
    assert {k: a["status"] for k, a in awards.items()} == {
        "002": "cancelled",
        "003": "cancelled",
        "001": "active",
    }
    announced = {"amount": 180000.0, "currency": "CNY"}
    assert awards["002"]["value"] == announced and awards["003"]["value"] == announced
    assert awards["001"]["value"] == {"amount": 150000.0, "currency": "CNY"}  # the contract's
    assert awards["002"]["date"] == samples.SELECTED
    assert awards["003"]["date"] == abandoned_at  # moved up when agency 2 abandoned
    assert awards["001"]["date"] == annulled_at  # moved up when agency 3 was annulled


def test_implementation_carries_delivery_completion_and_evaluation() -> None:
    release = _release(samples.completed(), "EvaluationRecorded")
    (contract,) = release["contracts"]
    milestones = {m["id"]: m for m in contract["implementation"]["milestones"]}
    assert release["tag"] == ["implementationUpdate"]
    assert contract["status"] == "terminated"
    assert milestones["delivery"]["dateMet"] == "2026-12-20T02:00:00Z"
    assert milestones["completion"]["status"] == "met"
    assert "4.6" in milestones["evaluation"]["description"]
    assert contract["implementation"]["documents"][0]["documentType"] == "completionCertificate"


def test_published_quotes_are_bids_with_tenderers_value_and_status() -> None:
    release = _release(samples.bid_on(), "QuotesPublished")
    details = release["bids"]["details"]
    assert [(b["id"], b["status"], b["value"]["amount"]) for b in details] == [
        ("1-AG-001", "valid", 151000.0),
        ("1-AG-002", "valid", 152000.0),
        ("1-AG-003", "disqualified", 153000.0),
    ]
    assert release["tender"]["awardCriteria"] == "priceOnly"
    assert release["awards"][0]["value"]["amount"] == 152000.0  # the selected agency's quote


def test_failure_and_cancellation_update_the_tender() -> None:
    failed = _release(revised(samples.published(), status=PurchaseStatus.failed), "PurchaseFailed")
    assert failed["tag"] == ["tenderUpdate"] and failed["tender"]["status"] == "unsuccessful"
    cancelled_view = revised(
        samples.selected(),
        status=PurchaseStatus.cancelled,
        cancellation=Cancellation(reason="质疑成立", at=DATE),
    )
    cancelled = _release(cancelled_view, "PurchaseCancelled")
    assert cancelled["tag"] == ["tenderCancellation"] and cancelled["tender"]["status"] == "cancelled"
    assert cancelled["awards"][0]["status"] == "cancelled"


def test_a_reannouncement_links_both_processes() -> None:
    old = _release(
        revised(samples.published(), reannounced_as="P-20261205-8C1D2E3F4A"), "PurchaseReannounced"
    )
    assert old["relatedProcesses"] == [
        {
            "id": "replacementProcess-P-20261205-8C1D2E3F4A",
            "relationship": ["replacementProcess"],
            "scheme": "ocid",
            "identifier": f"{PREFIX}-P-20261205-8C1D2E3F4A",
        }
    ]


def test_direct_methods_have_no_tender_period() -> None:
    view = samples.published(
        method="direct", direct={"agency_id": samples.agency(2), "reason": "唯一具备资质"}
    )
    release = _release(view, "PurchasePublished")
    assert release["tender"]["procurementMethod"] == "direct"
    assert "tenderPeriod" not in release["tender"]


def test_witnesses_and_other_personal_data_never_appear() -> None:
    view = samples.completed()
    assert view.witnesses  # the sample purchase names a witness: 周敏
    release = _release(view, "EvaluationRecorded")
    assert personal_data_in(release, {"周敏"}) == []


def test_every_event_that_changes_public_state_has_a_tag_of_the_codelist() -> None:
    codelist = {
        *("planning", "planningUpdate", "tender", "tenderAmendment", "tenderUpdate", "tenderCancellation"),
        *("award", "awardUpdate", "awardCancellation", "contract", "contractUpdate", "contractAmendment"),
        *("implementation", "implementationUpdate", "contractTermination"),
    }
    from marketplace.events import EVENT_TYPES

    assert set(ocds.RELEASE_EVENT_TYPES) <= set(EVENT_TYPES)
    assert all(set(tags) <= codelist for tags in ocds.RELEASE_TAGS.values())


def test_the_validator_refuses_a_release_that_breaks_the_schema() -> None:
    release = _release(samples.contracted(), "ContractSigned")
    broken = copy.deepcopy(release)
    broken["contracts"][0]["status"] = "signed"  # not of the closed contractStatus codelist
    with pytest.raises(AssertionError, match="contracts/0/status"):
        validate_release(broken)
    bad_bid = copy.deepcopy(_release(samples.bid_on(), "QuotesPublished"))
    bad_bid["bids"]["details"][0]["status"] = "opened"
    with pytest.raises(AssertionError, match="bids/details/0/status"):
        validate_release(bad_bid)


def test_a_record_package_of_the_releases_and_their_compiled_release_validates() -> None:
    from marketplace.services.ocds_records import compile_releases

    stages = [
        (samples.published(), "PurchasePublished", "2026-12-01T02:00:01Z"),
        (samples.selected(), "ResultPublished", "2026-12-04T09:00:06Z"),
        (samples.contracted(), "ContractSigned", "2026-12-07T02:00:00Z"),
        (samples.completed(), "EvaluationRecorded", "2026-12-23T00:00:00Z"),
    ]
    releases = [
        ocds.build_release(
            view, samples.organisations(), ocds.Trigger(f"e-{n}", kind), prefix=PREFIX, date=at
        )
        for n, (view, kind, at) in enumerate(stages)
    ]
    compiled = compile_releases(releases)
    package = ocds.record_package(
        releases, compiled, uri="https://x/ocds/records/r", published_date=DATE, publisher="p"
    )
    validate_record_package(package)
    assert compiled["tag"] == ["compiled"]
    assert compiled["contracts"][0]["status"] == "terminated"
    assert compiled["tender"]["numberOfTenderers"] == 20


def test_no_function_imports_ocdsmerge_until_a_record_is_compiled() -> None:
    """ocdsmerge ships in the open-data layer, attached only to OPEN_DATA_FUNCTIONS: loading every
    area of the app (as packaging does) must not import it, nor requests."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    # The child finds the app on its own path, whatever another test left in this one's environment.
    root = Path(__file__).resolve().parents[2]
    path = os.pathsep.join(str(root / p) for p in ("layers/common/python", "functions", "."))
    code = "import sys, app; print([m for m in ('ocdsmerge', 'requests', 'jsonref') if m in sys.modules])"
    env = {**os.environ, "PYTHONPATH": path}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout
