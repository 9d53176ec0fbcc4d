"""The shelf's offerings (货架商品, docs/shelf.md): what an agency lists, as stored, and as the
public sees it. Only the shelf routes and their service load this module; a purchase holds only
the order it bought (domain/shelf.py `ShelfOrder`)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, field_validator

from marketplace.domain.catalogue import ITEM_CODE_PATTERN
from marketplace.domain.model import Model, StrictModel
from marketplace.domain.regions import DIVISION_PATTERN
from marketplace.domain.shelf import OfferStatus


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
