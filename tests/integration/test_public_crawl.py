"""Every public route, crawled after a rich set of flows, shows no personal data: no resident ID
number, phone, e-mail, home address, or name of a person other than a legal representative
(DOMAIN.md: "Personal data of practitioners (ID numbers, phones) is never disclosed"; issue 12 §5)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.support.crawl import (
    PARAM_IDS,
    Crawl,
    Planted,
    find_personal,
    is_resident_id,
    resident_id_check,
)
from tests.support.market import purchase_request
from tests.support.samples import agency_profile, owner_profile
from tests.support.scenario import AGENCY_ITEM, every_operation

# A practitioner's ID number with a valid check character (the samples' own has none).
VALID_ID = "11010519491231002" + resident_id_check("11010519491231002")
HOME_AGENCY, PERSON_OWNER = "AG-HOME", "OW-PERSON"


def _home_business() -> dict[str, Any]:
    """A natural person's business (个体工商户): its registered address is the keeper's home."""
    profile = agency_profile(first16="92330106MA2H7Y7Q")
    profile["legal_entity"].update(
        name="西湖区林记环境咨询服务部",
        entity_type="individual_business",
        address="杭州市西湖区翠苑一区8幢302室",
    )
    profile["offerings"][0]["item_code"] = AGENCY_ITEM
    profile["contacts"] = [
        {"name": "林晓燕", "phone": "0571-88112233", "email": "linxy@example.cn", "role": "经营者助理"}
    ]
    profile["practitioners"][0].update(name="陈建国", id_number=VALID_ID, phone="+86 138 1234 5678")
    profile["branches"][0]["contacts"] = [{"name": "黄丽", "phone": "13700001111"}]
    return profile


def _person_owner() -> dict[str, Any]:
    return owner_profile(
        "1133010000249635",
        name="吴志强",
        owner_type="person",
        funding_types=["private"],
        contacts=[{"name": "吴志强", "phone": "13611112222", "email": "wuzq@example.cn", "role": "本人"}],
        address="杭州市拱墅区湖墅南路66号2单元501室",
    )


def _extra_flows(api: Api) -> list[Any]:
    """A natural person's business admitted through review, a person owner publishing a purchase
    with a witness, which that business and the scenario's agencies enroll in."""
    admin = api.as_role("admin")
    regulator = api.as_role("regulator", "RG-ENV", industries=("environment",))
    replies = [api.as_role("agency", HOME_AGENCY).post("/agencies", _home_business())]
    for by in (admin, regulator):
        replies.append(by.post(f"/agencies/{HOME_AGENCY}/reviews", {"submission": 1, "decision": "approve"}))
    owner = api.as_role("owner", PERSON_OWNER)
    replies.append(owner.post("/owners", _person_owner()))
    request = purchase_request(
        item_code=AGENCY_ITEM,
        funding_type="private",
        enrollment_deadline="2027-01-08T09:00:00Z",
        selection_time="2027-01-08T09:00:00Z",
        witnesses=[{"name": "郑海涛", "unit": "拱墅区公共资源交易中心"}],
    )
    drafted = owner.post("/purchases", request)
    replies.append(drafted)
    if drafted.status == 201:
        purchase = drafted.body["purchase_id"]
        replies.append(owner.post(f"/purchases/{purchase}/submit"))
        for agency in (HOME_AGENCY, "AG-P1"):
            replies.append(api.as_role("agency", agency).post(f"/purchases/{purchase}/enrollments"))
    return replies


def _planted() -> Planted:
    """Everything personal the scenario and the flows above put in."""
    from tests.support.scenario import _agency_profile

    planted = Planted()
    planted.add_agency(_agency_profile())
    planted.add_agency(_home_business(), home_address=True)
    planted.add_owner(owner_profile())
    planted.add_owner(_person_owner())
    planted.names.update(w["name"] for w in purchase_request()["witnesses"])
    planted.names.update({"郑海涛", "张三"})  # the witness above; the scenario's agency user
    planted.emails.add("zhangsan@example.cn")
    legal_representatives = {agency_profile()["legal_entity"]["legal_representative"]}
    assert not planted.names & legal_representatives  # their names are public
    return planted


