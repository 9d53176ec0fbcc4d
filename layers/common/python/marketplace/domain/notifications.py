"""Notifications (主动推送, DOMAIN.md §11): who is told what about each domain event.

Pure: an event's `detail` goes in, the inbox entries it makes come out. What this module cannot
know is which agencies an event concerns beyond those it names: a new announcement concerns the
agencies admitted for the item and serving the region (an `Audience`, picked from the offering rows
the caller reads); a purchase's result or failure concerns every agency enrolled in it (its
`Enrollees`, told from the enrollment rows the caller reads).

Inboxes are keyed by recipient: `org:<org id>` for an owner's or an agency's organisation, and
one shared `role:admin` inbox that every admin reads. The prefixes keep an organisation that
happens to be called "admin" out of the admins' inbox.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from marketplace.domain.model import Model
from marketplace.domain.notices import (
    after_award,
    agencies,
    bidding,
    challenges,
    consortium,
    credit,
    inspections,
    proposals,
    purchases,
    red_flags,
    shelf,
)
from marketplace.domain.notices.reading import (
    ADMINS,
    Audience,
    Enrollees,
    Event,
    MalformedEvent,
    Notice,
    Told,
    agency_inbox,
    industry_inbox,
    instant,
    owner_inbox,
    regulator_inbox,
)
from marketplace.domain.regions import serves

__all__ = [
    "ADMINS",
    "MalformedEvent",
    "Notice",
    "agency_inbox",
    "industry_inbox",
    "owner_inbox",
    "regulator_inbox",
]

# AgencyStatus.admitted, named here so that the consumer does not import the agency models
# (a cold-start cost) to read one value; a unit test keeps the two equal.
ADMITTED = "admitted"
# EnrollmentStatus.enrolled (a withdrawn enrollment is no longer concerned), for the same reason.
ENROLLED = "enrolled"
MAX_TITLE = 120
MAX_TEXT = 600
# `<UTC instant, microseconds>-<digest>`: sorting ids sorts entries by when their event happened.
ID_PATTERN = r"^[0-9]{8}T[0-9]{12}Z-[0-9a-f]{20}$"


def inbox_of(role: str, org_id: str) -> str:
    """The inbox a caller reads: admins share one; everyone else reads its organisation's in its
    role. Nothing makes owner and agency ids disjoint (a department may buy and regulate): an inbox
    keyed by the id alone would be shared by both."""
    return ADMINS if role == "admin" else f"{role}:{org_id}"


class Notification(Model):
    """One inbox entry as its reader sees it."""

    notification_id: str
    event_type: str
    title: str
    text: str
    subject: str
    link: str
    occurred_at: str
    read: bool
    read_at: str | None = None


@dataclass(frozen=True)
class OfferHolder:
    """An agency's offering of an item, as the item index holds it."""

    agency_id: str
    status: str
    regions: tuple[str, ...]
    suspended: bool


@dataclass(frozen=True)
class Enrollee:
    """An agency's enrollment in a purchase, as its row holds it."""

    agency_id: str
    status: str
    counted: bool | None = None  # whether it counted when enrollment closed; None: not judged yet
    why_not: str | None = None


@dataclass(frozen=True)
class Plan:
    """The notifications one event makes: `notices` for named recipients, `audience` and
    `enrollees` to resolve."""

    event_id: str
    event_type: str
    subject: str
    link: str
    occurred_at: str
    notices: tuple[Notice, ...]
    audience: Audience | None = None
    enrollees: Enrollees | None = None


@dataclass(frozen=True)
class InboxEntry:
    """An entry to write. Its id derives from the event and the recipient alone, so a redelivered
    event yields the same key and a conditional put adds nothing."""

    recipient: str
    notification_id: str
    event_id: str
    event_type: str
    title: str
    text: str
    subject: str
    link: str
    occurred_at: str


def notification_id(event_id: str, recipient: str, occurred_at: str) -> str:
    digest = hashlib.sha256(f"{event_id}\n{recipient}".encode()).hexdigest()[:20]
    return f"{instant(occurred_at).strftime('%Y%m%dT%H%M%S%fZ')}-{digest}"


