"""Step Functions state transitions of one purchase, as AWS bills them (Standard workflows: every
state entered is a transition, and so is every retry of a task).

The local stack (`python -m infra.local`) runs in a subprocess of its own process group, as the e2e
suite starts it, with `RULE_ENROLLMENT_MIN_WORKING_DAYS=0` so that a purchase's enrollment window can
last seconds, and no time scale (the scheduled sweeper must not do the window's work meanwhile).
One purchase goes through it over HTTP: three agencies admitted through the API, a privately funded
purchase (published on submission) closing a few seconds ahead, three enrollments; the real state
machine on moto closes and draws and waits for the confirmation deadline, days away; the owner
confirms and the selected agency accepts, which stops the execution (nothing is left for it to time).
Its history is the measured part. Should it still be running (the stop failed), the states it would
still enter are read from the ASL by following the path a confirmed purchase takes from that wait
(the CheckConfirmation task answers `status: confirmed`).
"""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.e2e.conftest import StackProcess

ROOT = Path(__file__).resolve().parent.parent
STATE_MACHINE = "marketplace-local-purchase-window"
ASL = ROOT / "statemachines" / "purchase-window.asl.json"
WAITING_AT = "WaitForConfirmationDeadline"
# What CheckConfirmation returns for a purchase both parties confirmed (purchase_window.window_state).
CONFIRMED_WINDOW = {"status": "confirmed", "escalated": False}
WINDOW_SECONDS = 6  # the enrollment deadline, this far ahead of the draft
AGENCIES = 3


class Http:
    def __init__(self, api: str, token: str | None = None) -> None:
        self.api = api
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        import requests

        reply = requests.request(method, self.api + path, json=body, headers=self.headers, timeout=30)
        if reply.status_code != expect:
            raise RuntimeError(f"{method} {path}: {reply.status_code} {reply.text[:500]}")
        return reply.json() if reply.content else None


def _run_purchase(stack: StackProcess, drawn: Callable[[str], Any]) -> tuple[str, float]:
    """One purchase through the API, to the point where both parties have confirmed. Returns the
    purchase id and the seconds from submission until the draw was visible."""
    from marketplace.domain.purchases import stamp
    from tests.support.market import purchase_request
    from tests.support.samples import agency_profile, catalogue_item, owner_profile, unique_credit_code

    run = uuid.uuid4().hex[:8].upper()
    item, owner_id = f"BENCH-{run}", f"BENCH-OW-{run}"
    admin = Http(stack.api, stack.token("admin"))
    regulator = Http(stack.api, stack.token("regulator", "RG-ENV", industries=("environment",)))
    owner = Http(stack.api, stack.token("owner", owner_id))
    public = Http(stack.api)
    admin.call("POST", "/catalogue/items", catalogue_item(item), expect=201)
    owner.call("POST", "/owners", owner_profile(unique_credit_code("11330100")[:16]), expect=201)
    agencies = [f"BENCH-AG-{run}-{n}" for n in range(1, AGENCIES + 1)]
    for n, agency in enumerate(agencies, start=1):
        profile = agency_profile()
        profile["legal_entity"]["credit_code"] = unique_credit_code("91330106")
        profile["legal_entity"]["name"] = f"浙江基准环境咨询有限公司{n}"
        profile["offerings"][0]["item_code"] = item
        Http(stack.api, stack.token("agency", agency)).call("POST", "/agencies", profile, expect=201)
        for reviewer in (admin, regulator):
            reviewer.call("POST", f"/agencies/{agency}/reviews", {"submission": 1, "decision": "approve"})

    deadline = stamp(datetime.now(UTC) + timedelta(seconds=WINDOW_SECONDS))
    body = purchase_request(
        project_code=f"2026-330106-{run}",
        item_code=item,
        funding_type="private",
        amount_yuan="98000.00",
        enrollment_deadline=deadline,
        selection_time=deadline,
    )
    purchase_id = str(owner.call("POST", "/purchases", body, expect=201)["purchase_id"])
    submitted = owner.call("POST", f"/purchases/{purchase_id}/submit")
    if submitted["status"] != "enrollment_open":
        raise RuntimeError(f"a private purchase should publish on submission, not {submitted['status']}")
    started = time.monotonic()
    for agency in agencies:
        Http(stack.api, stack.token("agency", agency)).call(
            "POST", f"/purchases/{purchase_id}/enrollments", expect=201
        )
    page = _until(
        lambda: (p := public.call("GET", f"/purchases/{purchase_id}"))["status"] == "selected" and p,
        WINDOW_SECONDS + 90,
        "the state machine to close the window and draw",
    )
    drawn_after = time.monotonic() - started
    drawn(purchase_id)
    owner.call("POST", f"/purchases/{purchase_id}/confirmation")
    winner = page["result"]["selected_agency"]
    Http(stack.api, stack.token("agency", winner)).call("POST", f"/purchases/{purchase_id}/acceptance")
    status = public.call("GET", f"/purchases/{purchase_id}")["status"]
    if status != "confirmed":
        raise RuntimeError(f"after confirmation and acceptance the purchase is {status}, not confirmed")
    return purchase_id, drawn_after


