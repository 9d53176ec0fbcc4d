"""Purchases, their enrollments and draw proofs in the `purchases` table (see `PurchaseRow`).

Every change of a purchase is an UpdateItem conditioned on the revision the writer read (and so on
its state): whichever trigger writes first wins, a repeat or a racer gets a Conflict. Enrollment
counts are the one exception: they live on the purchase's small `PURCHASE#WINDOW` row, which an
enrollment updates conditioned on the window being open (`open_until` later than now), without
touching the purchase's revision, so fifty agencies enrolling at once do not collide and none
rewrites the purchase (or its indexes). Publication sets `open_until`; closing removes it.
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
    PurchaseStatus,
    due_partition,
    next_due,
    stamp,
)
from marketplace.errors import Conflict, NotFound, ServiceUnavailable
from marketplace.events import DomainEvent
from marketplace.repositories import consortium as members
from marketplace.repositories import credit as credit_repo
from marketplace.repositories import event_bus, red_flags
from marketplace.repositories.base import connection, query_page, translated
from marketplace.repositories.tables import AgencyRow, CreditRow, PurchaseRow

if TYPE_CHECKING:
    from marketplace.domain.agencies import Agency
    from marketplace.domain.consortium import Membership

PURCHASE = "PURCHASE"
WINDOW = "PURCHASE#WINDOW"  # after PURCHASE: one Query (sk begins_with PURCHASE) reads both
DRAW = "DRAW"
ENROLLMENT_PREFIX = "ENR#"
LISTING = "PURCHASE"
TRANSACTION_ATTEMPTS = 4
BATCH_GET_KEYS = 100


def _enrollment_key(agency_id: str) -> str:
    return ENROLLMENT_PREFIX + agency_id


@dataclass(frozen=True)
class PurchasePage:
    purchases: list[Purchase]
    cursor: str | None


def _from_row(row: PurchaseRow, window: PurchaseRow | None) -> Purchase:
    purchase = Purchase.model_validate(row.document)
    purchase.revision = int(row.revision or 0)
    # A purchase written before the window row existed kept its count on its own row.
    purchase.enrollments = int((window or row).enrollments or 0)
    if window is not None:
        purchase.enrollment_changes = int(window.enrollment_changes or 0)
    return purchase


def _window_key(purchase_id: str) -> PurchaseRow:
    return PurchaseRow(purchase_id, WINDOW)


def _batch_get(keys: dict[str, list[dict[str, Any]]], *, consistent: bool) -> dict[str, list[dict[str, Any]]]:
    """Raw items by table name, in no particular order: BatchGetItem in chunks of 100 keys, with
    whatever DynamoDB leaves unprocessed asked again."""
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in keys}
    pending = [(name, key) for name, table_keys in keys.items() for key in table_keys]
    with translated():
        client = connection().client
        for start in range(0, len(pending), BATCH_GET_KEYS):
            request: dict[str, Any] = {}
            for name, key in pending[start : start + BATCH_GET_KEYS]:
                request.setdefault(name, {"Keys": [], "ConsistentRead": consistent})["Keys"].append(key)
            while request:
                response = client.batch_get_item(RequestItems=request)
                for name, items in response.get("Responses", {}).items():
                    found[name].extend(items)
                request = response.get("UnprocessedKeys") or {}
    return found


def _key(purchase_id: str, sk: str) -> dict[str, Any]:
    return {"purchase_id": {"S": purchase_id}, "sk": {"S": sk}}


def _purchases(purchase_ids: list[str]) -> list[Purchase]:
    """The purchases (with their counts) an index query found, in its order: one BatchGetItem."""
    keys = [_key(p, sk) for p in purchase_ids for sk in (PURCHASE, WINDOW)]
    items = _batch_get({PurchaseRow.Meta.table_name: keys}, consistent=False)[PurchaseRow.Meta.table_name]
    rows = {(r.purchase_id, r.sk): r for r in (PurchaseRow.from_raw_data(i) for i in items)}
    return [
        _from_row(rows[(p, PURCHASE)], rows.get((p, WINDOW))) for p in purchase_ids if (p, PURCHASE) in rows
    ]


def _document(purchase: Purchase) -> dict[str, Any]:
    document = purchase.model_dump(mode="json", exclude={"enrollments", "revision", "enrollment_changes"})
    if purchase.quotes:  # kept out of every response (`exclude`), stored all the same
        document["quotes"] = [q.model_dump(mode="json") for q in purchase.quotes]
    return document


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
        actions += [PurchaseRow.due.set(due_partition(due[0])), PurchaseRow.due_at.set(due[1])]
    return actions


def _new_row(purchase: Purchase) -> PurchaseRow:
    return PurchaseRow(
        purchase_id=purchase.purchase_id,
        sk=PURCHASE,
        owner_id=purchase.owner_id,
        created_at=purchase.created_at,
        region=purchase.region,
        status=purchase.status.value,
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
    `enrollments_unchanged` (closing) also requires that no enrollment or withdrawal landed since
    the read, and shuts the window. A purchase open for enrollment has its window row's deadline set
    in the same transaction (publication opens the window), a bidding one its open round's (a
    resumption opens it again)."""
    with translated(conflict=conflict), TransactWrite(connection=connection()) as tx:
        actions = [*_state_actions(purchase), PurchaseRow.revision.add(1)]
        if seed is not None:
            actions.append(PurchaseRow.seed.set(seed))
        condition = PurchaseRow.revision == purchase.revision
        if transition is not None:
            condition = condition & _in_state(transition)
        tx.update(PurchaseRow(purchase.purchase_id, PURCHASE), actions=actions, condition=condition)
        if enrollments_unchanged:
            changes = purchase.enrollment_changes
            unchanged = (
                PurchaseRow.enrollment_changes == changes
                if changes
                else PurchaseRow.enrollment_changes.does_not_exist()
            )
            tx.update(
                _window_key(purchase.purchase_id),
                actions=[PurchaseRow.open_until.remove(), *_round_actions(purchase)],
                condition=unchanged,
            )
        elif purchase.status == PurchaseStatus.enrollment_open:
            tx.update(
                _window_key(purchase.purchase_id),
                actions=[PurchaseRow.open_until.set(stamp(purchase.enrollment_deadline))],
            )
        elif purchase.status == PurchaseStatus.bidding:  # a resumed round: quotes land until it closes
            tx.update(_window_key(purchase.purchase_id), actions=_round_actions(purchase))
        if stage_also is not None:
            stage_also(tx)
        if draw is not None:
            tx.save(
                PurchaseRow(purchase_id=purchase.purchase_id, sk=DRAW, document=draw),
                condition=PurchaseRow.sk.does_not_exist(),
            )
        event_bus.stage(tx, events)


