"""Purchases (采购, DOMAIN.md §4-§6): what an owner asks for, and the states a purchase goes through.

Every change of state is a conditional write on the state it expects (repositories.purchases), so a
repeated or racing trigger cannot apply a transition twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import AwareDatetime, Field, model_validator

from marketplace.clock import stamp
from marketplace.domain.batch import PROJECT_CODE_PATTERN, BatchSplit, BatchTerms, check_terms
from marketplace.domain.bidding import BiddingRound, BiddingTerms, RevealedQuote, RoundState
from marketplace.domain.catalogue import ITEM_CODE_PATTERN, Requirement
from marketplace.domain.consortium import Consortium, ConsortiumQualification, ConsortiumTerms
from marketplace.domain.lifecycle import SYSTEM, Lifecycle
from marketplace.domain.masking import mask_name
from marketplace.domain.model import Model, StrictModel, revised
from marketplace.domain.proposals import (
    ProposalScoring,
    ProposalScoringPublic,
    ProposalTerms,
    ProposalTermsPublic,
)
from marketplace.domain.purchase_contract import Contract, ContractPublic, next_milestone
from marketplace.domain.purchase_performance import PerformanceSummary
from marketplace.domain.red_flag_record import Flag
from marketplace.domain.regions import DIVISION_PATTERN
from marketplace.domain.shelf import ShelfOrder

ORG_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$"


class PurchaseStatus(StrEnum):
    draft = "draft"
    pending_review = "pending_review"
    rejected = "rejected"  # returned to the owner with reasons; it may amend and submit again
    enrollment_open = "enrollment_open"  # published: the announcement is public
    enrollment_closed = "enrollment_closed"
    failed = "failed"  # too few eligible enrollees (流标)
    bidding = "bidding"  # price bidding: a further round is open (round one runs with enrollment)
    scoring = "scoring"  # proposal best-value: the owner and its reviewers score the proposals
    selecting = "selecting"  # credit best-value: the short list is drawn, the owner picks one
    selected = "selected"  # a result awaits the owner's confirmation and the agency's acceptance
    confirmed = "confirmed"
    contracted = "contracted"  # the agency countersigned the contract (合同)
    completed = "completed"  # the owner accepted the delivered service, or let the window pass
    evaluated = "evaluated"  # the owner rated the service (服务评价)
    suspended = "suspended"  # an accepted challenge stopped the window (质疑)
    cancelled = "cancelled"  # the owner cancelled a suspended purchase
    batch_split = "batch_split"  # batch: the draw made one purchase per project (`batch_outcome`)


class FundingType(StrEnum):
    fiscal = "fiscal"  # 财政资金
    private = "private"  # 自有资金


class PriceKind(StrEnum):
    budget = "budget"  # 预算金额
    ceiling = "ceiling"  # 最高限价


class SelectionMethod(StrEnum):
    random_draw = "random_draw"  # 随机选取
    credit_best_value = "credit_best_value"  # 信用择优
    direct = "direct"  # 直接选取
    price_bidding = "price_bidding"  # 竞价选取
    proposal_best_value = "proposal_best_value"  # 方案择优
    shelf = "shelf"  # 网上直购: bought from an agency's shelf (POST /shelf/{offer_id}/purchase)
    reward = "reward"  # 守信激励: the owner chooses among the top credit level, small purchases


# The method each term block belongs to: required for its method, and only for it.
METHOD_TERMS = {
    "short_listing": "credit_best_value",
    "direct": "direct",
    "bidding": "price_bidding",
    "proposal": "proposal_best_value",
    "reward": "reward",
}


# Methods without an enrollment window: no consortium enrolls in them (domain/consortium.py).
NO_ENROLLMENT = {SelectionMethod.direct, SelectionMethod.shelf, SelectionMethod.reward}


class Exclusion(StrictModel):
    """An agency the owner excludes (回避), with the reason published."""

    agency_id: str = Field(pattern=ORG_ID_PATTERN)
    reason: str = Field(min_length=1, max_length=300)


class Witness(StrictModel):
    """Someone who witnesses the selection (见证人)."""

    name: str = Field(min_length=1, max_length=50)
    unit: str = Field(min_length=1, max_length=200)


class DirectChoice(StrictModel):
    agency_id: str = Field(pattern=ORG_ID_PATTERN)
    reason: str = Field(min_length=1, max_length=1000, description="published with the result")


class ShortListing(StrictModel):
    long_list: int = Field(ge=2, le=100, description="how many agencies, best credit first, enter the draw")
    short_list: int = Field(ge=1, le=20, description="how many the draw keeps for the owner to pick from")

    @model_validator(mode="after")
    def _short_within_long(self) -> ShortListing:
        if self.short_list > self.long_list:
            raise ValueError("short_list cannot exceed long_list")
        return self


class PurchaseRequest(StrictModel):
    """What an owner writes: a draft, edited until submitted."""

    project_code: str = Field(pattern=PROJECT_CODE_PATTERN, description="一项一码: the project's code")
    title: str = Field(min_length=1, max_length=200)
    item_code: str = Field(pattern=ITEM_CODE_PATTERN, description="the catalogue item bought")
    region: str = Field(pattern=DIVISION_PATTERN, description="division code where the service is needed")
    funding_type: FundingType
    price_kind: PriceKind
    amount_yuan: Decimal = Field(gt=0, max_digits=14, decimal_places=2)
    method: SelectionMethod
    short_listing: ShortListing | None = Field(default=None, description="credit best-value only")
    direct: DirectChoice | None = Field(default=None, description="direct selection only")
    bidding: BiddingTerms | None = Field(default=None, description="price bidding only")
    proposal: ProposalTerms | None = Field(default=None, description="proposal best-value only")
    reward: DirectChoice | None = Field(
        default=None, description="reward mode only: the agency of the top credit level, and why"
    )
    consortium: ConsortiumTerms | None = Field(
        default=None, description="consortia (联合体) may enroll; unset: agencies enroll alone"
    )
    batch: BatchTerms | None = Field(
        default=None, description="batch (批量): the projects the announcement covers, how they are awarded"
    )
    enrollment_deadline: AwareDatetime
    selection_time: AwareDatetime
    extra_qualification: Requirement | None = Field(
        default=None, description="required on top of the item's own qualification"
    )
    exclusions: list[Exclusion] = Field(default_factory=list, max_length=50)
    witnesses: list[Witness] = Field(default_factory=list, max_length=3)
    reserves: int | None = Field(default=None, ge=0, le=5, description="候补; the regional default if unset")
    description: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _method_fields(self) -> PurchaseRequest:
        # Stored and compared as UTC to the second (see `stamp`).
        self.enrollment_deadline = self.enrollment_deadline.astimezone(UTC).replace(microsecond=0)
        self.selection_time = self.selection_time.astimezone(UTC).replace(microsecond=0)
        if self.selection_time < self.enrollment_deadline:
            raise ValueError("selection_time cannot be before enrollment_deadline")
        for terms, method in METHOD_TERMS.items():
            if (self.method == method) != (getattr(self, terms) is not None):
                raise ValueError(f"{terms} is required for {method}, and only for it")
        excluded = [e.agency_id for e in self.exclusions]
        if len(set(excluded)) != len(excluded):
            raise ValueError("an agency is excluded once")
        for chosen in (self.direct, self.reward):
            if chosen is not None and chosen.agency_id in excluded:
                raise ValueError("the directly selected agency is also excluded")
        if self.consortium is not None and self.method in NO_ENROLLMENT:  # consortium mode
            raise ValueError(f"consortium: a {self.method.value} purchase has no enrollment to join")
        floor = self.bidding.floor_yuan if self.bidding is not None else None
        if floor is not None and floor >= self.amount_yuan:
            raise ValueError("bidding.floor_yuan must be below the ceiling (amount_yuan)")
        if self.batch is not None:
            check_terms(
                self.batch,
                method=self.method.value,
                project_code=self.project_code,
                region=self.region,
                amount_yuan=self.amount_yuan,
            )
        return self


class Review(Model):
    decision: str
    reasons: str = ""
    by: str
    at: str


class Abandonment(Model):
    agency_id: str
    reason: str
    at: str


class PassedOver(Model):
    """A reserve that could not move up when its turn came (expelled, suspended, ... since the draw)."""

    agency_id: str
    reason: str
    at: str


class Annulment(Model):
    """A selected agency whose selection was annulled (a challenge accepted, a complaint upheld)."""

    agency_id: str
    challenge_id: str
    reason: str
    at: str
    replaced_by: str | None = Field(default=None, description="null: no candidate was left")
    replaced_from: str | None = Field(
        default=None, description="`reserves`, or `ranking`: the next candidate of the draw proof's ranking"
    )


class Suspension(Model):
    """An accepted challenge stopped the window (质疑暂停); resuming gives back the time it had left."""

    challenge_id: str
    from_status: str = Field(description="the state the purchase resumes to")
    suspended_at: str
    resumed_at: str | None = None
    shifted_seconds: int | None = Field(
        default=None, description="how long it was suspended: every remaining deadline moved by this much"
    )
    note: str = Field(default="", description="the owner's note on resuming (what was corrected)")


class Cancellation(Model):
    reason: str
    at: str


class Result(Model):
    """The selection's outcome and what happened to it since."""

    method: SelectionMethod
    selected_agency: str | None = Field(
        default=None, description="null while the owner picks from the short list"
    )
    short_list: list[str] = Field(default_factory=list)
    reserves: list[str] = Field(default_factory=list, description="候补, in the order they move up")
    direct_reason: str = ""
    selected_at: str
    confirmation_deadline: str
    owner_confirmed_at: str | None = None
    agency_accepted_at: str | None = None
    abandoned: list[Abandonment] = Field(default_factory=list)
    passed_over: list[PassedOver] = Field(default_factory=list)
    escalated_at: str | None = None
    annulled: list[Annulment] = Field(default_factory=list, description="selections annulled by a challenge")
    deadline_counts_weekends_only: bool = Field(
        default=False,
        description="the confirmation deadline runs into a year with no calendar loaded: its working "
        "days were counted as Monday to Friday, without holidays or adjusted working weekends",
    )


