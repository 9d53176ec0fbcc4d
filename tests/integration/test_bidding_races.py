"""Price bidding under load and at the edges: thirty agencies quoting in the deadline's last second
(each valid quote counted once, however many times it was replaced), and a tie broken by the
verifiable draw, recomputed from the published proof by `python -m marketplace.verify_draw`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from marketplace.domain.draw import verify
from tests.conftest import Api
from tests.support.market import AFTER_DEADLINE, Market, agency_id, open_market

AGENCIES = 30
LAST_SECOND = datetime.fromisoformat("2026-12-04T08:59:59+00:00")


@pytest.fixture
def market(api: Api) -> Iterator[Market]:
    yield from open_market(api, agencies=AGENCIES)


def task(name: str, purchase_id: str) -> dict[str, Any]:
    from app import app

    return dict(app.handler_map[name]({"purchase_id": purchase_id}, None))


def publish(market: Market, **terms: Any) -> str:
    return market.publish(
        method="price_bidding", bidding={"rounds": 1, **terms}, funding_type="private", reserves=2
    )


def test_thirty_agencies_quoting_in_the_last_second_are_each_counted_once(market: Market) -> None:
    purchase_id = publish(market)
    for n in range(1, AGENCIES + 1):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    market.clock.set(LAST_SECOND)

    def submit(job: tuple[int, int]) -> int:
        n, attempt = job  # each agency quotes twice at once: its second replaces its first
        amount = f"{100000 + 1000 * n + attempt}.00"
        path = f"/purchases/{purchase_id}/quotes"
        return int(market.agency(agency_id(n)).post(path, {"amount_yuan": amount}).status)

    jobs = [(n, attempt) for attempt in (0, 1) for n in range(1, AGENCIES + 1)]
    with ThreadPoolExecutor(max_workers=AGENCIES) as pool:
        statuses = list(pool.map(submit, jobs))
    assert set(statuses) <= {200, 201} and statuses.count(201) >= AGENCIES

    market.clock.set(AFTER_DEADLINE)
    assert task("close_enrollment", purchase_id)["status"] == "enrollment_closed"
    assert task("run_selection", purchase_id)["status"] == "selected"
    rounds = market.api.call("GET", f"/purchases/{purchase_id}/rounds").body["rounds"]
    assert rounds[0]["quotes"] == AGENCIES
    quotes = market.api.call("GET", f"/purchases/{purchase_id}/quotes").body["quotes"]
    assert sorted(q["agency_id"] for q in quotes) == sorted(agency_id(n) for n in range(1, AGENCIES + 1))
    for q in quotes:  # whichever of its two quotes committed last stands
        n = int(q["agency_id"].rsplit("-", 1)[-1])
        assert q["price_yuan"] in (f"{100000 + 1000 * n}.00", f"{100000 + 1000 * n + 1}.00")
    assert market.purchase(purchase_id)["result"]["selected_agency"] == agency_id(1)


def test_a_tie_is_broken_by_the_draw_and_recomputed_from_the_published_proof(
    market: Market, tmp_path: Path
) -> None:
    purchase_id = publish(market)
    for n, amount in ((1, "140000.00"), (2, "140000.00"), (3, "150000.00"), (4, "140000.00")):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
        assert (
            market.agency(agency_id(n))
            .post(f"/purchases/{purchase_id}/quotes", {"amount_yuan": amount})
            .status
            == 201
        )
    market.clock.set(AFTER_DEADLINE)
    task("close_enrollment", purchase_id)
    assert task("run_selection", purchase_id)["status"] == "selected"

    proof = market.api.call("GET", f"/purchases/{purchase_id}/draw").body
    tied = [agency_id(1), agency_id(2), agency_id(4)]
    assert proof["tied"] == [tied]
    result = market.purchase(purchase_id)["result"]
    ranks = {r["agency_id"]: r["rank"] for r in proof["ranking"]}
    by_draw = sorted(tied, key=lambda a: (ranks[a], a))
    assert [result["selected_agency"], *result["reserves"]] == by_draw  # the draw's order among equals
    assert agency_id(3) not in [result["selected_agency"], *result["reserves"]]
    assert verify(proof) == []

    published = tmp_path / "proof.json"
    published.write_text(json.dumps(proof), encoding="utf-8")
    status, said = _verify_draw(published)
    assert status == 0 and said.startswith("valid") and said.endswith(f"winners {proof['winners'][0]}")
    other = next(a for a in tied if a != proof["winners"][0])
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps({**proof, "winners": [other]}), encoding="utf-8")
    assert _verify_draw(tampered)[0] == 1


def _verify_draw(path: Path) -> tuple[int, str]:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root / "layers" / "common" / "python")}
    done = subprocess.run(
        [sys.executable, "-m", "marketplace.verify_draw", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stdout.strip()


def test_a_quote_committing_while_round_one_opens_makes_the_closing_read_again(
    market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A quote that started before the deadline may commit after closing has read the round's
    quotes: the closing's write, conditioned on the window's changes, fails and it reads again."""
    from marketplace.repositories import bidding as bidding_repo
    from marketplace.services import bidding

    purchase_id = publish(market)
    for n in (1, 2, 3):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    for n in (1, 2):
        path = f"/purchases/{purchase_id}/quotes"
        assert market.agency(agency_id(n)).post(path, {"amount_yuan": f"1{n}0000.00"}).status == 201
    market.clock.set(LAST_SECOND)
    late_starter = market.agency(agency_id(3))
    reads = []
    original = bidding_repo.round_quotes

    def read_then_a_quote_lands(purchase: str, number: int) -> list[Any]:
        found = original(purchase, number)
        reads.append(len(found))
        if len(reads) == 1:  # the quote's own clock said 08:59:59: its transaction commits now
            market.clock.set(LAST_SECOND)
            reply = late_starter.post(f"/purchases/{purchase_id}/quotes", {"amount_yuan": "100000.00"})
            assert reply.status == 201
            market.clock.set(AFTER_DEADLINE)
        return found

    monkeypatch.setattr(bidding.repo, "round_quotes", read_then_a_quote_lands)
    market.clock.set(AFTER_DEADLINE)
    assert task("close_enrollment", purchase_id)["status"] == "enrollment_closed"
    assert reads == [2, 3]  # read again, and counted
    assert task("run_selection", purchase_id)["status"] == "selected"
    assert market.purchase(purchase_id)["result"]["selected_agency"] == agency_id(3)