def _indexed_row(purchase: Purchase, enrollments: int) -> PurchaseRow:
    """A new purchase's row with every attribute `_state_actions` keeps (state, public indexes, the
    due step), for a purchase that is born past its draft (a batch's project)."""
    row = _new_row(purchase)
    row.enrollment_deadline = stamp(purchase.enrollment_deadline)
    row.enrollments = enrollments
    if purchase.status in PUBLIC_STATUSES and purchase.published_at is not None:
        row.listing = LISTING
        row.public_status = purchase.status.value
        row.public_item = purchase.item_code
        row.published_at = purchase.published_at
    due = next_due(purchase)
    if due is not None:
        row.due, row.due_at = due_partition(due[0]), due[1]
    return row


def split(
    batch: Purchase,
    projects: list[Purchase],
    events: list[DomainEvent],
    *,
    conflict: str,
    draw: dict[str, Any],
    transition: Transition[Any],
) -> None:
    """A batch's draw in one transaction: the announcement's new state (conditioned on the revision
    read and its from-state), the proof (once), one new purchase per project (each once), their
    events (a project's result, and its consortium's selection when a consortium won it).
    2 + 3 x 20 + 1 items at most, within DynamoDB's 100."""
    with translated(conflict=conflict), TransactWrite(connection=connection()) as tx:
        tx.update(
            PurchaseRow(batch.purchase_id, PURCHASE),
            actions=[*_state_actions(batch), PurchaseRow.revision.add(1)],
            condition=(PurchaseRow.revision == batch.revision) & _in_state(transition),
        )
        tx.save(
            PurchaseRow(purchase_id=batch.purchase_id, sk=DRAW, document=draw),
            condition=PurchaseRow.sk.does_not_exist(),
        )
        for project in projects:
            tx.save(
                _indexed_row(project, batch.enrollments), condition=PurchaseRow.purchase_id.does_not_exist()
            )
        event_bus.stage(tx, events)


