"""Walking the lifecycle tables on moto, in-process: every row of the purchase, enrollment and
agency tables is performed through the API or the window's task and reaches its target; in every
state, every call none of whose actions the table allows there is refused (a 409 whose problem
names the state; a window task changes nothing and reports the state). The tests are parametrized
over the tables, so a new row is walked as soon as it exists, and fails until it has a call."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from marketplace.clock import parse_iso
from marketplace.domain.agencies import AGENCY, SUBMISSION
from marketplace.domain.lifecycle import Transition
from marketplace.domain.purchases import ENROLLMENT, PURCHASE
from tests.conftest import Api
from tests.support.after_award import OWNER_RATINGS, REPORT, completed, contracted, delivered
from tests.support.market import (
    AFTER_DEADLINE,
    Market,
    agency_id,
    clock_at,
    open_market,
    purchase_request,
)
from tests.support.samples import agency_profile, catalogue_item
from tests.support.schemas import EVENTS_DIR

# Purchases.

PRIVATE = {"funding_type": "private"}
DIRECT = {"method": "direct", "direct": {"agency_id": agency_id(1), "reason": "唯一具备该项资质的本地机构"}}
BEST_VALUE = {"method": "credit_best_value", "short_listing": {"long_list": 3, "short_list": 2}}
REANNOUNCED = {"enrollment_deadline": "2026-12-09T09:00:00Z", "selection_time": "2026-12-09T09:00:00Z"}
UNPUBLISHED = {"draft", "pending_review", "rejected"}
# Batch (docs/batch.md): three projects in the announcement's city; the draw splits it.
BATCH = {
    "region": "330100",
    "amount_yuan": "180000.00",
    "batch": {
        "award": "each_project",
        "projects": [
            {
                "project_code": f"2026-33010{n}-47-01-00020{n}",
                "title": f"项目{n}",
                "region": f"33010{n}",
                "amount_yuan": "60000.00",
            }
            for n in (2, 5, 6)
        ],
    },
}


@dataclass(frozen=True)
class Call:
    """One route or task, and the actions of the purchase's table it performs."""

    name: str
    actions: frozenset[str]
    run: Callable[[Market, str], Any]
    by_agency: bool = False
    task: bool = False
    creates: bool = False  # makes a new purchase (the shelf): the reply's purchase is the one that moves


def _task(name: str) -> Callable[[Market, str], Any]:
    def run(market: Market, purchase_id: str) -> Any:
        from app import app

        return app.handler_map[name]({"purchase_id": purchase_id}, None)

    return run


def _issue_letter(market: Market, purchase_id: str) -> Any:
    """The letter step the sweeper runs (services.confirmation.issue_letter)."""
    from marketplace.services import confirmation, purchase_window

    return purchase_window.window_state(confirmation.issue_letter(purchase_id))


def _winner(market: Market, purchase_id: str) -> Any:
    result = market.purchase(purchase_id).get("result") or {}
    return market.agency(result.get("selected_agency") or agency_id(1))


def _escalate(market: Market, purchase_id: str) -> Any:
    result = market.purchase(purchase_id).get("result")
    if result:
        market.clock.set(parse_iso(result["confirmation_deadline"]) + timedelta(seconds=1))
    return _task("check_confirmation")(market, purchase_id)


def _pick(market: Market, purchase_id: str) -> Any:
    result = market.purchase(purchase_id).get("result") or {}
    short_list = result.get("short_list") or [agency_id(1)]
    return market.owner.post(f"/purchases/{purchase_id}/pick", {"agency_id": short_list[0]})


CHALLENGE = {"grounds": ["资格条件超出事项要求"], "reasons": "排斥潜在机构"}
ANSWER = {"decision": "accept", "answer": "质疑成立"}


def _challenge_accepted(market: Market, purchase_id: str) -> Any:
    """An enrolled agency challenges (the announcement before closing's draw, the result after) and
    the owner accepts: the purchase is suspended, or its result annulled (docs/challenges.md)."""
    status = market.purchase(purchase_id)["status"]
    before_result = ("enrollment_open", "enrollment_closed", "bidding", "scoring")
    subject = "announcement" if status in before_result else "result"
    filed = market.agency(agency_id(1)).post(
        f"/purchases/{purchase_id}/challenges", {"subject": subject, **CHALLENGE}
    )
    if filed.status != 201:
        return filed
    return market.owner.post(f"/challenges/{filed.body['challenge_id']}/answer", ANSWER)


def _buy_from_shelf(market: Market, purchase_id: str) -> Any:
    """An agency lists an offering and the owner buys it: a new purchase, confirmed at once."""
    from tests.support.market import ITEM
    from tests.support.shelf import shelf_offer, shelf_purchase

    listed = market.agency(agency_id(1)).post(f"/agencies/{agency_id(1)}/shelf", shelf_offer(ITEM))
    assert listed.status == 201, listed.body
    return market.owner.post(f"/shelf/{listed.body['offer_id']}/purchase", shelf_purchase())


