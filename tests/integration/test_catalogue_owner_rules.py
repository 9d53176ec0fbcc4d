"""Catalogue and owner-registry rules a review found unenforced: both check characters of a
credit code, effective dates read as the region's dates, no back-dated revision."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from marketplace.domain.credit_code import check_character
from tests.conftest import Api
from tests.support.market import clock_at
from tests.support.samples import catalogue_item, owner_profile

PROBLEM = "application/problem+json"


def _definition(**changes: Any) -> dict[str, Any]:
    body = catalogue_item(**changes)
    body.pop("code")
    return body


def test_a_credit_code_whose_organisation_code_check_character_is_wrong_is_refused(api: Api) -> None:
    """GB 32100 codes carry two check characters: character 17 checks the organisation code
    (GB 11714) and character 18 checks the first 17. `problem_with` only checks the 18th, so a code
    with a wrong organisation-code check character is registered."""
    real = "91350100M000100Y43"  # a real code: organisation code M000100Y, its check character 4
    forged = real[:16] + "5"  # wrong organisation check character...
    forged += check_character(forged)  # ...under a recomputed 18th
    refused = api.as_role("owner", "OW-1").post("/owners", owner_profile(credit_code=forged))
    assert refused.status == 422 and refused.content_type.startswith(PROBLEM)
    assert refused.body["errors"][0]["field"] == "credit_code"
    assert api.as_role("admin").get("/owners/OW-1").status == 404


def test_the_version_in_force_is_decided_by_the_regions_date_not_the_utc_date(api: Api) -> None:
    """Effective dates are local (Asia/Shanghai) dates, as purchases and admission treat them
    (`local_today`); the item detail uses `utcnow().date()`, so for the first eight hours of a
    Beijing day the detail reports the previous version as in force."""
    # 2026-03-01 01:00 in Hangzhou is still 2026-02-28 in UTC.
    with clock_at(datetime(2026, 2, 28, 17, 0, tzinfo=UTC)):
        admin = api.as_role("admin")
        assert admin.post("/catalogue/items", catalogue_item()).status == 201
        revised = admin.put(
            "/catalogue/items/ZJ-HP-001",
            {**_definition(effective_from="2026-03-01"), "change_note": "新标准", "expected_version": 1},
        )
        assert revised.status == 200
        detail = api.call("GET", "/catalogue/items/ZJ-HP-001")
    assert detail.status == 200
    assert detail.body["in_force"]["version"] == 2


def test_a_revision_cannot_take_effect_before_the_version_it_replaces(api: Api) -> None:
    """A retirement dated before the version it ends is refused, but a revision is not: a
    back-dated version 2 silently replaces version 1 on every date, rewriting which version was in
    force in the past (purchases and letters record the version they used)."""
    admin = api.as_role("admin")
    assert admin.post("/catalogue/items", catalogue_item(effective_from="2026-01-01")).status == 201
    refused = admin.put(
        "/catalogue/items/ZJ-HP-001",
        {
            **_definition(effective_from="2025-06-01", name="改名"),
            "change_note": "倒签",
            "expected_version": 1,
        },
    )
    assert refused.status == 422 and refused.content_type.startswith(PROBLEM)
    assert {e["field"] for e in refused.body["errors"]} == {"effective_from"}
    detail = api.call("GET", "/catalogue/items/ZJ-HP-001").body
    assert [v["version"] for v in detail["history"]] == [1]
    assert detail["in_force"]["version"] == 1
