"""The district's statistics on moto (docs/statistics.md): the events real flows publish (the
`published_events` tap) folded by the `fold_statistics` consumer into aggregates; GET /statistics
answers with one Query, in JSON or CSV; a redelivered event is folded once, two consumers on one
purchase's events at once count everything once; the ledger recomputes what the consumer keeps."""

from __future__ import annotations

import csv
import io
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import botocore.client
import pytest

from tests.conftest import Api, repo_root
from tests.support.after_award import OWNER_RATINGS, completed
from tests.support.market import OPENS, OWNER, Market, agency_id, open_market
from tests.support.samples import sqs_record

ITEM = "ZJ-HP-001"
MONTH = "2026-12"
EVENTS = repo_root() / "events" / "domain"
SAMPLES = (
    "PurchasePublished",
    "EnrollmentReceived",
    "ResultPublished",
    "PurchaseConfirmed",
    "ContractSigned",
)


@pytest.fixture
def market(api: Api) -> Iterator[Market]:
    yield from open_market(api)


def fold(*events: dict[str, Any]) -> dict[str, Any]:
    from app import app

    records = [sqs_record(json.dumps(e, ensure_ascii=False), str(uuid.uuid4())) for e in events]
    result: dict[str, Any] = app.handler_map["fold_statistics"]({"Records": records}, None)
    return result


@contextmanager
def dynamodb_calls() -> Iterator[list[str]]:
    """Every DynamoDB call made in the block, by operation name, whatever client makes it."""
    calls: list[str] = []
    original = botocore.client.BaseClient._make_api_call

    def counted(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if self.meta.service_model.service_name == "dynamodb":
            calls.append(operation)
        return original(self, operation, params)

    botocore.client.BaseClient._make_api_call = counted  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]


def flows(market: Market) -> None:
    """A failure re-announced (and the new purchase published), then a purchase taken through
    contract, completion and both evaluations."""
    failed = market.publish()
    assert market.enroll(failed, agency_id(1)).status == 201
    assert market.close_and_select(failed)["status"] == "failed"
    dates = {"enrollment_deadline": "2026-12-09T09:00:00Z", "selection_time": "2026-12-09T09:00:00Z"}
    again = market.owner.post(f"/purchases/{failed}/reannouncement", dates)
    assert again.status == 201, again.body
    approved = market.admin.post(f"/purchases/{again.body['purchase_id']}/review", {"decision": "approve"})
    assert approved.status == 200, approved.body

    market.clock.set(OPENS)
    purchase_id, _ = completed(market)
    assert market.owner.post(f"/purchases/{purchase_id}/evaluations", OWNER_RATINGS).status == 201
    regulator = market.api.as_role("regulator", "RG-ENV", industries=("environment",))
    assert regulator.post(f"/purchases/{purchase_id}/evaluations", {"output_quality": 4}).status == 201


def _group(reply: Any, value: str) -> dict[str, Any]:
    assert reply.status == 200, reply.body
    (found,) = [g for g in reply.body["groups"] if g["value"] == value]
    return dict(found)


def test_real_flows_make_the_figures_of_every_grouping(market: Market, published_events) -> None:
    flows(market)
    events = published_events.received()
    assert fold(*events) == {"batchItemFailures": []}

    reply = market.api.call("GET", f"/statistics?group_by=item&from={MONTH}&to={MONTH}")
    item = _group(reply, ITEM)
    assert reply.body["from_month"] == MONTH and reply.body["to_month"] == MONTH
    assert item["published"] == 3 and item["republished"] == 1
    assert (item["ended"], item["deals"], item["failed"], item["reannounced"]) == (2, 1, 1, 1)
    assert item["deal_rate"] == 0.5 and item["failed_share"] == 0.5 and item["reannounced_share"] == 0.5
    assert item["enrollments"] == 4 and item["mean_enrollments"] == 1.33
    # Published Tue 1 Dec, selected and confirmed Fri 4 Dec, signed and completed Mon 7 Dec.
    cycle = item["cycle_times"]
    assert cycle["to_selection"] == {"purchases": 1, "working_days_total": 3, "mean_working_days": 3.0}
    assert cycle["to_confirmation"]["mean_working_days"] == 0.0
    assert cycle["to_contract"]["mean_working_days"] == 1.0
    assert cycle["to_completion"]["mean_working_days"] == 0.0
    assert cycle["total"] == {"purchases": 1, "working_days_total": 4, "mean_working_days": 4.0}
    assert item["savings"] == {
        "purchases": 1,
        "ceiling_yuan": "180000.00",
        "contract_yuan": "150000.00",
        "savings_yuan": "30000.00",
        "savings_percent": 16.67,
    }
    assert item["evaluations"] == {
        "owner": {"evaluations": 1, "mean_rating": 4.6},
        "regulator": {"evaluations": 1, "mean_rating": 4.0},
    }
    # The same purchases, grouped otherwise: the dimensions the events lack were resolved.
    for group_by, value in (
        ("industry", "environment"),
        ("region", "330106"),
        ("owner", OWNER),
        ("month", MONTH),
    ):
        other = _group(
            market.api.call("GET", f"/statistics?group_by={group_by}&from={MONTH}&to={MONTH}"), value
        )
        assert {k: v for k, v in other.items() if k != "value"} == {
            k: v for k, v in item.items() if k != "value"
        }
    # Outside the range: nothing.
    assert market.api.call("GET", "/statistics?group_by=item&from=2026-10&to=2026-11").body["groups"] == []