class Purchase(PurchaseRequest):
    """A purchase as stored. `seed` (the draw's secret) is kept in its own attribute, never here."""

    model_config = PurchaseRequest.model_config | {"extra": "ignore"}

    purchase_id: str
    owner_id: str
    status: PurchaseStatus
    item_name: str = ""
    item_version: int = 0
    item_qualification: Requirement | None = Field(
        default=None, description="the item's own qualification, from the version in force at submission"
    )
    item_consortium_qualification: ConsortiumQualification = Field(
        default="joint", description="how a consortium meets the item's qualification (docs/consortium.md)"
    )
    created_at: str
    created_by: str
    updated_at: str
    submitted_at: str | None = None
    review: Review | None = None
    published_at: str | None = None
    window_counts_weekends_only: bool = Field(
        default=False,
        description="the enrollment window runs into a year with no calendar loaded: its minimum was "
        "checked counting Monday to Friday, without holidays or adjusted working weekends",
    )
    commitment: str | None = Field(default=None, description="SHA-256 of the draw's secret seed, hex")
    enrollments: int = 0
    eligible: int | None = None
    eligible_agencies: list[str] = Field(
        default_factory=list, description="the draw's candidates, fixed when enrollment closes"
    )
    closed_at: str | None = None
    failure_reason: str | None = None
    result: Result | None = None
    letter_id: str | None = None
    confirmed_at: str | None = None
    reannounces: str | None = None
    reannounced_as: str | None = None
    flagged: str | None = Field(default=None, description="why the admin must act (a failed workflow)")
    revision: int = Field(default=0, exclude=True, description="the row's revision when read")
    enrollment_changes: int = Field(default=0, exclude=True, description="enrollments and withdrawals so far")
    credit_scores: dict[str, int] = Field(
        default_factory=dict, description="credit best-value: each eligible agency's score, fixed at closing"
    )
    contract_deadline: str | None = Field(
        default=None, description="confirmation + RULE_CONTRACT_DAYS calendar days: sign the contract by then"
    )
    contract: Contract | None = Field(default=None, description="the contract (合同) registered, if any")
    contract_reminders: list[int] = Field(
        default_factory=list, description="the reminders sent, in days before the contract deadline"
    )
    contract_escalated_at: str | None = Field(
        default=None, description="when the admin was told that no contract was signed by the deadline"
    )
    # Performance (履约) and evaluation: domain/performance.py.
    performance: PerformanceSummary | None = None
    suspensions: list[Suspension] = Field(
        default_factory=list, description="the last is current while suspended"
    )
    cancellation: Cancellation | None = None
    # Batch (domain/batch.py): a project's purchase names its announcement; the announcement lists them.
    batch_of: str | None = Field(default=None, description="batch: the announcement this project belongs to")
    batch_outcome: BatchSplit | None = Field(default=None, description="batch: the projects' purchases")
    # Proposal best-value (domain/proposals.py): the opened proposals and the panel, fixed at closing.
    scoring: ProposalScoring | None = None
    # The shelf (domain/shelf.py): the offering bought, for method `shelf` only.
    shelf: ShelfOrder | None = Field(default=None, description="shelf purchases: the offering bought")

    @model_validator(mode="after")
    def _shelf_order(self) -> Purchase:
        if (self.method == SelectionMethod.shelf) != (self.shelf is not None):
            raise ValueError("shelf is set for a shelf purchase, and only for it")
        return self

    # Consortium mode (domain/consortium.py): the eligible consortia, by lead, fixed at closing.
    consortia: dict[str, Consortium] = Field(
        default_factory=dict, description="the consortia among the candidates, by lead, fixed at closing"
    )
    # Price bidding (domain/bidding.py): the rounds' public records, and the quotes opened as each
    # round closed. `quotes` is stored (repositories.purchases) but never in a response: it is
    # published by GET /purchases/{id}/quotes once the last round has closed.
    bidding_rounds: list[BiddingRound] = Field(default_factory=list)
    quotes: list[RevealedQuote] = Field(default_factory=list, exclude=True)
    # Red flags (docs/red-flags.md): read with the purchase from their own row, never stored here.
    red_flags: list[Flag] = Field(default_factory=list, exclude=True)

    @property
    def quotes_published(self) -> bool:
        """Price bidding: every round has closed (or the purchase failed at closing), so every
        quote of every round is public with its agency."""
        if self.bidding is None or not self.bidding_rounds:
            return False
        closed = [r for r in self.bidding_rounds if r.state == RoundState.closed]
        return len(closed) == self.bidding.rounds or self.status == PurchaseStatus.failed

    @property
    def current_round(self) -> BiddingRound | None:
        """Price bidding: the round open after round one (while the purchase is `bidding`)."""
        if self.status != PurchaseStatus.bidding or not self.bidding_rounds:
            return None
        return self.bidding_rounds[-1]

    @property
    def window_runs(self) -> int:
        """How many times the window was started again after a suspension."""
        return sum(1 for s in self.suspensions if s.resumed_at)

    def is_owned_by(self, org_id: str) -> bool:
        return self.owner_id == org_id


