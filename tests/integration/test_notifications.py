"""Inboxes on moto: the `notify` consumer with SQS batches (from the real rule and queue, and the
sample), redelivery, the fan-out of announcements, and the routes that read and mark an inbox."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest

from marketplace.repositories.base import encode_cursor
from tests.conftest import Api, Caller
from tests.support.samples import agency_profile, catalogue_item, sqs_record
from tests.support.schemas import EVENTS_DIR

ITEM = "ZJ-HP-001"


def notify(batch: dict[str, Any]) -> dict[str, Any]:
    from app import app

    return app.handler_map["notify"](batch, None)


def detail(
    event_type: str, data: dict[str, Any], *, at: str = "2026-11-30T02:00:00.000000Z"
) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "occurred_at": at,
        "subject": data.get("purchase_id") or data.get("agency_id", ""),
        "actor": "user-1",
        "data": data,
    }


def record(event: dict[str, Any], body: str | None = None) -> dict[str, Any]:
    """One SQS record as Lambda receives it from a queue an EventBridge rule feeds."""
    envelope = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": event["event_type"],
        "source": "marketplace",
        "account": "123456789012",
        "time": "2026-11-30T02:00:00Z",
        "region": "cn-north-1",
        "resources": [],
        "detail": event,
    }
    text = json.dumps(envelope, ensure_ascii=False) if body is None else body
    return sqs_record(text, str(uuid.uuid4()))


def batch(*events: dict[str, Any]) -> dict[str, Any]:
    return {"Records": [record(e) for e in events]}


def returned(
    owner_id: str = "OW-1", *, at: str = "2026-11-30T02:00:00.000000Z", n: int = 0
) -> dict[str, Any]:
    return detail("PurchaseReturned", {"purchase_id": f"PU-{n}", "owner_id": owner_id, "reasons": "x"}, at=at)


def inbox(caller: Caller, query: str = "") -> list[dict[str, Any]]:
    reply = caller.get(f"/me/notifications{query}")
    assert reply.status == 200, reply.body
    return list(reply.body["items"])


def admit(api: Api, agency_id: str, first16: str, regions: list[str]) -> None:
    """An agency admitted for ITEM through the API, serving `regions` (no branches)."""
    profile = agency_profile(first16, regions=regions, branches=[])
    assert api.as_role("agency", agency_id).post("/agencies", profile).status == 201
    for reviewer in (api.as_role("admin"), api.as_role("regulator", "RG-ENV", industries=("environment",))):
        reply = reviewer.post(f"/agencies/{agency_id}/reviews", {"submission": 1, "decision": "approve"})
        assert reply.status == 200, reply.body


@pytest.fixture
def catalogue(api: Api) -> Api:
    assert api.as_role("admin").post("/catalogue/items", catalogue_item(ITEM)).status == 201
    return api


def test_an_admission_reaches_the_agencys_inbox_through_the_rule_and_the_queue(catalogue: Api) -> None:
    # Given the notifications rule and queue as the template defines them, polled as Lambda would
    from app import app
    from infra import definitions
    from infra.local import resources
    from infra.local.poller import Consumer, Poller
    from marketplace.settings import get_settings

    settings = get_settings()
    sqs, events = (
        boto3.client("sqs", region_name=settings.region),
        boto3.client("events", region_name=settings.region),
    )
    queues = resources.create_queues(sqs, definitions.QUEUES)
    resources.create_rules(
        events, definitions.EVENT_RULES, queues, bus=settings.event_bus_name, source=settings.event_source
    )
    queue = queues["notifications"]
    poller = Poller(sqs, [Consumer(queue.url, queue.arn, "notify", app.handler_map["notify"])])

    # When an agency is admitted (AgencyApplied goes nowhere; AgencyAdmitted reaches the queue)
    admit(catalogue, "AG-001", "91330106MA2H7Y40", ["330100"])
    received, deleted = poller.poll_once(poller._consumers[0])

    # Then the consumer handled every message, and the agency reads its admission in its inbox
    assert received == deleted >= 1
    (entry,) = inbox(catalogue.as_role("agency", "AG-001"))
    assert entry["event_type"] == "AgencyAdmitted" and entry["title"] == "入驻申请已通过"
    assert entry["link"] == "/agencies/AG-001" and entry["subject"] == "AG-001"
    assert entry["read"] is False and entry["read_at"] is None


def test_the_sample_batch_fans_out_to_the_admitted_agencies_serving_the_region_only(
    catalogue: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given agencies admitted for the item in the purchase's city, in another city, and one suspended
    from marketplace.repositories import recipients

    admit(catalogue, "AG-CITY", "91330106MA2H7Y40", ["330100"])
    admit(catalogue, "AG-DISTRICT", "91330106MA2H7Y41", ["330106"])
    admit(catalogue, "AG-NINGBO", "91330106MA2H7Y42", ["330200"])
    admit(catalogue, "AG-SUSPENDED", "91330106MA2H7Y43", ["330100"])
    supervision = {"reason": "未按承诺时限出具报告", "basis": "承诺制度"}
    assert catalogue.as_role("admin").post("/agencies/AG-SUSPENDED/suspension", supervision).status == 200
    monkeypatch.setattr(recipients, "PAGE_SIZE", 1)  # every page of the index is read

    # When the sample batch (a purchase published in 330106, then an enrollment) is consumed
    sample = json.loads((EVENTS_DIR / "functions" / "notify.sqs.json").read_text(encoding="utf-8"))
    published = json.loads(sample["Records"][0]["body"])["detail"]["data"]
    assert (published["item_code"], published["region"]) == (ITEM, "330106")
    assert notify(sample) == {"batchItemFailures": []}

    # Then the announcement reached the agencies serving 330106 and the owner, and no one else
    announced = (f"新的采购公告：{published['title']}", f"/purchases/{published['purchase_id']}")
    for agency in ("AG-CITY", "AG-DISTRICT"):
        entries = inbox(catalogue.as_role("agency", agency))
        assert [(e["title"], e["link"]) for e in entries] == [announced]
    for agency in ("AG-NINGBO", "AG-SUSPENDED"):
        assert inbox(catalogue.as_role("agency", agency)) == []
    owner = inbox(catalogue.as_role("owner", published["owner_id"]))
    assert [e["event_type"] for e in owner] == ["EnrollmentReceived", "PurchasePublished"]  # newest first


def test_a_redelivered_event_adds_no_second_entry(api: Api) -> None:
    event = returned()
    assert notify(batch(event)) == {"batchItemFailures": []}
    assert notify(batch(event, event)) == {"batchItemFailures": []}  # again, and twice in one batch
    entries = inbox(api.as_role("owner", "OW-1"))
    assert len(entries) == 1 and entries[0]["title"] == "采购申请被退回"


def test_only_the_message_that_fails_is_reported_for_redelivery(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from marketplace.repositories import inbox as repo

    good, poison, unlucky = (
        record(returned(n=1)),
        record(returned(n=2), body="{not json"),
        record(returned(n=3)),
    )
    deliver = repo.deliver

    def flaky(entry: Any) -> bool:
        if entry.subject == "PU-3":
            raise RuntimeError("throttled")
        return deliver(entry)

    monkeypatch.setattr(repo, "deliver", flaky)
    result = notify({"Records": [good, poison, unlucky]})
    assert result == {
        "batchItemFailures": [
            {"itemIdentifier": poison["messageId"]},
            {"itemIdentifier": unlucky["messageId"]},
        ]
    }
    assert [e["subject"] for e in inbox(api.as_role("owner", "OW-1"))] == ["PU-1"]


def test_an_event_no_one_is_told_about_is_done_with_nothing_written(api: Api) -> None:
    owner_registered = detail("OwnerRegistered", {"owner_id": "OW-1", "name": "x", "owner_type": "company"})
    assert notify(batch(owner_registered)) == {"batchItemFailures": []}
    assert inbox(api.as_role("owner", "OW-1")) == []


def test_the_admins_share_one_inbox_that_no_organisation_reads(api: Api) -> None:
    flagged = detail(
        "PurchaseFlagged", {"purchase_id": "PU-9", "owner_id": "OW-1", "reason": "States.Timeout"}
    )
    assert notify(batch(flagged)) == {"batchItemFailures": []}
    for admin in ("ADMIN-1", "ADMIN-2"):
        assert [e["title"] for e in inbox(api.as_role("admin", admin))] == ["流程异常：PU-9"]
    assert inbox(api.as_role("owner", "OW-1")) == []
    assert inbox(api.as_role("owner", "admin")) == []
    (entry,) = inbox(api.as_role("admin", "ADMIN-2"))
    assert (
        api.as_role("admin", "ADMIN-1").post(f"/me/notifications/{entry['notification_id']}/read").status
        == 200
    )
    assert inbox(api.as_role("admin", "ADMIN-2"), "?unread=true") == []  # one admin's reading is everyone's


def test_pages_run_newest_first_and_their_cursors_resume_them(api: Api) -> None:
    owner = api.as_role("owner", "OW-1")
    events = [returned(at=f"2026-11-30T02:00:0{i}.000000Z", n=i) for i in range(5)]
    assert notify(batch(*events)) == {"batchItemFailures": []}
    for query in ("", "unread=true&"):
        seen, cursor, pages = [], None, 0
        while True:
            reply = owner.get(f"/me/notifications?{query}limit=2" + (f"&cursor={cursor}" if cursor else ""))
            assert reply.status == 200, reply.body
            seen += [e["subject"] for e in reply.body["items"]]
            cursor, pages = reply.body["cursor"], pages + 1
            if cursor is None:
                break
        assert seen == ["PU-4", "PU-3", "PU-2", "PU-1", "PU-0"] and pages == 3  # no empty last page


def test_marking_read_takes_an_entry_out_of_the_unread_list_and_is_idempotent(api: Api) -> None:
    owner = api.as_role("owner", "OW-1")
    assert notify(batch(returned(n=1), returned(n=2, at="2026-11-30T03:00:00Z"))) == {"batchItemFailures": []}
    newest = inbox(owner)[0]

    first = owner.post(f"/me/notifications/{newest['notification_id']}/read")
    assert first.status == 200 and first.body["read"] is True and first.body["read_at"].endswith("Z")
    again = owner.post(f"/me/notifications/{newest['notification_id']}/read")
    assert again.status == 200 and again.body == first.body  # the first reading's time stays

    assert [e["subject"] for e in inbox(owner, "?unread=true")] == ["PU-1"]
    assert [(e["subject"], e["read"]) for e in inbox(owner)] == [("PU-2", True), ("PU-1", False)]


def test_another_callers_entry_is_not_found_and_unsigned_callers_are_refused(api: Api) -> None:
    assert notify(batch(returned("OW-1"))) == {"batchItemFailures": []}
    (entry,) = inbox(api.as_role("owner", "OW-1"))
    path = f"/me/notifications/{entry['notification_id']}/read"

    for other in (api.as_role("owner", "OW-2"), api.as_role("admin", "ADMIN-1")):
        refused = other.post(path)
        assert refused.status == 404 and refused.content_type.startswith("application/problem+json")
    assert api.as_role("owner", "OW-1").post("/me/notifications/not-an-id/read").status == 404
    assert api.call("GET", "/me/notifications").status == 401
    assert api.call("POST", path).status == 401
    assert inbox(api.as_role("owner", "OW-1"), "?unread=true") == [entry]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("?limit=0", 422),
        ("?limit=101", 422),
        ("?unread=maybe", 422),
        ("?colour=blue", 422),
        ("?cursor=%%%", 400),
        ("?cursor=bm90LWpzb24", 400),
    ],
)
def test_bad_list_input_is_refused(api: Api, query: str, status: int) -> None:
    reply = api.as_role("owner", "OW-1").get(f"/me/notifications{query}")
    assert reply.status == status and reply.content_type.startswith("application/problem+json"), reply.body


def test_a_cursor_resumes_only_the_list_and_the_inbox_it_came_from(api: Api) -> None:
    owner = api.as_role("owner", "OW-1")
    events = [returned(at=f"2026-11-30T02:00:0{i}.000000Z", n=i) for i in range(3)]
    assert notify(batch(*events)) == {"batchItemFailures": []}
    unread_cursor = owner.get("/me/notifications?unread=true&limit=1").body["cursor"]
    all_cursor = owner.get("/me/notifications?limit=1").body["cursor"]
    assert owner.get(f"/me/notifications?cursor={unread_cursor}").status == 400
    assert owner.get(f"/me/notifications?unread=true&cursor={all_cursor}").status == 400
    assert api.as_role("owner", "OW-2").get(f"/me/notifications?cursor={all_cursor}").status == 400
    forged = encode_cursor({"recipient": {"S": "owner:OW-1"}, "notification_id": {"S": ""}})
    assert owner.get(f"/me/notifications?cursor={forged}").status == 400


def test_the_regulators_of_an_industry_share_its_inbox_and_only_they_read_it(api: Api) -> None:
    sample = json.loads((EVENTS_DIR / "domain" / "ComplaintFiled.json").read_text())["detail"]
    complaint = detail("ComplaintFiled", sample["data"])
    assert notify(batch(complaint)) == {"batchItemFailures": []}
    industry = sample["data"]["industry"]
    first = api.as_role("regulator", "RG-1", industries=(industry,))
    second = api.as_role("regulator", "RG-2", industries=(industry, "work_safety"))
    (entry,) = inbox(first, f"?industry={industry}")
    assert entry["event_type"] == "ComplaintFiled"
    assert inbox(first) == []  # its own inbox is another
    read = second.post(f"/me/notifications/{entry['notification_id']}/read?industry={industry}")
    assert read.status == 200 and read.body["read"] is True
    assert inbox(first, f"?industry={industry}&unread=true") == []  # one regulator's reading is all of theirs
    for outsider in (
        api.as_role("regulator", "RG-3", industries=("work_safety",)),
        api.as_role("owner", "OW-1"),
        api.as_role("agency", "AG-1"),
    ):
        refused = outsider.get(f"/me/notifications?industry={industry}")
        assert refused.status == 403 and refused.body["errors"][0]["field"] == "industry"
        marked = outsider.post(f"/me/notifications/{entry['notification_id']}/read?industry={industry}")
        assert marked.status == 403
