"""What a caller must not learn: a public phone number but for one digit, an owner's hidden credit
code through the public search, or that an unpublished purchase exists and its state."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.conftest import Api
from tests.support.market import Market, agency_id, open_market, purchase_request
from tests.support.samples import agency_profile, catalogue_item, owner_profile


@pytest.fixture
def market(api: Api) -> Iterator[Market]:
    yield from open_market(api, agencies=3)


def _admit_with_profile(api: Api, agency: str, profile: dict) -> None:
    """A real application, approved by the admin and the item's regulator."""
    assert api.as_role("agency", agency).post("/agencies", profile).status == 201
    admin = api.as_role("admin")
    regulator = api.as_role("regulator", "RG-ENV", industries=("environment",))
    assert admin.post(f"/agencies/{agency}/reviews", {"submission": 1, "decision": "approve"}).status == 200
    done = regulator.post(f"/agencies/{agency}/reviews", {"submission": 1, "decision": "approve"})
    assert done.status == 200 and done.body["status"] == "approved", done.body


def test_a_contacts_eight_digit_phone_is_not_shown_publicly_but_for_one_digit(api: Api) -> None:
    """Public views 'mask contact phones': a mobile keeps 4 of its 11 digits hidden. A local
    landline of 8 digits (the pattern accepts 7-20 characters) is shown as `870****0000`: 7 of its 8
    digits are public, the number is one of ten guesses."""
    assert api.as_role("admin").post("/catalogue/items", catalogue_item()).status == 201
    profile = agency_profile()
    profile["contacts"][0]["phone"] = "87000000"
    _admit_with_profile(api, "AG-LANDLINE", profile)

    public = api.call("GET", "/agencies/AG-LANDLINE")
    assert public.status == 200
    shown = public.body["record"]["contacts"][0]["phone"]
    assert shown != "87000000"
    visible_digits = len(re.findall(r"\d", shown))
    # At least as much hidden as for a mobile number: four digits.
    assert visible_digits <= 8 - 4, f"public phone {shown!r} reveals {visible_digits} of 8 digits"


def test_the_public_cannot_find_an_owner_by_the_credit_code_it_is_not_shown(api: Api) -> None:
    """Anyone sees an owner's name and type only; the credit code is for the owner and the admin.
    The public list's keyword still matches the hidden code (a substring match, from one
    character): anyone can confirm, and by extending the keyword recover, an owner's code."""
    person = owner_profile("1133010000249612", name="张三", owner_type="person", funding_types=["private"])
    assert api.as_role("owner", "OW-PERSON").post("/owners", person).status == 201
    code = person["credit_code"]
    public_view = api.call("GET", "/owners/OW-PERSON").body
    assert "credit_code" not in public_view and code not in str(public_view)

    probe = code[-8:]  # not part of the name: only the hidden code can match it
    found = api.call("GET", f"/owners?keyword={probe}")
    assert found.status == 200
    assert found.body["items"] == [], (
        f"a public keyword search on part of the hidden credit code ({probe}) finds the owner"
    )


def test_an_unrelated_agency_learns_nothing_of_a_purchase_that_is_not_published(market: Market) -> None:
    """A purchase waiting for the admin's review is not public: GET answers 404 to anyone but its
    owner and the admin. Acceptance by any agency answers 409 naming its state instead."""
    purchase_id = market.draft()
    submitted = market.owner.post(f"/purchases/{purchase_id}/submit")
    assert submitted.status == 200 and submitted.body["status"] == "pending_review"
    stranger = market.agency(agency_id(1))
    assert stranger.get(f"/purchases/{purchase_id}").status == 404

    accepted = stranger.post(f"/purchases/{purchase_id}/acceptance")
    assert accepted.status == 404, accepted.body
    assert "pending_review" not in accepted.body.get("detail", "")
    abandoned = stranger.post(f"/purchases/{purchase_id}/abandonment", {"reason": "探测"})
    assert abandoned.status == 404, abandoned.body
    assert market.purchase(purchase_id)["status"] == "pending_review"


def test_another_owner_finds_no_draft_but_is_refused_a_published_purchase(market: Market) -> None:
    """Another owner learns nothing of a draft (404, as its GET answers), whatever it tries; a
    published purchase is public, so there the refusal may say whose it is (403)."""
    draft = market.draft()
    other = market.api.as_role("owner", "OW-OTHER")
    attempts = [
        other.put(f"/purchases/{draft}", purchase_request()),
        other.post(f"/purchases/{draft}/submit"),
        other.post(f"/purchases/{draft}/confirmation"),
        other.post(f"/purchases/{draft}/pick", {"agency_id": agency_id(1)}),
        other.get(f"/purchases/{draft}/enrollments"),
    ]
    for reply in attempts:
        assert reply.status == 404, reply.body
        assert "another owner" not in reply.body["detail"]
    assert market.purchase(draft)["status"] == "draft"

    published = market.publish()
    refused = other.post(f"/purchases/{published}/confirmation")
    assert refused.status == 403, refused.body
