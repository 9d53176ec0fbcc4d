"""Who an announcement may concern: the agencies holding an admitted offering of an item, read from
the `agencies` table's item index (the offering rows carry the agency's status, its service
regions and whether the item is suspended)."""

from __future__ import annotations

from collections.abc import Iterator

from marketplace.domain.notifications import ADMITTED, OfferHolder
from marketplace.repositories.base import translated
from marketplace.repositories.tables import AgencyRow

PAGE_SIZE = 200


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
