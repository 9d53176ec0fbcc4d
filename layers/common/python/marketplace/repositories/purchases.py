"""Purchases, their enrollments and draw proofs in the `purchases` table (see `PurchaseRow`).

Every change of a purchase is an UpdateItem conditioned on the revision the writer read (and so on
its state): whichever trigger writes first wins, a repeat or a racer gets a Conflict. Enrollment
counts are the one exception: an enrollment adds to `enrollments` conditioned on the window being
open, without touching the revision, so fifty agencies enrolling at once do not collide.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from marketplace.domain.credit import CreditStanding
from marketplace.domain.lifecycle import Transition
from marketplace.domain.purchases import (
    DUE,
    ENROLLMENT,
    PUBLIC_STATUSES,
    Enrollment,
    EnrollmentStatus,
    Purchase,
    next_due,
    stamp,
)
from marketplace.domain.purchases import PURCHASE as LIFECYCLE
from marketplace.errors import Conflict, NotFound, ServiceUnavailable
from marketplace.events import DomainEvent
from marketplace.repositories import event_bus
from marketplace.repositories.base import connection, query_page, translated
from marketplace.repositories.tables import AgencyRow, CreditRow, PurchaseRow

if TYPE_CHECKING:
    from marketplace.domain.agencies import Agency

PURCHASE = "PURCHASE"
DRAW = "DRAW"
ENROLLMENT_PREFIX = "ENR#"
LISTING = "PURCHASE"
TRANSACTION_ATTEMPTS = 4


def _enrollment_key(agency_id: str) -> str:
    return ENROLLMENT_PREFIX + agency_id


@dataclass(frozen=True)
class PurchasePage:
    purchases: list[Purchase]
    cursor: str | None


def _from_row(row: PurchaseRow) -> Purchase:
    purchase = Purchase.model_validate(row.document)
    purchase.enrollments = int(row.enrollments or 0)
    purchase.revision = int(row.revision or 0)
    purchase.enrollment_changes = int(row.enrollment_changes or 0)
    return purchase


def _document(purchase: Purchase) -> dict[str, Any]:
    return purchase.model_dump(mode="json", exclude={"enrollments", "revision", "enrollment_changes"})


def _state_actions(purchase: Purchase) -> list[Any]:
    """The row's attributes that follow from the purchase: state, public indexes, the due step."""
    actions: list[Any] = [
        PurchaseRow.document.set(_document(purchase)),
        PurchaseRow.status.set(purchase.status.value),
        PurchaseRow.enrollment_deadline.set(stamp(purchase.enrollment_deadline)),
        PurchaseRow.region.set(purchase.region),  # amendable while a draft: the list filters on it
    ]
    public = purchase.status in PUBLIC_STATUSES and purchase.published_at is not None
    for attribute, value in (
        (PurchaseRow.listing, LISTING),
        (PurchaseRow.public_status, purchase.status.value),
        (PurchaseRow.public_item, purchase.item_code),
        (PurchaseRow.published_at, purchase.published_at or ""),
    ):
        actions.append(attribute.set(value) if public else attribute.remove())
    due = next_due(purchase)
    if due is None:
        actions += [PurchaseRow.due.remove(), PurchaseRow.due_at.remove()]
    else:
        actions += [PurchaseRow.due.set(DUE), PurchaseRow.due_at.set(due[1])]
    return actions


def _new_row(purchase: Purchase) -> PurchaseRow:
    return PurchaseRow(
        purchase_id=purchase.purchase_id,
        sk=PURCHASE,
        owner_id=purchase.owner_id,
        created_at=purchase.created_at,
        region=purchase.region,
        status=purchase.status.value,
        enrollments=0,
        revision=1,
        document=_document(purchase),
    )


def add(purchase: Purchase, events: list[DomainEvent]) -> None:
    """A new draft."""
    with (
        translated(conflict=f"purchase {purchase.purchase_id} already exists"),
        TransactWrite(connection=connection()) as tx,
    ):
        tx.save(_new_row(purchase), condition=PurchaseRow.purchase_id.does_not_exist())
        event_bus.stage(tx, events)


def _in_state(transition: Transition[Any]) -> Any:
    """The state a transition starts from, as the write's condition: the table's row, not the
    caller's reading, says what the row must be in."""
    return PurchaseRow.status == transition.source.value


