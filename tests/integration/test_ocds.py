"""OCDS open data (docs/ocds.md) on moto: the consumer appends a release for each event of a full
purchase flow, once however often an event is redelivered; every page of `GET /ocds/releases`
and the record package validate against the OCDS 1.1.5 schemas and carry no personal data; bad
input is a 400 naming the field; the daily export writes a day as JSON lines, the same bytes on a
rerun."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from tests.conftest import Api
from tests.support.after_award import OWNER_RATINGS, completed
from tests.support.market import Market, open_market
from tests.support.ocds_validation import (
    personal_data_in,
    validate_record_package,
    validate_release,
    validate_release_package,
)
from tests.support.samples import sqs_record
from tests.support.schemas import EVENTS_DIR

# The personal data the fixtures plant (tests/support/samples.py): contacts, practitioners, witness.
PLANTED = {"王工", "钱芳", "孙伟", "李强", "周敏", "330106198001011234", "wang@example.cn", "13900000001"}


@pytest.fixture
def market(api: Api) -> Iterator[Market]:
    yield from open_market(api)


def _consume(events: list[dict[str, Any]], tag: str = "m") -> dict[str, Any]:
    from app import app

    records = [sqs_record(json.dumps(e), f"{tag}-{n}") for n, e in enumerate(events)]
    return dict(app.handler_map["append_ocds_releases"]({"Records": records}, None))


def _rows() -> list[Any]:
    from marketplace.repositories.tables import OcdsReleaseRow

    return list(OcdsReleaseRow.scan())  # a test's look at the whole table


def _ocid(purchase_id: str) -> str:
    from marketplace.settings import get_settings

    return f"{get_settings().ocid_prefix}-{purchase_id}"


def _pages(api: Api, query: str = "") -> list[dict[str, Any]]:
    pages, path = [], f"/ocds/releases?limit=3{query}"
    while True:
        reply = api.call("GET", path)
        assert reply.status == 200, reply.body
        pages.append(reply.body)
        following = reply.body.get("links", {}).get("next")
        if not following:
            return pages
        path = following.split("://", 1)[1].split("/", 1)[1]
        path = "/" + path


def _flow(market: Market, published_events: Any) -> tuple[str, list[dict[str, Any]]]:
    """A purchase published, selected, confirmed, contracted, delivered, completed and evaluated."""
    purchase_id, _ = completed(market)
    rated = market.owner.post(f"/purchases/{purchase_id}/evaluations", {**OWNER_RATINGS, "comment": "好"})
    assert rated.status == 201, rated.body
    return purchase_id, published_events.received()


def test_a_full_flow_appends_a_release_per_public_change_once_however_often_redelivered(
    market: Market, published_events: Any
) -> None:
    from marketplace.domain.ocds import RELEASE_TAGS

    purchase_id, events = _flow(market, published_events)
    expected = [e for e in events if e["detail-type"] in RELEASE_TAGS]
    assert {e["detail-type"] for e in expected} >= {
        "PurchasePublished",
        "ResultPublished",
        "PurchaseConfirmed",
        "ContractRegistered",
        "ContractSigned",
        "DeliveryReported",
        "PurchaseCompleted",
        "EvaluationRecorded",
    }

    assert _consume(events) == {"batchItemFailures": []}
    first = sorted(r.release_id for r in _rows())
    assert len(first) == len(expected)
    assert {r.ocid for r in _rows()} == {_ocid(purchase_id)}

    assert _consume(events, "again") == {"batchItemFailures": []}  # SQS delivers at least once
    assert sorted(r.release_id for r in _rows()) == first

    for row in _rows():
        validate_release(row.release)
    tags = {r.release["id"].split("-", 1)[0]: r.release["tag"] for r in _rows()}
    assert tags["PurchasePublished"] == ["tender"] and tags["EvaluationRecorded"] == ["implementationUpdate"]


def test_every_page_and_the_record_validate_and_carry_no_personal_data(
    market: Market, published_events: Any, api: Api
) -> None:
    purchase_id, events = _flow(market, published_events)
    _consume(events)

    pages = _pages(api)
    assert len(pages) > 1  # paged three at a time
    releases = [r for page in pages for r in page["releases"]]
    assert len(releases) == len(_rows())
    for page in pages:
        validate_release_package(page)
        assert personal_data_in(page, PLANTED) == []

    record = api.call("GET", f"/ocds/records/{_ocid(purchase_id)}")
    assert record.status == 200, record.body
    validate_record_package(record.body)
    assert personal_data_in(record.body, PLANTED) == []
    (entry,) = record.body["records"]
    assert [r["id"] for r in entry["releases"]] == [r["id"] for r in releases]
    compiled = entry["compiledRelease"]
    assert compiled["tag"] == ["compiled"]
    assert compiled["awards"][0]["status"] == "active"
    assert compiled["contracts"][0]["status"] == "terminated"
    assert compiled["contracts"][0]["dateSigned"].startswith("2026-12-07")
    buyer = next(p for p in compiled["parties"] if "buyer" in p["roles"])
    assert buyer["identifier"]["scheme"] == "CN-USCI"


def test_since_starts_the_feed_at_an_instant(market: Market, published_events: Any, api: Api) -> None:
    _, events = _flow(market, published_events)
    _consume(events)
    later = (datetime.now(UTC) + timedelta(days=3650)).isoformat()
    assert _pages(api) and all(p["releases"] for p in _pages(api))
    reply = api.call("GET", f"/ocds/releases?since={later.replace('+', '%2B')}")
    # Nothing to list: 204 and no body, never a package with no release (schema: minItems 1).
    assert reply.status == 204 and reply.body is None


def test_a_fresh_deployment_answers_204_and_the_openapi_says_so(api: Api) -> None:
    reply = api.call("GET", "/ocds/releases")
    assert reply.status == 204 and reply.body is None
    spec = api.call("GET", "/openapi.json").body
    responses = spec["paths"]["/ocds/releases"]["get"]["responses"]
    assert "204" in responses and "200" in responses


def test_a_client_paging_to_the_end_then_polling_from_its_last_release_sees_204(
    market: Market, published_events: Any, api: Api
) -> None:
    """A client follows `links.next` to the last page (every page a valid package), then polls
    from just after the last release it read: caught up, it gets 204, not an invalid package."""
    from marketplace.clock import parse_iso
    from marketplace.repositories.tables import OcdsReleaseRow

    _, events = _flow(market, published_events)
    _consume(events)
    pages = _pages(api)
    for page in pages:
        validate_release_package(page)
    assert "next" not in pages[-1].get("links", {})
    newest = max(r.published.split("#", 1)[0] for r in OcdsReleaseRow.scan())
    after = (parse_iso(newest) + timedelta(seconds=1)).isoformat().replace("+", "%2B")
    caught_up = api.call("GET", f"/ocds/releases?since={after}")
    assert caught_up.status == 204 and caught_up.body is None


def test_a_release_from_a_delayed_message_is_dated_by_its_event_and_listed_as_published(
    market: Market, published_events: Any, api: Api
) -> None:
    """The message sat in the queue for hours: the release's `date` is when the event happened;
    the feed (`since`) still lists it by when it was published, so a client that read up to
    before the delay misses nothing."""
    from marketplace.clock import iso, parse_iso

    market.publish()
    (event,) = [e for e in published_events.received() if e["detail-type"] == "PurchasePublished"]
    happened = parse_iso(event["detail"]["occurred_at"]) - timedelta(hours=5)
    event["detail"]["occurred_at"] = iso(happened)
    assert _consume([event]) == {"batchItemFailures": []}
    (row,) = _rows()
    assert row.release["date"] == iso(happened)
    assert parse_iso(row.published.split("#", 1)[0]) > happened  # the feed's key: when appended
    since = (happened + timedelta(hours=1)).isoformat().replace("+", "%2B")
    listed = api.call("GET", f"/ocds/releases?since={since}")
    assert listed.status == 200, listed.body
    validate_release_package(listed.body)
    assert [r["date"] for r in listed.body["releases"]] == [iso(happened)]


def test_an_event_without_its_time_is_reported_failed(market: Market, published_events: Any) -> None:
    market.publish()
    (event,) = [e for e in published_events.received() if e["detail-type"] == "PurchasePublished"]
    del event["detail"]["occurred_at"]
    assert _consume([event]) == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    assert _rows() == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=yesterday", "since"),
        ("since=2026-12-01T00:00:00", "since"),  # no offset: which instant is meant?
        ("limit=0", "limit"),
        ("x=1", "x"),
    ],
)
def test_bad_query_input_is_refused_naming_the_field(api: Api, query: str, field: str) -> None:
    """422, as every route refuses a query its model rejects (marketplace/web/http.py)."""
    reply = api.call("GET", f"/ocds/releases?{query}")
    assert reply.status == 422, reply.body
    assert field in {e["field"] for e in reply.body["errors"]}


def test_a_forged_cursor_is_a_400(api: Api) -> None:
    reply = api.call("GET", "/ocds/releases?cursor=bm90LW91cnM")
    assert reply.status == 400, reply.body


def test_an_unknown_ocid_is_a_404_and_a_malformed_one_a_400(api: Api) -> None:
    unknown = api.call("GET", f"/ocds/records/{_ocid('P-20261201-0000000000')}")
    assert unknown.status == 404, unknown.body
    assert unknown.headers["content-type"].startswith("application/problem+json")
    malformed = api.call("GET", "/ocds/records/ocds-zzzzzz-P-1")
    assert malformed.status == 400, malformed.body
    assert [e["field"] for e in malformed.body["errors"]] == ["ocid"]


def test_an_event_of_an_unpublished_purchase_or_another_kind_appends_nothing(market: Market) -> None:
    draft = market.draft()
    event = json.loads((EVENTS_DIR / "domain" / "ResultPublished.json").read_text(encoding="utf-8"))
    event["detail"]["data"]["purchase_id"] = draft
    other = json.loads((EVENTS_DIR / "domain" / "OwnerRegistered.json").read_text(encoding="utf-8"))
    assert _consume([event, other]) == {"batchItemFailures": []}
    assert _rows() == []


def test_a_message_that_is_no_event_is_reported_failed_alone(market: Market, published_events: Any) -> None:
    from app import app

    purchase_id = market.publish()
    (published,) = [e for e in published_events.received() if e["detail-type"] == "PurchasePublished"]
    batch = {"Records": [sqs_record("not json", "bad"), sqs_record(json.dumps(published), "good")]}
    result = app.handler_map["append_ocds_releases"](batch, None)
    assert result == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    assert [r.ocid for r in _rows()] == [_ocid(purchase_id)]


def test_the_export_writes_the_previous_local_day_as_json_lines_and_a_rerun_the_same_bytes(
    market: Market, published_events: Any
) -> None:
    from app import app
    from marketplace.settings import get_settings

    purchase_id, events = _flow(market, published_events)
    _consume(events)  # published now (the market's fixed clock)
    published_on = (market.clock.now() + timedelta(hours=8)).date()  # Asia/Shanghai
    market.clock.set(market.clock.now() + timedelta(days=1))
    schedule = json.loads((EVENTS_DIR / "functions" / "export_ocds.schedule.json").read_text())

    report = app.handler_map["export_ocds"](schedule, None)

    key = f"ocds/releases/{published_on:%Y/%m/%d}.jsonl"
    assert report == {"key": key, "releases": len(_rows()), "day": published_on.isoformat()}
    s3 = boto3.client("s3", region_name=get_settings().region)
    body = s3.get_object(Bucket=get_settings().open_data_bucket, Key=key)["Body"].read()
    lines = body.decode("utf-8").splitlines()
    assert len(lines) == len(_rows())
    for line in lines:
        release = json.loads(line)
        validate_release(release)
        assert release["ocid"] == _ocid(purchase_id)
    assert personal_data_in(body.decode("utf-8"), PLANTED) == []

    app.handler_map["export_ocds"](schedule, None)
    assert s3.get_object(Bucket=get_settings().open_data_bucket, Key=key)["Body"].read() == body


def test_every_release_of_every_operation_validates(api: Api, published_events: Any) -> None:
    """The scenario that calls every operation once (tests/support/scenario.py): every trading
    mode, failures, a re-announcement, a challenge's suspension, the shelf... Each event it
    published is handed to the consumer; every release, page and record validates."""
    from tests.support.scenario import every_operation

    for name, step in every_operation(api):
        reply = step()
        assert getattr(reply, "status", 200) < 400, name
    # The scenario's relay publishes a bogus outbox row (no detail): not a domain event, left out.
    events = [e for e in _raw(published_events) if e["detail"].get("event_id")]
    assert _consume(events, "all") == {"batchItemFailures": []}
    rows = _rows()
    kinds = {r.release["id"].split("-", 1)[0] for r in rows}
    assert len(kinds) >= 10, kinds
    for row in rows:
        validate_release(row.release)
        assert personal_data_in(row.release, PLANTED) == []
    for ocid in {r.ocid for r in rows}:
        record = api.call("GET", f"/ocds/records/{ocid}")
        assert record.status == 200, record.body
        validate_record_package(record.body)
    for page in _pages(api):
        validate_release_package(page)


def _raw(tap: Any) -> list[dict[str, Any]]:
    from marketplace.settings import get_settings

    sqs, found = boto3.client("sqs", region_name=get_settings().region), []
    while batch := sqs.receive_message(QueueUrl=tap.queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=tap.queue_url, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_the_same_event_handled_twice_at_once_appends_one_release(
    market: Market, published_events: Any
) -> None:
    """Two consumers racing on one event (SQS may hand a message out again while it is handled):
    both may find no release and build one; the conditional put lets one of them store it."""
    from concurrent.futures import ThreadPoolExecutor

    market.publish()
    (published,) = [e for e in published_events.received() if e["detail-type"] == "PurchasePublished"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda n: _consume([published], f"race-{n}"), range(4)))
    assert all(r == {"batchItemFailures": []} for r in results)
    assert len(_rows()) == 1