class PurchasePublic(Model):
    """The announcement (采购公告) and what the public may see of its progress."""

    purchase_id: str
    owner_id: str
    project_code: str
    title: str
    item_code: str
    item_name: str
    region: str
    funding_type: FundingType
    price_kind: PriceKind
    amount_yuan: Decimal
    method: SelectionMethod
    short_listing: ShortListing | None
    bidding: BiddingTerms | None = None
    proposal: ProposalTermsPublic | None = Field(
        default=None, description="the criteria and how many reviewers (who they are is not public)"
    )
    reward: DirectChoice | None = None
    consortium: ConsortiumTerms | None = None
    batch: BatchTerms | None = None
    enrollment_deadline: datetime
    selection_time: datetime
    extra_qualification: Requirement | None
    exclusions: list[Exclusion]
    witnesses: list[Witness] = Field(description="the unit in full, the witness's name masked (周*)")
    description: str
    status: PurchaseStatus
    published_at: str | None
    window_counts_weekends_only: bool = False
    commitment: str | None
    enrollments: int
    eligible: int | None
    failure_reason: str | None
    result: Result | None
    letter_id: str | None
    reannounces: str | None
    reannounced_as: str | None
    contract: ContractPublic | None = Field(
        default=None, description="that a contract exists, its state, date, amount and hash"
    )
    performance: PerformanceSummary | None = None
    suspensions: list[Suspension] = Field(default_factory=list)
    cancellation: Cancellation | None = None
    batch_of: str | None = None
    batch_outcome: BatchSplit | None = None
    scoring: ProposalScoringPublic | None = Field(
        default=None,
        description="proposal best-value, once enrollment closed: the proposals' hashes, the deadline",
    )
    shelf: ShelfOrder | None = Field(
        default=None, description="shelf purchases: the offering, its price, the reason"
    )
    bidding_rounds: list[BiddingRound] = Field(
        default_factory=list,
        description="price bidding: each round, and once closed its best price (no owner)",
    )
    quotes: list[RevealedQuote] | None = Field(
        default=None,
        description="price bidding: every quote of every round with its agency, once the last round closed",
    )
    consortia: dict[str, Consortium] = Field(
        default_factory=dict,
        description="the consortia (联合体) among the candidates, by lead: every member and its part",
    )
    red_flags: list[Flag] = Field(
        default_factory=list,
        description="integrity red flags (docs/red-flags.md), raised and cleared: a reason to look "
        "closer, not a verdict",
    )