def test_the_ledger_recomputes_what_the_consumer_keeps(market: Market, published_events) -> None:
    from marketplace.services import statistics as service
    from marketplace.statistics_recompute import main as recompute

    flows(market)
    assert fold(*published_events.received()) == {"batchItemFailures": []}

    kept = service.kept()
    assert kept and service.recomputed() == kept
    assert service.rebuild() == {"rows": len(kept), "changed": 0}
    assert service.kept() == kept
    assert recompute(["--check"]) == 0

    # A row gone wrong (an operator's mistake, a lost write): the check says so, the rebuild mends it.
    from marketplace.repositories.tables import StatisticsRow

    row = StatisticsRow.get("AGG#owner", f"{MONTH}#{OWNER}")
    row.deals = 99
    row.save()
    StatisticsRow(pk="AGG#owner", sk=f"{MONTH}#OW-STRAY", value="OW-STRAY", month=MONTH, published=1).save()
    assert recompute(["--check"]) == 1
    assert service.rebuild()["changed"] == 2
    assert service.kept() == kept


def test_a_redelivered_event_is_folded_once(market: Market, published_events) -> None:
    flows(market)
    events = published_events.received()
    fold(*events)
    before = market.api.call("GET", "/statistics?group_by=owner").body

    assert fold(*events) == {"batchItemFailures": []}
    assert fold(events[0], events[0]) == {"batchItemFailures": []}  # twice in one batch

    assert market.api.call("GET", "/statistics?group_by=owner").body == before


def test_two_consumers_on_one_purchases_events_at_once_count_each_event_once(
    market: Market, published_events
) -> None:
    from marketplace.services import statistics as service

    market.clock.set(OPENS)
    completed(market)
    events = published_events.received()
    halves = [events[0::2], events[1::2]]
    barrier = threading.Barrier(2)
    results: list[dict[str, Any]] = []

    def consumer(batch: list[dict[str, Any]]) -> None:
        barrier.wait()
        results.append(fold(*batch))

    threads = [threading.Thread(target=consumer, args=(half,)) for half in halves]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert results == [{"batchItemFailures": []}] * 2
    item = _group(market.api.call("GET", "/statistics?group_by=item"), ITEM)
    assert (item["published"], item["deals"], item["contracts"], item["completions"]) == (1, 1, 1, 1)
    assert item["cycle_times"]["total"]["purchases"] == 1 and item["enrollments"] == 3
    assert service.recomputed() == service.kept()


def test_an_answer_is_one_query_in_json_and_in_csv(market: Market, published_events) -> None:
    flows(market)
    fold(*published_events.received())

    for accept in ("application/json", "text/csv"):
        for group_by in ("item", "industry", "region", "owner", "month"):
            with dynamodb_calls() as calls:
                reply = market.api.call(
                    "GET",
                    f"/statistics?group_by={group_by}&from=2025-12&to={MONTH}",
                    headers={"accept": accept},
                )
            assert reply.status == 200
            assert calls == ["Query"], (group_by, accept, calls)


