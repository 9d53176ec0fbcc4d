"""Random inspections (双随机、一公开, docs/inspections.md) on moto: who may plan and record, bad input
changes nothing, the commitment is public before the seed, the draw recomputes, the draw task and
results race safely, a credit penalty lands in the ledger, and the lists are Queries."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from marketplace.clock import FixedClock
from marketplace.domain import draw
from tests.conftest import Api
from tests.support.market import admit, agency_id, clock_at
from tests.support.samples import catalogue_item, sqs_record

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
DRAW_AT = "2026-12-07T03:00:00Z"
AFTER_DRAW = datetime(2026, 12, 7, 3, 0, 30, tzinfo=UTC)
STAFF = ["ZJ-ENV-0001", "ZJ-ENV-0002", "ZJ-ENV-0003", "ZJ-ENV-0004", "ZJ-ENV-0005", "ZJ-ENV-0006"]
EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


class Inspections:
    def __init__(self, api: Api, clock: FixedClock) -> None:
        self.api, self.clock = api, clock
        self.regulator = api.as_role("regulator", "REG-ENV-1", industries=("environment",))
        self.other = api.as_role("regulator", "REG-SAFE-1", industries=("work_safety",))

    def plan(self, **changes: Any) -> dict[str, Any]:
        body = {
            "industry": "environment",
            "title": "2026年第四季度环评机构双随机抽查",
            "basis": "《建设项目环境影响评价技术服务机构监督管理办法》第二十八条",
            "agencies": 3,
            "inspectors": 4,
            "draw_at": DRAW_AT,
        }
        body.update(changes)
        return body

    def create(self, **changes: Any) -> dict[str, Any]:
        reply = self.regulator.post("/inspections", self.plan(**changes))
        assert reply.status == 201, reply.body
        return dict(reply.body)

    def run_draws(self) -> dict[str, Any]:
        from app import app

        event = json.loads((EVENTS_DIR / "functions" / "draw_inspections.schedule.json").read_text())
        return dict(app.handler_map["draw_inspections"](event, None))

    def drawn(self) -> dict[str, Any]:
        self.clock.set(NOW)
        inspection = self.create()
        self.clock.set(AFTER_DRAW)
        assert self.run_draws()["drawn"] == [inspection["inspection_id"]]
        return dict(self.api.call("GET", f"/inspections/{inspection['inspection_id']}").body)


@pytest.fixture
def inspections(api: Api) -> Iterator[Inspections]:
    with clock_at(NOW) as clock:
        admin = api.as_role("admin")
        assert admin.post("/catalogue/items", catalogue_item()).status == 201
        admit([agency_id(n) for n in range(1, 7)])
        admit([agency_id(9)], status="suspended")  # not a candidate
        world = Inspections(api, clock)
        assert world.regulator.put("/inspections/inspectors", {"inspectors": STAFF}).status == 200
        yield world


def _outbox_and_rows() -> tuple[int, int]:
    from marketplace.repositories.tables import OutboxRow, PurchaseRow

    return len(list(PurchaseRow.scan())), len(list(OutboxRow.scan()))


def test_a_plan_freezes_the_candidates_and_publishes_the_commitment_before_the_seed(
    inspections: Inspections, published_events
) -> None:
    plan = inspections.create()
    assert plan["status"] == "planned"
    assert plan["agency_candidates"] == [agency_id(n) for n in range(1, 7)]  # the suspended one is not
    assert plan["agency_digest"] == draw.candidates_digest(plan["agency_candidates"])
    assert plan["inspector_candidates"] == STAFF
    public = inspections.api.call("GET", f"/inspections/{plan['inspection_id']}").body
    assert public["commitment"] == plan["commitment"] and "seed" not in json.dumps(public)
    assert inspections.api.call("GET", f"/inspections/{plan['inspection_id']}/draw").status == 404
    planned = [e for e in published_events.received() if e["detail-type"] == "InspectionPlanned"]
    assert planned[0]["detail"]["data"]["commitment"] == plan["commitment"]

    inspections.clock.set(AFTER_DRAW)
    inspections.run_draws()
    proof = inspections.api.call("GET", f"/inspections/{plan['inspection_id']}/draw").body
    assert draw.commitment(bytes.fromhex(proof["seed"])) == plan["commitment"]


def test_the_draw_is_recomputed_by_verify_draw_and_assigns_two_inspectors_per_agency(
    inspections: Inspections, tmp_path: Path, capsys
) -> None:
    from marketplace import verify_draw

    inspection = inspections.drawn()
    assert inspection["status"] == "drawn"
    assert len(inspection["drawn_agencies"]) == 3 and len(inspection["team"]) == 4
    assert all(len(a["inspectors"]) == 2 == len(set(a["inspectors"])) for a in inspection["assignment"])
    proof = inspections.api.call("GET", f"/inspections/{inspection['inspection_id']}/draw").body
    assert proof["agencies"]["purchase_id"] == f"{inspection['inspection_id']}:agencies"
    assert proof["agencies"]["winners"] == inspection["drawn_agencies"]
    path, plan = tmp_path / "proof.json", tmp_path / "plan.json"
    path.write_text(json.dumps(proof))
    plan.write_text(json.dumps(inspection))
    assert verify_draw.main([str(path), str(plan)]) == 0
    assert capsys.readouterr().out.startswith("valid: hmac-sha256-rank/v1 inspection draw of")
    assert verify_draw.main([str(path)]) == 2  # an inspection's proof is checked against its plan
    assert "give the plan" in capsys.readouterr().err
    proof["assignment"][0]["inspectors"].reverse()
    path.write_text(json.dumps(proof))
    assert verify_draw.main([str(path), str(plan)]) == 1


def test_a_proof_redrawn_with_another_seed_fewer_winners_or_other_candidates_is_invalid_against_the_plan(
    inspections: Inspections, tmp_path: Path, capsys, monkeypatch
) -> None:
    # Each forged proof is consistent with itself; only the plan published before the draw
    # (GET /inspections/{id}: commitment, frozen candidates, numbers) tells it apart.
    from marketplace import verify_draw
    from marketplace.domain import inspection_draw

    inspection = inspections.drawn()
    inspection_id = inspection["inspection_id"]
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(inspection))
    numbers = {"agencies": 3, "inspectors": 4, "per_agency": 2}
    lists = {
        "agency_candidates": inspection["agency_candidates"],
        "inspector_candidates": inspection["inspector_candidates"],
    }

    def forged(seed: bytes = b"\x01" * 32, **changes: Any) -> Path:
        made = inspection_draw.proof(
            inspection_id, seed, drawn_at=AFTER_DRAW.isoformat(), **{**lists, **numbers, **changes}
        )
        path = tmp_path / f"forged-{len(list(tmp_path.iterdir()))}.json"
        path.write_text(json.dumps(made))
        return path

    cases = [
        (forged(), "commitment"),
        (forged(agencies=2), "agencies: 2 drawn, the plan draws 3"),
        (forged(agency_candidates=inspection["agency_candidates"][:4]), "agencies: candidates differ"),
        (forged(inspector_candidates=STAFF[:5]), "inspectors: candidates differ"),
    ]
    for path, named in cases:
        assert verify_draw.main([str(path), str(plan)]) == 1
        out = capsys.readouterr().out
        assert out.startswith("INVALID") and f"- {named}" in out, out

    # Given the proof's URL, the verifier fetches the plan from the same URL without `/draw`.
    base = "https://market.example/api"
    fetched: list[str] = []

    def over_http(source: str) -> Any:
        fetched.append(source)
        if source.startswith(base):
            return inspections.api.call("GET", source[len(base) :]).body
        return json.loads(Path(source).read_text())

    monkeypatch.setattr(verify_draw, "_load", over_http)
    assert verify_draw.main([f"{base}/inspections/{inspection_id}/draw"]) == 0
    assert fetched == [f"{base}/inspections/{inspection_id}/draw", f"{base}/inspections/{inspection_id}"]
    assert capsys.readouterr().out.startswith("valid")
    assert verify_draw.main([str(forged()), f"{base}/inspections/{inspection_id}"]) == 1


def test_only_a_regulator_of_the_industry_plans_and_records(inspections: Inspections) -> None:
    api = inspections.api
    assert inspections.other.post("/inspections", inspections.plan()).status == 403
    assert api.as_role("owner", "OW-1").post("/inspections", inspections.plan()).status == 403
    assert api.as_role("admin").post("/inspections", inspections.plan()).status == 403
    assert api.call("POST", "/inspections", inspections.plan()).status == 401
    inspection = inspections.drawn()
    path = f"/inspections/{inspection['inspection_id']}/results"
    body = {"agency_id": inspection["drawn_agencies"][0], "outcome": "passed"}
    assert inspections.other.post(path, body).status == 403
    assert api.as_role("agency", body["agency_id"]).post(path, body).status == 403
    assert inspections.regulator.post(path, body).status == 201


def test_another_regulator_organisation_of_the_same_industry_neither_records_nor_cancels(
    inspections: Inspections,
) -> None:
    # The plan is the planning organisation's: a second environment regulator reads it (public)
    # but records no result (with its credit penalty) and cancels nothing.
    neighbour = inspections.api.as_role("regulator", "REG-ENV-2", industries=("environment",))
    inspection = inspections.drawn()
    path = f"/inspections/{inspection['inspection_id']}/results"
    body = {
        "agency_id": inspection["drawn_agencies"][0],
        "outcome": "problems_found",
        "problems": ["环评文件质量不合格"],
        "correct_by": "2027-01-15",
        "credit_event": True,
        "credit_points": -5,
    }
    before = _outbox_and_rows()
    assert neighbour.post(path, body).status == 403
    assert _outbox_and_rows() == before
    agency = body["agency_id"]
    events = inspections.api.call("GET", f"/agencies/{agency}/credit/events").body["items"]
    assert not [e for e in events if e["cause"]["type"] == "inspection"]
    assert inspections.regulator.post(path, body).status == 201

    inspections.clock.set(NOW)
    planned = inspections.create()
    before = _outbox_and_rows()
    path = f"/inspections/{planned['inspection_id']}/cancellation"
    assert neighbour.post(path, {"reason": "x"}).status == 403
    assert _outbox_and_rows() == before
    assert neighbour.get(f"/inspections/{planned['inspection_id']}").status == 200
    assert inspections.api.call("GET", f"/inspections/{planned['inspection_id']}").body["status"] == "planned"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"agencies": 7}, "agencies"),  # six candidates
        ({"inspectors": 7}, "inspectors"),  # six on the staff list
        ({"inspectors": 2, "inspectors_per_agency": 3}, "inspectors"),
        ({"draw_at": "2026-12-07T01:59:59Z"}, "draw_at"),
        ({"agencies": 0}, "agencies"),
        ({"inspectors_per_agency": 1}, "inspectors_per_agency"),
        ({"industry": "Environment"}, "industry"),
        ({"title": ""}, "title"),
    ],
)
def test_a_bad_plan_is_refused_naming_the_field_and_nothing_is_written(
    inspections: Inspections, changes: dict[str, Any], field: str
) -> None:
    before = _outbox_and_rows()
    reply = inspections.regulator.post("/inspections", inspections.plan(**changes))
    assert reply.status in (400, 422), reply.body
    assert field in json.dumps(reply.body["errors"]), reply.body
    assert _outbox_and_rows() == before


def test_a_plan_for_an_industry_with_no_staff_list_names_the_inspectors(api: Api) -> None:
    with clock_at(NOW):
        admit([agency_id(1), agency_id(2)])
        assert api.as_role("admin").post("/catalogue/items", catalogue_item()).status == 201
        regulator = api.as_role("regulator", "REG-NEW", industries=("environment",))
        plan = Inspections(api, FixedClock(NOW)).plan(agencies=1, inspectors=2)
        reply = regulator.post("/inspections", plan)
        assert reply.status == 422 and reply.body["errors"][0]["field"] == "inspectors"
        assert regulator.get("/inspections/inspectors").status == 404


def test_a_staff_list_takes_codes_never_names(inspections: Inspections) -> None:
    reply = inspections.regulator.put("/inspections/inspectors", {"inspectors": ["张三"]})
    assert reply.status in (400, 422) and "inspectors" in json.dumps(reply.body)
    reply = inspections.regulator.put("/inspections/inspectors", {"inspectors": ["A-1", "A-1"]})
    assert reply.status in (400, 422)
    assert inspections.regulator.get("/inspections/inspectors").body["inspectors"] == STAFF


def test_two_draw_runs_racing_draw_once(inspections: Inspections, published_events) -> None:
    plan = inspections.create()
    inspections.clock.set(AFTER_DRAW)
    reports: list[dict[str, Any]] = []
    threads = [threading.Thread(target=lambda: reports.append(inspections.run_draws())) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(len(r["drawn"]) for r in reports) == 1
    assert published_events.types().count("InspectionDrawn") == 1
    assert inspections.run_draws()["drawn"] == []  # off the due index
    assert inspections.api.call("GET", f"/inspections/{plan['inspection_id']}").body["status"] == "drawn"


def test_the_draw_waits_for_its_time(inspections: Inspections) -> None:
    plan = inspections.create()
    inspections.clock.set(datetime(2026, 12, 7, 2, 59, 59, tzinfo=UTC))
    assert inspections.run_draws()["drawn"] == []
    inspections.clock.set(AFTER_DRAW)
    assert inspections.run_draws()["drawn"] == [plan["inspection_id"]]


def test_results_once_per_drawn_agency_and_the_last_closes(
    inspections: Inspections, published_events
) -> None:
    inspection = inspections.drawn()
    path = f"/inspections/{inspection['inspection_id']}/results"
    regulator = inspections.regulator
    outsider = next(a for a in inspection["agency_candidates"] if a not in inspection["drawn_agencies"])
    reply = regulator.post(path, {"agency_id": outsider, "outcome": "passed"})
    assert reply.status == 422 and reply.body["errors"][0]["field"] == "agency_id"
    bad = {"agency_id": inspection["drawn_agencies"][0], "outcome": "problems_found", "problems": ["x"]}
    before = _outbox_and_rows()
    reply = regulator.post(path, bad)
    assert reply.status == 422 and reply.body["errors"][0]["field"] == "correct_by"
    assert _outbox_and_rows() == before

    first, *rest = inspection["drawn_agencies"]
    replies: list[Any] = []
    body = {"agency_id": first, "outcome": "passed"}
    threads = [threading.Thread(target=lambda: replies.append(regulator.post(path, body))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status for r in replies) == [201, 409]
    for agency in rest:
        assert regulator.post(path, {"agency_id": agency, "outcome": "passed"}).status == 201
    public = inspections.api.call("GET", f"/inspections/{inspection['inspection_id']}").body
    assert public["status"] == "closed" and len(public["results"]) == 3
    assert public["results"][0]["inspectors"]  # staff codes
    types = published_events.types()
    assert types.count("InspectionResultRecorded") == 3
    assert regulator.post(path, body).status == 409


def test_problems_found_with_a_credit_event_records_a_penalty(inspections: Inspections) -> None:
    inspection = inspections.drawn()
    agency = inspection["drawn_agencies"][0]
    body = {
        "agency_id": agency,
        "outcome": "problems_found",
        "problems": ["环评文件质量不合格", "未按规定存档"],
        "correct_by": "2027-01-15",
        "credit_event": True,
        "credit_points": -5,
    }
    reply = inspections.regulator.post(f"/inspections/{inspection['inspection_id']}/results", body)
    assert reply.status == 201, reply.body
    events = inspections.api.call("GET", f"/agencies/{agency}/credit/events").body["items"]
    penalty = next(e for e in events if e["cause"]["type"] == "inspection")
    assert penalty["points"] == -5 and penalty["cause"]["id"] == inspection["inspection_id"]
    assert penalty["credit_event_id"] == reply.body["credit_event_id"]


def test_a_credit_event_needs_problems_and_negative_points(inspections: Inspections) -> None:
    inspection = inspections.drawn()
    path = f"/inspections/{inspection['inspection_id']}/results"
    agency = inspection["drawn_agencies"][0]
    passed = {"agency_id": agency, "outcome": "passed", "credit_event": True, "credit_points": -5}
    reply = inspections.regulator.post(path, passed)
    assert reply.status == 422 and "credit_event" in json.dumps(reply.body["errors"])
    positive = {
        "agency_id": agency,
        "outcome": "problems_found",
        "problems": ["x"],
        "correct_by": "2027-01-15",
        "credit_event": True,
        "credit_points": 5,
    }
    reply = inspections.regulator.post(path, positive)
    assert reply.status == 422 and reply.body["errors"][0]["field"] == "credit_points"


@pytest.mark.parametrize("points", [-100000, -51])
def test_credit_points_beyond_the_credit_rules_bound_name_credit_points_and_write_nothing(
    inspections: Inspections, points: int
) -> None:
    inspection = inspections.drawn()
    before = _outbox_and_rows()
    body = {
        "agency_id": inspection["drawn_agencies"][0],
        "outcome": "problems_found",
        "problems": ["x"],
        "correct_by": "2027-01-15",
        "credit_event": True,
        "credit_points": points,
    }
    reply = inspections.regulator.post(f"/inspections/{inspection['inspection_id']}/results", body)
    assert reply.status == 422, reply.body
    assert [e["field"] for e in reply.body["errors"]] == ["credit_points"], reply.body
    assert "50" in reply.body["errors"][0]["message"]  # the rules' max_event_points
    assert _outbox_and_rows() == before


def test_cancel_only_while_planned(inspections: Inspections) -> None:
    plan = inspections.create()
    path = f"/inspections/{plan['inspection_id']}/cancellation"
    assert inspections.other.post(path, {"reason": "x"}).status == 403
    reply = inspections.regulator.post(path, {"reason": "计划调整"})
    assert reply.status == 200 and reply.body["status"] == "cancelled"
    inspections.clock.set(AFTER_DRAW)
    assert inspections.run_draws()["drawn"] == []
    drawn = inspections.drawn()
    reply = inspections.regulator.post(f"/inspections/{drawn['inspection_id']}/cancellation", {"reason": "x"})
    assert reply.status == 409


def test_the_lists_are_queries_never_scans(inspections: Inspections, monkeypatch) -> None:
    from pynamodb.models import Model

    def no_scan(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a Scan on a request path")

    monkeypatch.setattr(Model, "scan", classmethod(no_scan))
    first = inspections.create()
    second = inspections.create(title="第二次抽查")
    page = inspections.api.call("GET", "/inspections?limit=1").body
    assert [i["inspection_id"] for i in page["items"]] in (
        [second["inspection_id"]],
        [first["inspection_id"]],
    )
    rest = inspections.api.call("GET", f"/inspections?limit=5&cursor={page['cursor']}").body
    ids = {i["inspection_id"] for i in page["items"] + rest["items"]}
    assert ids == {first["inspection_id"], second["inspection_id"]}
    inspections.clock.set(AFTER_DRAW)
    assert len(inspections.run_draws()["drawn"]) == 2


def test_the_drawn_agencies_and_the_agency_its_result_are_told(
    inspections: Inspections, published_events
) -> None:
    from app import app

    inspection = inspections.drawn()
    agency = inspection["drawn_agencies"][0]
    body = {"agency_id": agency, "outcome": "problems_found", "problems": ["x"], "correct_by": "2027-01-15"}
    assert (
        inspections.regulator.post(f"/inspections/{inspection['inspection_id']}/results", body).status == 201
    )
    records = [
        sqs_record(json.dumps(e), f"m-{n}")
        for n, e in enumerate(published_events.received())
        if e["detail-type"] in ("InspectionDrawn", "InspectionResultRecorded")
    ]
    assert app.handler_map["notify"]({"Records": records}, None) == {"batchItemFailures": []}
    inbox = inspections.api.as_role("agency", agency).get("/me/notifications").body["items"]
    titles = sorted(n["title"] for n in inbox)
    assert any(t.startswith("双随机抽查") for t in titles) and any(t.startswith("抽查结果") for t in titles)
    other = inspection["drawn_agencies"][1]
    assert len(inspections.api.as_role("agency", other).get("/me/notifications").body["items"]) == 1


def test_unknown_inspections_are_404(api: Api) -> None:
    assert api.call("GET", "/inspections/INS-20261207-0000000000").status == 404
    assert api.call("GET", "/inspections/P-20261207-0000000000").status == 404
    assert api.call("GET", "/inspections/INS-20261207-0000000000/draw").status == 404


def test_a_result_sent_again_with_its_idempotency_key_answers_the_first_reply(
    inspections: Inspections,
) -> None:
    inspection = inspections.drawn()
    path = f"/inspections/{inspection['inspection_id']}/results"
    body = {"agency_id": inspection["drawn_agencies"][0], "outcome": "passed"}
    key = {"idempotency-key": "result-1"}
    first = inspections.regulator.post(path, body, headers=key)
    again = inspections.regulator.post(path, body, headers=key)
    assert first.status == again.status == 201 and first.body == again.body
    assert inspections.regulator.post(path, body).status == 409
