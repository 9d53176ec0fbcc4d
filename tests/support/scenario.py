"""One call of every operation (every route and every task), in an order where each succeeds:
the scenario both the policy-coverage test and the DynamoDB-call benchmark run; and a hook on the
SDK clients the code creates meanwhile (PynamoDB and the event bus make their own)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import botocore.session

from marketplace.services import credit as credit_service
from tests.conftest import Api
from tests.integration.test_calendars import CALENDAR_2027
from tests.support.after_award import performance_steps
from tests.support.challenge_scenario import challenge_steps
from tests.support.credit_actions_scenario import credit_action_steps
from tests.support.inspection_scenario import inspection_steps
from tests.support.purchase_scenario import purchase_steps
from tests.support.samples import agency_profile, catalogue_item, certificate, owner_profile

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
AGENCY_ITEM = "ZJ-HP-002"  # its own item: ZJ-HP-001 is retired by the catalogue steps
Hooks = dict[str, tuple[str, Callable[..., None]]]


def _schedule(task: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / "functions" / f"{task}.schedule.json").read_text(encoding="utf-8"))


@contextmanager
def on_clients(hooks: Hooks) -> Iterator[None]:
    """`hooks`: service name -> (botocore event prefix, handler), registered on every client of
    that service created inside the block."""
    original = botocore.session.Session.create_client

    def create_client(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        client = original(self, service_name, *args, **kwargs)
        if service_name in hooks:
            event, handler = hooks[service_name]
            client.meta.events.register(f"{event}.{service_name}", handler)
        return client

    botocore.session.Session.create_client = create_client
    try:
        yield
    finally:
        botocore.session.Session.create_client = original


def every_operation(api: Api) -> list[tuple[str, Callable[[], Any]]]:
    from app import app
    from marketplace.repositories.tables import OutboxRow

    admin, owner = api.as_role("admin"), api.as_role("owner", "OW-1")
    definition = {k: v for k, v in catalogue_item().items() if k != "code"}
    once = {"idempotency-key": "k-1"}
    purchases: dict[str, str] = {}  # the purchase steps' ids: the performance steps use the confirmed one

    # A row a failed flush left behind long ago: the relay publishes and deletes it.
    OutboxRow(event_id="e-1", created_at="2020-01-01T00:00:00Z", detail_type="OwnerUpdated", detail={}).save()

    def relay() -> Any:
        return app.handler_map["relay_outbox"](_schedule("relay_outbox"), None)

    def certificates() -> Any:
        return app.handler_map["check_certificates"](_schedule("check_certificates"), None)

    return [
        ("health", lambda: api.call("GET", "/health")),
        ("me", lambda: owner.get("/me")),
        ("openapi", lambda: api.call("GET", "/openapi.json")),
        ("create_catalogue_item", lambda: admin.post("/catalogue/items", catalogue_item(), headers=once)),
        (
            "revise_catalogue_item",
            lambda: admin.put("/catalogue/items/ZJ-HP-001", {**definition, "change_note": "x"}),
        ),
        ("list_catalogue_items", lambda: api.call("GET", "/catalogue/items")),
        ("list_catalogue_items", lambda: api.call("GET", "/catalogue/items?service_type=assessment")),
        ("list_catalogue_items", lambda: api.call("GET", "/catalogue/items?department=市生态环境局")),
        ("get_catalogue_item", lambda: api.call("GET", "/catalogue/items/ZJ-HP-001")),
        (
            "retire_catalogue_item",
            lambda: admin.post(
                "/catalogue/items/ZJ-HP-001/retirement", {"reason": "x", "effective_from": "2026-12-01"}
            ),
        ),
        ("register_owner", lambda: owner.post("/owners", owner_profile(), headers=once)),
        ("update_owner", lambda: owner.put("/owners/OW-1", owner_profile(first16="1133010000249628"))),
        ("list_owners", lambda: admin.get("/owners")),
        ("get_owner", lambda: api.call("GET", "/owners/OW-1")),
        ("load_calendar_year", lambda: admin.put("/calendars/2027", CALENDAR_2027)),
        ("get_calendar_year", lambda: api.call("GET", "/calendars/2026")),
        *_agency_steps(api),
        *_shelf_steps(api),
        *purchase_steps(api, owner_id="OW-1", item=AGENCY_ITEM, ids=purchases),
        *performance_steps(api, purchases, owner_id="OW-1"),
        *challenge_steps(api, owner_id="OW-1", item=AGENCY_ITEM),
        *_notification_steps(api),
        *_letter_steps(api),
        *_credit_steps(api),
        *credit_action_steps(api),
        *_ocds_steps(api, purchases),  # ocds (issue 12)
        *_statistics_steps(api),  # statistics (issue 12)
        ("check_certificates", certificates),
        *_red_flag_steps(api, purchases),  # issue 12 red-flags
        *inspection_steps(api),  # random inspections (issue 12, stream inspections)
        ("relay_outbox", relay),
    ]


def _red_flag_steps(api: Api, purchases: dict[str, str]) -> list[tuple[str, Callable[[], Any]]]:
    """The red-flags consumer with a result event for the flow's purchase (it reads the purchase,
    its enrollments, the enrollees' profiles and the sets it counts), then the public list."""
    from app import app
    from tests.support.samples import sqs_record

    def compute() -> Any:
        detail = {
            "event_id": "7a7e0c1e-0000-4000-8000-00000000f1a6",
            "event_type": "ResultPublished",
            "occurred_at": "2026-12-01T02:00:00.000000Z",
            "subject": purchases["random"],
            "actor": "system",
            "data": {"purchase_id": purchases["random"], "owner_id": "OW-1"},
        }
        body = json.dumps({"detail-type": "ResultPublished", "detail": detail})
        result = app.handler_map["compute_red_flags"]({"Records": [sqs_record(body, "m-rf-1")]}, None)
        assert result == {"batchItemFailures": []}, result
        return result

    return [
        ("compute_red_flags", compute),
        ("list_red_flags", lambda: api.call("GET", "/red-flags")),
        ("list_red_flags", lambda: api.call("GET", "/red-flags?code=R018&owner=OW-1&agency=AG-1")),
    ]