def _round_actions(purchase: Purchase) -> list[Any]:
    """Price bidding: the window row names the further round open for quotes while the purchase is
    `bidding` (a quote is conditioned on it), and nothing otherwise."""
    current = purchase.current_round
    if current is None or current.closes_at is None:
        return [PurchaseRow.bid_round.remove(), PurchaseRow.round_open_until.remove()]
    return [PurchaseRow.bid_round.set(current.round), PurchaseRow.round_open_until.set(current.closes_at)]


def get(purchase_id: str, *, consistent: bool = False) -> Purchase:
    """The purchase and its window row in one Query (the same read units as getting the purchase)."""
    with translated():
        rows = {
            r.sk: r
            for r in PurchaseRow.query(
                purchase_id, PurchaseRow.sk.startswith(PURCHASE), consistent_read=consistent
            )
        }
    if PURCHASE not in rows:
        raise NotFound(f"purchase {purchase_id} not found")
    purchase = _from_row(rows[PURCHASE], rows.get(WINDOW))
    # Its red flags' row (repositories/red_flags.py) sorts after `PURCHASE`: the same Query read it.
    purchase.red_flags = red_flags.flags_row(rows.get(red_flags.FLAGS))
    return purchase


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
            _key(purchase_id, PURCHASE),
            _key(purchase_id, WINDOW),
            _key(purchase_id, _enrollment_key(agency_id)),
        ],
        AgencyRow.Meta.table_name: [{"agency_id": {"S": agency_id}, "sk": {"S": "PROFILE"}}],
        CreditRow.Meta.table_name: [{"agency_id": {"S": agency_id}, "sk": {"S": "STANDING"}}],
    }
    rules_cached = credit_repo.cached_rule_book() is not None
    if not rules_cached:  # the rules' levels judge the standing: read them in the same request
        tables[CreditRow.Meta.table_name].append(credit_repo.BOOK_KEY)
    found = _batch_get(tables, consistent=True)
    rows = {r.sk: r for r in (PurchaseRow.from_raw_data(i) for i in found[PurchaseRow.Meta.table_name])}
    head = rows.get(PURCHASE)
    if head is None:
        raise NotFound(f"purchase {purchase_id} not found")
    enrollment_row = rows.get(_enrollment_key(agency_id))
    agency = None
    for item in found[AgencyRow.Meta.table_name]:
        profile = AgencyRow.from_raw_data(item)
        agency = Agency.model_validate(profile.document)
        agency.revision = int(profile.revision or 0)
    standing = CreditStanding(agency_id=agency_id)
    book = None
    for item in found[CreditRow.Meta.table_name]:
        if item["agency_id"]["S"] == credit_repo.RULES:
            book = item
        else:
            standing = CreditStanding.model_validate(CreditRow.from_raw_data(item).document)
    if not rules_cached:
        credit_repo.remember_rule_book(credit_repo.book_from(book))
    return EnrollmentContext(
        purchase=_from_row(head, rows.get(WINDOW)),
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


def enroll(
    enrollment: Enrollment, now: str, events: list[DomainEvent], memberships: list[Membership] | None = None
) -> None:
    """Record the enrollment if the window is open at `now` and the agency has not enrolled (or has
    withdrawn), and count it, together. Enrollments in the same purchase all update its window
    row: DynamoDB cancels one that meets another in flight (TransactionConflict), and it is simply
    tried again. The agency is not held unchanged here: closing judges every enrollee again against
    its profile and credit then, so one suspended meanwhile is not drawn.
    An agency is in one consortium at most, or enrolled alone (domain/consortium.py): the same
    transaction requires that no consortium holds the agency, and a lead's `memberships` are
    claimed in it, each where no other consortium holds the member and it has not enrolled."""
    for attempt in range(TRANSACTION_ATTEMPTS):
        try:
            _enroll_once(enrollment, now, events, memberships or [])
            return
        except ServiceUnavailable:
            if attempt == TRANSACTION_ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0.02, 0.1))  # noqa: S311 - jitter, not a secret