def add_linked(
    new: Purchase, old: Purchase, events: list[DomainEvent], *, transition: Transition[Any]
) -> None:
    """A re-announcement and the link on the failed purchase it replaces, both or neither."""
    with (
        translated(conflict=f"purchase {old.purchase_id} changed meanwhile"),
        TransactWrite(connection=connection()) as tx,
    ):
        tx.save(_new_row(new), condition=PurchaseRow.purchase_id.does_not_exist())
        tx.update(
            PurchaseRow(old.purchase_id, PURCHASE),
            actions=[*_state_actions(old), PurchaseRow.revision.add(1)],
            condition=(PurchaseRow.revision == old.revision) & _in_state(transition),
        )
        event_bus.stage(tx, events)


def save(
    purchase: Purchase,
    events: list[DomainEvent],
    *,
    conflict: str,
    seed: str | None = None,
    draw: dict[str, Any] | None = None,
    stage_also: Callable[[TransactWrite], None] | None = None,
    enrollments_unchanged: bool = False,
    transition: Transition[Any] | None = None,
) -> None:
    """Write a changed purchase if nobody changed it since it was read (`purchase.revision`) and,
    for a `transition` of its lifecycle, if it is still in the row's from-state.
    `seed` stores the draw's secret at publication; `draw` adds the proof row, once; `stage_also`
    adds other writes that must happen with this one (an abandonment's credit event);
    `enrollments_unchanged` also requires that no enrollment or withdrawal landed since the read."""
    with translated(conflict=conflict), TransactWrite(connection=connection()) as tx:
        actions = [*_state_actions(purchase), PurchaseRow.revision.add(1)]
        if seed is not None:
            actions.append(PurchaseRow.seed.set(seed))
        condition = PurchaseRow.revision == purchase.revision
        if transition is not None:
            condition = condition & _in_state(transition)
        if enrollments_unchanged:
            changes = purchase.enrollment_changes
            unchanged = (
                PurchaseRow.enrollment_changes == changes
                if changes
                else PurchaseRow.enrollment_changes.does_not_exist()
            )
            condition = condition & unchanged
        tx.update(PurchaseRow(purchase.purchase_id, PURCHASE), actions=actions, condition=condition)
        if stage_also is not None:
            stage_also(tx)
        if draw is not None:
            tx.save(
                PurchaseRow(purchase_id=purchase.purchase_id, sk=DRAW, document=draw),
                condition=PurchaseRow.sk.does_not_exist(),
            )
        event_bus.stage(tx, events)


def get(purchase_id: str, *, consistent: bool = False) -> Purchase:
    with translated(missing=f"purchase {purchase_id} not found"):
        row = PurchaseRow.get(purchase_id, PURCHASE, consistent_read=consistent)
    return _from_row(row)


def seed(purchase_id: str) -> str:
    """The draw's secret: read only by the selection, which publishes it in the proof."""
    with translated(missing=f"purchase {purchase_id} not found"):
        row = PurchaseRow.get(purchase_id, PURCHASE, consistent_read=True, attributes_to_get=["seed"])
    if not row.seed:
        raise NotFound(f"purchase {purchase_id} has no draw commitment")
    return str(row.seed)


def draw_proof(purchase_id: str) -> dict[str, Any] | None:
    try:
        with translated():
            row = PurchaseRow.get(purchase_id, DRAW)
    except NotFound:
        return None
    return dict(row.document)


# Enrollment: one round trip reads what the check needs, one transaction writes.


@dataclass(frozen=True)
class EnrollmentContext:
    purchase: Purchase
    agency: Agency | None
    standing: CreditStanding
    enrollment: Enrollment | None


def enrollment_context(purchase_id: str, agency_id: str) -> EnrollmentContext:
    """The purchase, the agency, its credit standing and any earlier enrollment, in one BatchGetItem."""
    from marketplace.domain.agencies import Agency  # only enrollment reads agencies

    tables = {
        PurchaseRow.Meta.table_name: [
            {"purchase_id": {"S": purchase_id}, "sk": {"S": PURCHASE}},
            {"purchase_id": {"S": purchase_id}, "sk": {"S": _enrollment_key(agency_id)}},
        ],
        AgencyRow.Meta.table_name: [{"agency_id": {"S": agency_id}, "sk": {"S": "PROFILE"}}],
        CreditRow.Meta.table_name: [{"agency_id": {"S": agency_id}, "sk": {"S": "STANDING"}}],
    }
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in tables}
    request: dict[str, Any] = {name: {"Keys": keys, "ConsistentRead": True} for name, keys in tables.items()}
    with translated():
        client = connection().client
        while request:
            response = client.batch_get_item(RequestItems=request)
            for name, items in response.get("Responses", {}).items():
                found[name].extend(items)
            request = response.get("UnprocessedKeys") or {}
    rows = [PurchaseRow.from_raw_data(item) for item in found[PurchaseRow.Meta.table_name]]
    head = next((r for r in rows if r.sk == PURCHASE), None)
    if head is None:
        raise NotFound(f"purchase {purchase_id} not found")
    enrollment_row = next((r for r in rows if r.sk != PURCHASE), None)
    agency = None
    for item in found[AgencyRow.Meta.table_name]:
        profile = AgencyRow.from_raw_data(item)
        agency = Agency.model_validate(profile.document)
        agency.revision = int(profile.revision or 0)
    standing = CreditStanding(agency_id=agency_id)
    for item in found[CreditRow.Meta.table_name]:
        standing = CreditStanding.model_validate(CreditRow.from_raw_data(item).document)
    return EnrollmentContext(
        purchase=_from_row(head),
        agency=agency,
        standing=standing,
        enrollment=Enrollment.model_validate(enrollment_row.document) if enrollment_row else None,
    )


