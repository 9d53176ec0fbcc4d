"""Consortium mode's pure parts (domain/consortium.py, the letter's v2, the notices): the terms a
body must keep, how members meet the item's qualification together, and that letters without a
consortium are unchanged, byte for byte."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from marketplace.domain import notifications as n
from marketplace.domain.catalogue import Certificate, CertificateRequirement, RequirementGroup
from marketplace.domain.consortium import (
    Consortium,
    ConsortiumMember,
    ConsortiumTerms,
    Membership,
    MembershipStatus,
    unmet_jointly,
)
from marketplace.domain.consortium_requests import ConsortiumRequest, EnrollmentRequest, request_problems
from marketplace.domain.letters import FORMAT_CONSORTIUM, ConfirmationLetter, check, render_html
from tests.support.letters import LetterKey, letter, letter_data

MEMBERS = [{"agency_id": "AG-2", "part": "现场监测"}, {"agency_id": "AG-3", "part": "30%"}]


def _request(*members: dict[str, str]) -> ConsortiumRequest:
    return ConsortiumRequest.model_validate({"members": list(members), "lead_part": "报告编制"})


def test_a_body_is_checked_against_the_announced_terms_naming_the_field() -> None:
    request = _request(*MEMBERS)
    assert request_problems(request, ConsortiumTerms(max_members=2), "AG-1") == []
    assert [f for f, _ in request_problems(request, None, "AG-1")] == ["consortium"]
    assert [f for f, _ in request_problems(request, ConsortiumTerms(allowed=False), "AG-1")] == ["consortium"]
    assert [f for f, _ in request_problems(request, ConsortiumTerms(max_members=1), "AG-1")] == [
        "consortium.members"
    ]
    assert [f for f, _ in request_problems(request, ConsortiumTerms(), "AG-3")] == [
        "consortium.members[1].agency_id"
    ]


def test_a_member_listed_twice_or_no_member_or_a_blank_part_is_invalid() -> None:
    with pytest.raises(ValidationError, match="listed twice"):
        _request(MEMBERS[0], MEMBERS[0])
    with pytest.raises(ValidationError):
        _request()
    with pytest.raises(ValidationError):
        _request({"agency_id": "AG-2", "part": ""})
    with pytest.raises(ValidationError):
        ConsortiumTerms(max_members=6)
    assert EnrollmentRequest.model_validate({}).consortium is None


REQUIRED = RequirementGroup(
    kind="all_of",
    requirements=[
        CertificateRequirement(certificate_type="环评资质", min_grade=2),
        CertificateRequirement(certificate_type="监测资质"),
    ],
)
LICENCE, MONITORING = (
    Certificate(certificate_type="环评资质", grade=1),
    Certificate(certificate_type="监测资质"),
)


def test_joint_the_parties_certificates_together_meet_the_requirement() -> None:
    assert unmet_jointly("joint", REQUIRED, {"AG-1": [LICENCE], "AG-2": [MONITORING]}) is None
    assert unmet_jointly("joint", REQUIRED, {"AG-1": [LICENCE], "AG-2": []}) is not None
    assert unmet_jointly("joint", None, {"AG-1": []}) is None


def test_every_member_each_party_meets_it_alone_and_the_lacking_are_named() -> None:
    why = unmet_jointly("every_member", REQUIRED, {"AG-1": [LICENCE, MONITORING], "AG-2": [MONITORING]})
    assert why is not None and "AG-2" in why and "AG-1" not in why
    both = [LICENCE, MONITORING]
    assert unmet_jointly("every_member", REQUIRED, {"AG-1": both, "AG-2": both}) is None


def test_members_show_the_answer_their_row_holds_for_this_lead() -> None:
    formed = Consortium(
        lead_id="AG-1",
        members=[ConsortiumMember(agency_id="AG-2", part="a"), ConsortiumMember(agency_id="AG-3", part="b")],
    )
    row = {
        "purchase_id": "P-1",
        "part": "x",
        "invited_at": "2026-12-01T02:00:00Z",
    }
    rows = {
        "AG-2": Membership(agency_id="AG-2", lead_id="AG-1", status=MembershipStatus.accepted, **row),
        "AG-3": Membership(agency_id="AG-3", lead_id="AG-9", status=MembershipStatus.invited, **row),
    }
    statuses = [m.status for m in formed.with_statuses(rows).members]
    assert statuses == [MembershipStatus.accepted, MembershipStatus.released]  # AG-3 is another lead's now


# --- the letter --------------------------------------------------------------------------------

CONSORTIUM = {
    "lead_part": "报告编制",
    "members": [
        {
            "agency_id": "AG-HZ-002",
            "name": "浙江监测有限公司",
            "credit_code": "91330106MA2KD7XL01",
            "part": "现场监测",
        }
    ],
}


def test_a_letter_without_a_consortium_dumps_no_consortium_key_and_stays_v1() -> None:
    plain = letter()
    assert "consortium" not in plain.model_dump(mode="json")
    assert b"consortium" not in plain.canonical_bytes()
    assert "联合体" not in render_html(LetterKey.generate().issue(plain))


def test_a_consortium_letter_is_v2_names_each_member_and_verifies() -> None:
    key = LetterKey.generate()
    joint = letter(consortium=CONSORTIUM, format=FORMAT_CONSORTIUM)
    assert joint.model_dump(mode="json")["consortium"]["members"][0]["part"] == "现场监测"
    assert check(key.envelope(joint), key.public()) == []
    page = render_html(key.issue(joint))
    assert "联合体成员" in page and "浙江监测有限公司" in page and "现场监测" in page and "牵头方" in page


def test_the_format_and_the_consortium_go_together() -> None:
    with pytest.raises(ValidationError, match="consortium"):
        ConfirmationLetter.model_validate(letter_data(consortium=CONSORTIUM))  # v1 with members
    with pytest.raises(ValidationError, match="consortium"):
        ConfirmationLetter.model_validate(letter_data(format=FORMAT_CONSORTIUM))  # v2 without


# --- notices -----------------------------------------------------------------------------------


def _plan(event_type: str, data: dict[str, object]) -> n.Plan:
    detail = {
        "event_id": "e-1",
        "event_type": event_type,
        "occurred_at": "2026-12-01T02:00:00.000000Z",
        "subject": "P-1",
        "actor": "u",
        "data": data,
    }
    plan = n.plan(detail, timezone="Asia/Shanghai")
    assert plan is not None
    return plan


def test_members_are_invited_and_told_when_selected_the_lead_hears_each_answer() -> None:
    formed = _plan(
        "ConsortiumFormed",
        {
            "purchase_id": "P-1",
            "lead_id": "AG-1",
            "lead_name": "甲公司",
            "lead_part": "",
            "members": [{"agency_id": "AG-2", "part": "现场监测"}],
            "enrollment_deadline": "2026-12-04T09:00:00Z",
        },
    )
    (invite,) = formed.notices
    assert (
        invite.recipient == "agency:AG-2" and "现场监测" in invite.text and "2026-12-04 17:00" in invite.text
    )
    answer = {
        "purchase_id": "P-1",
        "lead_id": "AG-1",
        "agency_id": "AG-2",
        "part": "现场监测",
        "note": "人手不足",
    }
    (declined,) = _plan("MembershipDeclined", answer).notices
    assert declined.recipient == "agency:AG-1" and "人手不足" in declined.text
    selected = _plan(
        "ConsortiumSelected",
        {
            "purchase_id": "P-1",
            "owner_id": "OW-1",
            "lead_id": "AG-1",
            "lead_name": "甲公司",
            "lead_part": "",
            "members": [{"agency_id": "AG-2", "agency_name": "乙公司", "part": "现场监测"}],
        },
    )
    assert {x.recipient for x in selected.notices} == {"agency:AG-2", "owner:OW-1"}
    released = _plan(
        "ConsortiumReleased", {"purchase_id": "P-1", "lead_id": "AG-1", "members": ["AG-2", "AG-3"]}
    )
    assert [x.recipient for x in released.notices] == ["agency:AG-2", "agency:AG-3"]
