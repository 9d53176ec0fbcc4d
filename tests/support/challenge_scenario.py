"""The challenge operations of the shared scenario (tests/support/scenario.py): filing, the answer
that suspends a purchase, resumption, cancellation, a complaint upheld on a result (the annulment
and its credit event) and the sweeper escalating an unanswered challenge. Runs after the purchase
steps, which admit the agencies AG-P1..3 for `item`; its own clock, restored at the end."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from marketplace.clock import FixedClock, get_clock, use_clock
from tests.conftest import Api
from tests.support.market import AFTER_DEADLINE, OPENS, purchase_request
from tests.support.purchase_scenario import EVENTS_DIR

Step = tuple[str, Callable[[], Any]]
AGENCIES = ["AG-P1", "AG-P2", "AG-P3"]


def challenge_steps(api: Api, owner_id: str, item: str) -> list[Step]:
    from app import app

    owner = api.as_role("owner", owner_id)
    regulator = api.as_role("regulator", "RG-ENV", industries=("environment",))
    clock = FixedClock(OPENS)
    previous: list[Any] = []
    ids: dict[str, str] = {}
    body = {"subject": "announcement", "grounds": ["资格条件超出事项要求"], "reasons": "排斥潜在机构"}
    answer = {"answer": "经复核，答复如下。"}

    def agency(name: str) -> Any:
        return api.as_role("agency", name)

    def start() -> Any:
        previous.append(get_clock())
        use_clock(clock)
        return draft("open")

    def draft(key: str) -> Any:
        reply = owner.post("/purchases", purchase_request(item_code=item, funding_type="private"))
        ids[key] = reply.body["purchase_id"]
        return reply

    def path(key: str, tail: str = "") -> str:
        return f"/purchases/{ids[key]}{tail}"

    def file(
        key: str, who: str, label: str, subject: str = "announcement", headers: Any = None
    ) -> Callable[[], Any]:
        def step() -> Any:
            reply = agency(who).post(
                path(key, "/challenges"), {**body, "subject": subject}, headers=headers or {}
            )
            ids[label] = reply.body["challenge_id"]
            return reply

        return step

    def challenger() -> str:
        selected = owner.get(path("result")).body["result"]["selected_agency"]
        return next(a for a in AGENCIES if a != selected)

    def file_result(label: str) -> Callable[[], Any]:
        def step() -> Any:
            ids["challenger"] = challenger()  # read beforehand: a step's calls are its operation's own
            return file("result", ids["challenger"], label, subject="result")()

        return step

    def task(name: str) -> Callable[[], Any]:
        def step() -> Any:
            clock.set(AFTER_DEADLINE)
            return app.handler_map[name]({"purchase_id": ids["result"]}, None)

        return step

    def sweep() -> Any:
        clock.set(AFTER_DEADLINE + timedelta(days=20))
        try:
            event = json.loads((EVENTS_DIR / "functions" / "sweep_challenges.schedule.json").read_text())
            report = app.handler_map["sweep_challenges"](event, None)
            assert report["escalated"] == [ids["unanswered"]], report
            return report
        finally:
            use_clock(previous[0])

    def challenge(label: str, tail: str) -> str:
        return f"/challenges/{ids[label]}{tail}"

    return [
        ("draft_purchase", start),
        ("submit_purchase", lambda: owner.post(path("open", "/submit"))),  # private: published
        ("enroll", lambda: agency("AG-P1").post(path("open", "/enrollments"))),
        ("enroll", lambda: agency("AG-P2").post(path("open", "/enrollments"))),
        ("file_challenge", file("open", "AG-P1", "first", headers={"idempotency-key": "c-1"})),
        ("list_challenges", lambda: api.call("GET", path("open", "/challenges"))),
        (
            "answer_challenge",
            lambda: owner.post(challenge("first", "/answer"), {"decision": "accept", **answer}),
        ),
        ("resume_purchase", lambda: owner.post(path("open", "/resumption"), {"note": "已修正"})),
        ("file_challenge", file("open", "AG-P2", "second")),
        (
            "answer_challenge",
            lambda: owner.post(challenge("second", "/answer"), {"decision": "accept", **answer}),
        ),
        ("cancel_purchase", lambda: owner.post(path("open", "/cancellation"), {"reason": "需重新论证"})),
        ("draft_purchase", lambda: draft("result")),
        ("submit_purchase", lambda: owner.post(path("result", "/submit"))),
        *[("enroll", lambda a=a: agency(a).post(path("result", "/enrollments"))) for a in AGENCIES],
        ("close_enrollment", task("close_enrollment")),
        ("run_selection", task("run_selection")),
        ("file_challenge", file_result("complained")),
        (
            "answer_challenge",
            lambda: owner.post(challenge("complained", "/answer"), {"decision": "reject", **answer}),
        ),
        (
            "file_complaint",
            lambda: agency(ids["challenger"]).post(
                challenge("complained", "/complaint"), {"reasons": "答复不成立"}
            ),
        ),
        ("list_complaints", lambda: regulator.get("/complaints")),
        (
            "decide_complaint",
            lambda: regulator.post(
                challenge("complained", "/decision"),
                {"decision": "uphold", "reasons": "提供虚假材料", "against_agency": True},
            ),
        ),
        ("file_challenge", file_result("unanswered")),
        ("sweep_challenges", sweep),
    ]