def _enrollment_row(enrollment: Enrollment) -> PurchaseRow:
    return PurchaseRow(
        purchase_id=enrollment.purchase_id,
        sk=_enrollment_key(enrollment.agency_id),
        enrolled_agency=enrollment.agency_id,
        status=enrollment.status.value,
        document=enrollment.model_dump(mode="json"),
    )


def enroll(enrollment: Enrollment, agency_revision: int, now: str, events: list[DomainEvent]) -> None:
    """Record the enrollment if the window is open at `now`, the agency has not enrolled (or has
    withdrawn) and its profile is unchanged since the eligibility check. Enrollments in the same
    purchase all update its row: DynamoDB cancels one that meets another in flight
    (TransactionConflict), and it is simply tried again."""
    for attempt in range(TRANSACTION_ATTEMPTS):
        try:
            _enroll_once(enrollment, agency_revision, now, events)
            return
        except ServiceUnavailable:
            if attempt == TRANSACTION_ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0.02, 0.1))  # noqa: S311 - jitter, not a secret


def _enroll_once(enrollment: Enrollment, agency_revision: int, now: str, events: list[DomainEvent]) -> None:
    key = PurchaseRow(enrollment.purchase_id, PURCHASE)
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.condition_check(
                AgencyRow,
                enrollment.agency_id,
                "PROFILE",
                condition=AgencyRow.revision == agency_revision
                if agency_revision
                else AgencyRow.revision.does_not_exist(),
            )
            tx.save(
                _enrollment_row(enrollment),
                condition=PurchaseRow.sk.does_not_exist() | _enrollment_in(ENROLLMENT.sources("enroll")),
            )
            tx.update(
                key,
                actions=[PurchaseRow.enrollments.add(1), PurchaseRow.enrollment_changes.add(1)],
                condition=_window_open(now),
            )
            event_bus.stage(tx, events)
    except TransactWriteError as exc:
        raise _enrollment_conflict(exc, enrollment.agency_id) from exc


def _enrollment_in(states: tuple[EnrollmentStatus, ...]) -> Any:
    """An enrollment row in one of the states its lifecycle's row starts from."""
    return PurchaseRow.status.is_in(*(state.value for state in states))


def _window_open(now: str) -> Any:
    (state,) = LIFECYCLE.sources("enroll")
    return (PurchaseRow.status == state.value) & (PurchaseRow.enrollment_deadline > now)


def _enrollment_conflict(exc: TransactWriteError, agency_id: str) -> Exception:
    """Which condition failed, in PynamoDB's order: condition checks, puts (the enrollment, then the
    outbox), updates (the purchase)."""
    reasons = [getattr(r, "code", None) for r in (exc.cancellation_reasons or [])]
    failed = [i for i, code in enumerate(reasons) if code == "ConditionalCheckFailed"]
    if not failed:
        with translated():
            raise exc
    if 1 in failed:
        return Conflict(f"agency {agency_id} has already enrolled", reason="duplicate")
    if len(reasons) - 1 in failed:
        return Conflict("enrollment is closed: the deadline has passed", reason="late")
    return Conflict(f"agency {agency_id} changed while enrolling; try again", reason="agency_changed")


def withdraw(enrollment: Enrollment, now: str, events: list[DomainEvent]) -> None:
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.save(_enrollment_row(enrollment), condition=_enrollment_in(ENROLLMENT.sources("withdraw")))
            tx.update(
                PurchaseRow(enrollment.purchase_id, PURCHASE),
                actions=[PurchaseRow.enrollments.add(-1), PurchaseRow.enrollment_changes.add(1)],
                condition=_window_open(now),
            )
            event_bus.stage(tx, events)
    except TransactWriteError as exc:
        reasons = [getattr(r, "code", None) for r in (exc.cancellation_reasons or [])]
        if reasons and reasons[0] == "ConditionalCheckFailed":
            raise Conflict(f"agency {enrollment.agency_id} has no enrollment to withdraw") from exc
        if "ConditionalCheckFailed" in reasons:
            raise Conflict("enrollment is closed: withdrawal is no longer possible", reason="late") from exc
        with translated():
            raise


