"""Reading a domain event for the notices (domain/notifications.py): the event's data as typed
values, what a rule returns (`Told`), the recipients' inboxes and the pages notices link to.
Pure: no AWS library."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

ADMINS = "role:admin"
FUNDING = {"fiscal": "财政资金", "private": "自有资金"}
SUBMISSION_KINDS = {"admission": "入驻", "change": "变更", "extension": "延期"}


class MalformedEvent(ValueError):
    """The message is not a domain event this consumer understands: retrying cannot help."""


def owner_inbox(owner_id: str) -> str:
    return f"owner:{owner_id}"


def agency_inbox(agency_id: str) -> str:
    return f"agency:{agency_id}"


def regulator_inbox(regulator_id: str) -> str:
    return f"regulator:{regulator_id}"


def industry_inbox(industry: str) -> str:
    """The regulators of an industry, together (a complaint is for whichever of them decides it)."""
    return f"industry:{industry}"


@dataclass(frozen=True)
class Notice:
    """What one recipient is told."""

    recipient: str
    title: str
    text: str


@dataclass(frozen=True)
class Audience:
    """Every agency admitted for `item_code`, not suspended from it, that serves `region`."""

    item_code: str
    region: str
    title: str
    text: str
    excluded: frozenset[str] = frozenset()  # the owner's exclusions (回避): never invited


@dataclass(frozen=True)
class Enrollees:
    """Every agency still enrolled in `purchase_id` that no notice of the event names already (the
    selected agency, the short list, the reserves) is told `title` and `text`; one whose enrollment
    did not count when enrollment closed also learns why it took no part."""

    purchase_id: str
    title: str
    text: str


def instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MalformedEvent(f"occurred_at {text!r} is not an ISO-8601 instant") from exc
    if value.tzinfo is None:
        raise MalformedEvent(f"occurred_at {text!r} carries no time zone")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class Event:
    data: dict[str, Any]
    timezone: str

    def text(self, key: str) -> str:
        value = self.data.get(key)
        if not isinstance(value, str) or not value:
            raise MalformedEvent(f"data.{key} must be a non-empty string")
        return value

    def optional(self, key: str) -> str | None:
        value = self.data.get(key)
        return value if isinstance(value, str) and value else None

    def number(self, key: str) -> int:
        value = self.data.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise MalformedEvent(f"data.{key} must be an integer")
        return value

    def ids(self, key: str) -> list[str]:
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise MalformedEvent(f"data.{key} must be a list of ids")
        return value

    def reasons(self, key: str) -> str:
        """A reason given as text or as a list of texts (agency reviews give a list)."""
        value = self.data.get(key)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return "；".join(value)
        if not isinstance(value, str):
            raise MalformedEvent(f"data.{key} must be a text or a list of texts")
        return value

    def local_time(self, key: str) -> str:
        """A deadline as the region's people read it (times are stored in UTC)."""
        return instant(self.text(key)).astimezone(ZoneInfo(self.timezone)).strftime("%Y-%m-%d %H:%M")

    def owner(self) -> str:
        return owner_inbox(self.text("owner_id"))

    def agency(self) -> str:
        return agency_inbox(self.text("agency_id"))


@dataclass(frozen=True)
class Told:
    link: str
    notices: list[Notice] = field(default_factory=list)
    audience: Audience | None = None
    enrollees: Enrollees | None = None


def purchase_page(e: Event) -> str:
    return f"/purchases/{e.text('purchase_id')}"


def agency_page(e: Event) -> str:
    return f"/agencies/{e.text('agency_id')}"


def credit_page(e: Event) -> str:
    return f"/agencies/{e.text('agency_id')}/credit"


def regulators(e: Event) -> list[str]:
    regulator = e.optional("regulator_id")
    return [regulator_inbox(regulator)] if regulator else []