PUBLIC_STATUSES = {
    PurchaseStatus.enrollment_open,
    PurchaseStatus.enrollment_closed,
    PurchaseStatus.failed,
    PurchaseStatus.bidding,
    PurchaseStatus.scoring,
    PurchaseStatus.selecting,
    PurchaseStatus.selected,
    PurchaseStatus.confirmed,
    PurchaseStatus.contracted,
    # After the award: public with its delivery, completion and evaluations (domain/performance.py).
    PurchaseStatus.completed,
    PurchaseStatus.evaluated,
    PurchaseStatus.suspended,
    PurchaseStatus.cancelled,
    PurchaseStatus.batch_split,
}


def public_view(purchase: Purchase) -> PurchasePublic:
    view = PurchasePublic.model_validate(purchase.model_dump(include=set(PurchasePublic.model_fields)))
    # A witness is a person: the public reads the unit and the name's first character only.
    view.witnesses = [Witness(name=mask_name(w.name), unit=w.unit) for w in purchase.witnesses]
    # The quotes are kept out of every dump (sealed until the last round closed): added once public.
    if purchase.quotes_published:
        view = revised(view, quotes=purchase.quotes)
    return revised(view, red_flags=purchase.red_flags) if purchase.red_flags else view


class EnrollmentStatus(StrEnum):
    enrolled = "enrolled"
    withdrawn = "withdrawn"


