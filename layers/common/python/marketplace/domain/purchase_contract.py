"""The contract (合同, docs/contracts.md) as its purchase holds it: registered, countersigned or
refused, what anyone may see of it, its deadline from the confirmation, and when the contract task
has something to do next. The
templates, the registration request and the contract page are domain/contracts.py, which only the
contract routes and their services load."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import Field

from marketplace.domain.model import Model

REMINDER_DAYS = (7, 1)  # reminders this many days before the contract deadline


class ContractStatus(StrEnum):
    awaiting_signature = "awaiting_signature"  # registered by the owner, the agency has not acted
    signed = "signed"  # countersigned by the agency: the purchase is contracted
    refused = "refused"  # the agency refused it with reasons; the owner may register another


class ContractSource(StrEnum):
    generated = "generated"  # filled from the item's template
    uploaded = "uploaded"  # a file the owner registers by reference and hash


class RegisteredContract(Model):
    """An earlier registration of the same purchase, kept when it is replaced or refused."""

    number: int
    source: ContractSource
    sha256: str
    status: ContractStatus
    registered_at: str
    refused_at: str | None = None
    refusal_reasons: str | None = None
    replaced_at: str | None = None


class Contract(Model):
    """The purchase's contract as its parties, the admin and the item's regulator see it."""

    number: int = Field(ge=1, description="1 for the first registration, +1 for each new one")
    status: ContractStatus
    source: ContractSource
    agency_id: str
    amount_yuan: Decimal
    sha256: str = Field(description="hex SHA-256 of the document (generated: its UTF-8 bytes)")
    file_ref: str | None = None
    template_version: int | None = None
    time_limit_working_days: int | None = Field(
        default=None,
        description="the time limit the agency's offering promised when the contract was registered: "
        "the delivery is held to it, whatever the offering says later",
    )
    signing_date: date | None = None
    deadline: str = Field(description="the instant by which the contract must be signed")
    registered_at: str
    registered_by: str
    signed_at: str | None = None
    signed_on: date | None = Field(default=None, description="the signing date, once countersigned")
    refused_at: str | None = None
    refusal_reasons: str | None = None
    earlier: list[RegisteredContract] = Field(default_factory=list)

    def summary(self, *, replaced_at: str | None = None) -> RegisteredContract:
        return RegisteredContract(
            number=self.number,
            source=self.source,
            sha256=self.sha256,
            status=self.status,
            registered_at=self.registered_at,
            refused_at=self.refused_at,
            refusal_reasons=self.refusal_reasons,
            replaced_at=replaced_at,
        )


class ContractPublic(Model):
    """What anyone may see: that a contract exists, its state, date, amount and hash."""

    number: int
    status: ContractStatus
    source: ContractSource
    amount_yuan: Decimal
    sha256: str
    signed_on: date | None = None
    registered_at: str
    deadline: str


def deadline_from(confirmed_at: datetime, days: int, timezone: str) -> datetime:
    """The end of the local day `days` calendar days after confirmation: the last day the generated
    contract states is a whole day to sign in."""
    zone = ZoneInfo(timezone)
    last_day = (confirmed_at.astimezone(zone) + timedelta(days=days)).date()
    return datetime.combine(last_day, time(23, 59, 59), tzinfo=zone).astimezone(UTC)


def next_milestone(deadline: datetime, sent: list[int]) -> datetime:
    """When the contract task has something to do next: a reminder not sent yet, or the deadline."""
    pending = [deadline - timedelta(days=d) for d in REMINDER_DAYS if d not in sent]
    return min([*pending, deadline])
