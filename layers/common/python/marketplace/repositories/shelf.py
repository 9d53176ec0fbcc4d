"""Shelf offerings (网上直购) in the `agencies` table.

An offering is its own partition, `shelf#<offer id>` / `OFFER` (like the credit-code guard rows),
so buying it reads it by its id alone. While listed it carries `shelf_item` (the item) and
`shelf_sort` (`<listed_at>#<offer id>`), the keys of the sparse `by-shelf` index: the public shelf
of an item is one Query, newest first, filtered by region on `regions` (domain.shelf.region_tokens).
Withdrawing removes the index keys, so a withdrawn offering leaves the shelf.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pynamodb.transactions import TransactWrite

from marketplace.domain.agencies import AgencyStatus
from marketplace.domain.lifecycle import Transition
from marketplace.domain.shelf import OfferStatus, region_matches, region_tokens
from marketplace.domain.shelf_offers import ShelfOffer
from marketplace.errors import NotFound
from marketplace.events import DomainEvent
from marketplace.repositories import event_bus
from marketplace.repositories.base import connection, query_page, translated
from marketplace.repositories.tables import AgencyRow

OFFER = "OFFER"
PROFILE = "PROFILE"


def _partition(offer_id: str) -> str:
    return f"shelf#{offer_id}"


def _document(offer: ShelfOffer) -> dict[str, Any]:
    return offer.model_dump(mode="json")


def add(offer: ShelfOffer, events: list[DomainEvent]) -> None:
    """List an offering, in one transaction with a check that the agency is still admitted (its
    profile's status), and its events."""
    with (
        translated(conflict=f"agency {offer.agency_id} is no longer admitted; the offering was not listed"),
        TransactWrite(connection=connection()) as tx,
    ):
        tx.condition_check(
            AgencyRow, offer.agency_id, PROFILE, condition=AgencyRow.status == AgencyStatus.admitted.value
        )
        tx.save(
            AgencyRow(
                agency_id=_partition(offer.offer_id),
                sk=OFFER,
                status=offer.status.value,
                holder=offer.agency_id,
                regions=region_tokens(offer.regions),
                shelf_item=offer.item_code,
                shelf_sort=f"{offer.listed_at}#{offer.offer_id}",
                document=_document(offer),
            ),
            condition=AgencyRow.agency_id.does_not_exist(),
        )
        event_bus.stage(tx, events)


def get(offer_id: str, *, consistent: bool = False) -> ShelfOffer:
    with translated(missing=f"shelf offering {offer_id} not found"):
        row = AgencyRow.get(_partition(offer_id), OFFER, consistent_read=consistent)
    return ShelfOffer.model_validate(row.document)


def withdraw(offer: ShelfOffer, events: list[DomainEvent], *, transition: Transition[OfferStatus]) -> None:
    """Take the offering off the shelf, if it is still in the state the transition starts from."""
    with (
        translated(conflict=f"shelf offering {offer.offer_id} was withdrawn meanwhile"),
        TransactWrite(connection=connection()) as tx,
    ):
        tx.update(
            AgencyRow(_partition(offer.offer_id), OFFER),
            actions=[
                AgencyRow.status.set(offer.status.value),
                AgencyRow.document.set(_document(offer)),
                AgencyRow.shelf_item.remove(),
                AgencyRow.shelf_sort.remove(),
            ],
            condition=AgencyRow.status == transition.source.value,
        )
        event_bus.stage(tx, events)


def still_listed(offer_id: str) -> Callable[[TransactWrite], None]:
    """A purchase's write stages this: the offering must still be listed when the purchase is written."""

    def stage(tx: TransactWrite) -> None:
        tx.condition_check(
            AgencyRow, _partition(offer_id), OFFER, condition=AgencyRow.status == OfferStatus.listed.value
        )

    return stage


def listed(
    item_code: str, region: str | None, *, limit: int, cursor: str | None
) -> tuple[list[ShelfOffer], str | None]:
    """One page of an item's listed offerings, newest first; with a region, those that serve it or
    a place inside it. One Query on the shelf index."""
    region_filter: Any = None
    if region:
        ancestors, inside = region_matches(region)
        region_filter = AgencyRow.regions.contains(inside)
        for token in ancestors:
            region_filter = region_filter | AgencyRow.regions.contains(token)
    rows, next_cursor = query_page(
        AgencyRow.by_shelf,
        item_code,
        filters=[region_filter],
        limit=limit,
        cursor=cursor,
        cursor_keys={"agency_id", "sk", "shelf_item", "shelf_sort"},
        newest_first=True,
    )
    return [ShelfOffer.model_validate(r.document) for r in rows], next_cursor


def require(offer_id: str) -> ShelfOffer:
    try:
        return get(offer_id, consistent=True)
    except NotFound:
        raise NotFound(f"shelf offering {offer_id} not found") from None