class Enrollment(Model):
    purchase_id: str
    agency_id: str
    agency_name: str
    status: EnrollmentStatus
    enrolled_at: str
    withdrawn_at: str | None = None
    eligible: bool | None = Field(default=None, description="set when enrollment closes")
    ineligible_reason: str | None = None
    by: str = ""
    consortium: Consortium | None = Field(
        default=None, description="a lead's enrollment: its members and their parts (联合体)"
    )


DUE = "DUE"
CONTRACT_DUE = "CONTRACT"  # the contract task's own part of the due index (reminders, escalation)


def due_partition(step: str) -> str:
    """The due index's partition a step is queried in: the sweeper's (`DUE`, every few minutes)
    or the contract task's (hourly), so neither reads the other's purchases."""
    return CONTRACT_DUE if step == "contract" else DUE


def next_due(purchase: Purchase) -> tuple[str, str] | None:
    """The timed step the purchase waits for, and when: what the sweeper looks for."""
    status = purchase.status
    if PURCHASE.allows(status, "close"):
        return "close", stamp(purchase.enrollment_deadline)
    if PURCHASE.allows(status, "draw"):
        return "select", stamp(purchase.selection_time)
    if PURCHASE.allows(status, "escalate_scoring") and purchase.scoring:
        # Due at the scoring deadline, and still due once escalated: the sweeper then ranks a
        # scoring whose every score is in but whose ranking failed (services.proposals.check_scoring).
        return "scoring", purchase.scoring.deadline
    current = purchase.current_round
    if PURCHASE.allows(status, "next_round") and current is not None and current.closes_at:
        return "round", current.closes_at  # price bidding: a further round closes
    if (
        PURCHASE.allows(status, "escalate")
        and purchase.result is not None
        and purchase.result.escalated_at is None
    ):
        return "confirmation", purchase.result.confirmation_deadline
    if PURCHASE.allows(status, "issue_letter") and purchase.letter_id is None and purchase.confirmed_at:
        return "letter", purchase.confirmed_at
    if (
        PURCHASE.allows(status, "escalate_contract")
        and purchase.contract_deadline
        and purchase.contract_escalated_at is None
    ):
        deadline = datetime.fromisoformat(purchase.contract_deadline.replace("Z", "+00:00"))
        return "contract", stamp(next_milestone(deadline, purchase.contract_reminders))
    return None


