"""Consortium mode (联合体, DOMAIN.md §5): a lead agency enrolls with member agencies, where the
purchase allows it (docs/consortium.md).

- The purchase publishes `ConsortiumTerms` (allowed, at most `max_members` besides the lead).
- The lead's enrollment body names the members and each one's part of the work
  (`ConsortiumRequest`); the consortium is one candidate, under the lead's id.
- Every member must be admitted for the item and eligible like any enrollee (level, blacklist,
  exclusions, suspension). The item's qualification is met as the item's `consortium_qualification`
  says: `joint` (the default: the certificates of the lead and its members together satisfy the
  requirement) or `every_member` (each of them satisfies it alone).
- Each member accepts or declines its part before the enrollment deadline (`MEMBERSHIP`); a
  consortium whose members have not all accepted when enrollment closes does not count.
- An agency is in at most one consortium, or enrolled alone, per purchase: a membership row per
  (purchase, member) is claimed in the lead's enrollment transaction (repositories.consortium).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from marketplace.domain.catalogue import Requirement, requirement_met
from marketplace.domain.lifecycle import Lifecycle
from marketplace.domain.model import Model, StrictModel

MAX_MEMBERS = 5
AGENCY_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$"
# How the consortium meets the item's qualification (catalogue item field `consortium_qualification`).
ConsortiumQualification = Literal["joint", "every_member"]
JOINT: ConsortiumQualification = "joint"


class ConsortiumTerms(StrictModel):
    """Published with the announcement: consortia may enroll, with at most `max_members` members
    besides the lead."""

    allowed: bool = True
    max_members: int = Field(default=2, ge=1, le=MAX_MEMBERS)


# What a lead sends to enroll a consortium and a member answers: domain/consortium_requests.py,
# which only the enrollment routes and their services load.


class MembershipStatus(StrEnum):
    invited = "invited"  # named by the lead; its part not yet confirmed
    accepted = "accepted"
    declined = "declined"  # the member refused: it is free again in this purchase
    released = "released"  # the lead withdrew the enrollment: the member is free again


# The states in which a membership holds its agency: none other may claim it in the purchase.
HOLDING = (MembershipStatus.invited, MembershipStatus.accepted)
# The states a new claim (another lead, or the same one enrolling again) may overwrite.
FREE = (MembershipStatus.declined, MembershipStatus.released)

MEMBERSHIP: Lifecycle[MembershipStatus] = Lifecycle(
    "membership",
    MembershipStatus,
    [
        (MembershipStatus.declined, "invite", ("agency",), MembershipStatus.invited),  # another lead
        (MembershipStatus.released, "invite", ("agency",), MembershipStatus.invited),
        (MembershipStatus.invited, "accept", ("agency",), MembershipStatus.accepted),
        (MembershipStatus.invited, "decline", ("agency",), MembershipStatus.declined),
        (MembershipStatus.accepted, "decline", ("agency",), MembershipStatus.declined),  # changes its mind
        (MembershipStatus.invited, "release", ("agency",), MembershipStatus.released),  # lead withdraws
        (MembershipStatus.accepted, "release", ("agency",), MembershipStatus.released),
    ],
)


class Membership(Model):
    """One member's place in one lead's consortium for one purchase (its own row)."""

    purchase_id: str
    agency_id: str
    agency_name: str = ""
    lead_id: str
    part: str
    status: MembershipStatus
    invited_at: str
    decided_at: str | None = None
    decided_by: str | None = None
    note: str = ""


class ConsortiumMember(Model):
    agency_id: str
    agency_name: str = ""
    part: str
    status: MembershipStatus = MembershipStatus.invited


class Consortium(Model):
    """A consortium as its enrollment records it and the purchase publishes it after closing."""

    lead_id: str
    lead_name: str = ""
    lead_part: str = ""
    members: list[ConsortiumMember]

    @property
    def member_ids(self) -> list[str]:
        return [m.agency_id for m in self.members]

    def with_statuses(self, memberships: dict[str, Membership]) -> Consortium:
        """The members as their rows say now (accepted, declined...)."""
        members = []
        for m in self.members:
            row = memberships.get(m.agency_id)
            status = (
                row.status if row is not None and row.lead_id == self.lead_id else MembershipStatus.released
            )
            members.append(m.model_copy(update={"status": status}))
        return self.model_copy(update={"members": members})


def unmet_jointly(
    rule: ConsortiumQualification, requirement: Requirement | None, held: dict[str, list[object]]
) -> str | None:
    """Why the consortium does not meet `requirement` under the item's `rule`, or None when it does.
    `held` maps each party (lead and members) to its certificates valid now
    (catalogue.Certificate)."""
    if requirement is None:
        return None
    if rule == "every_member":
        lacking = [a for a, certs in held.items() if not requirement_met(requirement, certs)]  # type: ignore[arg-type]
        if lacking:
            return f"every member must meet it alone; {', '.join(sorted(lacking))} do(es) not"
        return None
    union = [c for certs in held.values() for c in certs]
    if not requirement_met(requirement, union):  # type: ignore[arg-type]
        return "the lead's and members' certificates together do not meet it"
    return None
