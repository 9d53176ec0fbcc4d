"""The credit ledger in the `credit` table (docs/credit.md). One partition per agency:

- `EVENT#<occurred_at>#<credit_event_id>`: an event, written once (PutItem conditioned on the key
  not existing), with the standing it produced (`after`: a point of the score over time);
- `HISTORY#<instant>`: the score at an instant it changed by itself (an event's date passed);
- `STANDING`: the agency's standing, rewritten whole with each change, conditioned on the
  `revision` read; it carries `due`/`due_at` (index `by-credit-due`) while something is to come.

An event is recorded once by its id: recording reads the whole partition (one Query), does nothing
if the id is already there, and its write is conditioned on the standing's revision, which every
recording advances; so a recording that raced another of the same id fails, reads again and sees
it. The `RULES` partition holds the rules' versions (`V#000001`...).

No write here updates or deletes a row (tests/unit/test_credit_ledger_code.py checks every write
carries a condition; tests/infra checks no role may UpdateItem or DeleteItem on the table)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pynamodb.transactions import TransactWrite

from marketplace.clock import parse_iso, stamp, utcnow
from marketplace.domain.credit import (
    EXPIRY,
    RULES_CHANGE,
    CreditEvent,
    CreditRuleBook,
    CreditRules,
    CreditStanding,
    ScorePoint,
    compute_standing,
    due_between,
    point_of,
)
from marketplace.domain.model import revised
from marketplace.errors import Conflict, NotFound, ServiceUnavailable
from marketplace.events import DomainEvent
from marketplace.repositories import event_bus
from marketplace.repositories.base import connection, decode_cursor, encode_cursor, translated
from marketplace.repositories.tables import CreditRow
from marketplace.settings import get_settings

STANDING = "STANDING"
EVENT = "EVENT#"
HISTORY = "HISTORY#"
RULES = "RULES"
RULES_VERSION = "V#"
DUE = "DUE"  # the due index's partition of standings with something to come, by when
IDLE = "IDLE"  # and of those with nothing to come, by agency: every standing is in the index
APPLIED = "APPLIED"  # the RULES partition's row naming the version the standings were last brought to
ATTEMPTS = 6
CACHE_SECONDS = 300

# Rules: versions loaded by the admin, cached per execution environment like the calendar.

_rules_cache: tuple[float, CreditRuleBook] | None = None


@dataclass(frozen=True)
class RulesVersion:
    rules: CreditRules
    loaded_at: str | None
    loaded_by: str | None


def rule_versions() -> list[RulesVersion]:
    """Every version the admin loaded, oldest first (one Query on the `RULES` partition)."""
    with translated():
        rows = list(CreditRow.query(RULES, CreditRow.sk.startswith(RULES_VERSION), consistent_read=True))
    return [
        RulesVersion(
            rules=CreditRules.model_validate(r.document["rules"]),
            loaded_at=r.document.get("loaded_at"),
            loaded_by=r.document.get("loaded_by"),
        )
        for r in rows
    ]


def rule_book() -> CreditRuleBook:
    cached = cached_rule_book()
    if cached is not None:
        return cached
    return remember_rule_book([v.rules for v in rule_versions()])


def cached_rule_book() -> CreditRuleBook | None:
    if _rules_cache is not None and time.monotonic() - _rules_cache[0] < CACHE_SECONDS:
        return _rules_cache[1]
    return None


def remember_rule_book(versions: list[CreditRules]) -> CreditRuleBook:
    global _rules_cache
    book = CreditRuleBook(versions)
    _rules_cache = (time.monotonic(), book)
    return book


# Every loaded version again in one row, written with each version: a use case that reads other
# rows in one BatchGetItem (enrollment) reads the rules in the same request, not one more Query.
BOOK_KEY = {"agency_id": {"S": RULES}, "sk": {"S": "BOOK"}}


def book_from(item: dict[str, Any] | None) -> list[CreditRules]:
    """The versions in the book row as BatchGetItem returns it; none (the shipped defaults) when
    no version was ever loaded."""
    if item is None:
        return []
    document = CreditRow.from_raw_data(item).document or {}
    return [CreditRules.model_validate(r) for r in document.get("versions", [])]


def forget_rules_cache() -> None:
    global _rules_cache
    _rules_cache = None


def _local_day(at: datetime) -> Any:
    from zoneinfo import ZoneInfo

    return at.astimezone(ZoneInfo(get_settings().timezone)).date()


def rules_in_force(at: datetime) -> CreditRules:
    """The credit rules in force at `at` (by the region's local date). Until an admin loads a
    version, the shipped defaults (domain/credit.py DEFAULT_RULES)."""
    return rule_book().in_force(_local_day(at))


def rules_at(instant: str) -> CreditRules:
    return rules_in_force(parse_iso(instant))


def rule_changes() -> tuple[str, ...]:
    """The instants (local midnight, in UTC) at which a loaded version of the rules takes effect."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(get_settings().timezone)
    return tuple(stamp(datetime(d.year, d.month, d.day, tzinfo=zone)) for d in rule_book().effective_days())


def applied_rules_version() -> int:
    """The rules' version every standing was last brought to by the daily task (the shipped 1 at first)."""
    try:
        with translated():
            row = CreditRow.get(RULES, APPLIED, consistent_read=True)
    except NotFound:
        return 1
    return int(row.revision or 1)


def mark_rules_applied(version: int, *, previous: int) -> None:
    """Record that every standing is now computed with `version` (condition: the version read)."""
    condition = CreditRow.revision == previous if previous != 1 else CreditRow.sk.does_not_exist()
    with translated(conflict="another run brought the standings to the rules meanwhile"):
        CreditRow(agency_id=RULES, sk=APPLIED, revision=version, document={"version": version}).save(
            condition=condition
        )


def add_rules(rules: CreditRules, *, loaded_at: str, loaded_by: str, events: list[DomainEvent]) -> None:
    """Store a new version; two loads that both took the same number: the second is a Conflict."""
    row = CreditRow(
        agency_id=RULES,
        sk=f"{RULES_VERSION}{rules.version:06d}",
        document={"rules": rules.model_dump(mode="json"), "loaded_at": loaded_at, "loaded_by": loaded_by},
    )
    loaded = [v.rules for v in rule_versions()]
    book = CreditRow(
        agency_id=RULES,
        sk="BOOK",
        revision=len(loaded) + 1,
        document={"versions": [r.model_dump(mode="json") for r in [*loaded, rules]]},
    )
    book_read = CreditRow.revision == len(loaded) if loaded else CreditRow.sk.does_not_exist()
    with (
        translated(conflict=f"credit rules version {rules.version} was loaded meanwhile; load again"),
        TransactWrite(connection=connection()) as tx,
    ):
        tx.save(row, condition=CreditRow.sk.does_not_exist())
        tx.save(book, condition=book_read)
        event_bus.stage(tx, events)
    forget_rules_cache()


# The ledger.


@dataclass
class Ledger:
    """An agency's partition, read with one Query: its standing (None before its first event), its
    events in the order they occurred, and the score over time as kept (each event's `after` and
    the history rows), in time order."""

    agency_id: str
    standing: CreditStanding | None
    events: list[CreditEvent] = field(default_factory=list)
    points: list[ScorePoint] = field(default_factory=list)
    others: list[CreditRow] = field(default_factory=list)

    @property
    def revision(self) -> int:
        return self.standing.revision if self.standing else 0

    def has(self, credit_event_id: str) -> bool:
        return any(e.credit_event_id == credit_event_id for e in self.events)


def event_key(credit_event: CreditEvent) -> str:
    return f"{EVENT}{credit_event.occurred_at}#{credit_event.credit_event_id}"


def _standing(row: CreditRow) -> CreditStanding:
    standing = CreditStanding.model_validate(row.document)
    standing.revision = int(row.revision or 0)
    return standing


def _after(point: ScorePoint) -> dict[str, Any]:
    """The standing an event produced, kept on its row: what the event does not say already."""
    kept: dict[str, Any] = {
        "score": point.score,
        "level": point.level.value,
        "rules_version": point.rules_version,
    }
    if point.blacklisted_until:
        kept["blacklisted_until"] = point.blacklisted_until
    return kept


def _point_after(event: CreditEvent, after: dict[str, Any]) -> ScorePoint:
    return ScorePoint.model_validate({**after, "at": event.recorded_at, "cause": event.credit_event_id})


def ledger(agency_id: str, *, consistent: bool = True) -> Ledger:
    """The whole partition in one Query (strongly consistent when a recording decides on it; the
    public profile reads it eventually consistent, at half the read units)."""
    found = Ledger(agency_id=agency_id, standing=None)
    ordered: list[tuple[str, int, ScorePoint]] = []
    with translated():
        for row in CreditRow.query(agency_id, consistent_read=consistent):
            if row.sk == STANDING:
                found.standing = _standing(row)
            elif row.sk.startswith(EVENT):
                event = CreditEvent.model_validate(row.document)
                found.events.append(event)
                if row.after:
                    point = _point_after(event, row.after)
                    ordered.append((point.at, int(row.revision or 0), point))
            elif row.sk.startswith(HISTORY):
                point = ScorePoint.model_validate(row.document)
                ordered.append((point.at, int(row.revision or 0), point))
            else:  # rows other modules keep in the partition (appeals: repositories.credit_actions)
                found.others.append(row)
    found.points = [p for _, _, p in sorted(ordered, key=lambda o: (o[0], o[1]))]
    return found


def find_event(agency_id: str, credit_event_id: str) -> CreditEvent | None:
    """One event of the agency's ledger by its id (an appeal names it), or None."""
    return next((e for e in ledger(agency_id).events if e.credit_event_id == credit_event_id), None)


def pending_points(found: Ledger, now: str) -> list[ScorePoint]:
    """The history points the daily task will record for a standing read at `now` (the profile
    shows them before it runs)."""
    return _passed(found, now)


def standings(agency_ids: list[str]) -> dict[str, CreditStanding]:
    """Each agency's standing; one with no credit record has an empty one (the base score)."""
    found = {a: CreditStanding(agency_id=a) for a in agency_ids}
    if not agency_ids:
        return found
    with translated():
        for row in CreditRow.batch_get([(a, STANDING) for a in agency_ids]):
            found[row.agency_id] = _standing(row)
    return found


def events_page(agency_id: str, *, limit: int, cursor: str | None) -> tuple[list[CreditEvent], str | None]:
    """One page of the agency's events, the latest to occur first."""
    with translated():
        results = CreditRow.query(
            agency_id,
            CreditRow.sk.startswith(EVENT),
            scan_index_forward=False,
            limit=limit,
            page_size=limit,
            last_evaluated_key=decode_cursor(cursor, {"agency_id", "sk"}),
        )
        rows = list(results)
    return [CreditEvent.model_validate(r.document) for r in rows], encode_cursor(results.last_evaluated_key)


def every_standing() -> list[str]:
    """Every agency with a standing (both partitions of the due index, Queries, never a Scan): the
    daily task's pass when a new version of the rules takes effect."""
    with translated():
        idle = [r.agency_id for r in CreditRow.due_index.query(IDLE)]
        waiting = [r.agency_id for r in CreditRow.due_index.query(DUE)]
    return sorted({*idle, *waiting})


def due(now: str, *, limit: int = 100) -> list[str]:
    """Agencies whose standing falls due by `now`, the longest due first (a Query on the sparse
    `by-credit-due` index, never a Scan)."""
    with translated():
        rows = CreditRow.due_index.query(DUE, CreditRow.due_at <= now, limit=limit)
        return [r.agency_id for r in rows]


# Writing.


def _standing_row(standing: CreditStanding, revision: int) -> CreditRow:
    return CreditRow(
        agency_id=standing.agency_id,
        sk=STANDING,
        revision=revision,
        document=standing.model_dump(mode="json"),
        due=DUE if standing.next_due else IDLE,
        due_at=standing.next_due or standing.agency_id,
    )


def _standing_condition(revision: int) -> Any:
    """The standing as read: unchanged since (or still absent)."""
    return CreditRow.revision == revision if revision else CreditRow.sk.does_not_exist()


def _changes_since(found: Ledger, now: str) -> dict[str, str]:
    """The instants in (computed, now] at which the standing may have changed by itself: an
    event's date passed (`expiry`), a new version of the rules took effect (`rules`)."""
    if found.standing is None or found.standing.computed_at is None:
        return {}
    since = found.standing.computed_at
    causes = {t: RULES_CHANGE for t in rule_changes() if since < t <= now}
    causes.update({t: EXPIRY for t in due_between(found.events, since, now)})
    return causes


def _passed(found: Ledger, now: str) -> list[ScorePoint]:
    """The score at each instant it changed by itself since the standing was computed (the daily
    task records these; a recording that comes first records them instead), those that changed it
    only."""
    if found.standing is None:
        return []
    points, state = [], found.standing.state()
    for t, cause in sorted(_changes_since(found, now).items()):
        then = compute_standing(found.agency_id, found.events, rules_at(t), t)
        if then.state() != state:
            points.append(point_of(then, cause))
            state = then.state()
    return points


class CreditStage:
    """What recording one event writes, for a transaction (callable with it). `recording` is
    False when the ledger already holds the event's id: then it writes nothing."""

    def __init__(
        self, event_row: CreditRow | None, history: list[CreditRow], standing: CreditRow | None, revision: int
    ) -> None:
        self.recording = event_row is not None
        self._event_row, self._history, self._standing, self._revision = (
            event_row,
            history,
            standing,
            revision,
        )

    def __call__(self, tx: TransactWrite) -> None:
        if self._event_row is None or self._standing is None:
            return
        tx.save(self._event_row, condition=CreditRow.sk.does_not_exist())
        for row in self._history:
            tx.save(row, condition=CreditRow.sk.does_not_exist())
        tx.save(self._standing, condition=_standing_condition(self._revision))


def staged(credit_event: CreditEvent) -> CreditStage:
    """What recording the event writes, for a transaction that also changes something else (an
    abandonment changes the purchase and the agency's credit together, or neither). The ledger is
    read now (one Query); the transaction fails if the standing changes before the commit, and
    writes nothing if the event's id is already recorded."""
    agency_id = credit_event.agency_id
    found = ledger(agency_id)
    if found.has(credit_event.credit_event_id):
        return CreditStage(None, [], None, found.revision)
    now = stamp(utcnow())
    if found.standing and found.standing.computed_at and found.standing.computed_at > now:
        now = found.standing.computed_at  # never before what is already kept
    event = revised(credit_event, recorded_at=now)
    history = [
        CreditRow(
            agency_id=agency_id,
            sk=f"{HISTORY}{p.at}",
            revision=found.revision,
            document=p.model_dump(mode="json"),
        )
        for p in _passed(found, now)
        if p.at < now
    ]
    after = compute_standing(agency_id, [*found.events, event], rules_at(now), now)
    revision = found.revision + 1
    event_row = CreditRow(
        agency_id=agency_id,
        sk=event_key(event),
        revision=revision,
        document=event.model_dump(mode="json", exclude_none=True),
        after=_after(point_of(after, event.credit_event_id)),
    )
    return CreditStage(event_row, history, _standing_row(after, revision), found.revision)


def record(credit_event: CreditEvent, events: list[DomainEvent]) -> bool:
    """Append the event and fold it into the standing, with `events` in the outbox; tried again
    when another event lands meanwhile. False (and nothing written) if the id is already recorded."""
    for attempt in range(ATTEMPTS):
        try:
            stage = staged(credit_event)
            if not stage.recording:
                return False
            with (
                translated(conflict=f"credit of {credit_event.agency_id} changed meanwhile"),
                TransactWrite(connection=connection()) as tx,
            ):
                stage(tx)
                event_bus.stage(tx, events)
            return True
        except (Conflict, ServiceUnavailable):
            if attempt == ATTEMPTS - 1:
                raise
            time.sleep(0.02 * (attempt + 1))
    return False


@dataclass(frozen=True)
class Refresh:
    before: CreditStanding
    after: CreditStanding
    points: list[ScorePoint]


def refreshed(agency_id: str, now: str) -> Refresh | None:
    """The standing recomputed at `now` with the history points passed since it was computed, or
    None if nothing has fallen due (another run got there first)."""
    found = ledger(agency_id)
    if found.standing is None or not _changes_since(found, now):
        return None
    after = compute_standing(agency_id, found.events, rules_at(now), now)
    return Refresh(before=found.standing, after=after, points=_passed(found, now))


def save_refresh(refresh: Refresh, events: list[DomainEvent]) -> None:
    """Write the recomputed standing and its history points, conditioned on the standing read."""
    revision = refresh.before.revision
    with (
        translated(conflict=f"credit of {refresh.after.agency_id} changed meanwhile"),
        TransactWrite(connection=connection()) as tx,
    ):
        for point in refresh.points:
            tx.save(
                CreditRow(
                    agency_id=refresh.after.agency_id,
                    sk=f"{HISTORY}{point.at}",
                    revision=revision + 1,
                    document=point.model_dump(mode="json"),
                ),
                condition=CreditRow.sk.does_not_exist(),
            )
        tx.save(_standing_row(refresh.after, revision + 1), condition=_standing_condition(revision))
        event_bus.stage(tx, events)