# Lifecycles (docs/lifecycles.md is generated from these tables).

OWNER, AGENCY, ADMIN = ("owner",), ("agency",), ("admin",)
REGULATOR = ("regulator",)
BY_SYSTEM = (SYSTEM,)
CHALLENGE_DECIDERS = ("owner", "regulator", "admin")  # an accepted challenge, an upheld complaint
P = PurchaseStatus

PURCHASE: Lifecycle[PurchaseStatus] = Lifecycle(
    "purchase",
    PurchaseStatus,
    [
        (P.draft, "amend", OWNER, P.draft),
        (P.rejected, "amend", OWNER, P.rejected),
        # Submission: a fiscal purchase (or any, where the rules say so) goes to the admin's review;
        # any other publishes at once, a direct selection with its result.
        (P.draft, "submit", OWNER, P.pending_review),
        (P.rejected, "submit", OWNER, P.pending_review),
        (P.draft, "publish", OWNER, P.enrollment_open),
        (P.rejected, "publish", OWNER, P.enrollment_open),
        (P.draft, "publish_direct", OWNER, P.selected),
        (P.rejected, "publish_direct", OWNER, P.selected),
        (P.pending_review, "approve", ADMIN, P.enrollment_open),
        (P.pending_review, "approve_direct", ADMIN, P.selected),
        (P.pending_review, "return", ADMIN, P.rejected),
        (P.enrollment_open, "enroll", AGENCY, P.enrollment_open),
        (P.enrollment_open, "withdraw", AGENCY, P.enrollment_open),
        (P.enrollment_open, "close", BY_SYSTEM, P.enrollment_closed),
        (P.enrollment_open, "close_failed", BY_SYSTEM, P.failed),
        # Price bidding (domain/bidding.py): agencies quote while round one (the enrollment window)
        # or a further round is open; closing opens round two when there is one; the last round's
        # closing leaves the purchase closed for the selection.
        (P.enrollment_open, "quote", AGENCY, P.enrollment_open),
        (P.enrollment_open, "open_bidding", BY_SYSTEM, P.bidding),
        (P.bidding, "quote", AGENCY, P.bidding),
        (P.bidding, "next_round", BY_SYSTEM, P.bidding),
        (P.bidding, "end_bidding", BY_SYSTEM, P.enrollment_closed),
        (P.enrollment_closed, "draw", BY_SYSTEM, P.selected),
        (P.enrollment_closed, "short_list", BY_SYSTEM, P.selecting),
        (P.selecting, "pick", OWNER, P.selected),
        (P.selecting, "escalate", BY_SYSTEM, P.selecting),
        (P.selected, "escalate", BY_SYSTEM, P.selected),
        (P.selected, "confirm", OWNER, P.selected),
        (P.selected, "accept", AGENCY, P.selected),
        (P.selected, "conclude", ("owner", "agency"), P.confirmed),  # the second of the two
        (P.confirmed, "confirm", OWNER, P.confirmed),  # a repeat: nothing changes
        (P.confirmed, "accept", AGENCY, P.confirmed),  # a repeat: nothing changes
        (P.selected, "abandon", AGENCY, P.selected),  # the first reserve moves up
        (P.selected, "abandon_last", AGENCY, P.failed),  # no reserve remains
        (P.confirmed, "issue_letter", BY_SYSTEM, P.confirmed),
        (P.failed, "reannounce", OWNER, P.failed),
        # The contract (合同): the owner registers it (again after a refusal, or replacing one the
        # agency has not acted on); the agency countersigns or refuses it; the contract task reminds
        # both parties before the deadline and tells the admin when none is signed by then.
        (P.confirmed, "register_contract", OWNER, P.confirmed),
        (P.confirmed, "sign_contract", AGENCY, P.contracted),
        (P.confirmed, "refuse_contract", AGENCY, P.confirmed),
        (P.confirmed, "remind_contract", BY_SYSTEM, P.confirmed),
        (P.confirmed, "escalate_contract", BY_SYSTEM, P.confirmed),
        # Performance and evaluation (domain/performance.py): the delivery's own table says which
        # report or decision it allows; the purchase's says when.
        (P.contracted, "deliver", AGENCY, P.contracted),
        (P.contracted, "dispute", OWNER, P.contracted),
        (P.contracted, "complete", OWNER, P.completed),
        (P.contracted, "complete_by_silence", BY_SYSTEM, P.completed),
        (P.completed, "evaluate", OWNER, P.evaluated),
        (P.completed, "rate_output", REGULATOR, P.completed),
        (P.evaluated, "rate_output", REGULATOR, P.evaluated),
        # Challenges (质疑, domain/challenges.py): an owner accepting a challenge before the result
        # suspends the window; resuming returns to the state it had, with the time it had left.
        # A regulator upholding a complaint about the announcement suspends it too.
        (P.enrollment_open, "suspend", CHALLENGE_DECIDERS, P.suspended),
        (P.enrollment_closed, "suspend", CHALLENGE_DECIDERS, P.suspended),
        (P.selecting, "suspend", CHALLENGE_DECIDERS, P.suspended),
        # A further bidding round, or the panel's scoring, is before the result too: its timer (the
        # open round's closing, the scoring deadline) stops and resumes with the time it had left.
        (P.bidding, "suspend", CHALLENGE_DECIDERS, P.suspended),
        (P.scoring, "suspend", CHALLENGE_DECIDERS, P.suspended),
        (P.suspended, "resume_enrollment", OWNER, P.enrollment_open),
        (P.suspended, "resume_closed", OWNER, P.enrollment_closed),
        (P.suspended, "resume_selecting", OWNER, P.selecting),
        (P.suspended, "resume_bidding", OWNER, P.bidding),
        (P.suspended, "resume_scoring", OWNER, P.scoring),
        (P.suspended, "cancel", OWNER, P.cancelled),
        # A result annulled (a result challenge accepted, a complaint upheld): the next reserve, or
        # the next candidate of the draw's ranking, is selected with a fresh window; none left fails.
        # Only before both parties confirmed: a confirmed purchase has its signed letter, and an upheld
        # complaint about it is referred to the admin (docs/challenges.md).
        (P.selected, "annul", CHALLENGE_DECIDERS, P.selected),
        (P.selected, "annul_last", CHALLENGE_DECIDERS, P.failed),
        # Batch (domain/batch.py): one draw for the whole batch makes one purchase per project, in
        # `selected` with its own result; the announcement records them and has nothing left to do.
        (P.enrollment_closed, "split", BY_SYSTEM, P.batch_split),
        # Proposal best-value (domain/proposals.py, docs/proposals.md): closing opens the sealed
        # proposals for scoring; the owner's seat and each named reviewer score every proposal once
        # (a score row, conditioned on the purchase being where `rank_proposals` starts); the last
        # score ranks them (the draw breaks ties) and the result follows; a scoring unfinished at
        # its deadline is reported to the admin once.
        (P.enrollment_open, "open_scoring", BY_SYSTEM, P.scoring),
        (P.scoring, "rank_proposals", BY_SYSTEM, P.selected),
        (P.scoring, "escalate_scoring", BY_SYSTEM, P.scoring),
        # The shelf (domain/shelf.py): buying a listed offering is both parties' agreement (the
        # agency's by listing its price, the owner's by buying), so the purchase is written confirmed,
        # its result and reason public, and its letter issued at once. Built in memory as a draft
        # that is never stored: the write is conditioned on the purchase not existing.
        (P.draft, "shelf_purchase", OWNER, P.confirmed),
        # Reward mode (守信激励) publishes with its result at once like a direct selection, through
        # the rows publish_direct and approve_direct above.
    ],
)

