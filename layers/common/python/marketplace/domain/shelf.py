"""The shelf (网上直购, DOMAIN.md §5) and reward mode (守信激励).

An admitted agency lists fixed-price offerings (货架商品) for the items it is admitted to, each for
the regions it serves at that price; the public browses them by item and region; an owner buys one
outright when its price is below the direct-purchase limit, and the purchase is confirmed at once
with its letter: listing a price is the agency's acceptance, buying it is the owner's.

Reward mode lets an owner choose directly, for a small purchase, an agency of the top credit level;
its share of the owner's purchases in a calendar year is bounded (`reward_share_allows`).
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import Field, field_validator

from marketplace.domain.catalogue import ITEM_CODE_PATTERN
from marketplace.domain.lifecycle import Lifecycle
from marketplace.domain.model import Model, StrictModel
from marketplace.domain.regions import DIVISION_PATTERN, stem

OFFER_ID_PATTERN = r"^S-[0-9]{8}-[0-9A-F]{10}$"


class OfferStatus(StrEnum):
    listed = "listed"
    withdrawn = "withdrawn"


class ShelfOfferRequest(StrictModel):
    """What an agency lists: one item, the regions it serves at this price, the price and what it buys."""

    item_code: str = Field(pattern=ITEM_CODE_PATTERN, description="an item the agency is admitted for")
    regions: list[str] = Field(
        min_length=1,
        max_length=50,
        description="division codes served at this price; a province or city code covers the places in it",
    )
    price_yuan: Decimal = Field(gt=0, max_digits=14, decimal_places=2, description="the fixed price, yuan")
    time_limit_working_days: int = Field(
        ge=1, le=365, description="working days to deliver, from the contract"
    )
    included: list[str] = Field(
        min_length=1, max_length=30, description="what the price includes (deliverables, visits, reports)"
    )
    description: str = Field(default="", max_length=2000)

    @field_validator("regions")
    @classmethod
    def _regions(cls, regions: list[str]) -> list[str]:
        import re

        for region in regions:
            if not re.match(DIVISION_PATTERN, region):
                raise ValueError(f"{region!r} is not a six-digit division code")
        if len(set(regions)) != len(regions):
            raise ValueError("a region is listed once")
        return regions

    @field_validator("included")
    @classmethod
    def _included(cls, included: list[str]) -> list[str]:
        cleaned = [i.strip() for i in included]
        if any(not i or len(i) > 200 for i in cleaned):
            raise ValueError("each entry of `included` is 1-200 characters")
        return cleaned


class ShelfOffer(ShelfOfferRequest):
    """An offering on the shelf, as stored."""

    model_config = ShelfOfferRequest.model_config | {"extra": "ignore"}

    offer_id: str
    agency_id: str
    agency_name: str
    item_name: str
    status: OfferStatus
    listed_at: str
    listed_by: str
    withdrawn_at: str | None = None
    withdrawn_by: str | None = None


class ShelfOfferPublic(Model):
    """What the public sees of an offering: the price, the time limit, what it includes, and who
    sells it with its credit level now."""

    offer_id: str
    agency_id: str
    agency_name: str
    credit_level: str | None = Field(description="the agency's credit level now (A-D); null when not rated")
    blacklisted_until: str | None = Field(
        default=None,
        description="while the agency is blacklisted (黑名单): until when; it cannot be bought from",
    )
    item_code: str
    item_name: str
    regions: list[str]
    price_yuan: Decimal
    time_limit_working_days: int
    included: list[str]
    description: str
    status: OfferStatus
    listed_at: str
    withdrawn_at: str | None = None
    available: bool = Field(
        default=True,
        description="whether it may be bought now: listed, and its agency may sell now (GET /shelf "
        "lists only these)",
    )
    unavailable_reasons: list[str] = Field(
        default_factory=list,
        description="why its agency may not sell now: the refusal codes of a purchase (expelled, "
        "suspended, not_admitted, not_admitted_for_item, item_suspended, blacklisted, credit_level)",
    )


class ShelfOrder(Model):
    """The offering a shelf purchase bought, as it stood when bought (the purchase's own record:
    the offer may be withdrawn later)."""

    offer_id: str
    agency_id: str
    price_yuan: Decimal
    time_limit_working_days: int
    included: list[str]
    reason: str = Field(description="the owner's reason, published with the result")
    listed_at: str


OFFER: Lifecycle[OfferStatus] = Lifecycle(
    "shelf offer",
    OfferStatus,
    [
        (OfferStatus.listed, "withdraw", ("agency", "admin"), OfferStatus.withdrawn),
    ],
)


def region_tokens(regions: list[str]) -> str:
    """How an offer's regions are stored for the shelf's filter: each region's stem between commas
    (`,33,3301,`), so a place's ancestors match whole (`,33,`) and the places inside a region match
    by their start (`,3301`)."""
    return "," + ",".join(sorted({stem(r) for r in regions})) + ","


def region_matches(place: str) -> tuple[list[str], str]:
    """What an offer's `region_tokens` must contain to concern `place`: one of its ancestors whole
    (an offer for the province serves the city), or the place's own stem as a start (the offers for
    the place itself and for the places inside it)."""
    own = stem(place)
    ancestors = []
    for cut in range(2, len(own), 2):
        ancestors.append(f",{own[:cut]},")
    return ancestors, f",{own}"


def reward_share_allows(rewards: int, published: int, share_percent: int) -> bool:
    """Whether one more reward purchase keeps the owner's reward purchases of the year within
    `share_percent` of its published purchases that year, counting the new one in both:
    (rewards + 1) / (published + 1) <= share_percent / 100."""
    return (rewards + 1) * 100 <= share_percent * (published + 1)