def _enroll_once(
    enrollment: Enrollment, now: str, events: list[DomainEvent], memberships: list[Membership]
) -> None:
    purchase_id, agency_id = enrollment.purchase_id, enrollment.agency_id
    member_ids = [m.agency_id for m in memberships]
    # The window row every enrollment updates holds the agencies consortia hold (`members`): the
    # enrollment requires the agency not to be among them, and a lead's adds its members, none of
    # which may be there yet. A lead also checks that no member has enrolled itself.
    window_actions: list[Any] = [PurchaseRow.enrollments.add(1), PurchaseRow.enrollment_changes.add(1)]
    if member_ids:
        window_actions.append(PurchaseRow.members.add(set(member_ids)))
    free = _window_open(now)
    for agency in (agency_id, *member_ids):
        free = free & ~PurchaseRow.members.contains(agency)
    try:
        with TransactWrite(connection=connection()) as tx:
            for member_id in member_ids:  # condition checks go first: indexes 0..n-1
                tx.condition_check(
                    PurchaseRow,
                    purchase_id,
                    _enrollment_key(member_id),
                    PurchaseRow.sk.does_not_exist() | _enrollment_in(ENROLLMENT.sources("enroll")),
                )
            tx.save(
                _enrollment_row(enrollment),
                condition=PurchaseRow.sk.does_not_exist() | _enrollment_in(ENROLLMENT.sources("enroll")),
            )
            for membership in memberships:
                tx.save(members.row(membership), condition=members.not_held())
            event_bus.stage(tx, events)
            tx.update(_window_key(purchase_id), actions=window_actions, condition=free)
    except TransactWriteError as exc:
        raise _enrollment_conflict(exc, enrollment, member_ids, now) from exc


def _enrollment_in(states: tuple[EnrollmentStatus, ...]) -> Any:
    """An enrollment row in one of the states its lifecycle's row starts from."""
    return PurchaseRow.status.is_in(*(state.value for state in states))


def _window_open(now: str) -> Any:
    """The window row's deadline is set while the purchase is in the state the enrollment table's
    `enroll` row starts from (publication sets it, closing removes it), and later than now."""
    return PurchaseRow.open_until > now


def _enrollment_conflict(
    exc: TransactWriteError, enrollment: Enrollment, member_ids: list[str], now: str
) -> Exception:
    """Which condition failed, in PynamoDB's order: the members' enrollment checks, then the puts
    (the enrollment, the members' rows, the outbox), then the window row. A failed window row is
    told apart by reading it after the fact (late, or an agency a consortium holds): the write
    was refused by its condition, not by this read."""
    reasons = [getattr(r, "code", None) for r in (exc.cancellation_reasons or [])]
    failed = [i for i, code in enumerate(reasons) if code == "ConditionalCheckFailed"]
    if not failed:
        with translated():
            raise exc
    agency_id, first = enrollment.agency_id, failed[0]
    if first < len(member_ids):
        return Conflict(
            f"agency {member_ids[first]} has enrolled in this purchase itself: it cannot also be a member",
            reason="member_enrolled",
            agency_id=member_ids[first],
        )
    if first == len(member_ids):
        return Conflict(f"agency {agency_id} has already enrolled", reason="duplicate")
    if first <= 2 * len(member_ids):
        return _member_taken(member_ids[first - len(member_ids) - 1])
    window = _window_row(enrollment.purchase_id)
    held = set(window.members or ()) if window is not None else set()
    open_now = window is not None and window.open_until is not None and str(window.open_until) > now
    if open_now and agency_id in held:
        return Conflict(
            f"agency {agency_id} is a member of a consortium in this purchase: it cannot also enroll",
            reason="in_consortium",
            agency_id=agency_id,
        )
    taken = next((m for m in member_ids if m in held), None)
    if open_now and taken is not None:
        return _member_taken(taken)
    return Conflict("enrollment is closed: the deadline has passed", reason="late")


def _member_taken(agency_id: str) -> Conflict:
    return Conflict(
        f"agency {agency_id} is already a member of another consortium in this purchase",
        reason="member_taken",
        agency_id=agency_id,
    )


def _window_row(purchase_id: str) -> PurchaseRow | None:
    try:
        with translated():
            return PurchaseRow.get(purchase_id, WINDOW, consistent_read=True)
    except NotFound:
        return None


