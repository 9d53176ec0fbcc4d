"""Agency admission as clients use it, over real HTTP with real tokens: eligibility, application,
the joint review by the admin and the industry regulators, the public directory and detail (no
personal data), expulsion and reinstatement, a returned application resubmitted, bad input.

The stack is shared by the whole session: every agency, credit code and catalogue item here is
unique to this run, and no assertion assumes a table is empty."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import pytest
import requests

from marketplace.domain.credit_code import ALPHABET
from tests.support.samples import agency_profile, catalogue_item, certificate

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"
RUN = uuid.uuid4().hex[:8].upper()
ENV_ITEM = f"E2E-AG-{RUN}-HP"  # industry environment: 环评资质 grade 2 or better (or an engineer)
SAFETY_ITEM = f"E2E-AG-{RUN}-AP"  # industry work_safety: 安全评价资质 grade 2 or better
ID_NUMBER = "330106198001011234"  # the sample practitioner's
PHONES = ("13900000001", "13900000002", "13900000003")  # the sample contact, practitioner, branch
APPROVE = {"submission": 1, "decision": "approve"}


def _headers(token: str | None = None, **extra: str) -> dict[str, str]:
    headers = {"Content-Type": "application/json", **extra}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def _post(api: str, path: str, body: Any, token: str, **extra: str) -> requests.Response:
    return requests.post(f"{api}{path}", json=body, headers=_headers(token, **extra), timeout=10)


def _get(api: str, path: str, token: str | None = None) -> requests.Response:
    return requests.get(f"{api}{path}", headers=_headers(token), timeout=10)


def _agency_id(label: str) -> str:
    return f"E2E-AG-{RUN}-{label}"


def _credit_code_start() -> str:
    """The first 16 characters of a credit code no other run or test uses (samples.complete adds
    the check characters)."""
    return "91330106" + "".join(secrets.choice(ALPHABET) for _ in range(8))


def _profile(*, safety_grade: int | None = None) -> dict[str, Any]:
    """The sample agency offering the environment item, and with `safety_grade` the safety item
    too, with a safety certificate of that grade."""
    profile = agency_profile(_credit_code_start())
    profile["offerings"][0]["item_code"] = ENV_ITEM
    if safety_grade is not None:
        profile["certificates"].append(
            certificate(
                "AP-2026-007", certificate_type="安全评价资质", grade=safety_grade, issuer="浙江省应急管理厅"
            )
        )
        profile["offerings"].append(
            {
                "item_code": SAFETY_ITEM,
                "service_content": "安全预评价报告编制",
                "time_limit_working_days": 15,
                "fee": {"amount_yuan": "30000.00"},
            }
        )
    return profile


def _listed(api: str, query: str, agency_id: str) -> dict[str, Any] | None:
    """The directory entry of `agency_id` among every page of `GET /agencies?{query}`."""
    cursor: str | None = None
    for _ in range(50):
        params: dict[str, Any] = {"limit": 100}
        if cursor:
            params["cursor"] = cursor
        reply = requests.get(f"{api}/agencies?{query}", params=params, timeout=10)
        assert reply.status_code == 200, reply.text
        page = reply.json()
        found = next((a for a in page["items"] if a["agency_id"] == agency_id), None)
        if found is not None or not page["cursor"]:
            return found
        cursor = page["cursor"]
    raise AssertionError(f"GET /agencies?{query} did not end after 50 pages")


def _queued(api: str, token: str, agency_id: str) -> list[dict[str, Any]]:
    reply = _get(api, "/reviews/queue?limit=200", token)
    assert reply.status_code == 200, reply.text
    return [i for i in reply.json()["items"] if i["agency_id"] == agency_id]


@pytest.fixture(scope="module")
def stack(local_stack):
    """The local stack with this run's two catalogue items, created by the admin."""
    admin = local_stack.token("admin", "ADMIN-1")
    environment = catalogue_item(ENV_ITEM)
    safety = catalogue_item(
        SAFETY_ITEM,
        name="安全预评价",
        service_type="evaluation",
        department="市应急管理局",
        industry="work_safety",
        qualification={"kind": "certificate", "certificate_type": "安全评价资质", "min_grade": 2},
    )
    for item in (environment, safety):
        created = _post(local_stack.api, "/catalogue/items", item, admin)
        assert created.status_code == 201, created.text
    return local_stack


def _reviewers(stack: Any) -> tuple[str, str, str]:
    return (
        stack.token("admin", "ADMIN-1"),
        stack.token("regulator", "RG-E2E-ENV", industries=("environment",)),
        stack.token("regulator", "RG-E2E-SAFE", industries=("work_safety",)),
    )