CALLS = [
    Call(
        "amend",
        frozenset({"amend"}),
        lambda m, p: m.owner.put(f"/purchases/{p}", purchase_request(**_request_of(m, p))),
    ),
    Call(
        "submit",
        frozenset({"submit", "publish", "publish_direct"}),
        lambda m, p: m.owner.post(f"/purchases/{p}/submit"),
    ),
    Call(
        "approve",
        frozenset({"approve", "approve_direct"}),
        lambda m, p: m.admin.post(f"/purchases/{p}/review", {"decision": "approve"}),
    ),
    Call(
        "return",
        frozenset({"return"}),
        lambda m, p: m.admin.post(f"/purchases/{p}/review", {"decision": "return", "reasons": "缺立项批复"}),
    ),
    Call(
        "enroll",
        frozenset({"enroll"}),
        lambda m, p: m.enroll(p, agency_id(3)),
        by_agency=True,
    ),
    Call(
        "withdraw",
        frozenset({"withdraw"}),
        lambda m, p: m.agency(agency_id(1)).delete(f"/purchases/{p}/enrollments/{agency_id(1)}"),
        by_agency=True,
    ),
    Call("close", frozenset({"close", "close_failed", "open_bidding"}), _task("close_enrollment"), task=True),
    # Price bidding (services/bidding.py): a quote, and a further round's closing.
    Call("quote", frozenset({"quote"}), lambda m, p: _quote(m, p, "100000.00"), by_agency=True),
    Call("close_round", frozenset({"next_round", "end_bidding"}), lambda m, p: _close_round(m, p), task=True),
    Call("select", frozenset({"draw", "short_list", "split"}), _task("run_selection"), task=True),
    Call("pick", frozenset({"pick"}), _pick),
    Call("escalate", frozenset({"escalate"}), _escalate, task=True),
    Call(
        "confirmation",
        frozenset({"confirm", "conclude"}),
        lambda m, p: m.owner.post(f"/purchases/{p}/confirmation"),
    ),
    Call(
        "acceptance",
        frozenset({"accept", "conclude"}),
        lambda m, p: _winner(m, p).post(f"/purchases/{p}/acceptance"),
        by_agency=True,
    ),
    Call(
        "abandonment",
        frozenset({"abandon", "abandon_last"}),
        lambda m, p: _winner(m, p).post(f"/purchases/{p}/abandonment", {"reason": "项目负责人离职"}),
        by_agency=True,
    ),
    Call("letter", frozenset({"issue_letter"}), _issue_letter, task=True),
    Call(
        "reannouncement",
        frozenset({"reannounce"}),
        lambda m, p: m.owner.post(f"/purchases/{p}/reannouncement", REANNOUNCED),
    ),
    Call("challenge", frozenset({"suspend", "annul", "annul_last"}), _challenge_accepted, by_agency=True),
    Call(
        "resumption",
        frozenset(
            {"resume_enrollment", "resume_closed", "resume_selecting", "resume_bidding", "resume_scoring"}
        ),
        lambda m, p: m.owner.post(f"/purchases/{p}/resumption", {}),
    ),
    Call(
        "cancellation",
        frozenset({"cancel"}),
        lambda m, p: m.owner.post(f"/purchases/{p}/cancellation", {"reason": "质疑成立，需重新论证"}),
    ),
    Call("contract", frozenset({"register_contract"}), lambda m, p: _register_contract(m, p)),
    Call(
        "contract_signature",
        frozenset({"sign_contract"}),
        lambda m, p: _winner(m, p).post(f"/purchases/{p}/contract/signature", {"decision": "accept"}),
        by_agency=True,
    ),
    Call(
        "contract_refusal",
        frozenset({"refuse_contract"}),
        lambda m, p: _winner(m, p).post(
            f"/purchases/{p}/contract/signature", {"decision": "refuse", "reasons": "金额有误"}
        ),
        by_agency=True,
    ),
    Call(
        "contract_reminder", frozenset({"remind_contract"}), lambda m, p: _contract_task(m, p, 7), task=True
    ),
    Call(
        "contract_escalation",
        frozenset({"escalate_contract"}),
        lambda m, p: _contract_task(m, p, 0),
        task=True,
    ),
    # Performance and evaluation (domain/performance.py).
    Call(
        "delivery",
        frozenset({"deliver"}),
        lambda m, p: _winner(m, p).post(f"/purchases/{p}/delivery", REPORT),
        by_agency=True,
    ),
    Call(
        "completion",
        frozenset({"complete"}),
        lambda m, p: m.owner.post(f"/purchases/{p}/completion", {"decision": "accept"}),
    ),
    Call(
        "dispute",
        frozenset({"dispute"}),
        lambda m, p: m.owner.post(f"/purchases/{p}/completion", {"decision": "dispute", "reasons": "缺数据"}),
    ),
    Call("silence", frozenset({"complete_by_silence"}), lambda m, p: _silence(m, p), task=True),
    Call(
        "evaluation",
        frozenset({"evaluate"}),
        lambda m, p: m.owner.post(f"/purchases/{p}/evaluations", OWNER_RATINGS),
    ),
    Call(
        "output_rating",
        frozenset({"rate_output"}),
        lambda m, p: m.api.as_role("regulator", "RG-ENV", industries=ENV).post(
            f"/purchases/{p}/evaluations", {"output_quality": 4}
        ),
        by_agency=True,  # a regulator, like an agency, does not learn that an unpublished purchase exists
    ),
    # Proposal best-value (services/proposals.py): closing opens the proposals, the panel's last
    # score ranks them, the sweeper reports an unfinished scoring at its deadline.
    Call("open_scoring", frozenset({"open_scoring"}), _task("close_enrollment"), task=True),
    Call("scores", frozenset({"rank_proposals"}), lambda m, p: _score_all(m, p)),
    Call(
        "scoring_escalation", frozenset({"escalate_scoring"}), lambda m, p: _scoring_overdue(m, p), task=True
    ),
    # The shelf (domain/shelf.py): buying names an offering, not a purchase; no state refuses it.
    Call("shelf_purchase", frozenset({"shelf_purchase"}), _buy_from_shelf, creates=True),
]