def test_csv_has_a_header_and_one_row_per_group(market: Market, published_events) -> None:
    flows(market)
    fold(*published_events.received())

    reply = market.api.call(
        "GET", f"/statistics?group_by=month&from=2026-11&to={MONTH}", headers={"accept": "text/csv"}
    )

    assert reply.status == 200 and reply.content_type.startswith("text/csv")
    assert reply.headers["vary"] == "Accept"
    rows = list(csv.DictReader(io.StringIO(reply.body)))
    assert [r["value"] for r in rows] == [MONTH]
    (row,) = rows
    assert row["group_by"] == "month" and row["from_month"] == "2026-11" and row["to_month"] == MONTH
    assert (row["published"], row["deals"], row["deal_rate"], row["savings_yuan"]) == (
        "3",
        "1",
        "0.5",
        "30000.00",
    )
    assert row["total_mean_working_days"] == "4.0" and row["owner_mean_rating"] == "4.6"
    empty = market.api.call(
        "GET", "/statistics?group_by=region&from=2020-01&to=2020-02", headers={"accept": "text/csv"}
    )
    assert empty.body.count("\r\n") == 1  # the header alone


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("group_by=agency", "group_by"),
        ("from=2026-13", "from"),
        ("to=202612", "to"),
        ("from=2026-12&to=2026-01", "from"),
        ("from=2020-01&to=2026-12", "from"),
        ("color=red", "color"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_changes_nothing(
    market: Market, query: str, field: str
) -> None:
    from marketplace.services import statistics as service

    fold(*(json.loads((EVENTS / f"{t}.json").read_text(encoding="utf-8")) for t in SAMPLES))
    before = service.kept()
    assert before

    for accept in ("application/json", "text/csv"):
        reply = market.api.call("GET", f"/statistics?{query}", headers={"accept": accept})
        assert reply.status in (400, 422), reply.body
        assert reply.content_type == "application/problem+json"
        assert field in [e["field"] for e in reply.body["errors"]]
    assert service.kept() == before


def test_a_malformed_message_is_reported_alone(market: Market) -> None:
    from app import app

    good = {"detail-type": "EnrollmentReceived", "detail": {}}
    batch = {"Records": [sqs_record("not json", "m-1"), sqs_record(json.dumps(good), "m-2")]}

    result = app.handler_map["fold_statistics"](batch, None)

    assert result == {"batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-2"}]}


def test_defaults_read_the_last_months_up_to_this_one(market: Market) -> None:
    market.clock.set(datetime(2027, 3, 15, 2, 0, tzinfo=UTC))
    reply = market.api.call("GET", "/statistics")
    assert reply.status == 200
    assert (reply.body["group_by"], reply.body["from_month"], reply.body["to_month"]) == (
        "month",
        "2026-04",
        "2027-03",
    )


def test_openapi_describes_json_and_csv(api: Api) -> None:
    op = api.call("GET", "/openapi.json").body["paths"]["/statistics"]["get"]
    assert set(op["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    assert {p["name"] for p in op["parameters"]} == {"group_by", "from", "to"}
    assert op["security"] == []


@pytest.mark.parametrize(
    ("accept", "csv_wanted"),
    [
        ("text/csv", True),
        ("text/csv; charset=utf-8", True),
        ("text/csv, application/json", True),
        ("application/json, text/csv", False),
        ("application/json", False),
        ("*/*", False),
        ("", False),
    ],
)
def test_the_accept_header_chooses_csv_only_when_listed_before_json(accept: str, csv_wanted: bool) -> None:
    from marketplace.services.statistics import wants_csv

    assert wants_csv(accept) is csv_wanted


def test_a_budget_priced_purchase_has_no_ceiling_to_save_against(market: Market, published_events) -> None:
    from marketplace.repositories import statistics as repo

    market.clock.set(OPENS)
    purchase_id = market.publish(price_kind="budget")
    fold(*published_events.received())

    dims = {e.purchase_id: e.dimensions for e in repo.ledger()}[purchase_id]
    assert (dims.price_kind, dims.ceiling_fen) == ("budget", None)


def test_the_ledger_records_the_dimensions_resolved_for_each_event(market: Market, published_events) -> None:
    from marketplace.repositories import statistics as repo

    market.clock.set(OPENS)
    purchase_id = market.publish()
    sample = json.loads(
        (EVENTS / "ResultPublished.json").read_text(encoding="utf-8")
    )  # a purchase not stored
    fold(*published_events.received(), sample)

    entries = {e.purchase_id: e for e in repo.ledger()}
    ours = entries[purchase_id].dimensions
    assert (ours.item, ours.industry, ours.region, ours.owner, ours.month) == (
        ITEM,
        "environment",
        "330106",
        OWNER,
        MONTH,
    )
    assert (ours.ceiling_fen, ours.price_kind, ours.method) == (18_000_000, "ceiling", "random_draw")
    assert set(ours.resolved) == {
        "item",
        "region",
        "owner",
        "month",
        "price_kind",
        "method",
        "ceiling",
        "industry",
    }
    unknown = entries[sample["detail"]["data"]["purchase_id"]].dimensions
    assert (unknown.item, unknown.industry, unknown.owner, unknown.resolved) == (
        "unknown",
        "unknown",
        "OW-001",
        (),
    )