def detail_of(body: str) -> dict[str, Any]:
    """The domain event's detail from an SQS message body (the EventBridge event, as a rule sends it)."""
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise MalformedEvent("the message body is not JSON") from exc
    detail = document.get("detail") if isinstance(document, dict) else None
    if not isinstance(detail, dict):
        raise MalformedEvent("the message carries no event detail")
    return detail


def audience_members(audience: Audience, holders: Iterable[OfferHolder]) -> list[Notice]:
    """The agencies an announcement concerns, each told once."""
    chosen = {
        h.agency_id
        for h in holders
        if h.status == ADMITTED
        and not h.suspended
        and h.agency_id not in audience.excluded
        and serves(list(h.regions), audience.region)
    }
    return [Notice(agency_inbox(a), audience.title, audience.text) for a in sorted(chosen)]


def enrollee_notices(plan: Plan, enrolled: Iterable[Enrollee]) -> list[Notice]:
    """What each agency enrolled in the purchase is told when the event names it in no notice."""
    if plan.enrollees is None:
        return []
    told = {n.recipient for n in plan.notices}
    notices: list[Notice] = []
    for enrollee in sorted(enrolled, key=lambda e: e.agency_id):
        recipient = agency_inbox(enrollee.agency_id)
        if enrollee.status != ENROLLED or recipient in told:
            continue
        told.add(recipient)
        text = plan.enrollees.text
        if enrollee.counted is False:
            why = f"（{enrollee.why_not}）" if enrollee.why_not else ""
            text += f"您的报名在报名截止时未计入有效报名{why}，未参加选取。"
        notices.append(Notice(recipient, plan.enrollees.title, text))
    return notices


def entries(plan: Plan, notices: Iterable[Notice]) -> list[InboxEntry]:
    """One entry per recipient (the first notice for a recipient wins)."""
    seen: dict[str, Notice] = {}
    for notice in notices:
        seen.setdefault(notice.recipient, notice)
    return [
        InboxEntry(
            recipient=n.recipient,
            notification_id=notification_id(plan.event_id, n.recipient, plan.occurred_at),
            event_id=plan.event_id,
            event_type=plan.event_type,
            title=_clip(n.title, MAX_TITLE),
            text=_clip(n.text, MAX_TEXT),
            subject=plan.subject,
            link=plan.link,
            occurred_at=plan.occurred_at,
        )
        for n in seen.values()
    ]


def _clip(text: str, limit: int) -> str:
    # Titles and reasons come from other people's input: bound what an inbox row can hold.
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Each area's notices (domain/notices/): an event type belongs to one area.
RULES: dict[str, Callable[[Event], Told]] = {
    **purchases.RULES,
    **after_award.RULES,
    **challenges.RULES,
    **credit.RULES,
    **agencies.RULES,
    **proposals.RULES,
    **shelf.RULES,
    **consortium.RULES,
    **bidding.RULES,
    # Red flags (issue 12 red-flags): the industry regulators' shared inbox.
    **red_flags.RULES,
    **inspections.RULES,  # random inspections (issue 12)
}
NOTIFIED_TYPES = tuple(RULES)


def plan(detail: dict[str, Any], *, timezone: str) -> Plan | None:
    """The notifications an event makes; None for an event no one is told about."""
    event_type = detail.get("event_type")
    rule = RULES.get(event_type) if isinstance(event_type, str) else None
    if rule is None:
        return None
    envelope = Event(detail, timezone)
    data = detail.get("data")
    if not isinstance(data, dict):
        raise MalformedEvent("the event carries no data")
    told = rule(Event(data, timezone))
    occurred_at = envelope.text("occurred_at")
    instant(occurred_at)
    return Plan(
        event_id=envelope.text("event_id"),
        event_type=str(event_type),
        subject=envelope.text("subject"),
        link=told.link,
        occurred_at=occurred_at,
        notices=tuple(told.notices),
        audience=told.audience,
        enrollees=told.enrollees,
    )
