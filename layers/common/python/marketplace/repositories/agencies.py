"""Agencies, their submissions, review decisions and admitted offerings in the `agencies` table."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pynamodb.transactions import TransactWrite

from marketplace.domain.agencies import (
    SUBMISSION,
    Agency,
    AgencyStatus,
    AgencySummary,
    Decision,
    Member,
    Offering,
    RecordVersion,
    Submission,
    SubmissionStatus,
)
from marketplace.domain.lifecycle import Transition
from marketplace.errors import Conflict, NotFound
from marketplace.events import DomainEvent
from marketplace.repositories import event_bus
from marketplace.repositories.base import connection, query_page, translated
from marketplace.repositories.tables import AgencyRow

PROFILE = "PROFILE"
LISTING = "AGENCY"
CERT_BUCKET = "CERT"


def _sub(number: int) -> str:
    return f"SUB#{number:06d}"


def _decision_key(number: int, slot: str) -> str:
    return f"{_sub(number)}#DEC#{slot}"


def _pending_key(number: int, slot: str) -> str:
    return f"{_sub(number)}#PENDING#{slot}"


def _guard(credit_code: str) -> str:
    return f"credit-code#{credit_code}"


@dataclass(frozen=True)
class AgencyPage:
    agencies: list[Agency]
    cursor: str | None


@dataclass(frozen=True)
class PendingReview:
    agency_id: str
    number: int
    slot: str
    due_at: str
    name: str
    kind: str


def _profile_row(agency: Agency, open_submission: int | None, submissions: int) -> AgencyRow:
    record = agency.record
    regions = ",".join(record.all_regions()) if record else ""
    return AgencyRow(
        agency_id=agency.agency_id,
        sk=PROFILE,
        listing=LISTING,
        status=agency.status.value,
        regions=regions,
        search_text=search_text(agency),
        open_submission=open_submission,
        submissions=submissions,
        record_version=agency.record_version,
        revision=agency.revision + 1,
        document=agency.model_dump(mode="json"),
    )


def _unchanged_since_read(agency: Agency) -> Any:
    return AgencyRow.revision == agency.revision


def _in_state(transition: Transition[AgencyStatus] | None) -> Any:
    """The profile in the state the lifecycle's row starts from (no condition for a write that
    changes no state)."""
    return None if transition is None else AgencyRow.status == transition.source.value


def _and(condition: Any, also: Any) -> Any:
    return condition if also is None else condition & also


def _submission_row(submission: Submission) -> AgencyRow:
    return AgencyRow(
        agency_id=submission.agency_id,
        sk=_sub(submission.number),
        status=submission.status.value,
        approvals=0,
        rejections=0,
        document=submission.model_dump(mode="json", exclude={"decisions"}),
    )


def _pending_rows(submission: Submission, name: str) -> list[AgencyRow]:
    return [
        AgencyRow(
            agency_id=submission.agency_id,
            sk=_pending_key(submission.number, slot),
            queue=slot,
            due_at=f"{submission.due_at}#{submission.agency_id}#{submission.number}",
            document={"name": name, "kind": submission.kind.value, "number": submission.number},
        )
        for slot in submission.required_slots
    ]


def open_first_submission(agency: Agency, submission: Submission, events: list[DomainEvent]) -> None:
    """A first application: the agency and its credit code must be new."""
    conflict = (
        f"organisation {agency.agency_id} has already applied, "
        f"or credit code {agency.credit_code} belongs to another agency"
    )
    with translated(conflict=conflict), TransactWrite(connection=connection()) as tx:
        tx.save(
            _profile_row(agency, submission.number, submission.number),
            condition=AgencyRow.sk.does_not_exist(),
        )
        tx.save(
            AgencyRow(agency_id=_guard(agency.credit_code), sk=PROFILE, holder=agency.agency_id),
            condition=AgencyRow.sk.does_not_exist(),
        )
        tx.save(_submission_row(submission), condition=AgencyRow.sk.does_not_exist())
        for row in _pending_rows(submission, agency.name):
            tx.save(row)
        event_bus.stage(tx, events)


def open_next_submission(
    agency: Agency,
    submission: Submission,
    *,
    transition: Transition[AgencyStatus],
    events: list[DomainEvent],
) -> None:
    """A resubmission, change or extension (`agency` as the transition made it): only when none
    is open and the agency is still in the transition's from-state; the submission number must be
    the next one."""
    conflict = f"agency {agency.agency_id} already has a submission under review, or its status changed"
    condition = (
        AgencyRow.open_submission.does_not_exist()
        & (AgencyRow.submissions == submission.number - 1)
        & _in_state(transition)
        & _unchanged_since_read(agency)
    )
    actions: list[Any] = [
        AgencyRow.open_submission.set(submission.number),
        AgencyRow.submissions.set(submission.number),
        AgencyRow.revision.set(agency.revision + 1),
    ]
    if transition.target != transition.source:
        actions += [
            AgencyRow.status.set(agency.status.value),
            AgencyRow.document.set(agency.model_dump(mode="json")),
        ]
    with translated(conflict=conflict), TransactWrite(connection=connection()) as tx:
        tx.update(AgencyRow(agency_id=agency.agency_id, sk=PROFILE), actions=actions, condition=condition)
        tx.save(_submission_row(submission), condition=AgencyRow.sk.does_not_exist())
        for row in _pending_rows(submission, agency.name):
            tx.save(row)
        event_bus.stage(tx, events)


def record_decisions(
    agency_id: str, number: int, decisions: list[Decision], events: list[DomainEvent]
) -> None:
    """Record decisions for review slots still open. A slot decided already, or a submission no
    longer under review, makes the whole call a conflict and records nothing."""
    approvals = sum(1 for d in decisions if d.decision == "approve")
    rejections = len(decisions) - approvals
    conflict = "this review was already decided, or the submission is no longer under review"
    with translated(conflict=conflict), TransactWrite(connection=connection()) as tx:
        for decision in decisions:
            tx.save(
                AgencyRow(
                    agency_id=agency_id,
                    sk=_decision_key(number, decision.slot),
                    document=decision.model_dump(mode="json"),
                ),
                condition=AgencyRow.sk.does_not_exist(),
            )
            tx.delete(AgencyRow(agency_id=agency_id, sk=_pending_key(number, decision.slot)))
        tx.update(
            AgencyRow(agency_id=agency_id, sk=_sub(number)),
            actions=[AgencyRow.approvals.add(approvals), AgencyRow.rejections.add(rejections)],
            condition=AgencyRow.status.is_in(*(s.value for s in SUBMISSION.sources("review"))),
        )
        event_bus.stage(tx, events)


def close_approved(
    agency: Agency,
    previous: Agency,
    submission: Submission,
    events: list[DomainEvent],
    *,
    transition: Transition[AgencyStatus] | None = None,
    submission_step: Transition[SubmissionStatus],
) -> None:
    """Put the approved record in force: profile, record version, offerings and certificates, in
    one transaction conditioned on the submission still being open and fully approved (and, for a
    first admission, the agency still in the `transition`'s from-state)."""
    record = agency.record
    assert record is not None
    number = submission.number
    conflict = f"submission {number} of agency {agency.agency_id} was closed meanwhile"
    old_items = {o.item_code for o in previous.record.offerings} if previous.record else set()
    old_certs = {c.number for c in previous.record.certificates} if previous.record else set()
    new_items = {o.item_code for o in record.offerings}
    new_certs = {c.number for c in record.certificates}
    with translated(conflict=conflict), TransactWrite(connection=connection()) as tx:
        _close_submission(
            tx,
            submission,
            submission_step,
            also=(AgencyRow.approvals >= len(submission.required_slots)) & (AgencyRow.rejections == 0),
        )
        tx.save(
            _profile_row(agency, None, number),
            condition=_and(
                (AgencyRow.open_submission == number) & _unchanged_since_read(previous), _in_state(transition)
            ),
        )
        tx.save(
            AgencyRow(
                agency_id=agency.agency_id,
                sk=f"VER#{agency.record_version:06d}",
                document={"record": record.model_dump(mode="json"), "submission": number},
            ),
            condition=AgencyRow.sk.does_not_exist(),
        )
        for row in offering_rows(agency):
            tx.save(row)
        for code in old_items - new_items:
            tx.delete(AgencyRow(agency_id=agency.agency_id, sk=f"OFFER#{code}"))
        previous_certs = {c.number: c for c in previous.record.certificates} if previous.record else {}
        for certificate in record.certificates:
            if previous_certs.get(certificate.number) == certificate:
                continue  # unchanged: keep its row (and whether its expiry was notified)
            tx.save(
                AgencyRow(
                    agency_id=agency.agency_id,
                    sk=f"CERT#{certificate.number}",
                    expiry_bucket=CERT_BUCKET,
                    expires_on=f"{certificate.expires_on.isoformat()}#{agency.agency_id}#{certificate.number}",
                    document=certificate.model_dump(mode="json"),
                )
            )
        for gone in old_certs - new_certs:
            tx.delete(AgencyRow(agency_id=agency.agency_id, sk=f"CERT#{gone}"))
        event_bus.stage(tx, events)


def search_text(agency: Agency) -> str:
    """What the directory's keyword matches, on the profile row and each offering row alike: the
    name and the credit code (an agency's credit code is public, unlike an owner's)."""
    return f"{agency.name}\n{agency.credit_code}".lower()


def offering_rows(agency: Agency) -> list[AgencyRow]:
    """The directory's view of each admitted offering, carrying the agency's current status."""
    record = agency.record
    if record is None:
        return []
    regions = ",".join(record.all_regions())
    return [
        AgencyRow(
            agency_id=agency.agency_id,
            sk=f"OFFER#{offering.item_code}",
            item_code=offering.item_code,
            status=agency.status.value,
            regions=regions,
            search_text=search_text(agency),
            document={
                "name": agency.name,
                "offering": offering.model_dump(mode="json"),
                "suspended": offering.item_code in agency.suspended_items,
                "status_reason": agency.status_reason(),
            },
        )
        for offering in record.offerings
    ]


def close_returned(
    agency: Agency,
    previous: Agency,
    submission: Submission,
    events: list[DomainEvent],
    *,
    transition: Transition[AgencyStatus] | None = None,
    submission_step: Transition[SubmissionStatus],
) -> None:
    """Return a submission with its reasons: it closes, nothing in force changes (a first
    application's agency becomes `returned`), and reviews still owed are dropped from the queues."""
    number = submission.number
    conflict = f"submission {number} of agency {agency.agency_id} was closed meanwhile"
    with translated(conflict=conflict), TransactWrite(connection=connection()) as tx:
        _close_submission(tx, submission, submission_step, also=AgencyRow.rejections > 0)
        tx.save(
            _profile_row(agency, None, number),
            condition=_and(
                (AgencyRow.open_submission == number) & _unchanged_since_read(previous), _in_state(transition)
            ),
        )
        event_bus.stage(tx, events)


def change_status(
    agency: Agency,
    previous: Agency,
    events: list[DomainEvent],
    *,
    transition: Transition[AgencyStatus],
    closing: Submission | None = None,
    submission_step: Transition[SubmissionStatus] | None = None,
) -> None:
    """Suspend, expel or reinstate: the profile and every offering row, if the status is still
    the one the decision was made on; `closing` is an open submission that ends with it (an
    expelled agency's application or change is returned, and leaves the review queues)."""
    conflict = f"agency {agency.agency_id} changed status meanwhile; read it again"
    actions: list[Any] = [
        AgencyRow.status.set(agency.status.value),
        AgencyRow.document.set(agency.model_dump(mode="json")),
        AgencyRow.revision.set(previous.revision + 1),
    ]
    if closing is not None:
        actions.append(AgencyRow.open_submission.remove())
    with translated(conflict=conflict), TransactWrite(connection=connection()) as tx:
        tx.update(
            AgencyRow(agency_id=agency.agency_id, sk=PROFILE),
            actions=actions,
            condition=_unchanged_since_read(previous) & _in_state(transition),
        )
        for row in offering_rows(agency):
            tx.save(row)
        if closing is not None:
            assert submission_step is not None
            _close_submission(tx, closing, submission_step)
        event_bus.stage(tx, events)


def _close_submission(
    tx: TransactWrite, submission: Submission, step: Transition[SubmissionStatus], *, also: Any = None
) -> None:
    """Close a submission still in the `step`'s from-state (under review), if `also` holds, with
    the status it now has; reviews still owed leave the queues."""
    number = submission.number
    condition = AgencyRow.status == step.source.value
    tx.update(
        AgencyRow(agency_id=submission.agency_id, sk=_sub(number)),
        actions=[
            AgencyRow.status.set(submission.status.value),
            AgencyRow.document.set(submission.model_dump(mode="json", exclude={"decisions"})),
        ],
        condition=condition if also is None else condition & also,
    )
    decided = {d.slot for d in submission.decisions}
    for slot in submission.required_slots:
        if slot not in decided:
            tx.delete(AgencyRow(agency_id=submission.agency_id, sk=_pending_key(number, slot)))


def get(agency_id: str, *, consistent: bool = False) -> Agency:
    """The agency; `consistent` for a writer, whose write is conditioned on what it read."""
    with translated(missing=f"agency {agency_id} not found"):
        if agency_id.startswith("credit-code#"):
            raise AgencyRow.DoesNotExist()
        row = AgencyRow.get(agency_id, PROFILE, consistent_read=consistent)
    agency = Agency.model_validate(row.document)
    agency.submissions = int(row.submissions or 0)
    agency.open_submission = int(row.open_submission) if row.open_submission is not None else None
    agency.revision = int(row.revision or 0)
    return agency


def profiles(agency_ids: list[str]) -> dict[str, Agency]:
    """Several agencies in one BatchGetItem (enrollment closing judges every enrollee again)."""
    found: dict[str, Agency] = {}
    wanted = [a for a in dict.fromkeys(agency_ids) if not a.startswith("credit-code#")]
    with translated():
        for row in AgencyRow.batch_get([(a, PROFILE) for a in wanted], consistent_read=True):
            agency = Agency.model_validate(row.document)
            agency.revision = int(row.revision or 0)
            found[agency.agency_id] = agency
    return found


def find(agency_id: str, *, consistent: bool = False) -> Agency | None:
    try:
        return get(agency_id, consistent=consistent)
    except NotFound:
        return None


def submissions(agency_id: str, number: int | None = None, *, consistent: bool = False) -> list[Submission]:
    """Submissions with their decisions, oldest first (one, when `number` is given); `consistent`
    to see decisions recorded an instant ago."""
    prefix = _sub(number) if number is not None else "SUB#"
    found: dict[int, Submission] = {}
    decisions: dict[int, list[Decision]] = {}
    for row in AgencyRow.query(agency_id, AgencyRow.sk.startswith(prefix), consistent_read=consistent):
        parts = row.sk.split("#")
        n = int(parts[1])
        if len(parts) == 2:
            found[n] = Submission.model_validate(row.document)
        elif parts[2] == "DEC":
            decisions.setdefault(n, []).append(Decision.model_validate(row.document))
    for n, submission in found.items():
        submission.decisions = sorted(decisions.get(n, []), key=lambda d: d.decided_at)
    return [found[n] for n in sorted(found)]


def record_versions(agency_id: str) -> list[RecordVersion]:
    return [
        RecordVersion(
            version=int(row.sk[4:]), submission=row.document["submission"], record=row.document["record"]
        )
        for row in AgencyRow.query(agency_id, AgencyRow.sk.startswith("VER#"))
    ]


def review_queue(slot: str, limit: int) -> list[PendingReview]:
    pending = []
    for row in AgencyRow.by_review_queue.query(slot, limit=limit):
        due_at = (row.due_at or "").split("#")[0]
        pending.append(
            PendingReview(
                agency_id=row.agency_id,
                number=int(row.document["number"]),
                slot=slot,
                due_at=due_at,
                name=row.document["name"],
                kind=row.document["kind"],
            )
        )
    return pending


def list_agencies(
    *,
    item_code: str | None,
    region: str | None,
    status: str | None,
    keyword: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[AgencySummary], str | None]:
    """Directory entries: a Query on the item index (with an item) or the listing index."""
    filters = [
        AgencyRow.status == status if status else None,
        AgencyRow.regions.contains(region) if region else None,
        AgencyRow.search_text.contains(keyword.lower()) if keyword else None,
    ]
    if item_code:
        index: Any = AgencyRow.by_item
        hash_value, index_key = item_code, "item_code"
    else:
        index, hash_value, index_key = AgencyRow.by_listing, LISTING, "listing"
    rows, next_cursor = query_page(
        index,
        hash_value,
        filters=filters,
        limit=limit,
        cursor=cursor,
        cursor_keys={"agency_id", "sk", index_key},
    )
    return [_summary(row) for row in rows], next_cursor


def _summary(row: AgencyRow) -> AgencySummary:
    regions = [r for r in (row.regions or "").split(",") if r]
    if row.sk == PROFILE:
        agency = Agency.model_validate(row.document)
        items = [o.item_code for o in agency.record.offerings] if agency.record else []
        return AgencySummary(
            agency_id=agency.agency_id,
            name=agency.name,
            status=agency.status,
            regions=regions,
            items=items,
            status_reason=agency.status_reason(),
        )
    return AgencySummary(
        agency_id=row.agency_id,
        name=row.document["name"],
        status=AgencyStatus(row.status),
        regions=regions,
        items=[row.item_code or ""],
        offering=Offering.model_validate(row.document["offering"]),
        item_suspended=bool(row.document["suspended"]),
        status_reason=row.document.get("status_reason", ""),
    )


def certificates_expiring(until: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(agency id, certificate) for admitted certificates expiring on or before `until`, every
    page of the index (expired ones leave it once their items are handled)."""
    for row in AgencyRow.by_expiry.query(CERT_BUCKET, AgencyRow.expires_on <= f"{until}#~", page_size=200):
        yield row.agency_id, row.document


def mark_expiry_notified(agency_id: str, number: str, expires_on: str, events: list[DomainEvent]) -> bool:
    """Note, with the notice's events, that the agency was told this certificate expires; False
    (and nothing written) when it already was."""
    try:
        with translated(), TransactWrite(connection=connection()) as tx:
            tx.update(
                AgencyRow(agency_id=agency_id, sk=f"CERT#{number}"),
                actions=[AgencyRow.holder.set(f"notified:{expires_on}")],
                condition=AgencyRow.sk.exists() & (AgencyRow.holder != f"notified:{expires_on}"),
            )
            event_bus.stage(tx, events)
        return True
    except Conflict:
        return False


def save_item_suspensions(
    agency: Agency,
    previous: Agency,
    expired: list[str],
    events: list[DomainEvent],
    *,
    transition: Transition[AgencyStatus],
) -> None:
    """Record suspended items on the profile and the offering rows, and take the expired
    certificates out of the expiry index, unless the agency changed meanwhile."""
    conflict = f"agency {agency.agency_id} changed meanwhile; the next check will see it"
    with translated(conflict=conflict), TransactWrite(connection=connection()) as tx:
        tx.update(
            AgencyRow(agency_id=agency.agency_id, sk=PROFILE),
            actions=[
                AgencyRow.document.set(agency.model_dump(mode="json")),
                AgencyRow.revision.set(previous.revision + 1),
            ],
            condition=_unchanged_since_read(previous) & _in_state(transition),
        )
        for row in offering_rows(agency):
            tx.save(row)
        for number in expired:
            tx.update(
                AgencyRow(agency_id=agency.agency_id, sk=f"CERT#{number}"),
                actions=[AgencyRow.expiry_bucket.remove()],
                condition=AgencyRow.sk.exists(),
            )
        event_bus.stage(tx, events)


def _member_key(username: str) -> str:
    return f"USER#{username}"


def reserve_member(agency_id: str, member: Member) -> None:
    """Hold the user name for this agency before the directory creates the user."""
    with translated(conflict=f"{member.username} is already a user of agency {agency_id}"):
        AgencyRow(
            agency_id=agency_id, sk=_member_key(member.username), document=member.model_dump(mode="json")
        ).save(condition=AgencyRow.sk.does_not_exist())


def confirm_member(agency_id: str, member: Member) -> None:
    with translated():
        AgencyRow(
            agency_id=agency_id, sk=_member_key(member.username), document=member.model_dump(mode="json")
        ).save(condition=AgencyRow.sk.exists())


def drop_member(agency_id: str, username: str) -> None:
    with translated(conflict=f"{username} is not a user of agency {agency_id}"):
        AgencyRow(agency_id=agency_id, sk=_member_key(username)).delete(condition=AgencyRow.sk.exists())


def members(agency_id: str) -> list[Member]:
    return [
        Member.model_validate(r.document)
        for r in AgencyRow.query(agency_id, AgencyRow.sk.startswith("USER#"))
    ]
