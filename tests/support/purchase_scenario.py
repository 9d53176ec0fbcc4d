"""The purchase operations of the shared scenario (tests/support/scenario.py): every route and task
of a purchase's life, each called once at least, in an order where each succeeds. The clock is
fixed in the scenario's own week and moved past each deadline as the window would."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from marketplace.clock import FixedClock, get_clock, parse_iso, use_clock
from marketplace.repositories.base import reset_connections
from marketplace.repositories.tables import ALL_MODELS
from tests.conftest import Api
from tests.support.contract_scenario import contract_steps
from tests.support.market import AFTER_DEADLINE, OPENS, admit, purchase_request

AFTER_ROUND = AFTER_DEADLINE + timedelta(minutes=11)  # round two (RULE_BIDDING_ROUND_MINUTES=10) closed

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
Step = tuple[str, Callable[[], Any]]


def purchase_steps(api: Api, owner_id: str, item: str, ids: dict[str, str] | None = None) -> list[Step]:
    """`owner_id` must be registered and `item` active by the time these steps run. `ids` receives
    the purchases' ids as they are drafted (`random` ends confirmed), for the steps that follow."""
    from app import app

    admin, owner = api.as_role("admin"), api.as_role("owner", owner_id)
    agencies = ["AG-P1", "AG-P2", "AG-P3"]
    ids = {} if ids is None else ids
    once = {"idempotency-key": "enroll-1"}  # one enrollment with a key: its grants are checked too
    admit(agencies, item=item)  # admission has its own steps: these are written straight to the table
    reset_connections(ALL_MODELS)  # the steps' calls go through clients created (and watched) later
    clock = FixedClock(OPENS)
    previous = get_clock()

    def agency(n: int) -> Any:
        return api.as_role("agency", agencies[n])

    def task(name: str, key: str) -> Callable[[], Any]:
        return lambda: app.handler_map[name]({"purchase_id": ids[key]}, None)

    def sweep() -> Any:
        event = json.loads((EVENTS_DIR / "functions" / "sweep_purchases.schedule.json").read_text())
        return app.handler_map["sweep_purchases"](event, None)

    def start() -> Any:
        use_clock(clock)
        return draft("random", headers={"idempotency-key": "k-p1"})

    def draft(key: str, headers: Any = None, **changes: Any) -> Any:
        reply = owner.post("/purchases", purchase_request(item_code=item, **changes), headers=headers or {})
        ids[key] = reply.body["purchase_id"]
        return reply

    def at(moment: Any, call: Callable[[], Any]) -> Callable[[], Any]:
        def step() -> Any:
            clock.set(moment() if callable(moment) else moment)
            return call()

        return step

    def winner(key: str) -> Any:
        return api.as_role("agency", owner.get(f"/purchases/{ids[key]}").body["result"]["selected_agency"])

    def after_confirmation_deadline(key: str) -> Any:
        deadline = owner.get(f"/purchases/{ids[key]}").body["result"]["confirmation_deadline"]
        return parse_iso(deadline) + timedelta(seconds=1)

    def finish(call: Callable[[], Any]) -> Callable[[], Any]:
        def step() -> Any:
            try:
                return call()
            finally:
                use_clock(previous)

        return step

    def quote(n: int, key: str, amount: str, headers: Any = None) -> Any:
        reply = agency(n).post(path(ids[key]) + "/quotes", {"amount_yuan": amount}, headers=headers or {})
        assert reply.status in (200, 201), reply.body
        return reply

    bidding = {"method": "price_bidding", "bidding": {"rounds": 2, "floor_yuan": "90000.00"}}
    dates = {"enrollment_deadline": "2026-12-09T09:00:00Z", "selection_time": "2026-12-09T09:00:00Z"}
    best_value = {"method": "credit_best_value", "short_listing": {"long_list": 3, "short_list": 2}}
    proposals = {"method": "proposal_best_value", "proposal": {"criteria": [{"name": "方案", "weight": 100}]}}

    def proposal(n: int) -> dict[str, Any]:
        return {"file_ref": f"proposals/{n}.pdf", "sha256": f"{n:02x}" * 32}

    def grade(points: int) -> dict[str, Any]:
        return {"scores": {"方案": str(points)}}

    joint_terms = {"allowed": True, "max_members": 2}
    joint = {"consortium": {"members": [{"agency_id": "AG-P2", "part": "现场监测"}], "lead_part": "报告编制"}}
    accept = {"decision": "accept"}
    path = "/purchases/{}".format
    return [
        ("draft_purchase", start),
        (
            "amend_purchase",
            lambda: owner.put(path(ids["random"]), purchase_request(item_code=item, title="改")),
        ),
        ("submit_purchase", lambda: owner.post(path(ids["random"]) + "/submit")),  # fiscal: to review
        ("review_purchase", lambda: admin.post(path(ids["random"]) + "/review", {"decision": "approve"})),
        ("list_purchases", lambda: api.call("GET", "/purchases")),
        ("list_purchases", lambda: api.call("GET", "/purchases?status=enrollment_open&region=330100")),
        (
            "list_purchases",
            lambda: api.call("GET", f"/purchases?item_code={item}&published_from=2026-12-01T00:00:00Z"),
        ),
        ("list_owner_purchases", lambda: owner.get(f"/owners/{owner_id}/purchases")),
        ("get_purchase", lambda: api.call("GET", path(ids["random"]))),
        ("enroll", lambda: agency(0).post(path(ids["random"]) + "/enrollments", headers=once)),
        ("enroll", lambda: agency(1).post(path(ids["random"]) + "/enrollments")),
        ("enroll", lambda: agency(2).post(path(ids["random"]) + "/enrollments")),
        ("withdraw_enrollment", lambda: agency(2).delete(path(ids["random"]) + "/enrollments/AG-P3")),
        ("enroll", lambda: agency(2).post(path(ids["random"]) + "/enrollments")),
        ("get_enrollment", lambda: agency(0).get(path(ids["random"]) + "/enrollments/AG-P1")),
        ("list_my_enrollments", lambda: agency(0).get("/me/enrollments")),
        ("draft_purchase", lambda: draft("best", funding_type="private", **best_value)),
        ("submit_purchase", lambda: owner.post(path(ids["best"]) + "/submit")),  # private: published
        ("enroll", lambda: agency(0).post(path(ids["best"]) + "/enrollments")),
        ("enroll", lambda: agency(1).post(path(ids["best"]) + "/enrollments")),
        ("enroll", lambda: agency(2).post(path(ids["best"]) + "/enrollments")),
        ("draft_purchase", lambda: draft("lonely", funding_type="private")),
        ("submit_purchase", lambda: owner.post(path(ids["lonely"]) + "/submit")),
        ("enroll", lambda: agency(0).post(path(ids["lonely"]) + "/enrollments")),
        ("draft_purchase", lambda: draft("swept", funding_type="private")),
        ("submit_purchase", lambda: owner.post(path(ids["swept"]) + "/submit")),
        ("enroll", lambda: agency(0).post(path(ids["swept"]) + "/enrollments")),
        ("enroll", lambda: agency(1).post(path(ids["swept"]) + "/enrollments")),
        # Proposal best-value: sealed proposals (one with a key), opened at closing, the owner's scores.
        ("draft_purchase", lambda: draft("proposals", funding_type="private", **proposals)),
        ("submit_purchase", lambda: owner.post(path(ids["proposals"]) + "/submit")),
        ("enroll", lambda: agency(0).post(path(ids["proposals"]) + "/enrollments")),
        ("enroll", lambda: agency(1).post(path(ids["proposals"]) + "/enrollments")),
        (
            "submit_proposal",
            lambda: agency(0).post(path(ids["proposals"]) + "/proposals", proposal(1), headers=once),
        ),
        ("submit_proposal", lambda: agency(1).post(path(ids["proposals"]) + "/proposals", proposal(2))),
        # Consortium mode (docs/consortium.md): AG-P1 leads with AG-P2, withdraws (releasing it),
        # enrolls again; AG-P2 answers; the sweeper closes and draws it.
        ("draft_purchase", lambda: draft("joint", funding_type="private", consortium=joint_terms)),
        ("submit_purchase", lambda: owner.post(path(ids["joint"]) + "/submit")),
        ("enroll", lambda: agency(0).post(path(ids["joint"]) + "/enrollments", joint)),
        ("withdraw_enrollment", lambda: agency(0).delete(path(ids["joint"]) + "/enrollments/AG-P1")),
        ("enroll", lambda: agency(0).post(path(ids["joint"]) + "/enrollments", joint)),
        ("get_membership", lambda: agency(1).get(path(ids["joint"]) + "/enrollments/AG-P1/membership")),
        (
            "answer_membership",
            lambda: agency(1).post(path(ids["joint"]) + "/enrollments/AG-P1/membership", accept),
        ),
        ("get_enrollment", lambda: agency(0).get(path(ids["joint"]) + "/enrollments/AG-P1")),
        ("enroll", lambda: agency(2).post(path(ids["joint"]) + "/enrollments")),
        # Price bidding, two rounds: sealed quotes in round one, a lower one in round two.
        ("draft_purchase", lambda: draft("bid", funding_type="private", **bidding)),
        ("submit_purchase", lambda: owner.post(path(ids["bid"]) + "/submit")),
        ("enroll", lambda: agency(0).post(path(ids["bid"]) + "/enrollments")),
        ("enroll", lambda: agency(1).post(path(ids["bid"]) + "/enrollments")),
        ("submit_quote", lambda: quote(0, "bid", "150000.00", headers={"idempotency-key": "q-1"})),
        ("submit_quote", lambda: quote(1, "bid", "160000.00")),
        ("list_quotes", lambda: agency(0).get(path(ids["bid"]) + "/quotes")),
        ("list_rounds", lambda: api.call("GET", path(ids["bid"]) + "/rounds")),
        ("close_enrollment", at(AFTER_DEADLINE, task("close_enrollment", "bid"))),
        ("submit_quote", lambda: quote(1, "bid", "140000.00")),
        ("close_round", at(AFTER_ROUND, task("close_round", "bid"))),
        ("run_selection", task("run_selection", "bid")),
        ("list_quotes", lambda: api.call("GET", path(ids["bid"]) + "/quotes")),
        ("close_enrollment", at(AFTER_DEADLINE, task("close_enrollment", "random"))),
        ("run_selection", task("run_selection", "random")),
        ("list_enrollments", lambda: owner.get(path(ids["random"]) + "/enrollments")),
        ("get_draw_proof", lambda: api.call("GET", path(ids["random"]) + "/draw")),
        ("confirm_result", lambda: owner.post(path(ids["random"]) + "/confirmation")),
        ("accept_result", lambda: winner("random").post(path(ids["random"]) + "/acceptance")),
        ("close_enrollment", task("close_enrollment", "best")),
        ("run_selection", task("run_selection", "best")),  # credit best-value: reads the scores
        (
            "pick_agency",
            lambda: owner.post(
                path(ids["best"]) + "/pick",
                {"agency_id": owner.get(path(ids["best"])).body["result"]["short_list"][0]},
            ),
        ),
        (
            "abandon_result",
            lambda: winner("best").post(path(ids["best"]) + "/abandonment", {"reason": "人员变动"}),
        ),
        ("close_enrollment", task("close_enrollment", "lonely")),  # one enrollee: it fails
        ("close_enrollment", task("close_enrollment", "proposals")),  # opens the sealed proposals
        ("list_scores", lambda: owner.get(path(ids["proposals"]) + "/scores")),
        (
            "score_proposal",
            lambda: owner.post(path(ids["proposals"]) + "/proposals/AG-P1/scores", grade(40), headers=once),
        ),
        ("score_proposal", lambda: owner.post(path(ids["proposals"]) + "/proposals/AG-P2/scores", grade(60))),
        (
            "list_scores",
            lambda: api.call("GET", path(ids["proposals"]) + "/scores"),
        ),  # public after the result
        (
            "reannounce_purchase",
            lambda: owner.post(
                path(ids["lonely"]) + "/reannouncement", dates, headers={"idempotency-key": "k-p2"}
            ),
        ),
        ("sweep_purchases", sweep),  # closes and draws the purchase no execution handled
        (
            "flag_purchase",
            lambda: app.handler_map["flag_purchase"](
                {"purchase_id": ids["best"], "error": {"Error": "X"}}, None
            ),
        ),
        *contract_steps(api, owner_id, item, ids, clock),
        (
            "check_confirmation",
            finish(at(lambda: after_confirmation_deadline("best"), task("check_confirmation", "best"))),
        ),
    ]
