"""Sealed means sealed (docs/bidding.md): before its round closes, no route, event, inbox entry, log
line or stored attribute shows a quote's figure, to anyone: the public, the owner, the admin,
another agency, or the quoting agency itself (which holds only its receipt). A further round shows
the best price so far and never whose it is; after the last round every quote is public."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest

from marketplace.settings import get_settings
from tests.conftest import Api
from tests.support.market import AFTER_DEADLINE, OWNER, Market, agency_id, open_market
from tests.support.samples import sqs_record

FIGURES = {1: "123456.78", 2: "134567.89", 3: "145678.91"}
ROUND_TWO = "111111.11"


@pytest.fixture
def market(api: Api) -> Iterator[Market]:
    yield from open_market(api, agencies=4)


def task(name: str, purchase_id: str) -> dict[str, Any]:
    from app import app

    return dict(app.handler_map[name]({"purchase_id": purchase_id}, None))


def _variants(figure: str) -> list[str]:
    """The figure as any surface might spell it: yuan, without the cents' zero, in cents."""
    return [figure, figure.rstrip("0").rstrip("."), figure.replace(".", "")]


def _deliver(events: list[dict[str, Any]]) -> None:
    """Every event published so far, to the notification consumer (as the bus's rule would)."""
    from app import app

    for envelope in events:
        body = json.dumps(envelope, ensure_ascii=False)
        assert app.handler_map["notify"]({"Records": [sqs_record(body, str(uuid.uuid4()))]}, None) == {
            "batchItemFailures": []
        }


def _stored_rows() -> list[str]:
    """Every item of the purchases and outbox tables, as text (what the operator could read)."""
    client = boto3.client("dynamodb", region_name=get_settings().region)
    texts = []
    for name in client.list_tables()["TableNames"]:
        if not name.endswith(("-purchases", "-outbox", "-idempotency", "-inbox")):
            continue
        for item in client.scan(TableName=name)["Items"]:
            texts.append(json.dumps(item, ensure_ascii=False, default=str))
    return texts


def _everything(
    market: Market, purchase_id: str, published: list[dict[str, Any]], logs: str
) -> dict[str, str]:
    """Every surface a figure could leak through, as text, by who looked."""
    api, path = market.api, f"/purchases/{purchase_id}"
    admin, owner = market.admin, market.owner
    agencies = {n: market.agency(agency_id(n)) for n in (1, 2, 3, 4)}
    seen: dict[str, Any] = {
        "public purchase": api.call("GET", path).body,
        "public list": api.call("GET", "/purchases").body,
        "owner purchase": owner.get(path).body,
        "owner list": owner.get(f"/owners/{OWNER}/purchases").body,
        "admin purchase": admin.get(path).body,
        "public rounds": api.call("GET", path + "/rounds").body,
        "public draw": api.call("GET", path + "/draw").body,
        "public quotes": api.call("GET", path + "/quotes").body,
        "owner quotes": owner.get(path + "/quotes").body,
        "admin quotes": admin.get(path + "/quotes").body,
        "owner enrollments": owner.get(path + "/enrollments").body,
        "admin enrollments": admin.get(path + "/enrollments").body,
        "openapi": api.call("GET", "/openapi.json").body,
        "owner inbox": owner.get("/me/notifications").body,
        "admin inbox": admin.get("/me/notifications").body,
        "events": published,
        "logs": logs,
        "stored": _stored_rows(),
    }
    for n, agency in agencies.items():
        seen[f"agency {n} purchase"] = agency.get(path).body
        seen[f"agency {n} quotes"] = agency.get(path + "/quotes").body
        seen[f"agency {n} enrollments"] = agency.get("/me/enrollments").body
        seen[f"agency {n} inbox"] = agency.get("/me/notifications").body
    return {
        k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
        for k, v in seen.items()
    }


def _leaks(surfaces: dict[str, str], figure: str, *, except_for: tuple[str, ...] = ()) -> list[str]:
    return [
        where
        for where, text in surfaces.items()
        if where not in except_for and any(v in text for v in _variants(figure))
    ]


def test_no_route_event_inbox_log_or_stored_row_shows_a_quote_before_its_round_closes(
    market: Market,
    published_events: Any,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    purchase_id = market.publish(
        method="price_bidding", bidding={"rounds": 2, "floor_yuan": "90000.00"}, funding_type="private"
    )
    for n in (1, 2, 3):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
        reply = market.agency(agency_id(n)).post(
            f"/purchases/{purchase_id}/quotes", {"amount_yuan": FIGURES[n]}
        )
        assert reply.status == 201
        assert not any(
            v in json.dumps(reply.body) for v in _variants(FIGURES[n])
        )  # a receipt, not the figure

    # Round one open: no figure anywhere, to anyone.
    events = published_events.received()
    assert "QuoteSubmitted" in [e["detail-type"] for e in events]
    _deliver(events)
    surfaces = _everything(market, purchase_id, events, caplog.text + capsys.readouterr().out)
    assert market.api.call("GET", f"/purchases/{purchase_id}/quotes").status == 403
    assert market.owner.get(f"/purchases/{purchase_id}/quotes").status == 403
    assert market.admin.get(f"/purchases/{purchase_id}/quotes").status == 403
    for figure in FIGURES.values():
        assert _leaks(surfaces, figure) == [], figure

    # Round two open: the best price is public without its owner; the other round-one figures are
    # the quoting agency's own to see; a round-two quote is sealed again.
    market.clock.set(AFTER_DEADLINE)
    assert task("close_enrollment", purchase_id)["status"] == "bidding"
    assert (
        market.agency(agency_id(2))
        .post(f"/purchases/{purchase_id}/quotes", {"amount_yuan": ROUND_TWO})
        .status
        == 201
    )
    events = published_events.received()
    _deliver(events)
    surfaces = _everything(market, purchase_id, events, caplog.text + capsys.readouterr().out)
    assert _leaks(surfaces, ROUND_TWO) == []
    best = json.loads(surfaces["public rounds"])["rounds"][0]
    assert best["best_price_yuan"] == FIGURES[1] and "agency_id" not in json.dumps(best)
    for n in (2, 3):  # not the best: only its own agency (its opened quote) and the stored rows
        own = (f"agency {n} quotes", "stored")
        assert _leaks(surfaces, FIGURES[n], except_for=own) == [], n
        assert _leaks(surfaces, FIGURES[n], except_for=("stored",)) == [f"agency {n} quotes"]
    stored_only = _leaks(surfaces, FIGURES[2], except_for=(f"agency {2} quotes",))
    assert stored_only == ["stored"]  # the purchase row keeps the opened quotes (never in a response)

    # After the last round: every quote of every round, with its agency.
    market.clock.set(AFTER_DEADLINE + timedelta(minutes=11))
    assert task("close_round", purchase_id)["status"] == "enrollment_closed"
    public = market.api.call("GET", f"/purchases/{purchase_id}/quotes").body
    assert public["published"] is True
    assert {(q["round"], q["agency_id"], q["price_yuan"]) for q in public["quotes"]} == {
        (1, agency_id(1), FIGURES[1]),
        (1, agency_id(2), FIGURES[2]),
        (1, agency_id(3), FIGURES[3]),
        (2, agency_id(2), ROUND_TWO),
    }