def _admit(stack: Any, agency_id: str) -> None:
    """Apply with both items and have the three reviewers approve."""
    applied = _post(stack.api, "/agencies", _profile(safety_grade=1), stack.token("agency", agency_id))
    assert applied.status_code == 201, applied.text
    for reviewer in _reviewers(stack):
        assert _post(stack.api, f"/agencies/{agency_id}/reviews", APPROVE, reviewer).status_code == 200
    assert _get(stack.api, f"/agencies/{agency_id}").json()["status"] == "admitted"


def test_an_agency_is_admitted_by_joint_review_and_listed_without_personal_data(stack) -> None:
    api, agency_id = stack.api, _agency_id("ADMIT")
    agency = stack.token("agency", agency_id)

    too_low = _profile(safety_grade=3)
    preview = _post(api, "/agencies/eligibility", too_low, agency)
    assert preview.status_code == 200, preview.text
    assert preview.json()["eligible"] is False
    items = {i["item_code"]: i for i in preview.json()["items"]}
    assert items[ENV_ITEM]["eligible"] is True and items[ENV_ITEM]["problems"] == []
    safety = items[SAFETY_ITEM]
    assert safety["eligible"] is False and safety["checks"][0]["met_by"] == []
    assert any("grade 2" in p for p in safety["problems"]), safety["problems"]

    profile = {
        **too_low,
        "certificates": [too_low["certificates"][0], {**too_low["certificates"][1], "grade": 2}],
    }
    assert _post(api, "/agencies/eligibility", profile, agency).json()["eligible"] is True
    key = f"apply-{agency_id}"
    applied = _post(api, "/agencies", profile, agency, **{"Idempotency-Key": key})
    assert applied.status_code == 201, applied.text
    assert applied.json()["number"] == 1 and applied.json()["status"] == "under_review"
    assert applied.json()["required_slots"] == ["admin", "industry:environment", "industry:work_safety"]
    replay = _post(api, "/agencies", profile, agency, **{"Idempotency-Key": key})
    assert replay.status_code == 201 and replay.json() == applied.json()
    assert _get(api, f"/agencies/{agency_id}").json()["status"] == "applying"

    admin, environment, work_safety = _reviewers(stack)
    for token, slot in (
        (admin, "admin"),
        (environment, "industry:environment"),
        (work_safety, "industry:work_safety"),
    ):
        assert [(i["slot"], i["submission"]) for i in _queued(api, token, agency_id)] == [(slot, 1)]
    outsider = stack.token("regulator", "RG-E2E-WATER", industries=("water",))
    assert _queued(api, outsider, agency_id) == []
    refused = _post(api, f"/agencies/{agency_id}/reviews", APPROVE, outsider)
    assert refused.status_code == 403 and refused.headers["content-type"].startswith(PROBLEM)

    for token in (admin, environment):
        reviewed = _post(api, f"/agencies/{agency_id}/reviews", APPROVE, token)
        assert reviewed.status_code == 200 and reviewed.json()["status"] == "under_review", reviewed.text
    assert _get(api, f"/agencies/{agency_id}").json()["status"] == "applying"
    assert _queued(api, environment, agency_id) == []
    last = _post(api, f"/agencies/{agency_id}/reviews", {**APPROVE, "reasons": "资质符合"}, work_safety)
    assert last.status_code == 200 and last.json()["status"] == "approved", last.text
    assert all(_queued(api, token, agency_id) == [] for token in (admin, work_safety))

    public = _get(api, f"/agencies/{agency_id}")
    assert public.status_code == 200
    detail = public.json()
    assert detail["status"] == "admitted" and detail["record_version"] == 1
    assert [o["item_code"] for o in detail["record"]["offerings"]] == [ENV_ITEM, SAFETY_ITEM]
    by_item = _listed(api, f"item_code={SAFETY_ITEM}", agency_id)
    assert by_item is not None and by_item["status"] == "admitted"
    assert by_item["offering"]["fee"]["amount_yuan"] == "30000.00"
    assert _listed(api, "region=330200&status=admitted", agency_id) is not None  # a branch's region
    assert _listed(api, "region=310000", agency_id) is None

    for text in (public.text, _get(api, f"/agencies?item_code={ENV_ITEM}").text):
        assert ID_NUMBER not in text
        assert not [phone for phone in PHONES if phone in text], text
    assert detail["record"]["contacts"][0]["phone"] == "139****0001"
    assert "id_number" not in detail["record"]["practitioners"][0]
    own = _get(api, f"/agencies/{agency_id}", agency).json()
    assert own["record"]["practitioners"][0]["id_number"] == ID_NUMBER