RESUME_ACTIONS = {
    PurchaseStatus.enrollment_open: "resume_enrollment",
    PurchaseStatus.enrollment_closed: "resume_closed",
    PurchaseStatus.selecting: "resume_selecting",
    PurchaseStatus.bidding: "resume_bidding",
    PurchaseStatus.scoring: "resume_scoring",
}


ENROLLMENT: Lifecycle[EnrollmentStatus] = Lifecycle(
    "enrollment",
    EnrollmentStatus,
    [
        (EnrollmentStatus.withdrawn, "enroll", AGENCY, EnrollmentStatus.enrolled),  # enrolls again
        (EnrollmentStatus.enrolled, "withdraw", AGENCY, EnrollmentStatus.withdrawn),
        (EnrollmentStatus.enrolled, "judge", BY_SYSTEM, EnrollmentStatus.enrolled),  # at closing
    ],
)


class ResultState(StrEnum):
    """A result's state, read from its fields (the result is part of the purchase's document)."""

    short_listed = "short_listed"  # credit best-value: the owner picks from the short list
    awaiting = "awaiting"  # an agency is selected; neither party has confirmed
    owner_confirmed = "owner_confirmed"
    agency_accepted = "agency_accepted"
    confirmed = "confirmed"  # both have
    lapsed = "lapsed"  # the selected agency abandoned and no reserve remained


