"""Use cases of the red flags (docs/red-flags.md): recompute a purchase's flags (and its agencies')
when a domain event that can change them arrives, and list the flags for the public.

A recomputation reads the purchase as it is now (consistent reads), so whichever of two racing
events writes last writes the flags of the latest data; each write is conditioned on the revision
read, and a loser reads and recomputes again. Everything it writes is keyed by the purchase (the
cross-purchase sets) or conditioned on a revision (the flags, the public list), so a redelivered
event changes nothing; the event's id is recorded once it is applied, and a redelivery stops there.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
from datetime import timedelta
from typing import Any

from marketplace.clock import iso, utcnow
from marketplace.domain import red_flags as domain
from marketplace.domain.red_flags import Bid, Facts, Fingerprint, Flag, Price, Thresholds
from marketplace.errors import Conflict, FieldError, ValidationFailed
from marketplace.events import DomainEvent, event
from marketplace.observability import log
from marketplace.repositories import event_bus
from marketplace.repositories import purchases as purchase_repo
from marketplace.repositories import red_flags as repo
from marketplace.services.queued_events import MalformedMessage, event_detail, handle_batch
from marketplace.settings import get_settings

logger = logging.getLogger("marketplace.red_flags")

WATCHED, DECISIVE = domain.WATCHED, domain.DECISIVE
ATTEMPTS = 5
MAX_CHAIN = 20
# Compared within one recomputation and never stored: a key of the execution environment's own
# serves (the service's memory holds the values anyway; the hashes keep them out of the domain).
_KEY = os.urandom(32)


def thresholds() -> Thresholds:
    r = get_settings().rules
    return Thresholds(
        short_window_hours=r.flag_short_window_hours,
        close_price_percent=r.flag_close_price_percent,
        unsuccessful_bids=r.flag_unsuccessful_bids,
        late_bid_minutes=r.flag_late_bid_minutes,
        disqualified_percent=r.flag_disqualified_percent,
        disqualified_min_bids=r.flag_disqualified_min_bids,
        heterogeneous_items=r.flag_heterogeneous_items,
        price_disparity_percent=r.flag_price_disparity_percent,
        discount_percent=r.flag_discount_percent,
        repeat_direct=r.flag_repeat_direct,
        reannouncements=r.flag_reannouncements,
        same_enrollees=r.flag_same_enrollees,
        handovers=r.flag_handovers,
        window_days=r.flag_window_days,
    )


def _detail(body: str) -> dict[str, Any]:
    detail = event_detail(body)
    if not isinstance(detail.get("event_id"), str) or not isinstance(detail.get("event_type"), str):
        raise MalformedMessage("the event has no id or type")
    return detail


def consume(records: list[dict[str, Any]]) -> dict[str, list[dict[str, str]]]:
    """The queue consumer's batch: the SQS answer (services.queued_events)."""
    return handle_batch(records, apply, logger=logger, done="red flags computed")


def apply(body: str) -> int:
    """Recompute the flags one queued event can change; returns how many flags it raised (0 for a
    repeat or an event that changes none)."""
    detail = _detail(body)
    event_type, event_id, data = detail["event_type"], detail["event_id"], detail["data"]
    if event_type not in WATCHED or repo.applied(event_id):
        return 0
    purchase_ids = [data.get("purchase_id"), data.get("new_purchase_id")]
    raised = 0
    for purchase_id in (p for p in purchase_ids if isinstance(p, str) and p):
        raised += recompute(purchase_id, decisive=event_type in DECISIVE)
    repo.mark_applied(event_id, iso(utcnow()))
    return raised


def recompute(purchase_id: str, *, decisive: bool = True) -> int:
    """The purchase's flags brought in line with its data; its agencies' too when `decisive`."""
    for _ in range(ATTEMPTS):
        try:
            return _recompute_once(purchase_id, decisive)
        except Conflict:
            continue  # another recomputation wrote first: read again
    raise Conflict(f"the flags of purchase {purchase_id} kept changing; the event will be redelivered")


def _recompute_once(purchase_id: str, decisive: bool) -> int:
    purchase = purchase_repo.get(purchase_id, consistent=True)
    if purchase.published_at is None:
        return 0  # a draft, or one under review: nothing public to flag
    t = thresholds()
    now = utcnow()
    stamp, since = iso(now), iso(now - timedelta(days=t.window_days))
    competitive = purchase.method.value not in domain.NO_WINDOW
    enrollments = purchase_repo.enrollments(purchase_id) if competitive else []
    bids = tuple(
        Bid(e.agency_id, e.enrolled_at, e.eligible) for e in enrollments if e.status.value == "enrolled"
    )
    result = purchase.result
    winner = result.selected_agency if result else (purchase.shelf.agency_id if purchase.shelf else None)
    closed = purchase.closed_at is not None
    eligible = [b.agency_id for b in bids if b.eligible] if closed else []
    marks = domain.marks(
        owner_id=purchase.owner_id,
        method=purchase.method.value,
        winner=winner,
        eligible=eligible,
        abandoned=[a.agency_id for a in result.abandoned] if result else [],
        decided=decisive and (winner is not None or purchase.status.value == "failed"),
    )
    at = purchase.published_at
    for key in filter(None, (marks.repeat_direct, marks.same_enrollees)):
        repo.add_mark(key, at, purchase_id)
    for key, _pair in marks.handovers:
        repo.add_mark(key, at, purchase_id)
    for agency_id, won in marks.bids:
        repo.add_mark(f"BIDS#{agency_id}", at, purchase_id, {"item": purchase.item_code, "won": won})
    facts = Facts(
        purchase_id=purchase_id,
        owner_id=purchase.owner_id,
        method=purchase.method.value,
        published_at=purchase.published_at,
        enrollment_deadline=iso(purchase.enrollment_deadline),
        closed=closed,
        winner=winner,
        bids=bids,
        prices=_final_prices(purchase) if purchase.quotes_published else (),
        fingerprints=_fingerprints([b.agency_id for b in bids]) if len(bids) >= 2 else (),
        announcements=_announcements(purchase.reannounces),
        repeat_direct=repo.count_marks(marks.repeat_direct, since) if marks.repeat_direct else 0,
        same_enrollees=repo.count_marks(marks.same_enrollees, since) if marks.same_enrollees else 0,
        handovers={pair: repo.count_marks(key, since) for key, pair in marks.handovers},
    )
    raised = _store(purchase_id, domain.purchase_flags(facts, t), stamp, purchase.item_code)
    for agency_id, _won in marks.bids:
        raised += _recompute_agency(agency_id, t, stamp, since, purchase.item_code)
    return raised