def withdraw(
    enrollment: Enrollment, now: str, events: list[DomainEvent], released: list[Membership] | None = None
) -> None:
    """Withdraw the enrollment and count it out; a lead's `released` members are freed with it,
    each only while this lead still holds it."""
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.save(_enrollment_row(enrollment), condition=_enrollment_in(ENROLLMENT.sources("withdraw")))
            event_bus.stage(tx, events)
            window_actions: list[Any] = [
                PurchaseRow.enrollments.add(-1),
                PurchaseRow.enrollment_changes.add(1),
            ]
            if released:  # the lead's members are free again
                window_actions.append(PurchaseRow.members.delete({m.agency_id for m in released}))
            tx.update(
                _window_key(enrollment.purchase_id), actions=window_actions, condition=_window_open(now)
            )
            members.release_actions(tx, released or [])
    except TransactWriteError as exc:
        reasons = [getattr(r, "code", None) for r in (exc.cancellation_reasons or [])]
        if reasons and reasons[0] == "ConditionalCheckFailed":
            raise Conflict(f"agency {enrollment.agency_id} has no enrollment to withdraw") from exc
        window = 1 + len(events)
        if len(reasons) > window and reasons[window] == "ConditionalCheckFailed":
            raise Conflict("enrollment is closed: withdrawal is no longer possible", reason="late") from exc
        if "ConditionalCheckFailed" in reasons:
            raise Conflict(
                f"a member of agency {enrollment.agency_id}'s consortium changed meanwhile; try again"
            ) from exc
        with translated():
            raise


def enrollments(purchase_id: str) -> list[Enrollment]:
    """Every enrollment of a purchase, withdrawn ones included (a purchase has at most a few hundred)."""
    rows = PurchaseRow.query(purchase_id, PurchaseRow.sk.startswith(ENROLLMENT_PREFIX), consistent_read=True)
    with translated():
        return [Enrollment.model_validate(r.document) for r in rows]


def close(
    purchase: Purchase,
    events: list[DomainEvent],
    judged: list[Enrollment],
    *,
    conflict: str,
    transition: Transition[Any],
) -> None:
    """Save the closed purchase and shut its window, if no enrollment changed since they were
    judged; then record on each enrollment whether it counted. The marks follow the transaction
    (one write each, not two): the purchase's `eligible_agencies`, written in it, is the record,
    and a crash in between leaves marks unset, never wrong."""
    save(purchase, events, conflict=conflict, enrollments_unchanged=True, transition=transition)
    if judged:
        mark_eligibility(purchase.purchase_id, judged)


def mark_eligibility(purchase_id: str, judged: list[Enrollment]) -> None:
    """Record, on each enrollment, whether it counted when enrollment closed."""
    with translated(), PurchaseRow.batch_write() as batch:
        for enrollment in judged:
            batch.save(_enrollment_row(enrollment))


def agency_enrollments(agency_id: str, limit: int, cursor: str | None) -> tuple[list[Enrollment], str | None]:
    """A page of the agency's enrollments: the index holds their keys; one BatchGetItem reads them."""
    rows, next_cursor = query_page(
        PurchaseRow.by_enrolled_agency,
        agency_id,
        filters=[],
        limit=limit,
        cursor=cursor,
        cursor_keys={"purchase_id", "sk", "enrolled_agency"},
    )
    keys = [_key(r.purchase_id, r.sk) for r in rows]
    items = _batch_get({PurchaseRow.Meta.table_name: keys}, consistent=False)[PurchaseRow.Meta.table_name]
    found = {(r.purchase_id, r.sk): r for r in (PurchaseRow.from_raw_data(i) for i in items)}
    with translated():
        return [
            Enrollment.model_validate(found[(r.purchase_id, r.sk)].document)
            for r in rows
            if (r.purchase_id, r.sk) in found
        ], next_cursor


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
    return PurchasePage(_purchases([r.purchase_id for r in rows]), next_cursor)


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
    return PurchasePage(_purchases([r.purchase_id for r in rows]), next_cursor)


def due_by(now: str) -> Iterator[Purchase]:
    """Purchases whose timed step is due at `now`, oldest first: the sweeper's work (the index holds
    keys only; each purchase is read as it is now)."""
    with translated():
        keys = [row.purchase_id for row in PurchaseRow.by_due.query(DUE, PurchaseRow.due_at <= now)]
    for purchase_id in keys:
        yield get(purchase_id, consistent=True)


