"""Domain events: what happened, in a stable envelope. Schemas live in events/schemas/<type>.json.

Publishing goes through `repositories.event_bus`, the one place that talks to EventBridge.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from marketplace.clock import iso, utcnow

EVENT_TYPES = (
    "CatalogueItemCreated",
    "CatalogueItemRevised",
    "CatalogueItemRetired",
    "OwnerRegistered",
    "OwnerUpdated",
    "CalendarYearLoaded",
    "AgencyApplied",
    "AgencyReviewed",
    "AgencyAdmitted",
    "AgencyRejected",
    "AgencyChanged",
    "AgencySuspended",
    "AgencyExpelled",
    "AgencyReinstated",
    "CertificateExpiring",
    "ItemSuspended",
    "ItemRestored",
    "PurchaseSubmitted",
    "PurchaseReturned",
    "PurchasePublished",
    "EnrollmentReceived",
    "EnrollmentWithdrawn",
    "PurchaseFailed",
    # Price bidding (services/bidding.py): no event carries a sealed figure.
    "QuoteSubmitted",
    "BiddingRoundClosed",
    "BiddingRoundOpened",
    "QuotesPublished",
    "ResultPublished",
    "BatchSplit",  # batch (domain/batch.py): one draw made one purchase per project
    "AgencyPicked",
    "ResultConfirmed",
    "ResultAccepted",
    "ResultAbandoned",
    "ReserveMovedUp",
    "PurchaseConfirmed",
    "LetterIssued",
    "PurchaseEscalated",
    # Proposal best-value (services.proposals): nothing is emitted about a submission before the deadline.
    "ProposalsOpened",
    "ProposalScored",
    "ProposalScoringOverdue",
    "PurchaseFlagged",
    "PurchaseReannounced",
    "CreditEventRecorded",
    "CreditRulesLoaded",
    "CreditLevelChanged",
    "BlacklistLifted",
    "AgencyBlacklisted",
    "AgencyReadmitted",
    "CreditAppealFiled",
    "CreditAppealDecided",
    "ContractTemplatePublished",
    "ContractRegistered",
    "ContractSigned",
    "ContractRefused",
    "ContractReminder",
    "ContractEscalated",
    # Performance and evaluation (domain/performance.py).
    "DeliveryReported",
    "DeliveryDisputed",
    "PurchaseCompleted",
    "EvaluationRecorded",
    "ChallengeFiled",
    "ChallengeAnswered",
    "ChallengeEscalated",
    "ComplaintFiled",
    "ComplaintDecided",
    "PurchaseSuspended",
    "PurchaseResumed",
    "PurchaseCancelled",
    "ResultAnnulled",
    # The shelf and reward mode (domain/shelf.py).
    "ShelfOfferListed",
    "ShelfOfferWithdrawn",
    "ShelfPurchaseMade",
    "RewardSelected",
    # Consortium mode (联合体, domain/consortium.py).
    "ConsortiumFormed",
    "MembershipAccepted",
    "MembershipDeclined",
    "ConsortiumReleased",
    "ConsortiumSelected",
    # Red flags (issue 12 red-flags, domain/red_flags.py): a flag started to apply.
    "RedFlagRaised",
    # Random inspections (domain/inspections.py).
    "InspectionPlanned",
    "InspectionDrawn",
    "InspectionResultRecorded",
    "InspectionCancelled",
)


@dataclass(frozen=True)
class DomainEvent:
    """`event_id` lets every consumer drop a redelivery; `subject` names what the event is about."""

    detail_type: str
    subject: str
    data: dict[str, Any]
    actor: str
    event_id: str
    occurred_at: str

    def detail(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "event_type": self.detail_type,
            "occurred_at": self.occurred_at,
            "subject": self.subject,
            "actor": self.actor,
            "data": self.data,
        }


def event(detail_type: str, *, subject: str, data: dict[str, Any], actor: str) -> DomainEvent:
    if detail_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {detail_type}")
    return DomainEvent(
        detail_type=detail_type,
        subject=subject,
        data=data,
        actor=actor,
        event_id=str(uuid.uuid4()),
        occurred_at=iso(utcnow()),
    )
