"""Who an event may concern beyond those it names: for an announcement, the agencies holding an
admitted offering of an item, read from the `agencies` table's item index (the offering rows carry
the agency's status, its service regions and whether the item is suspended); for a purchase's
result or failure, the agencies enrolled in it, read from the purchase's own partition."""

from __future__ import annotations

from collections.abc import Iterator

from marketplace.domain.notifications import ADMITTED, Enrollee, OfferHolder
from marketplace.repositories.base import translated
from marketplace.repositories.tables import AgencyRow, PurchaseRow

PAGE_SIZE = 200
# repositories.purchases.ENROLLMENT_PREFIX, named here so that the consumer does not import the
# purchase models (a cold-start cost) for one value; a test keeps the two equal.
ENROLLMENT_PREFIX = "ENR#"


def offer_holders(item_code: str) -> Iterator[OfferHolder]:
    """Every admitted agency's offering of the item, over all pages of the index."""
    admitted = AgencyRow.status == ADMITTED
    with translated():
        rows = AgencyRow.by_item.query(item_code, filter_condition=admitted, page_size=PAGE_SIZE)
        for row in rows:
            document = row.document or {}
            yield OfferHolder(
                agency_id=row.agency_id,
                status=row.status or "",
                regions=tuple(r for r in (row.regions or "").split(",") if r),
                suspended=bool(document.get("suspended")),
            )


def enrollees(purchase_id: str) -> Iterator[Enrollee]:
    """Every enrollment of the purchase, withdrawn ones included: one Query of the purchase's
    `ENR#` rows (a purchase has at most a few hundred), never a Scan."""
    with translated():
        rows = PurchaseRow.query(
            purchase_id,
            PurchaseRow.sk.startswith(ENROLLMENT_PREFIX),
            attributes_to_get=["sk", "document"],
            page_size=PAGE_SIZE,
        )
        for row in rows:
            document = row.document or {}
            yield Enrollee(
                agency_id=row.sk.removeprefix(ENROLLMENT_PREFIX),
                status=str(document.get("status", "")),
                counted=document.get("eligible"),
                why_not=document.get("ineligible_reason"),
            )