def enrollments(purchase_id: str) -> list[Enrollment]:
    """Every enrollment of a purchase, withdrawn ones included (a purchase has at most a few hundred)."""
    rows = PurchaseRow.query(purchase_id, PurchaseRow.sk.startswith(ENROLLMENT_PREFIX), consistent_read=True)
    with translated():
        return [Enrollment.model_validate(r.document) for r in rows]


# A transaction takes 100 items: the purchase, its event, and up to this many enrollments' marks.
MARKS_PER_TRANSACTION = 90


def close(
    purchase: Purchase,
    events: list[DomainEvent],
    judged: list[Enrollment],
    *,
    conflict: str,
    transition: Transition[Any],
) -> None:
    """Save the closed purchase, if no enrollment changed since they were judged, together with each
    enrollment's mark (whether it counted); a window with more enrollments than one transaction holds
    gets its marks right after."""
    inline = judged if len(judged) <= MARKS_PER_TRANSACTION else []

    def marks(tx: TransactWrite) -> None:
        for enrollment in inline:
            tx.save(_enrollment_row(enrollment))

    save(
        purchase,
        events,
        conflict=conflict,
        enrollments_unchanged=True,
        stage_also=marks,
        transition=transition,
    )
    if judged and not inline:
        mark_eligibility(purchase.purchase_id, judged)


def mark_eligibility(purchase_id: str, judged: list[Enrollment]) -> None:
    """Record, on each enrollment, whether it counted when enrollment closed."""
    with translated(), PurchaseRow.batch_write() as batch:
        for enrollment in judged:
            batch.save(_enrollment_row(enrollment))


def agency_enrollments(agency_id: str, limit: int, cursor: str | None) -> tuple[list[Enrollment], str | None]:
    rows, next_cursor = query_page(
        PurchaseRow.by_enrolled_agency,
        agency_id,
        filters=[],
        limit=limit,
        cursor=cursor,
        cursor_keys={"purchase_id", "sk", "enrolled_agency"},
    )
    return [Enrollment.model_validate(r.document) for r in rows], next_cursor


# Lists.


def list_public(
    *,
    status: str | None,
    item_code: str | None,
    region_prefix: str | None,
    published_from: str | None,
    published_to: str | None,
    limit: int,
    cursor: str | None,
) -> PurchasePage:
    index: Any
    if status:
        index, hash_value, key = PurchaseRow.by_status, status, "public_status"
    elif item_code:
        index, hash_value, key = PurchaseRow.by_item, item_code, "public_item"
    else:
        index, hash_value, key = PurchaseRow.by_listing, LISTING, "listing"
    filters = [
        PurchaseRow.public_item == item_code if item_code and status else None,
        PurchaseRow.region.startswith(region_prefix) if region_prefix else None,
    ]
    rows, next_cursor = query_page(
        index,
        hash_value,
        filters=filters,
        limit=limit,
        cursor=cursor,
        cursor_keys={"purchase_id", "sk", key, "published_at"},
        range_condition=_between(published_from, published_to),
        newest_first=True,
    )
    return PurchasePage([_from_row(r) for r in rows], next_cursor)


def _between(start: str | None, end: str | None) -> Any:
    if start and end:
        return PurchaseRow.published_at.between(start, end)
    if start:
        return PurchaseRow.published_at >= start
    if end:
        return PurchaseRow.published_at <= end
    return None


def list_owned(owner_id: str, *, status: str | None, limit: int, cursor: str | None) -> PurchasePage:
    rows, next_cursor = query_page(
        PurchaseRow.by_owner,
        owner_id,
        filters=[PurchaseRow.status == status if status else None],
        limit=limit,
        cursor=cursor,
        cursor_keys={"purchase_id", "sk", "owner_id", "created_at"},
        newest_first=True,
    )
    return PurchasePage([_from_row(r) for r in rows], next_cursor)


def due_by(now: str) -> Iterator[Purchase]:
    """Purchases whose timed step is due at `now`, oldest first: the sweeper's work (the index holds
    keys only; each purchase is read as it is now)."""
    with translated():
        keys = [row.purchase_id for row in PurchaseRow.by_due.query(DUE, PurchaseRow.due_at <= now)]
    for purchase_id in keys:
        yield get(purchase_id, consistent=True)
