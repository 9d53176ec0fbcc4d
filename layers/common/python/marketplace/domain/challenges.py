"""Challenges and complaints (质疑投诉, DOMAIN.md §10).

An agency enrolled in a purchase challenges its announcement or its result; the purchase's owner
answers (accepts or rejects); a challenger left unsatisfied (a rejection, or no answer in time)
complains to the item's regulator, who upholds or dismisses the complaint.

A challenge lives in its purchase's partition. Its id carries the purchase's id
(`<purchase id>.C<8 hex>`), so `/challenges/{id}/...` finds the row with one GetItem, no lookup row
and no Scan. The challenger's identity (`challenger_id`, `challenger_name`) is shown only to the
owner, the item's regulators and the admin (`public_view` leaves it out).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from pydantic import Field

from marketplace.domain.lifecycle import SYSTEM, Lifecycle
from marketplace.domain.model import Model, StrictModel
from marketplace.domain.purchases import Result

CHALLENGE_ID_PATTERN = r"^(?P<purchase>[A-Za-z0-9][A-Za-z0-9\-]{0,79})\.C(?P<token>[0-9A-F]{8})$"
_CHALLENGE_ID = re.compile(CHALLENGE_ID_PATTERN)


def challenge_id(purchase_id: str, token: str) -> str:
    return f"{purchase_id}.C{token.upper()}"


def purchase_of(challenge: str) -> str | None:
    """The purchase a challenge id belongs to; None for a string that is no challenge id."""
    found = _CHALLENGE_ID.match(challenge)
    return found.group("purchase") if found else None


class ChallengeSubject(StrEnum):
    announcement = "announcement"  # 对采购公告的质疑: while published, enrollment open or closed
    result = "result"  # 对选取结果的质疑: once a result is published


class ChallengeStatus(StrEnum):
    filed = "filed"  # waiting for the owner's answer
    accepted = "accepted"  # the owner agreed (before the result: the purchase is suspended)
    rejected = "rejected"  # the owner disagreed; the challenger may complain
    unanswered = "unanswered"  # no answer by the deadline: escalated to the admin; may complain
    complained = "complained"  # the challenger complained to the regulator (投诉)
    upheld = "upheld"  # the regulator found the complaint well founded
    dismissed = "dismissed"  # the regulator found it unfounded
    closed = "closed"  # the complaint window passed with no complaint


class ChallengeRequest(StrictModel):
    """What the challenger writes."""

    subject: ChallengeSubject = Field(description="the announcement or the result")
    grounds: list[str] = Field(
        min_length=1,
        max_length=10,
        description="the rules or facts the challenge rests on (质疑事项及依据), one per entry",
    )
    reasons: str = Field(min_length=1, max_length=4000, description="why, in the challenger's words")


class AnswerRequest(StrictModel):
    decision: Literal["accept", "reject"]
    answer: str = Field(min_length=1, max_length=4000, description="the owner's written answer (答复)")


class ComplaintRequest(StrictModel):
    reasons: str = Field(
        min_length=1, max_length=4000, description="why the answer (or its absence) does not satisfy"
    )


class DecisionRequest(StrictModel):
    decision: Literal["uphold", "dismiss"]
    reasons: str = Field(min_length=1, max_length=4000)
    against_agency: bool = Field(
        default=False,
        description="upholding a complaint about a result: the selected agency's own conduct caused it "
        "(false information, collusion...); it gets a `complaint_upheld` credit event",
    )


class Answer(Model):
    decision: Literal["accept", "reject"]
    answer: str
    at: str
    effect: str = Field(default="", description="what the answer did to the purchase")


class Complaint(Model):
    reasons: str
    at: str


class Decision(Model):
    decision: Literal["uphold", "dismiss"]
    reasons: str
    against_agency: bool = False
    at: str
    by_role: str = Field(description="regulator or admin")
    effect: str = Field(default="", description="what the decision did to the purchase")


class Challenge(Model):
    challenge_id: str
    purchase_id: str
    owner_id: str
    item_code: str
    industry: str = Field(description="the item's industry: its regulators decide a complaint")
    subject: ChallengeSubject
    grounds: list[str]
    reasons: str
    status: ChallengeStatus
    challenger_id: str | None = Field(
        default=None, description="shown to the owner, the regulator, the admin"
    )
    challenger_name: str | None = Field(
        default=None, description="shown to the owner, the regulator, the admin"
    )
    purchase_status: str = Field(description="the purchase's state when the challenge was filed")
    challenged_agency: str | None = Field(
        default=None,
        description="a result challenge: the agency selected when it was filed, the only one it can annul",
    )
    filed_at: str
    answer_deadline: str
    answer: Answer | None = None
    escalated_at: str | None = Field(
        default=None, description="no answer by the deadline: the admin was told"
    )
    complaint_deadline: str | None = Field(
        default=None, description="set by a rejection (from the answer) or by the answer deadline passing"
    )
    complaint: Complaint | None = None
    decision: Decision | None = None
    closed_at: str | None = None
    deadlines_count_weekends_only: bool = Field(
        default=False,
        description="a deadline runs into a year with no calendar loaded: counted Monday to Friday",
    )


PRIVATE_FIELDS = {"challenger_id", "challenger_name"}


def public_view(challenge: Challenge) -> Challenge:
    """What anyone may read: everything but who challenged."""
    return challenge.model_copy(update={"challenger_id": None, "challenger_name": None})


def due_at(challenge: Challenge) -> str | None:
    """When the sweeper must look at the challenge next: its answer deadline while it waits for the
    owner, its complaint deadline while the challenger may complain; None once nothing is timed."""
    if challenge.status == ChallengeStatus.filed:
        return challenge.answer_deadline
    if challenge.status in (ChallengeStatus.rejected, ChallengeStatus.unanswered):
        return challenge.complaint_deadline
    return None


C = ChallengeStatus
OWNER, AGENCY = ("owner",), ("agency",)
DECIDERS = ("regulator", "admin")

CHALLENGE: Lifecycle[ChallengeStatus] = Lifecycle(
    "challenge",
    ChallengeStatus,
    [
        (C.filed, "accept", OWNER, C.accepted),
        (C.filed, "reject", OWNER, C.rejected),
        (C.filed, "lapse", (SYSTEM,), C.unanswered),  # the answer deadline passed: escalated
        (C.filed, "complain", AGENCY, C.complained),  # past the answer deadline, before the sweeper
        (C.rejected, "complain", AGENCY, C.complained),
        (C.unanswered, "complain", AGENCY, C.complained),
        (C.complained, "uphold", DECIDERS, C.upheld),
        (C.complained, "dismiss", DECIDERS, C.dismissed),
        (C.rejected, "close", (SYSTEM,), C.closed),  # the complaint window passed
        (C.unanswered, "close", (SYSTEM,), C.closed),
    ],
)


def annul(
    result: Result,
    challenge: str,
    reason: str,
    at: str,
    confirmation_deadline: str,
    ranking: list[str],
    refused: dict[str, str] | None = None,
) -> Result:
    """The selected agency's selection is annulled: the first reserve that may still take part
    moves up (as when an agency abandons); with no reserve left, the next candidate of the draw
    proof's `ranking` that has not been selected, abandoned, annulled or passed over. Those
    `refused` before it are passed over, with why. No candidate left: the result lapses."""
    from marketplace.domain.purchases import RESULT, Annulment, PassedOver, result_state

    assert result.selected_agency is not None
    refused = refused or {}
    gone = {result.selected_agency, *result.reserves}
    gone |= {a.agency_id for a in result.abandoned} | {a.agency_id for a in result.annulled}
    gone |= {p.agency_id for p in result.passed_over}
    candidates = [*result.reserves, *(a for a in ranking if a not in gone)]
    position = next((i for i, c in enumerate(candidates) if c not in refused), len(candidates))
    skipped = [PassedOver(agency_id=c, reason=refused[c], at=at) for c in candidates[:position]]
    chosen = candidates[position] if position < len(candidates) else None
    source = None if chosen is None else "reserves" if position < len(result.reserves) else "ranking"
    annulment = Annulment(
        agency_id=result.selected_agency,
        challenge_id=challenge,
        reason=reason,
        at=at,
        replaced_by=chosen,
        replaced_from=source,
    )
    action = "annul" if chosen is not None else "annul_last"
    return RESULT.expect(result_state(result), action).apply(
        result,
        selected_agency=chosen,
        reserves=result.reserves[position + 1 :] if source == "reserves" else [],
        passed_over=[*result.passed_over, *skipped],
        annulled=[*result.annulled, annulment],
        owner_confirmed_at=None,
        agency_accepted_at=None,
        confirmation_deadline=confirmation_deadline,
        escalated_at=None,
    )