def test_concurrent_closing_triggers_open_each_round_once(market: Market, published_events: Any) -> None:
    purchase_id = market.publish(
        method="price_bidding", bidding={"rounds": 2, "round_minutes": 5}, funding_type="private"
    )
    for n, amount in ((1, "150000.00"), (2, "140000.00")):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
        path = f"/purchases/{purchase_id}/quotes"
        assert market.agency(agency_id(n)).post(path, {"amount_yuan": amount}).status == 201
    published_events.received()
    market.clock.set(AFTER_DEADLINE)
    with ThreadPoolExecutor(max_workers=5) as pool:
        states = list(pool.map(lambda _: task("close_enrollment", purchase_id)["status"], range(5)))
    assert set(states) == {"bidding"}
    market.clock.set(AFTER_DEADLINE + timedelta(minutes=5, seconds=1))
    with ThreadPoolExecutor(max_workers=5) as pool:
        states = list(pool.map(lambda _: task("close_round", purchase_id)["status"], range(5)))
    assert set(states) == {"enrollment_closed"}
    types = published_events.types()
    assert types.count("BiddingRoundOpened") == 1 and types.count("BiddingRoundClosed") == 2
    assert types.count("QuotesPublished") == 1
    rounds = market.api.call("GET", f"/purchases/{purchase_id}/rounds").body["rounds"]
    assert [(r["round"], r["state"]) for r in rounds] == [(1, "closed"), (2, "closed")]