def _notification_steps(api: Api) -> list[tuple[str, Callable[[], Any]]]:
    """The consumer with the sample batch (a new announcement fans out over the item index) and with
    a result (told to every enrollee, read from the purchase's enrollments), then the owner it
    notified reads its inbox and marks the entry read."""
    from app import app
    from marketplace.domain.notifications import notification_id, owner_inbox
    from tests.support.samples import sqs_record

    batch = json.loads((EVENTS_DIR / "functions" / "notify.sqs.json").read_text(encoding="utf-8"))
    detail = json.loads(batch["Records"][0]["body"])["detail"]
    owner_id = detail["data"]["owner_id"]
    owner = api.as_role("owner", owner_id)
    entry = notification_id(detail["event_id"], owner_inbox(owner_id), detail["occurred_at"])

    result_event = (EVENTS_DIR / "domain" / "ResultPublished.json").read_text(encoding="utf-8")
    results = {"Records": [sqs_record(result_event, "result-published")]}

    def notify(batch: dict[str, Any] = batch) -> Any:
        result = app.handler_map["notify"](batch, None)
        assert result == {"batchItemFailures": []}, result
        return result

    return [
        ("notify", notify),
        ("notify", lambda: notify(results)),
        ("list_notifications", lambda: owner.get("/me/notifications")),
        ("list_notifications", lambda: owner.get("/me/notifications?unread=true")),
        ("mark_notification_read", lambda: owner.post(f"/me/notifications/{entry}/read")),
    ]


def _letter_steps(api: Api) -> list[tuple[str, Callable[[], Any]]]:
    """The public letter routes, on a letter issued beforehand (issuing belongs to the purchase's
    confirmation). Each step starts as a new execution environment would, with no client and no
    public key cached, so every call it makes is seen."""
    from marketplace.repositories import letters as letter_store
    from marketplace.services import letters
    from tests.support.letters import letter

    envelope = letters.issue(letter("L-SCENARIO-1")).model_dump(mode="json")

    def fresh(call: Callable[[], Any]) -> Callable[[], Any]:
        def step() -> Any:
            letter_store.reset_clients()
            return call()

        return step

    return [
        ("get_letter_public_key", fresh(lambda: api.call("GET", "/letters/public-key"))),
        ("get_letter", fresh(lambda: api.call("GET", "/letters/L-SCENARIO-1"))),
        ("get_letter_html", fresh(lambda: api.call("GET", "/letters/L-SCENARIO-1/html"))),
        ("verify_letter", fresh(lambda: api.call("POST", "/letters/verify", envelope))),
    ]