# An owner's yearly tally (reward mode's share, domain/shelf.py reward_share_allows): the
# `OWNER#<owner>` / `TALLY#<year>` row counts the purchases it published that year and how many
# were reward purchases, updated in the transaction that publishes each one.


@dataclass(frozen=True)
class Tally:
    owner_id: str
    year: int
    published: int
    rewards: int
    revision: int  # 0: no row yet


def _tally_key(owner_id: str, year: int) -> PurchaseRow:
    return PurchaseRow(f"OWNER#{owner_id}", f"TALLY#{year}")


def tally(owner_id: str, year: int) -> Tally:
    with translated():
        try:
            row = PurchaseRow.get(f"OWNER#{owner_id}", f"TALLY#{year}", consistent_read=True)
        except PurchaseRow.DoesNotExist:
            return Tally(owner_id, year, 0, 0, 0)
    return Tally(
        owner_id, year, int(row.published_count or 0), int(row.reward_count or 0), int(row.revision or 0)
    )


def count_published(
    owner_id: str, year: int, *, reward_read: Tally | None = None
) -> Callable[[TransactWrite], None]:
    """Stage one more published purchase in the owner's tally. A reward purchase (`reward_read`:
    the tally its share was checked against) counts as a reward too, conditioned on the tally being
    as read: two reward purchases racing cannot both pass the share."""

    def stage(tx: TransactWrite) -> None:
        actions: list[Any] = [PurchaseRow.published_count.add(1), PurchaseRow.revision.add(1)]
        condition: Any = None
        if reward_read is not None:
            actions.append(PurchaseRow.reward_count.add(1))
            condition = (
                PurchaseRow.revision == reward_read.revision
                if reward_read.revision
                else PurchaseRow.revision.does_not_exist()
            )
        tx.update(_tally_key(owner_id, year), actions=actions, condition=condition)

    return stage


def _shelf_key(owner_id: str, project_code: str, item_code: str) -> PurchaseRow:
    return PurchaseRow(f"OWNER#{owner_id}", f"SHELF#{project_code}#{item_code}")


def shelf_bought(owner_id: str, project_code: str, item_code: str) -> str | None:
    """The shelf purchase by which the owner bought the item for the project, if any."""
    key = _shelf_key(owner_id, project_code, item_code)
    with translated():
        try:
            row = PurchaseRow.get(key.purchase_id, key.sk, consistent_read=True)
        except PurchaseRow.DoesNotExist:
            return None
    return row.bought


def claim_shelf_project(
    owner_id: str, project_code: str, item_code: str, purchase_id: str, *, replaces: str | None
) -> Callable[[TransactWrite], None]:
    """Stage the marker of a shelf purchase of the item for the project: only if none exists, or
    (`replaces`) if it still names that purchase (one that was cancelled, which is final)."""

    def stage(tx: TransactWrite) -> None:
        condition: Any = PurchaseRow.purchase_id.does_not_exist()
        if replaces is not None:
            condition = PurchaseRow.bought == replaces
        tx.update(
            _shelf_key(owner_id, project_code, item_code),
            actions=[PurchaseRow.bought.set(purchase_id)],
            condition=condition,
        )

    return stage


def both(*stages: Callable[[TransactWrite], None] | None) -> Callable[[TransactWrite], None]:
    """Several staged writes as one `stage_also`."""

    def stage(tx: TransactWrite) -> None:
        for one in stages:
            if one is not None:
                one(tx)

    return stage


def add_confirmed(
    purchase: Purchase,
    events: list[DomainEvent],
    *,
    conflict: str,
    stage_also: Callable[[TransactWrite], None],
    transition: Transition[Any],
) -> None:
    """A purchase written in its state at once (a shelf purchase: confirmed), with its public
    index keys and due step, if it does not exist yet; with `stage_also` (the offering still
    listed, the owner's tally) and its events, all or nothing."""
    assert purchase.status == transition.target
    with translated(conflict=conflict), TransactWrite(connection=connection()) as tx:
        tx.update(
            PurchaseRow(purchase.purchase_id, PURCHASE),
            actions=[
                *_state_actions(purchase),
                PurchaseRow.owner_id.set(purchase.owner_id),
                PurchaseRow.created_at.set(purchase.created_at),
                PurchaseRow.revision.set(1),
            ],
            condition=PurchaseRow.purchase_id.does_not_exist(),
        )
        stage_also(tx)
        event_bus.stage(tx, events)