def result_state(result: Result) -> ResultState:
    if result.selected_agency is None:
        return ResultState.lapsed if result.abandoned or result.annulled else ResultState.short_listed
    if result.owner_confirmed_at and result.agency_accepted_at:
        return ResultState.confirmed
    if result.owner_confirmed_at:
        return ResultState.owner_confirmed
    if result.agency_accepted_at:
        return ResultState.agency_accepted
    return ResultState.awaiting


R = ResultState
_OPEN_RESULTS = (R.short_listed, R.awaiting, R.owner_confirmed, R.agency_accepted)

RESULT: Lifecycle[ResultState] = Lifecycle(
    "result",
    ResultState,
    [
        (R.short_listed, "pick", OWNER, R.awaiting),
        (R.awaiting, "confirm", OWNER, R.owner_confirmed),
        (R.agency_accepted, "confirm", OWNER, R.confirmed),
        (R.owner_confirmed, "confirm", OWNER, R.owner_confirmed),  # a repeat: nothing changes
        (R.confirmed, "confirm", OWNER, R.confirmed),  # a repeat: nothing changes
        (R.awaiting, "accept", AGENCY, R.agency_accepted),
        (R.owner_confirmed, "accept", AGENCY, R.confirmed),
        (R.agency_accepted, "accept", AGENCY, R.agency_accepted),  # a repeat: nothing changes
        (R.confirmed, "accept", AGENCY, R.confirmed),  # a repeat: nothing changes
        *((state, "abandon", AGENCY, R.awaiting) for state in _OPEN_RESULTS[1:]),
        *((state, "abandon_last", AGENCY, R.lapsed) for state in _OPEN_RESULTS[1:]),
        *((state, "escalate", BY_SYSTEM, state) for state in _OPEN_RESULTS),
        *((state, "annul", CHALLENGE_DECIDERS, R.awaiting) for state in _OPEN_RESULTS[1:]),
        *((state, "annul_last", CHALLENGE_DECIDERS, R.lapsed) for state in _OPEN_RESULTS[1:]),
    ],
    field=None,
    state_of=result_state,
)
