"""Whether agencies may still take part in a purchase, judged now: at closing for every enrollee,
and again when a reserve would move up. The same refusals as at enrollment (expelled, suspended,
blacklisted, credit level D, qualification no longer met), against the profiles and credit
standings read now."""

from __future__ import annotations

from marketplace.clock import local_today, utcnow
from marketplace.domain.enrollment import refusals
from marketplace.domain.purchases import Purchase
from marketplace.repositories import agencies as agencies_repo
from marketplace.repositories import credit as credit_repo


def refused_now(purchase: Purchase, agency_ids: list[str], now: str) -> dict[str, str]:
    """The agencies among `agency_ids` that may no longer take part, each with why."""
    if not agency_ids:
        return {}
    agencies = agencies_repo.profiles(agency_ids)
    standings = credit_repo.standings(agency_ids)
    rules, today = credit_repo.rules_in_force(utcnow()), local_today()
    refused: dict[str, str] = {}
    for agency_id in agency_ids:
        agency = agencies.get(agency_id)
        if agency is None:
            refused[agency_id] = "the agency no longer exists"
            continue
        found = refusals(
            purchase,
            agency,
            standings[agency_id],
            purchase.item_qualification,
            today=today,
            now=now,
            rules=rules,
        )
        if found:
            refused[agency_id] = "; ".join(r.message for r in found)
    return refused