def _recompute_agency(agency_id: str, t: Thresholds, stamp: str, since: str, item_code: str) -> int:
    for _ in range(ATTEMPTS):
        rows = repo.marks(f"BIDS#{agency_id}", since)
        bids = tuple((pid, str(d.get("item", "")), bool(d.get("won"))) for pid, d in rows)
        found = domain.agency_flags(domain.AgencyFacts(agency_id, bids), t)
        try:
            return _store(repo.agency_partition(agency_id), found, stamp, item_code)
        except Conflict:
            continue
    raise Conflict(f"the flags of agency {agency_id} kept changing; the event will be redelivered")


def _store(partition: str, found: list[domain.Finding], stamp: str, item_code: str) -> int:
    """Reconcile the subject's stored flags with what applies now: write (with the RedFlagRaised
    events) only what changed, then bring the public list in line."""
    current = repo.flag_set(partition)
    flags, raised, cleared = domain.reconcile(current.flags, found, stamp)
    behind = current.projected < current.revision
    if flags == current.flags and not behind:
        return 0
    revision = current.revision
    if flags != current.flags:
        events = [_raised_event(f, item_code) for f in raised]
        revision = repo.save(current, flags, events)
        event_bus.flush(events)
    repo.project(partition, {} if behind else current.flags, flags, revision)
    for f in raised:
        log(logger, logging.INFO, "red flag raised", flag_id=f.flag_id)
    for f in cleared:
        log(logger, logging.INFO, "red flag cleared", flag_id=f.flag_id)
    return len(raised)


def _raised_event(flag: Flag, item_code: str) -> DomainEvent:
    from marketplace.repositories import catalogue

    try:
        industry: str | None = catalogue.latest(item_code).industry
    except Exception:  # an item gone from the catalogue: the admins are told instead
        industry = None
    data = {
        "flag_id": flag.flag_id,
        "code": flag.code,
        "title": flag.title,
        "purchase_id": flag.purchase_id,
        "owner_id": flag.owner_id,
        "agencies": flag.agencies,
        "detail": flag.detail,
        "industry": industry,
    }
    return event("RedFlagRaised", subject=flag.purchase_id or flag.flag_id, data=data, actor="system")


def _final_prices(purchase: Any) -> tuple[Price, ...]:
    """Each agency's quote of the last round it quoted in, with when it sent its round-one quote."""
    last: dict[str, Any] = {}
    sealed: dict[str, str] = {}
    for q in sorted(purchase.quotes, key=lambda q: (q.round, q.submitted_at)):
        last[q.agency_id] = q
        if q.round == 1:
            sealed[q.agency_id] = q.submitted_at
    return tuple(
        Price(a, q.price_yuan, q.valid, q.submitted_at, q.round, sealed.get(a))
        for a, q in sorted(last.items())
    )


def _announcements(reannounces: str | None) -> int:
    """This announcement and every earlier one of the same project (the `reannounces` chain)."""
    count, previous = 1, reannounces
    while previous and count <= MAX_CHAIN:
        count += 1
        previous = purchase_repo.get(previous).reannounces
    return count


def _fingerprint(agency_id: str, kind: str, value: str) -> Fingerprint | None:
    digits_only = kind in ("phone",)
    value = re.sub(r"\D", "", value)[-11:] if digits_only else re.sub(r"[\s,，.。·\-]", "", value).lower()
    if len(value) < 5:
        return None
    digest = hmac.new(_KEY, f"{kind}\n{value}".encode(), hashlib.sha256).hexdigest()
    return Fingerprint(agency_id, kind, digest)


def _fingerprints(agency_ids: list[str]) -> tuple[Fingerprint, ...]:
    """R044: keyed hashes of each enrollee's contacts, registered address and practitioners."""
    from marketplace.repositories import agencies

    found: list[Fingerprint | None] = []
    for agency_id, agency in agencies.profiles(agency_ids).items():
        record = agency.record
        if record is None:
            continue
        found.append(_fingerprint(agency_id, "address", record.legal_entity.address))
        for c in record.contacts:
            found.append(_fingerprint(agency_id, "phone", c.phone))
            if c.email:
                found.append(_fingerprint(agency_id, "email", c.email))
        for p in record.practitioners:
            found.append(_fingerprint(agency_id, "practitioner", p.id_number))
    return tuple(f for f in found if f is not None)


def list_flags(
    *, code: str | None, owner: str | None, agency: str | None, limit: int, cursor: str | None
) -> tuple[list[Flag], str | None]:
    if code is not None and code not in domain.CODES:
        raise ValidationFailed(
            f"code {code} is not a red flag code",
            errors=[FieldError("code", f"one of {', '.join(domain.CODES)}")],
        )
    return repo.page(domain.listing_key(code, owner, agency), limit=limit, cursor=cursor)