def _credit_steps(api: Api) -> list[tuple[str, Callable[[], Any]]]:
    """The public profile and events of an agency with one penalty recorded beforehand, the rules
    read and a new version loaded, and the daily task a day after the penalty stopped counting."""
    from datetime import timedelta

    from app import app
    from marketplace.clock import local_today, stamp, utcnow
    from marketplace.domain.credit import CreditCause, CreditEvent
    from marketplace.repositories import event_bus
    from marketplace.repositories.base import reset_connections
    from marketplace.repositories.tables import ALL_MODELS
    from tests.support.market import clock_at

    now = utcnow()
    penalty = CreditEvent(
        credit_event_id="c-scenario-1",
        agency_id="AG-CREDIT-1",
        source="regulator",
        kind="penalty",
        points=-10,
        reason="未按规定公示收费标准",
        basis="《中介服务收费管理办法》第十条",
        cause=CreditCause(type="decision", id="RG-ENV-2026-001"),
        occurred_at=stamp(now - timedelta(hours=1)),
        recorded_at=stamp(now),
        valid_until=stamp(now + timedelta(days=1)),
        rules_version=1,
    )
    credit_service.record(penalty, actor="RG-ENV")
    # Clients made by that setup are forgotten: each step's own are the ones the hooks see.
    reset_connections(ALL_MODELS)
    event_bus.reset_client()
    admin = api.as_role("admin")
    rules = {"effective_from": (local_today() + timedelta(days=30)).isoformat(), "blacklist_days": 730}

    def expire() -> Any:
        with clock_at(now + timedelta(days=2)):
            return app.handler_map["expire_credit"](_schedule("expire_credit"), None)

    return [
        ("get_agency_credit", lambda: api.call("GET", "/agencies/AG-CREDIT-1/credit")),
        ("get_agency_credit", lambda: api.call("GET", "/agencies/AG-NO-RECORD/credit")),
        ("list_agency_credit_events", lambda: api.call("GET", "/agencies/AG-CREDIT-1/credit/events?limit=5")),
        ("get_credit_rules", lambda: api.call("GET", "/credit/rules")),
        ("load_credit_rules", lambda: admin.put("/credit/rules", rules)),
        ("expire_credit", expire),
    ]


def _agency_profile(**changes: Any) -> dict[str, Any]:
    profile = agency_profile(**changes)
    profile["offerings"][0]["item_code"] = AGENCY_ITEM
    return profile


def _shelf_steps(api: Api) -> list[tuple[str, Callable[[], Any]]]:
    """The shelf: AG-1 (admitted above) lists two offerings, the public browses them, OW-1 buys one
    (its letter is issued at once) and AG-1 withdraws the other."""
    from tests.support.shelf import shelf_offer, shelf_purchase

    agency, owner = api.as_role("agency", "AG-1"), api.as_role("owner", "OW-1")
    offers: list[str] = []

    def list_offer(key: str) -> Any:
        reply = agency.post(
            "/agencies/AG-1/shelf", shelf_offer(AGENCY_ITEM), headers={"idempotency-key": key}
        )
        offers.append(str(reply.body.get("offer_id")))
        return reply

    return [
        ("list_shelf_offer", lambda: list_offer("k-shelf-1")),
        ("list_shelf_offer", lambda: list_offer("k-shelf-2")),
        ("browse_shelf", lambda: api.call("GET", f"/shelf?item_code={AGENCY_ITEM}&region=330106")),
        ("get_shelf_offer", lambda: api.call("GET", f"/shelf/{offers[0]}")),
        (
            "buy_from_shelf",
            lambda: owner.post(
                f"/shelf/{offers[0]}/purchase", shelf_purchase(), headers={"idempotency-key": "k-buy"}
            ),
        ),
        ("withdraw_shelf_offer", lambda: agency.delete(f"/agencies/AG-1/shelf/{offers[1]}")),
    ]