PROPOSALS = {"method": "proposal_best_value", "proposal": {"criteria": [{"name": "技术方案", "weight": 100}]}}


def _score_all(market: Market, purchase_id: str) -> Any:
    """The owner (the whole panel: no reviewers named) scores every proposal; the last ranks them."""
    scoring = market.purchase(purchase_id).get("scoring") or {"proposals": [{"agency_id": agency_id(1)}]}
    reply = None
    for n, opened in enumerate(scoring["proposals"]):
        body = {"scores": {"技术方案": str(50 + n)}}
        reply = market.owner.post(f"/purchases/{purchase_id}/proposals/{opened['agency_id']}/scores", body)
        if reply.status != 201:
            return reply
    return reply


def _scoring_overdue(market: Market, purchase_id: str) -> Any:
    from marketplace.services import proposals, purchase_window

    deadline = (market.purchase(purchase_id).get("scoring") or {}).get("deadline")
    if deadline:
        market.clock.set(parse_iso(deadline) + timedelta(seconds=1))
    return purchase_window.window_state(proposals.check_scoring(purchase_id))


def _with_proposals(market: Market) -> str:
    purchase_id = market.publish(**PROPOSALS)
    _enroll(market, purchase_id, 3)
    for n in range(1, 4):
        body = {"file_ref": f"proposals/{n}.pdf", "sha256": f"{n:02d}" * 32}
        assert market.agency(agency_id(n)).post(f"/purchases/{purchase_id}/proposals", body).status == 201
    market.clock.set(AFTER_DEADLINE)
    return purchase_id


def _scoring(market: Market) -> str:
    purchase_id = _with_proposals(market)
    assert _task("close_enrollment")(market, purchase_id)["status"] == "scoring"
    return purchase_id


def _quote(market: Market, purchase_id: str, amount: str, n: int = 1) -> Any:
    return market.agency(agency_id(n)).post(f"/purchases/{purchase_id}/quotes", {"amount_yuan": amount})


def _close_round(market: Market, purchase_id: str) -> Any:
    """The round's task once its deadline has passed (a purchase not bidding: at once)."""
    rounds = market.api.call("GET", f"/purchases/{purchase_id}/rounds")
    open_rounds = [r for r in rounds.body["rounds"] if r["state"] == "open"] if rounds.status == 200 else []
    if market.purchase(purchase_id)["status"] == "bidding" and open_rounds:
        market.clock.set(parse_iso(open_rounds[0]["closes_at"]) + timedelta(seconds=1))
    return _task("close_round")(market, purchase_id)


def _bidding(market: Market, rounds: int = 2, *, close: bool = True) -> str:
    """A price-bidding purchase with three agencies quoting in round one; closed: round two open."""
    purchase_id = market.publish(method="price_bidding", bidding={"rounds": rounds, "floor_yuan": "90000.00"})
    _enroll(market, purchase_id, 3)
    for n, amount in ((1, "150000.00"), (2, "140000.00"), (3, "160000.00")):
        assert _quote(market, purchase_id, amount, n).status == 201
    market.clock.set(AFTER_DEADLINE)
    if close:
        assert _task("close_enrollment")(market, purchase_id)["status"] == "bidding"
    return purchase_id


def _register_contract(market: Market, purchase_id: str) -> Any:
    body = {"upload": {"file_ref": "OA-1.pdf", "sha256": "ab" * 32}, "amount_yuan": "1000.00"}
    return market.owner.post(f"/purchases/{purchase_id}/contract", body)