def _until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise TimeoutError(f"timed out waiting for {what}")


def _execution(moto: str, purchase_id: str) -> tuple[Any, str]:
    import boto3

    sfn = boto3.client(
        "stepfunctions",
        endpoint_url=moto,
        region_name="cn-north-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    machines = sfn.list_state_machines()["stateMachines"]
    arn = next(m["stateMachineArn"] for m in machines if m["name"] == STATE_MACHINE)
    return sfn, arn.replace(":stateMachine:", ":execution:") + ":" + purchase_id


def _history(moto: str, purchase_id: str) -> list[dict[str, Any]]:
    """The execution's history once it waits for the confirmation deadline."""
    sfn, execution = _execution(moto, purchase_id)

    def read() -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": execution, "maxResults": 1000}
        while True:
            page = sfn.get_execution_history(**kwargs)
            events += page["events"]
            if not page.get("nextToken"):
                return events
            kwargs["nextToken"] = page["nextToken"]

    def waiting() -> list[dict[str, Any]] | None:
        events = read()
        entered = [e.get("stateEnteredEventDetails", {}).get("name") for e in events]
        return events if WAITING_AT in entered else None

    found: list[dict[str, Any]] = _until(waiting, 30, f"the execution to reach {WAITING_AT}")
    return found


def _status(moto: str, purchase_id: str) -> str:
    """The execution's status after the confirmation: ABORTED once stopped (given 15 s to show)."""
    sfn, execution = _execution(moto, purchase_id)
    try:
        return str(
            _until(
                lambda: (
                    (d := sfn.describe_execution(executionArn=execution))["status"] != "RUNNING"
                    and d["status"]
                ),
                15,
                "the execution to stop",
            )
        )
    except TimeoutError:
        return "RUNNING"


def remaining_path(asl: dict[str, Any], after: str, window: dict[str, Any]) -> list[str]:
    """The states entered after `after` (a Wait) until the execution ends, when every task answers
    `window` (its ResultPath is `$.window`). Only the ASL constructs the file uses are understood."""
    states = asl["States"]
    path: list[str] = []
    name: str | None = states[after]["Next"]
    data = {"window": window}
    while name is not None:
        if len(path) > 50:
            raise RuntimeError("the remaining path does not end")
        path.append(name)
        state = states[name]
        if state["Type"] in ("Succeed", "Fail") or state.get("End"):
            return path
        if state["Type"] == "Choice":
            name = next((c["Next"] for c in state["Choices"] if _matches(c, data)), state.get("Default"))
        else:
            name = state["Next"]
    return path


BIDDING_ROUNDS = 3


def bidding_answers(rounds: int = BIDDING_ROUNDS) -> list[tuple[str, dict[str, Any]]]:
    """What each task of a price-bidding purchase's window answers (purchase_window.window_state),
    in order: closing opens round two, each further round's closing opens the next until the last
    leaves the purchase closed; the draw selects; the parties confirm before the deadline."""
    later = "2026-12-04T09:10:01Z"
    answers = [("CloseEnrollment", {"status": "bidding", "round_closes_at": later, "escalated": False})]
    for number in range(2, rounds + 1):
        status = "bidding" if number < rounds else "enrollment_closed"
        answers.append(("CloseRound", {"status": status, "round_closes_at": later, "escalated": False}))
    answers += [
        ("RunSelection", {"status": "selected", "escalated": False}),
        ("CheckConfirmation", CONFIRMED_WINDOW),
    ]
    return answers


def walk(asl: dict[str, Any], answers: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Every state entered from StartAt to the end, each Task answering the next of `answers` (its
    name must match). Only the ASL constructs the file uses are understood."""
    states = asl["States"]
    pending = list(answers)
    path: list[str] = []
    name: str | None = asl["StartAt"]
    data: dict[str, Any] = {"window": {}}
    while name is not None:
        if len(path) > 100:
            raise RuntimeError("the path does not end")
        path.append(name)
        state = states[name]
        if state["Type"] in ("Succeed", "Fail") or state.get("End"):
            break
        if state["Type"] == "Task":
            expected, window = pending.pop(0)
            if expected != name:
                raise RuntimeError(f"expected the task {expected}, the machine entered {name}")
            data = {"window": window}
        if state["Type"] == "Choice":
            name = next((c["Next"] for c in state["Choices"] if _matches(c, data)), state.get("Default"))
        else:
            name = state["Next"]
    if pending:
        raise RuntimeError(f"tasks never entered: {[n for n, _ in pending]}")
    return path


def bidding() -> dict[str, Any]:
    """The state transitions of a price-bidding purchase with BIDDING_ROUNDS rounds, from the ASL."""
    asl = json.loads(ASL.read_text(encoding="utf-8"))
    path = walk(asl, bidding_answers())
    return {"rounds": BIDDING_ROUNDS, "states": path, "transitions": len(path)}


def _matches(rule: dict[str, Any], data: dict[str, Any]) -> bool:
    if "And" in rule:
        return all(_matches(r, data) for r in rule["And"])
    if "Or" in rule:
        return any(_matches(r, data) for r in rule["Or"])
    if "Not" in rule:
        return not _matches(rule["Not"], data)
    value: Any = data
    for part in rule["Variable"].removeprefix("$.").split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if "StringEquals" in rule:
        return bool(value == rule["StringEquals"])
    if "BooleanEquals" in rule:
        return bool(value is rule["BooleanEquals"])
    raise ValueError(f"comparison not understood: {sorted(rule)}")


def count(events: list[dict[str, Any]]) -> dict[str, Any]:
    """States entered (by name, in order) and task retries, from an execution history."""
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]
    scheduled = Counter(e["type"] for e in events if e["type"].endswith("Scheduled"))
    tasks_entered = sum(1 for e in events if e["type"] == "TaskStateEntered")
    return {
        "entered": entered,
        "retries": max(sum(scheduled.values()) - tasks_entered, 0),
        "event_types": dict(sorted(Counter(e["type"] for e in events).items())),
    }


def measure() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-stack-") as directory:
        # The e2e suite's stack (RULE_ENROLLMENT_MIN_WORKING_DAYS=0), at real time: a scaled
        # sweeper would do the window's work meanwhile.
        stack = StackProcess.start(Path(directory), "--time-scale", "1")
        try:
            purchase_id, drawn_after = _run_purchase(stack, lambda p: _history(stack.moto, p))
            status = _status(stack.moto, purchase_id)
            events = _history(stack.moto, purchase_id)
        finally:
            stack.stop()
    measured = count(events)
    asl = json.loads(ASL.read_text(encoding="utf-8"))
    remaining = [] if status == "ABORTED" else remaining_path(asl, WAITING_AT, CONFIRMED_WINDOW)
    entered = len(measured["entered"])
    return {
        "purchase_id": purchase_id,
        "execution_status": status,
        "window_seconds": WINDOW_SECONDS,
        "drawn_after_seconds": round(drawn_after, 1),
        "measured_states": measured["entered"],
        "measured_transitions": entered,
        "remaining_states": remaining,
        "total_transitions": entered + len(remaining),
        # Task retries are billed transitions too; locally CloseEnrollment retries once because moto
        # ends a timestamp Wait up to a second early (it truncates the seconds to wait).
        "local_retries": measured["retries"],
        "local_total_with_retries": entered + measured["retries"] + len(remaining),
        "history_event_types": measured["event_types"],
    }


if __name__ == "__main__":
    print(json.dumps(measure(), indent=1))