def _agency_steps(api: Api) -> list[tuple[str, Callable[[], Any]]]:
    """Admission to reinstatement of one agency. Each review path is reached: the admin's review only
    records, the regulator's closes (admission approved), and a rejection closes the change returned,
    which also lets the extension open. Supervision goes through a regulator's industry check."""
    admin, agency = api.as_role("admin"), api.as_role("agency", "AG-1")
    regulator = api.as_role("regulator", "RG-ENV", industries=("environment",))
    path = "/agencies/AG-1"
    changed = {**_agency_profile(regions=["330100", "330106", "330108"]), "note": "x"}
    renewed = certificate(issued_on="2026-11-01", expires_on="2032-12-31")
    supervision = {"reason": "x", "basis": "y"}
    staff = {"name": "张三", "email": "zhangsan@example.cn"}

    def review(by: Any, number: int, decision: str = "approve", reasons: str = "") -> Any:
        return by.post(f"{path}/reviews", {"submission": number, "decision": decision, "reasons": reasons})

    return [
        ("create_catalogue_item", lambda: admin.post("/catalogue/items", catalogue_item(AGENCY_ITEM))),
        ("check_agency_eligibility", lambda: agency.post("/agencies/eligibility", _agency_profile())),
        (
            "apply_for_admission",
            lambda: agency.post("/agencies", _agency_profile(), headers={"idempotency-key": "k-2"}),
        ),
        ("agency_review_queue", lambda: admin.get("/reviews/queue")),
        ("agency_review_queue", lambda: regulator.get("/reviews/queue")),
        ("list_agency_submissions", lambda: agency.get(f"{path}/submissions")),
        ("review_agency", lambda: review(admin, 1)),
        ("review_agency", lambda: review(regulator, 1)),  # the last approval: admits
        ("list_agencies", lambda: api.call("GET", f"/agencies?item_code={AGENCY_ITEM}")),
        ("list_agencies", lambda: api.call("GET", "/agencies?status=admitted")),
        ("get_agency", lambda: agency.get(path)),
        ("get_agency", lambda: regulator.get(path)),  # a regulator's remit is read from the catalogue
        ("list_agency_submissions", lambda: regulator.get(f"{path}/submissions")),
        ("list_agency_versions", lambda: regulator.get(f"{path}/versions")),
        ("request_agency_change", lambda: agency.put(path, changed)),
        ("review_agency", lambda: review(regulator, 2, "reject", "x")),  # a rejection: returns the change
        ("request_agency_extension", lambda: agency.post(f"{path}/extensions", {"certificates": [renewed]})),
        ("suspend_agency", lambda: regulator.post(f"{path}/suspension", supervision)),
        ("expel_agency", lambda: regulator.post(f"{path}/expulsion", supervision)),
        ("reinstate_agency", lambda: admin.post(f"{path}/reinstatement", supervision)),
        # The agency's administrator is the user who applied (the same token as `agency`).
        (
            "add_agency_user",
            lambda: agency.post(f"{path}/users", staff, headers={"idempotency-key": "k-3"}),
        ),
        ("list_agency_users", lambda: agency.get(f"{path}/users")),
        ("remove_agency_user", lambda: agency.delete(f"{path}/users/{staff['email']}")),
    ]


def _ocds_steps(api: Api, purchases: dict[str, str]) -> list[tuple[str, Callable[[], Any]]]:
    """OCDS (docs/ocds.md): the consumer appends a release for the confirmed purchase (its owner and
    agencies read), the feed and the record read it back, the export writes a day to the bucket."""
    from app import app
    from marketplace.settings import get_settings
    from tests.support.samples import sqs_record

    def append() -> Any:
        sample = json.loads((EVENTS_DIR / "domain" / "ResultPublished.json").read_text(encoding="utf-8"))
        sample["detail"]["data"]["purchase_id"] = purchases["random"]
        sample["detail"]["subject"] = purchases["random"]
        batch = {"Records": [sqs_record(json.dumps(sample), "ocds-1")]}
        result = app.handler_map["append_ocds_releases"](batch, None)
        assert result == {"batchItemFailures": []}, result
        return result

    def record() -> Any:
        return api.call("GET", f"/ocds/records/{get_settings().ocid_prefix}-{purchases['random']}")

    return [
        ("append_ocds_releases", append),
        ("list_ocds_releases", lambda: api.call("GET", "/ocds/releases?since=2020-01-01T00:00:00Z")),
        ("get_ocds_record", record),
        ("export_ocds", lambda: app.handler_map["export_ocds"](_schedule("export_ocds"), None)),
    ]


def _statistics_steps(api: Api) -> list[tuple[str, Callable[[], Any]]]:
    """statistics (issue 12): the consumer folds the sample batch (a publication, then a signed
    contract), then the public route answers in JSON and in CSV."""
    from app import app

    batch = json.loads((EVENTS_DIR / "functions" / "fold_statistics.sqs.json").read_text(encoding="utf-8"))

    def fold() -> Any:
        result = app.handler_map["fold_statistics"](batch, None)
        assert result == {"batchItemFailures": []}, result
        return result

    return [
        ("fold_statistics", fold),
        ("get_statistics", lambda: api.call("GET", "/statistics?group_by=item&from=2026-01&to=2026-12")),
        ("get_statistics", lambda: api.call("GET", "/statistics", headers={"accept": "text/csv"})),
    ]