def _contract_task(market: Market, purchase_id: str, days_before: int) -> Any:
    """The hourly contract task's step for one purchase, an hour after a reminder's time (or the
    deadline), reporting the purchase's state as the window's tasks do."""
    from marketplace.repositories import purchases
    from marketplace.services import contracts

    deadline = market.purchase(purchase_id).get("contract_deadline")
    if deadline:
        market.clock.set(parse_iso(deadline) - timedelta(days=days_before) + timedelta(hours=1))
    contracts.check(purchases.get(purchase_id, consistent=True))
    return {"status": market.purchase(purchase_id)["status"]}


def _silence(market: Market, purchase_id: str) -> Any:
    """The silence task's step for one purchase, past its delivery's window when it has one."""
    from marketplace.services import delivery, purchase_window

    deadline = (market.purchase(purchase_id).get("performance") or {}).get("completion_deadline")
    if deadline:
        market.clock.set(parse_iso(deadline) + timedelta(seconds=1))
    return purchase_window.window_state(delivery.complete_by_silence(purchase_id))


def _delivered(market: Market) -> str:
    purchase_id, winner = contracted(market)
    delivered(market, purchase_id, winner)
    return purchase_id


def _evaluated(market: Market) -> str:
    purchase_id, _ = completed(market)
    assert market.owner.post(f"/purchases/{purchase_id}/evaluations", OWNER_RATINGS).status == 201
    return purchase_id


def _request_of(market: Market, purchase_id: str) -> dict[str, Any]:
    """The purchase's request as it stands, retitled: an amendment that changes nothing else."""
    purchase = market.purchase(purchase_id)
    keys = set(purchase_request()) | {
        "short_listing",
        "direct",
        "proposal",
        "bidding",
        "exclusions",
        "description",
    }
    return {k: purchase[k] for k in keys if k in purchase} | {"title": "改：" + purchase["title"]}


def _call_for(action: str) -> Call:
    """The call that performs `action` (conclude: the owner's confirmation, after the agency's
    acceptance)."""
    return next(c for c in CALLS if action in c.actions)


# Arranging a purchase in a state.


def _enroll(market: Market, purchase_id: str, count: int) -> None:
    for n in range(1, count + 1):
        assert market.enroll(purchase_id, agency_id(n)).status == 201


def _closed(market: Market, purchase_id: str, enrollees: int = 3) -> str:
    _enroll(market, purchase_id, enrollees)
    market.clock.set(AFTER_DEADLINE)
    _task("close_enrollment")(market, purchase_id)
    return purchase_id


def _drawn(market: Market, purchase_id: str) -> str:
    _closed(market, purchase_id)
    _task("run_selection")(market, purchase_id)
    return purchase_id


def _returned(market: Market, **changes: Any) -> str:
    purchase_id = market.draft(**changes)
    assert market.owner.post(f"/purchases/{purchase_id}/submit").body["status"] == "pending_review"
    reply = market.admin.post(f"/purchases/{purchase_id}/review", {"decision": "return", "reasons": "补正"})
    assert reply.body["status"] == "rejected", reply.body
    return purchase_id


def _amended(market: Market, purchase_id: str, **changes: Any) -> str:
    reply = market.owner.put(f"/purchases/{purchase_id}", purchase_request(**changes))
    assert reply.status == 200, reply.body
    return purchase_id


def _pending(market: Market, **changes: Any) -> str:
    purchase_id = market.draft(**changes)
    assert market.owner.post(f"/purchases/{purchase_id}/submit").body["status"] == "pending_review"
    return purchase_id


def _confirmed(market: Market, purchase_id: str) -> str:
    assert market.owner.post(f"/purchases/{purchase_id}/confirmation").status == 200
    assert _winner(market, purchase_id).post(f"/purchases/{purchase_id}/acceptance").status == 200
    return purchase_id


def _confirmed_without_letter(market: Market, monkeypatch: pytest.MonkeyPatch) -> str:
    from marketplace.services import letters

    purchase_id = _drawn(market, market.publish())
    with monkeypatch.context() as patched:
        patched.setattr(letters, "issue", _fails)
        _confirmed(market, purchase_id)
    assert market.purchase(purchase_id)["letter_id"] is None
    return purchase_id