@pytest.fixture
def crawled(api: Api) -> Crawl:
    from marketplace.web.http import ROUTES

    seen: list[Any] = []
    for _, step in every_operation(api):
        seen.append(step())
    seen += _extra_flows(api)
    stranger = api.token("agency", "AG-STRANGER")
    crawl = Crawl(api, _planted(), [r for r in ROUTES if r.public], callers=[None, stranger])
    for result in seen:
        crawl.harvest(result)
    crawl.run()
    return crawl


def test_no_public_route_shows_personal_data(crawled: Crawl) -> None:
    """Given the scenario of every operation plus a natural person's business and a person owner,
    when every public route is called with every id the flows created, then no reply (body or
    headers) carries personal data, and every public route answered at least once."""
    assert not crawled.problems, "\n".join(crawled.problems)
    leaks = sorted({str(f) for f in crawled.findings})
    assert not leaks, f"{len(leaks)} personal data shown publicly:\n" + "\n".join(leaks[:200])
    # Not vacuous: the crawl reached the purchases the flows made, in every state they reached.
    assert len(crawled.pools["purchase_id"]) >= 8
    assert {"evaluated", "cancelled", "failed"} <= {
        p["status"] for page in crawled.ok["list_purchases"] for p in page["items"]
    } | {b["status"] for b in crawled.ok["get_purchase"]}


# -- the detector itself -------------------------------------------------------------------------


def test_the_detector_finds_each_kind_of_planted_personal_data() -> None:
    """So the crawl cannot pass for want of looking: every kind is found in a body shaped like the
    public ones, and none in the same body once masked."""
    planted = _planted()
    leaky = {
        "practitioners": [{"name": "陈建国", "id_number": VALID_ID, "phone": "138-1234-5678"}],
        "contacts": [{"name": "钱芳", "phone": "13900000001", "email": "qianf@example.cn"}],
        "owner": {"address": "杭州市拱墅区湖墅南路66号2单元501室", "phone": "0571-87000000"},
        "witnesses": [{"name": "周敏", "unit": "西湖区公共资源交易中心"}],
        "note": "请联系 someone@example.org 或 13512345678，座机 010-12345678",
    }
    import json

    text = json.dumps(leaky, ensure_ascii=False)
    kinds = {f.kind for f in find_personal(text, planted)}
    assert kinds >= {
        "resident ID number",
        "planted ID number",
        "mobile number",
        "landline number",
        "e-mail address",
        "planted e-mail address",
        "home address",
        "person's name",
        "planted phone",
    }, kinds
    masked = {
        "practitioners": [{"name": "陈*", "certificates": [{"number": "***0001"}]}],
        "contacts": [{"name": "钱*", "phone": "139****0001", "role": "业务经理"}],
        "legal_representative": "赵明",
        "credit_code": "91330106MA2H7Y4K5W",
        "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "amount_yuan": "139000.00",
        "at": "2026-12-01T02:00:00Z",
    }
    assert find_personal(json.dumps(masked, ensure_ascii=False), planted) == []


def test_resident_id_numbers_are_recognised_by_their_check_character() -> None:
    assert is_resident_id(VALID_ID)
    assert not is_resident_id(VALID_ID[:17] + ("0" if VALID_ID[17] != "0" else "1"))
    assert not is_resident_id("113301000024961100")  # 18 digits, no birth date in it


def test_a_public_route_with_no_known_ids_fails_the_crawl_naming_what_to_add(api: Api) -> None:
    """A new public route whose parameter the table does not know is reported, not skipped."""
    from marketplace.web.http import RouteSpec

    spec = RouteSpec(name="get_thing", path="/things/{thing_id}", method="GET", summary="", tag="x", roles=())
    crawl = Crawl(api, Planted(), [spec])
    crawl.run()
    assert len(crawl.problems) == 1 and "thing_id" in crawl.problems[0] and "PARAM_IDS" in crawl.problems[0]
    assert "thing_id" not in PARAM_IDS
