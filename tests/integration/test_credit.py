"""The credit ledger, its rules, the daily expiry and the public profile (docs/credit.md), through
the services and the HTTP handlers in-process."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Api
from tests.support.market import clock_at

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
DIMENSIONS = {"quality": 4, "timeliness": 5, "attitude": 5, "fees": 3, "standards": 4}


def _cause(kind: str, id_: str, purchase_id: str | None = None) -> Any:
    from marketplace.domain.credit import CreditCause

    return CreditCause(type=kind, id=id_, purchase_id=purchase_id)


def _penalty(agency: str, event_id: str, points: int = -10, *, days: int = 365, at: datetime = T0) -> Any:
    from marketplace.domain.credit import CreditEventKind, CreditSource
    from marketplace.services import credit

    return credit.external_event(
        CreditSource.regulator,
        CreditEventKind.penalty if points < 0 else CreditEventKind.reward,
        agency,
        event_id=event_id,
        cause=_cause("decision", f"RG-{event_id}"),
        reason="未按规定公示收费标准" if points < 0 else "表彰",
        basis="《中介服务收费管理办法》第十条",
        occurred_at=at,
        points=points,
        valid_until=at + timedelta(days=days),
    )


def _expire(at: datetime) -> dict[str, Any]:
    from app import app

    scheduled = json.loads((EVENTS_DIR / "functions" / "expire_credit.schedule.json").read_text())
    with clock_at(at):
        result: dict[str, Any] = app.handler_map["expire_credit"](scheduled, None)
    return result


def _partition(agency: str) -> list[dict[str, Any]]:
    from marketplace.repositories.tables import CreditRow

    return [r.serialize() for r in CreditRow.query(agency, consistent_read=True)]


def _kept(standing: Any) -> dict[str, Any]:
    return standing.model_dump(mode="json")


def test_an_agency_without_a_record_shows_the_base_score(api: Api) -> None:
    reply = api.call("GET", "/agencies/AG-NOBODY/credit")
    assert reply.status == 200, reply.body
    body = reply.body
    assert (body["score"], body["level"], body["blacklisted"], body["blacklisted_until"]) == (
        100,
        "A",
        False,
        None,
    )
    assert body["events"] == [] and body["history"] == [] and body["evaluations"] == []
    assert body["completed_purchases"] == 0 and body["computed_at"] is None and body["rules_version"] == 1


def test_a_mix_of_events_kept_equals_the_recomputation_from_the_ledger(
    api: Api, published_events: Any
) -> None:
    from marketplace.domain.credit import (
        DEFAULT_RULES,
        CreditEventKind,
        CreditSource,
        changes,
        checkpoints,
        compute_standing,
    )
    from marketplace.repositories import credit as repo
    from marketplace.services import credit

    agency = "AG-MIX"
    with clock_at(T0):
        abandonment = credit.platform_event(
            CreditEventKind.abandonment,
            agency,
            event_id="P-1-abandoned-AG-MIX",
            cause=_cause("purchase", "P-1", "P-1"),
            reason="放弃中选",
            basis="规则第 12 条",
            occurred_at=T0,
        )
        completion = credit.platform_event(
            CreditEventKind.completion,
            agency,
            event_id="P-2-completed-AG-MIX",
            cause=_cause("delivery", "P-2", "P-2"),
            reason="履约完成",
            basis="业主验收",
            occurred_at=T0,
        )
        evaluation = credit.platform_event(
            CreditEventKind.owner_evaluation,
            agency,
            event_id="P-2-owner-evaluation-AG-MIX",
            cause=_cause("evaluation", "P-2-owner", "P-2"),
            reason="业主评价",
            basis="评价规则",
            occurred_at=T0,
            rating=sum(DIMENSIONS.values()) / len(DIMENSIONS),
            ratings=DIMENSIONS,
        )
        short_penalty = _penalty(agency, "RG-SHORT", -8, days=10)
        reward = _penalty(agency, "RG-REWARD", 6, days=400)
        serious = credit.external_event(
            CreditSource.imported,
            CreditEventKind.serious_dishonesty,
            agency,
            event_id="XYCN-2026-0001",
            cause=_cause("import", "信用中国:0001"),
            reason="严重失信主体名单",
            basis="信用中国",
            occurred_at=T0,
        )
        for e in (abandonment, completion, evaluation, short_penalty, reward, serious):
            assert credit.record(e, actor="system") is True
    with clock_at(T0 + timedelta(days=3)):
        revoked = credit.revocation(
            abandonment,
            event_id="APPEAL-1-revocation",
            reason="申诉成立",
            basis="申诉决定",
            cause=_cause("appeal", "APPEAL-1", "P-1"),
        )
        assert credit.record(revoked, actor="admin-1") is True

    profile = api.call("GET", f"/agencies/{agency}/credit").body
    assert profile["blacklisted"] is True
    assert profile["blacklisted_until"] == "2027-12-01T02:00:00Z"  # occurred + 365 days
    # 100 - 5 (abandonment) + 5 (its revocation) - 8 + 6 - 40 + 1 (a rounded 4.2 rates 1 point)
    assert profile["score"] == 59 and profile["level"] == "D"

    # The short penalty stops counting after 10 days: before the task runs, the profile shows what
    # it will keep; then the task recomputes and the score rises by 8.
    with clock_at(T0 + timedelta(days=10, hours=1)):
        pending = api.call("GET", f"/agencies/{agency}/credit").body
    assert pending["score"] == 67 and pending["history"][-1]["score"] == 67
    assert _expire(T0 + timedelta(days=11))["recomputed"] == [agency]
    assert api.call("GET", f"/agencies/{agency}/credit").body["score"] == 67
    # A year on, the blacklist ends by itself and the serious dishonesty and the others stop counting.
    lifted = _expire(T0 + timedelta(days=366))
    assert lifted["lifted"] == [agency]
    assert "BlacklistLifted" in published_events.types()

    with clock_at(T0 + timedelta(days=366)):
        ledger = repo.ledger(agency)
        now = ledger.standing.computed_at  # the last task run's
        recomputed = compute_standing(agency, ledger.events, DEFAULT_RULES, now)
        assert _kept(ledger.standing) == _kept(recomputed)
        assert changes(ledger.points) == changes(
            checkpoints(agency, ledger.events, lambda _: DEFAULT_RULES, now)
        )
        profile = api.call("GET", f"/agencies/{agency}/credit").body

    assert (profile["score"], profile["level"], profile["blacklisted"]) == (106, "A", False)
    assert profile["completed_purchases"] == 1
    averages = {e["dimension"]: e["average"] for e in profile["evaluations"]}
    assert averages == {k: float(v) for k, v in sorted(DIMENSIONS.items())}
    by_id = {e["credit_event_id"]: e for e in profile["events"]}
    assert by_id["P-1-abandoned-AG-MIX"]["revoked_by"] == "APPEAL-1-revocation"
    assert by_id["P-1-abandoned-AG-MIX"]["link"] == "/purchases/P-1"
    assert by_id["XYCN-2026-0001"]["source"] == "imported" and by_id["XYCN-2026-0001"]["points"] == -40
    # The score over time: all six at T0 (one instant), the revocation, the penalty's end, a year on.
    history = [(p["at"], p["score"], p["level"]) for p in profile["history"]]
    assert history == [
        ("2026-12-01T02:00:00Z", 54, "D"),
        ("2026-12-04T02:00:00Z", 59, "D"),
        ("2026-12-11T02:00:00Z", 67, "C"),
        ("2027-12-01T02:00:00Z", 106, "A"),  # the reward alone still counts (400 days)
    ]
    assert profile["history"][-1]["cause"] == "expiry"


def test_replaying_an_event_changes_nothing(api: Api, published_events: Any) -> None:
    from marketplace.services import credit

    with clock_at(T0):
        penalty = _penalty("AG-REPLAY", "RG-1")
        assert credit.record(penalty, actor="RG") is True
        before = _partition("AG-REPLAY")
        profile = api.call("GET", "/agencies/AG-REPLAY/credit").body
    with clock_at(T0 + timedelta(hours=2)):
        # The same id again, even recorded later and with another date: nothing changes.
        again = _penalty("AG-REPLAY", "RG-1", at=T0 + timedelta(hours=1))
        assert credit.record(again, actor="RG") is False
        assert _partition("AG-REPLAY") == before
        assert api.call("GET", "/agencies/AG-REPLAY/credit").body == profile
    assert published_events.types().count("CreditEventRecorded") == 1
    from marketplace.repositories import credit as repo

    assert repo.find_event("AG-REPLAY", "RG-1").occurred_at == "2026-12-01T02:00:00Z"  # the first
    assert repo.find_event("AG-REPLAY", "RG-NONE") is None


def test_two_events_at_once_are_both_counted(api: Api) -> None:
    from marketplace.repositories import credit as repo
    from marketplace.services import credit

    events = [_penalty("AG-RACE", f"RG-{n}", -(n + 1)) for n in range(4)]
    start = threading.Barrier(len(events))
    failures: list[BaseException] = []

    def record(e: Any) -> None:
        start.wait()
        try:
            credit.record(e, actor="RG")
        except BaseException as exc:  # reported below
            failures.append(exc)

    with clock_at(T0):
        threads = [threading.Thread(target=record, args=(e,)) for e in events]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not failures, failures
        standing = repo.standings(["AG-RACE"])["AG-RACE"]
    assert standing.points == -(1 + 2 + 3 + 4) and standing.events_recorded == 4
    assert len(repo.ledger("AG-RACE").events) == 4


def test_one_event_delivered_twice_at_once_is_counted_once(api: Api) -> None:
    from marketplace.repositories import credit as repo
    from marketplace.services import credit

    start = threading.Barrier(2)
    results: list[bool] = []

    def record() -> None:
        start.wait()
        results.append(credit.record(_penalty("AG-TWICE", "RG-ONCE"), actor="RG"))

    with clock_at(T0):
        threads = [threading.Thread(target=record) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(results) == [False, True]
    assert repo.standings(["AG-TWICE"])["AG-TWICE"].points == -10
    assert len(repo.ledger("AG-TWICE").events) == 1


def test_event_rows_are_never_rewritten(api: Api) -> None:
    from marketplace.services import credit

    with clock_at(T0):
        credit.record(_penalty("AG-APPEND", "RG-A", days=2), actor="RG")
        first = [r for r in _partition("AG-APPEND") if r["sk"]["S"].startswith("EVENT#")]
        credit.record(_penalty("AG-APPEND", "RG-B"), actor="RG")
    _expire(T0 + timedelta(days=3))
    with clock_at(T0 + timedelta(days=3)):
        credit.record(_penalty("AG-APPEND", "RG-A"), actor="RG")  # a replay
    rows = {r["sk"]["S"]: r for r in _partition("AG-APPEND")}
    for row in first:
        assert rows[row["sk"]["S"]] == row
    assert sum(1 for k in rows if k.startswith("HISTORY#")) == 1  # RG-A's expiry


def test_a_blacklist_is_set_by_serious_dishonesty_and_refuses_until_it_ends(api: Api) -> None:
    from marketplace.domain.credit import DEFAULT_RULES, CreditEventKind, CreditSource
    from marketplace.repositories import credit as repo
    from marketplace.services import credit

    with clock_at(T0):
        serious = credit.external_event(
            CreditSource.regulator,
            CreditEventKind.serious_dishonesty,
            "AG-BLACK",
            event_id="RG-SERIOUS-1",
            cause=_cause("decision", "RG-ENV-2026-009"),
            reason="出具虚假报告",
            basis="《评价机构管理办法》第三十条",
            occurred_at=T0,
        )
        credit.record(serious, actor="RG")
        standing = repo.standings(["AG-BLACK"])["AG-BLACK"]
    until = (T0 + timedelta(days=DEFAULT_RULES.blacklist_days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert standing.blacklisted_until == until and standing.next_due == until
    assert standing.blacklisted("2027-06-01T00:00:00Z")
    assert _expire(T0 + timedelta(days=100))["recomputed"] == []  # nothing due yet: untouched
    assert _expire(T0 + timedelta(days=DEFAULT_RULES.blacklist_days, seconds=1))["lifted"] == ["AG-BLACK"]
    after = repo.standings(["AG-BLACK"])["AG-BLACK"]
    assert after.blacklisted_until is None and not after.blacklisted("2028-01-01T00:00:00Z")


def test_external_points_are_bounded_by_the_rules(api: Api) -> None:
    from marketplace.domain.credit import CreditEventKind, CreditSource
    from marketplace.errors import ValidationFailed
    from marketplace.services import credit

    for kind, points, field in (
        (CreditEventKind.penalty, 5, "points"),
        (CreditEventKind.reward, -5, "points"),
        (CreditEventKind.penalty, -51, "points"),
        (CreditEventKind.abandonment, -5, "kind"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            credit.external_event(
                CreditSource.regulator,
                kind,
                "AG-1",
                event_id="x",
                cause=_cause("decision", "d"),
                reason="r",
                basis="b",
                occurred_at=T0,
                points=points,
            )
        assert refused.value.errors[0].field == field


def test_events_are_listed_in_pages_latest_first(api: Api) -> None:
    from marketplace.services import credit

    with clock_at(T0):
        for n in range(3):
            credit.record(_penalty("AG-PAGES", f"RG-{n}", at=T0 - timedelta(days=n)), actor="RG")
    first = api.call("GET", "/agencies/AG-PAGES/credit/events?limit=2")
    assert first.status == 200, first.body
    assert [e["credit_event_id"] for e in first.body["items"]] == ["RG-0", "RG-1"]
    rest = api.call("GET", f"/agencies/AG-PAGES/credit/events?limit=2&cursor={first.body['cursor']}")
    assert [e["credit_event_id"] for e in rest.body["items"]] == ["RG-2"]
    assert rest.body["cursor"] is None
    assert api.call("GET", "/agencies/AG-PAGES/credit/events?cursor=nonsense").status == 400
    assert api.call("GET", "/agencies/AG-PAGES/credit/events?limit=0").status == 422


# The rules as data.


def _future(days: int) -> str:
    from marketplace.clock import local_today

    return (local_today() + timedelta(days=days)).isoformat()


def test_the_admin_loads_a_version_in_force_from_its_date(api: Api, published_events: Any) -> None:
    from marketplace.repositories import credit as repo

    shipped = api.call("GET", "/credit/rules").body
    assert shipped["in_force"]["version"] == 1 and shipped["versions"] == []
    assert shipped["in_force"]["points"]["abandonment"] == -5

    admin = api.as_role("admin")
    body = {"effective_from": _future(10), "points": {"abandonment": -8}, "blacklist_days": 730}
    loaded = admin.put("/credit/rules", body)
    assert loaded.status == 200, loaded.body
    assert loaded.body["version"] == 2 and loaded.body["points"]["abandonment"] == -8
    assert loaded.body["points"]["contract_late"] == -3  # a kind left out keeps its shipped points
    assert loaded.body["levels"] == {"A": 90, "B": 75, "C": 60}  # left out: the shipped default
    listed = api.call("GET", "/credit/rules").body
    assert listed["in_force"]["version"] == 1  # not yet in force
    assert [v["version"] for v in listed["versions"]] == [2] and listed["versions"][0]["loaded_at"]
    assert "CreditRulesLoaded" in published_events.types()

    later = datetime.now(UTC) + timedelta(days=11)
    with clock_at(later):
        repo.forget_rules_cache()
        assert api.call("GET", "/credit/rules").body["in_force"]["version"] == 2
        assert repo.rules_in_force(later).blacklist_days == 730
    assert admin.put("/credit/rules", {"effective_from": _future(20)}).body["version"] == 3


def test_a_new_version_applies_to_every_standing_from_its_date(api: Api, published_events: Any) -> None:
    from marketplace.domain.credit import changes, checkpoints, compute_standing
    from marketplace.repositories import credit as repo
    from marketplace.services import credit

    with clock_at(T0):
        credit.record(_penalty("AG-RULES", "RG-R1", -20), actor="RG")
        credit.record(_penalty("AG-RULES-2", "RG-R2", -5), actor="RG")
        loaded = api.as_role("admin").put(
            "/credit/rules", {"effective_from": "2026-12-05", "base_score": 110}
        )
        assert loaded.status == 200, loaded.body
    assert api.call("GET", "/agencies/AG-RULES/credit").body["level"] == "B"  # 80 under version 1

    ran = _expire(T0 + timedelta(days=5))
    assert sorted(ran["recomputed"]) == ["AG-RULES", "AG-RULES-2"]
    assert _expire(T0 + timedelta(days=6))["recomputed"] == []  # brought to version 2 once
    with clock_at(T0 + timedelta(days=6)):
        profile = api.call("GET", "/agencies/AG-RULES/credit").body
        ledger = repo.ledger("AG-RULES")
        at = ledger.standing.computed_at
        assert (
            ledger.standing.model_dump()
            == compute_standing("AG-RULES", ledger.events, repo.rules_at(at), at).model_dump()
        )
        recomputed = checkpoints("AG-RULES", ledger.events, repo.rules_at, at, repo.rule_changes())
        assert changes(ledger.points) == changes(recomputed)
    assert (profile["score"], profile["level"], profile["rules_version"]) == (90, "A", 2)
    assert [(p["at"], p["score"], p["cause"]) for p in profile["history"]] == [
        ("2026-12-01T02:00:00Z", 80, "RG-R1"),
        ("2026-12-04T16:00:00Z", 90, "rules"),  # 2026-12-05 00:00 in Asia/Shanghai
    ]
    assert "CreditLevelChanged" in published_events.types()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"effective_from": "2020-01-01"}, "effective_from"),
        ({"levels": {"A": 60, "B": 75, "C": 90}}, "levels"),
        ({"points": {"not_a_kind": -3}}, "points"),
        ({"rating_points": {"7": 3}}, "rating_points"),
        ({"points": {"abandonment": -80}}, "points"),
        ({"blacklist_days": 0}, "blacklist_days"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_rules_are_refused_naming_the_field_and_nothing_is_written(
    api: Api, body: dict[str, Any], field: str
) -> None:
    admin = api.as_role("admin")
    reply = admin.put("/credit/rules", {"effective_from": _future(5), **body})
    assert reply.status == 422, reply.body
    assert any(e["field"].startswith(field) for e in reply.body["errors"]), reply.body
    assert api.call("GET", "/credit/rules").body["versions"] == []


def test_only_the_admin_loads_rules(api: Api) -> None:
    body = {"effective_from": _future(5)}
    for role, org in (("owner", "OW-1"), ("agency", "AG-1"), ("regulator", "RG-ENV")):
        assert api.as_role(role, org).put("/credit/rules", body).status == 403
    assert api.call("PUT", "/credit/rules", body).status == 401
    assert api.call("GET", "/credit/rules").body["versions"] == []


def test_two_loads_at_once_never_take_the_same_version(api: Api) -> None:
    admin = api.as_role("admin")
    start = threading.Barrier(2)
    statuses: list[int] = []

    def load(days: int) -> None:
        start.wait()
        statuses.append(admin.put("/credit/rules", {"effective_from": _future(days)}).status)

    threads = [threading.Thread(target=load, args=(d,)) for d in (5, 6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    versions = [v["version"] for v in api.call("GET", "/credit/rules").body["versions"]]
    assert len(versions) == len(set(versions)) == statuses.count(200)
    assert set(statuses) <= {200, 409} and 200 in statuses


def test_the_directory_shows_each_agency_level_and_blacklist(api: Api) -> None:
    from marketplace.domain.credit import CreditEventKind, CreditSource
    from marketplace.services import credit
    from tests.support.market import admit

    admit(["AG-DIR-1", "AG-DIR-2"])
    with clock_at(T0):
        serious = credit.external_event(
            CreditSource.imported,
            CreditEventKind.serious_dishonesty,
            "AG-DIR-1",
            event_id="XYCN-DIR-1",
            cause=_cause("import", "信用中国:DIR-1"),
            reason="严重失信主体名单",
            basis="信用中国",
            occurred_at=T0,
        )
        credit.record(serious, actor="system")
        listed = api.call("GET", "/agencies?status=admitted").body["items"]
    shown = {a["agency_id"]: (a["credit_level"], a["blacklisted_until"]) for a in listed}
    assert shown["AG-DIR-1"] == ("C", "2027-12-01T02:00:00Z")  # 100 - 40
    assert shown["AG-DIR-2"] == ("A", None)


def test_a_table_given_in_part_changes_only_the_entries_it_names(api: Api) -> None:
    admin = api.as_role("admin")
    loaded = admin.put(
        "/credit/rules",
        {"effective_from": _future(5), "points": {"abandonment": -8}, "rating_points": {"5": 3}},
    )
    assert loaded.status == 200, loaded.body
    assert loaded.body["points"]["abandonment"] == -8
    shipped = api.call("GET", "/credit/rules").body["in_force"]
    for kind in (
        "contract_late",
        "contract_refused",
        "delivery_late",
        "complaint_upheld",
        "serious_dishonesty",
    ):
        assert loaded.body["points"][kind] == shipped["points"][kind] < 0  # kept, not zero
    assert loaded.body["rating_points"] == {**shipped["rating_points"], "5": 3}
    assert loaded.body["validity_days"] == shipped["validity_days"]