def _fails(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("KMS unavailable")


def _suspended(market: Market, purchase_id: str) -> str:
    reply = _challenge_accepted(market, purchase_id)
    assert reply.status == 200 and market.purchase(purchase_id)["status"] == "suspended", reply.body
    return purchase_id


def _cancelled(market: Market, purchase_id: str) -> str:
    reply = market.owner.post(f"/purchases/{purchase_id}/cancellation", {"reason": "需重新论证"})
    assert reply.status == 200, reply.body
    return purchase_id


def _annulled_once(market: Market, purchase_id: str) -> str:
    """Two enrollees and no reserve: once annulled, the ranking's other candidate is selected, and
    a second annulment leaves no one."""
    reply = _challenge_accepted(market, purchase_id)
    assert reply.status == 200 and market.purchase(purchase_id)["result"]["annulled"], reply.body
    return purchase_id


def _accepted(market: Market, purchase_id: str) -> str:
    assert _winner(market, purchase_id).post(f"/purchases/{purchase_id}/acceptance").status == 200
    return purchase_id


Arrange = Callable[[Market, pytest.MonkeyPatch], str]

# The purchase each state's refusals are tried on.
IN_STATE: dict[str, Arrange] = {
    "draft": lambda m, _: m.draft(),
    "pending_review": lambda m, _: _pending(m),
    "rejected": lambda m, _: _returned(m),
    "enrollment_open": lambda m, _: m.publish(),
    "enrollment_closed": lambda m, _: _closed(m, m.publish()),
    "failed": lambda m, _: _closed(m, m.publish(), enrollees=1),
    "selecting": lambda m, _: _drawn(m, m.publish(**BEST_VALUE)),
    "selected": lambda m, _: _drawn(m, m.publish()),
    "confirmed": lambda m, _: _confirmed(m, _drawn(m, m.publish())),
    "contracted": lambda m, _: _contracted(m),
    "completed": lambda m, _: completed(m)[0],
    "evaluated": lambda m, _: _evaluated(m),
    "suspended": lambda m, _: _suspended(m, _with_enrollees(m, 1)),
    "cancelled": lambda m, _: _cancelled(m, _suspended(m, _with_enrollees(m, 1))),
    "batch_split": lambda m, _: _drawn(m, m.publish(**BATCH)),
    "scoring": lambda m, _: _scoring(m),
    "bidding": lambda m, _: _bidding(m),
}

# A row whose call needs more than the state's purchase (the data that picks the action).
FOR_ROW: dict[tuple[str, str], Arrange] = {
    ("draft", "publish"): lambda m, _: m.draft(**PRIVATE),
    ("rejected", "publish"): lambda m, _: _amended(m, _returned(m), **PRIVATE),
    ("draft", "publish_direct"): lambda m, _: m.draft(**PRIVATE, **DIRECT),
    ("rejected", "publish_direct"): lambda m, _: _amended(m, _returned(m, **DIRECT), **PRIVATE, **DIRECT),
    ("pending_review", "approve_direct"): lambda m, _: _pending(m, **DIRECT),
    ("enrollment_open", "withdraw"): lambda m, _: _with_enrollees(m, 1),
    ("enrollment_open", "close"): lambda m, _: _enrolled_three(m),
    ("enrollment_open", "close_failed"): lambda m, _: _enrolled_one(m),
    ("enrollment_closed", "short_list"): lambda m, _: _closed(m, m.publish(**BEST_VALUE)),
    ("selected", "conclude"): lambda m, _: _accepted(m, _drawn(m, m.publish())),
    ("selected", "abandon_last"): lambda m, _: _drawn(m, m.publish(reserves=0)),
    ("confirmed", "issue_letter"): _confirmed_without_letter,
    ("confirmed", "sign_contract"): lambda m, _: _with_contract(m),
    ("confirmed", "refuse_contract"): lambda m, _: _with_contract(m),
    ("contracted", "complete"): lambda m, _: _delivered(m),
    ("contracted", "dispute"): lambda m, _: _delivered(m),
    ("contracted", "complete_by_silence"): lambda m, _: _delivered(m),
    ("enrollment_open", "suspend"): lambda m, _: _with_enrollees(m, 1),
    ("suspended", "resume_closed"): lambda m, _: _suspended(m, _closed(m, m.publish())),
    ("suspended", "resume_selecting"): lambda m, _: _suspended(m, _drawn(m, m.publish(**BEST_VALUE))),
    ("suspended", "resume_bidding"): lambda m, _: _suspended(m, _bidding(m)),
    ("suspended", "resume_scoring"): lambda m, _: _suspended(m, _scoring(m)),
    ("selected", "annul_last"): lambda m, _: _annulled_once(m, _drawn_from_two(m)),
    ("enrollment_closed", "split"): lambda m, _: _closed(m, m.publish(**BATCH)),
    ("enrollment_open", "open_scoring"): lambda m, _: _with_proposals(m),
    ("enrollment_open", "quote"): lambda m, _: _enrolled_in_bidding(m),
    ("enrollment_open", "open_bidding"): lambda m, _: _bidding(m, close=False),
    ("bidding", "next_round"): lambda m, _: _bidding(m, rounds=3),
}


def _enrolled_in_bidding(market: Market) -> str:
    purchase_id = market.publish(method="price_bidding", bidding={"rounds": 1})
    _enroll(market, purchase_id, 1)
    return purchase_id


def _with_contract(market: Market) -> str:
    purchase_id = _confirmed(market, _drawn(market, market.publish()))
    assert _register_contract(market, purchase_id).status == 201
    return purchase_id


def _contracted(market: Market) -> str:
    purchase_id = _with_contract(market)
    signed = _winner(market, purchase_id).post(
        f"/purchases/{purchase_id}/contract/signature", {"decision": "accept"}
    )
    assert signed.status == 200, signed.body
    return purchase_id


def _drawn_from_two(market: Market) -> str:
    purchase_id = market.publish(reserves=0)
    _closed(market, purchase_id, enrollees=2)
    _task("run_selection")(market, purchase_id)
    return purchase_id


def _with_enrollees(market: Market, count: int) -> str:
    purchase_id = market.publish()
    _enroll(market, purchase_id, count)
    return purchase_id


def _enrolled_one(market: Market) -> str:
    purchase_id = market.publish()
    _enroll(market, purchase_id, 1)
    market.clock.set(AFTER_DEADLINE)
    return purchase_id


def _enrolled_three(market: Market) -> str:
    purchase_id = market.publish()
    _enroll(market, purchase_id, 3)
    market.clock.set(AFTER_DEADLINE)
    return purchase_id


@pytest.fixture
def market(api: Api) -> Iterator[Market]:
    yield from open_market(api)


def _status(reply: Any) -> str:
    return str(reply["status"] if isinstance(reply, dict) else reply.body["status"])


def test_every_action_of_the_purchase_table_has_a_call() -> None:
    performed = set().union(*(c.actions for c in CALLS))
    assert set(PURCHASE.actions) <= performed, set(PURCHASE.actions) - performed
    assert set(IN_STATE) == {s.value for s in PURCHASE.states}


@pytest.mark.parametrize("row", PURCHASE.rows, ids=lambda r: f"{r.source.value}-{r.action}")
def test_every_purchase_row_is_performed_and_reaches_its_target(
    market: Market, monkeypatch: pytest.MonkeyPatch, row: Transition[Any]
) -> None:
    arrange = FOR_ROW.get((row.source.value, row.action), IN_STATE[row.source.value])
    purchase_id = arrange(market, monkeypatch)
    before = market.purchase(purchase_id)
    assert before["status"] == row.source.value

    call = _call_for(row.action)
    reply = call.run(market, purchase_id)

    if not isinstance(reply, dict):
        assert reply.status in (200, 201), reply.body
    if call.creates:
        assert market.purchase(purchase_id) == before
        purchase_id = reply.body["purchase_id"]
    after = market.purchase(purchase_id)
    assert after["status"] == row.target.value
    if row.source == row.target:  # the row changes the purchase, or says a repeat changes nothing
        repeat = row.action in ("confirm", "accept") and row.source.value == "confirmed"
        repeat = repeat or row.action == "quote"  # sealed: nothing anyone sees of the purchase changes
        assert (after == before) == repeat, row
    if row.action == "reannounce":
        assert after["reannounced_as"] == reply.body["purchase_id"]
    if row.action in ("issue_letter", "shelf_purchase"):
        assert after["letter_id"]


@pytest.mark.parametrize("state", [s.value for s in PURCHASE.states])
def test_in_every_state_every_call_the_table_does_not_allow_is_refused(
    market: Market, monkeypatch: pytest.MonkeyPatch, state: str
) -> None:
    purchase_id = IN_STATE[state](market, monkeypatch)
    status = PURCHASE.states(state)
    refused = [c for c in CALLS if not c.creates and not any(PURCHASE.allows(status, a) for a in c.actions)]
    assert refused
    wrong = []
    for call in refused:
        before = market.purchase(purchase_id)
        reply = call.run(market, purchase_id)
        if call.task:
            ok = _status(reply) == state
        elif call.by_agency and state in UNPUBLISHED:
            ok = reply.status == 404  # an agency does not learn that an unpublished purchase exists
        else:
            ok = reply.status == 409 and reply.body.get("state") == state and state in reply.body["detail"]
        after = market.purchase(purchase_id)
        if not ok or after != before:
            wrong.append((call.name, reply if isinstance(reply, dict) else (reply.status, reply.body)))
    assert not wrong, wrong


# Enrollments.


def test_every_enrollment_row_is_performed_and_every_other_pair_refused(market: Market) -> None:
    assert set(ENROLLMENT.actions) == {"enroll", "withdraw", "judge"}
    purchase_id = market.publish()
    agency = market.agency(agency_id(1))
    path = f"/purchases/{purchase_id}/enrollments/{agency_id(1)}"
    for n in (1, 2, 3):
        assert market.enroll(purchase_id, agency_id(n)).status == 201

    twice = market.enroll(purchase_id, agency_id(1))  # enrolled: enroll is refused
    assert twice.status == 409 and twice.body["state"] == "enrolled" and twice.body["reason"] == "duplicate"
    assert ENROLLMENT.allows(ENROLLMENT.states("enrolled"), "withdraw")
    assert agency.delete(path).body["status"] == "withdrawn"
    again = agency.delete(path)  # withdrawn: withdraw is refused
    assert again.status == 409 and again.body["state"] == "withdrawn"
    assert ENROLLMENT.allows(ENROLLMENT.states("withdrawn"), "enroll")
    assert market.enroll(purchase_id, agency_id(1)).body["status"] == "enrolled"
    assert agency.delete(path).body["status"] == "withdrawn"

    market.clock.set(AFTER_DEADLINE)
    _task("close_enrollment")(market, purchase_id)  # judges the enrolled, never the withdrawn
    page = market.owner.get(f"/purchases/{purchase_id}/enrollments").body
    listed = {e["agency_id"]: e for e in page["items"]}
    assert listed[agency_id(1)]["status"] == "withdrawn" and listed[agency_id(1)]["eligible"] is None
    assert all(listed[agency_id(n)]["eligible"] is True for n in (2, 3))


# Agencies.

ENV = ("environment",)


def _agency_calls(api: Api) -> dict[str, Callable[[], Any]]:
    admin = api.as_role("admin")
    agency = api.as_role("agency", "AG-001")
    basis = {"reason": "检查发现问题", "basis": "《管理办法》第二十条"}
    return {
        "admit": lambda: api.as_role("regulator", "RG-ENV", industries=ENV).post(
            "/agencies/AG-001/reviews", {"submission": _open_number(api), "decision": "approve"}
        ),
        "return": lambda: admin.post(
            "/agencies/AG-001/reviews",
            {"submission": _open_number(api), "decision": "reject", "reasons": "资质证书扫描件不清晰"},
        ),
        "resubmit": lambda: agency.post("/agencies", agency_profile()),
        "change": lambda: agency.put("/agencies/AG-001", agency_profile(regions=["330100"])),
        "suspend": lambda: admin.post("/agencies/AG-001/suspension", basis),
        "expel": lambda: admin.post("/agencies/AG-001/expulsion", basis),
        "reinstate": lambda: admin.post("/agencies/AG-001/reinstatement", basis),
        "reinstate_applicant": lambda: admin.post("/agencies/AG-001/reinstatement", basis),
        "suspend_items": _daily_check_after_expiry,
        "blacklist": lambda: _finding(api),
        "lift_blacklist": lambda: _blacklist_lifted(api),
    }


def _finding(api: Api) -> Any:
    """A regulator's finding of serious dishonesty: the agency is blacklisted (its items expelled)."""
    finding = {
        "kind": "serious_dishonesty",
        "reason": "出具虚假报告",
        "basis": "《管理办法》第三十条",
        "decision_number": "浙环罚〔2026〕1号",
        "occurred_on": "2026-12-01",
    }
    return api.as_role("regulator", "RG-ENV", industries=ENV).post("/agencies/AG-001/credit/events", finding)


def _blacklist_lifted(api: Api) -> Any:
    """A blacklisted agency once its period has ended: the hourly task's report, not a reply."""
    from app import app

    assert _finding(api).status == 201
    until = str(api.call("GET", "/agencies/AG-001/credit").body["blacklisted_until"])
    scheduled = json.loads((EVENTS_DIR / "functions" / "lift_blacklists.schedule.json").read_text())
    with clock_at(datetime.fromisoformat(until.replace("Z", "+00:00")) + timedelta(hours=1)):
        return app.handler_map["lift_blacklists"](scheduled, None)


def _daily_check_after_expiry() -> Any:
    """The daily certificate check on a day the sample's certificate (valid until 2029) has
    expired: the task's report, not a reply."""
    from app import app

    scheduled = json.loads((EVENTS_DIR / "functions" / "check_certificates.schedule.json").read_text())
    with clock_at(datetime(2030, 1, 2, 1, tzinfo=UTC)):
        return app.handler_map["check_certificates"](scheduled, None)


def _open_number(api: Api) -> int:
    submissions = api.as_role("admin").get("/agencies/AG-001/submissions").body
    return int(submissions[-1]["number"])


def _agency_in(api: Api, state: str, *, applicant: bool = False) -> None:
    """AG-001 in `state`: applying, returned, admitted, suspended or expelled (`applicant`:
    expelled while applying, never admitted)."""
    assert api.as_role("admin").post("/catalogue/items", catalogue_item()).status == 201
    assert api.as_role("agency", "AG-001").post("/agencies", agency_profile()).status == 201
    calls = _agency_calls(api)
    if state == "applying" or (state == "expelled" and applicant):
        if state == "expelled":
            assert calls["expel"]().status == 200
        return
    if state == "returned":
        assert calls["return"]().status == 200
        return
    assert (
        api.as_role("admin").post("/agencies/AG-001/reviews", {"submission": 1, "decision": "approve"}).status
        == 200
    )
    assert calls["admit"]().status == 200
    if state in ("suspended", "expelled"):
        assert calls["suspend" if state == "suspended" else "expel"]().status == 200


def _agency(api: Api) -> dict[str, Any]:
    return dict(api.as_role("admin").get("/agencies/AG-001").body)


def _agency_status(api: Api) -> str:
    return str(_agency(api)["status"])


@pytest.mark.parametrize("row", AGENCY.rows, ids=lambda r: f"{r.source.value}-{r.action}")
def test_every_agency_row_is_performed_and_reaches_its_target(api: Api, row: Transition[Any]) -> None:
    if row.action == "admit":  # the last of the joint review's approvals admits
        _agency_in(api, "applying")
        assert (
            api.as_role("admin")
            .post("/agencies/AG-001/reviews", {"submission": 1, "decision": "approve"})
            .status
            == 200
        )
    else:
        _agency_in(api, row.source.value, applicant=row.action == "reinstate_applicant")
    assert _agency_status(api) == row.source.value
    reply = _agency_calls(api)[row.action]()
    if row.action == "suspend_items":  # a task: the items the expired certificate supported
        assert reply["suspended_items"] == ["AG-001/ZJ-HP-001"], reply
        assert "ZJ-HP-001" in _agency(api)["suspended_items"]
    elif row.action == "lift_blacklist":  # the hourly task, once the period is over
        assert reply["lifted"] == ["AG-001"], reply
        assert not any("黑名单" in reason for reason in _agency(api)["suspended_items"].values())
    else:
        assert reply.status in (200, 201, 202), reply.body
    assert _agency_status(api) == row.target.value


# The calls that act on the agency itself; a review acts on a submission, which exists under
# review only while its agency may take it (the submission's own state refuses the rest).
AGENCY_CALLS = ("resubmit", "change", "suspend", "expel", "reinstate", "suspend_items")


@pytest.mark.parametrize("state", [s.value for s in AGENCY.states])
def test_in_every_agency_state_every_call_the_table_does_not_allow_is_refused(api: Api, state: str) -> None:
    _agency_in(api, state)
    status = AGENCY.states(state)
    calls = _agency_calls(api)
    also = {"reinstate": "reinstate_applicant"}  # the same call, for an agency never admitted
    refused = [
        name
        for name in AGENCY_CALLS
        if not AGENCY.allows(status, name) and not AGENCY.allows(status, also.get(name, name))
    ]
    wrong = []
    for name in refused:
        before = _agency(api)
        reply = calls[name]()
        if isinstance(reply, dict):  # the daily check: it changes nothing of the agency
            ok = _agency(api) == before
        else:
            ok = reply.status == 409 and reply.body.get("state") == state and _agency(api) == before
        if not ok:
            wrong.append((name, reply))
    assert not wrong, wrong


# Submissions (an application here; a change is reviewed the same way).


def _submission_status(api: Api) -> str:
    return str(api.as_role("admin").get("/agencies/AG-001/submissions").body[-1]["status"])


def _regulator(api: Api) -> Any:
    return api.as_role("regulator", "RG-ENV", industries=ENV)


SUBMISSION_CALLS: dict[str, Callable[[Api], Any]] = {
    "review": lambda api: api.as_role("admin").post(
        "/agencies/AG-001/reviews", {"submission": 1, "decision": "approve"}
    ),
    "approve": lambda api: _regulator(api).post(
        "/agencies/AG-001/reviews", {"submission": 1, "decision": "approve"}
    ),
    "return": lambda api: _regulator(api).post(
        "/agencies/AG-001/reviews", {"submission": 1, "decision": "reject", "reasons": "业绩材料不实"}
    ),
    "close_on_expulsion": lambda api: api.as_role("admin").post(
        "/agencies/AG-001/expulsion", {"reason": "提供虚假材料", "basis": "《管理办法》第二十条"}
    ),
}


@pytest.mark.parametrize("row", SUBMISSION.rows, ids=lambda r: f"{r.source.value}-{r.action}")
def test_every_submission_row_is_performed_and_reaches_its_target(api: Api, row: Transition[Any]) -> None:
    _agency_in(api, "applying")
    if row.action == "approve":  # the last approval: the admin's comes first
        assert SUBMISSION_CALLS["review"](api).status == 200
    assert _submission_status(api) == row.source.value
    reply = SUBMISSION_CALLS[row.action](api)
    assert reply.status == 200, reply.body
    assert _submission_status(api) == row.target.value


@pytest.mark.parametrize("state", ["approved", "returned"])
def test_a_closed_submission_refuses_every_review(api: Api, state: str) -> None:
    assert not SUBMISSION.allowed_from(SUBMISSION.states(state))  # closed: final
    _agency_in(api, "admitted" if state == "approved" else "returned")
    assert _submission_status(api) == state
    for review in ("review", "approve", "return"):
        reply = SUBMISSION_CALLS[review](api)
        assert reply.status == 409 and reply.body["state"] == state, reply.body
    assert _submission_status(api) == state