def test_the_admin_expels_and_only_the_admin_reinstates(stack) -> None:
    api, agency_id = stack.api, _agency_id("EXPEL")
    _admit(stack, agency_id)
    admin, environment, _ = _reviewers(stack)
    reason, basis = "出具虚假评价报告", "《中介服务超市管理办法》第三十条"

    expelled = _post(api, f"/agencies/{agency_id}/expulsion", {"reason": reason, "basis": basis}, admin)
    assert expelled.status_code == 200 and expelled.json()["status"] == "expelled", expelled.text
    public = _get(api, f"/agencies/{agency_id}").json()
    assert public["status"] == "expelled"
    last = public["history"][-1]
    assert (last["status"], last["reason"], last["basis"], last["by_role"]) == (
        "expelled",
        reason,
        basis,
        "admin",
    )
    listed = _listed(api, "status=expelled", agency_id)
    assert listed is not None and listed["status"] == "expelled"
    assert _listed(api, "status=admitted", agency_id) is None
    offering = _listed(api, f"item_code={ENV_ITEM}", agency_id)
    assert offering is not None and offering["status"] == "expelled"

    undo = {"reason": "复核后撤销清退决定", "basis": "行政复议决定书〔2026〕1号"}
    by_regulator = _post(api, f"/agencies/{agency_id}/reinstatement", undo, environment)
    assert by_regulator.status_code == 403 and by_regulator.headers["content-type"].startswith(PROBLEM)
    assert _get(api, f"/agencies/{agency_id}").json()["status"] == "expelled"
    reinstated = _post(api, f"/agencies/{agency_id}/reinstatement", undo, admin)
    assert reinstated.status_code == 200 and reinstated.json()["status"] == "admitted", reinstated.text
    public = _get(api, f"/agencies/{agency_id}").json()
    assert public["status"] == "admitted"
    assert [h["status"] for h in public["history"]] == ["applying", "admitted", "expelled", "admitted"]
    assert public["history"][-1]["reason"] == undo["reason"]
    assert _listed(api, f"item_code={ENV_ITEM}&status=admitted", agency_id) is not None


def test_a_rejected_application_is_returned_with_reasons_and_resubmitted(stack) -> None:
    api, agency_id = stack.api, _agency_id("RETURN")
    agency = stack.token("agency", agency_id)
    profile = _profile()
    applied = _post(api, "/agencies", profile, agency)
    assert applied.status_code == 201 and applied.json()["required_slots"] == [
        "admin",
        "industry:environment",
    ]
    admin, environment, _ = _reviewers(stack)

    no_reasons = _post(
        api, f"/agencies/{agency_id}/reviews", {"submission": 1, "decision": "reject"}, environment
    )
    assert no_reasons.status_code == 422
    reasons = "报告样本不合格，请补充近三年业绩"
    rejected = _post(
        api,
        f"/agencies/{agency_id}/reviews",
        {"submission": 1, "decision": "reject", "reasons": reasons},
        environment,
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "returned", rejected.text
    public = _get(api, f"/agencies/{agency_id}").json()
    assert public["status"] == "returned" and public["history"][-1]["reason"] == reasons
    assert _post(api, f"/agencies/{agency_id}/reviews", APPROVE, admin).status_code == 409
    assert _queued(api, admin, agency_id) == []

    again = _post(api, "/agencies", profile, agency, **{"Idempotency-Key": f"resubmit-{agency_id}"})
    assert again.status_code == 201 and again.json()["number"] == 2, again.text
    assert _get(api, f"/agencies/{agency_id}").json()["status"] == "applying"
    assert [i["submission"] for i in _queued(api, admin, agency_id)] == [2]
    history = _get(api, f"/agencies/{agency_id}/submissions", agency).json()
    assert [(s["number"], s["status"]) for s in history] == [(1, "returned"), (2, "under_review")]
    assert history[0]["decisions"][0]["reasons"] == reasons


def test_an_invalid_credit_code_is_refused_and_nothing_is_created(stack) -> None:
    api, agency_id = stack.api, _agency_id("BADCODE")
    profile = _profile()
    profile["legal_entity"]["credit_code"] = "91350100M000100Y44"
    refused = _post(api, "/agencies", profile, stack.token("agency", agency_id))
    assert refused.status_code == 422 and refused.headers["content-type"].startswith(PROBLEM)
    problem = refused.json()
    assert [e["field"] for e in problem["errors"]] == ["legal_entity.credit_code"], problem
    assert problem["status"] == 422 and problem["correlation_id"]
    assert _get(api, f"/agencies/{agency_id}").status_code == 404
    assert _listed(api, f"item_code={ENV_ITEM}", agency_id) is None
