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

from pydantic import Field

from marketplace.domain.lifecycle import Lifecycle
from marketplace.domain.model import Model
from marketplace.domain.regions import stem

OFFER_ID_PATTERN = r"^S-[0-9]{8}-[0-9A-F]{10}$"


class OfferStatus(StrEnum):
    listed = "listed"
    withdrawn = "withdrawn"


# The offerings themselves (what an agency lists, as stored, as the public sees it):
# domain/shelf_offers.py, which only the shelf routes and their service load.


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
