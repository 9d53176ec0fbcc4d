"""Whether agencies may still take part in a purchase, judged now: at closing for every enrollee,
and again when a reserve would move up. The same refusals as at enrollment (expelled, suspended,
blacklisted, credit level D, qualification no longer met), against the profiles and credit
standings read now. A consortium's lead is judged with its members (`consortium_refusals`)."""

from __future__ import annotations

from datetime import date

from marketplace.clock import local_today, utcnow
from marketplace.domain.agencies import Agency
from marketplace.domain.catalogue import Certificate, describe
from marketplace.domain.consortium import Consortium, unmet_jointly
from marketplace.domain.credit import CreditRules, CreditStanding
from marketplace.domain.enrollment import refusals
from marketplace.domain.purchases import Purchase
from marketplace.repositories import agencies as agencies_repo
from marketplace.repositories import credit as credit_repo


def refused_now(
    purchase: Purchase, agency_ids: list[str], now: str, consortia: dict[str, Consortium] | None = None
) -> dict[str, str]:
    """The agencies among `agency_ids` that may no longer take part, each with why. A lead of one
    of `consortia` (the purchase's own, fixed at closing, unless given) is judged with its members."""
    if not agency_ids:
        return {}
    consortia = purchase.consortia if consortia is None else consortia
    parties = [*agency_ids, *(m for a in agency_ids if a in consortia for m in consortia[a].member_ids)]
    agencies = agencies_repo.profiles(parties)
    standings = credit_repo.standings(parties)
    rules, today = credit_repo.rules_in_force(utcnow()), local_today()
    refused: dict[str, str] = {}
    for agency_id in agency_ids:
        if agency_id in consortia:
            found = consortium_refusals(
                purchase, consortia[agency_id], agencies, standings, today=today, now=now, rules=rules
            )
            if found:
                refused[agency_id] = "; ".join(f"{a}: {why}" for a, why in found.items())
            continue
        agency = agencies.get(agency_id)
        if agency is None:
            refused[agency_id] = "the agency no longer exists"
            continue
        found_alone = refusals(
            purchase,
            agency,
            standings[agency_id],
            purchase.item_qualification,
            today=today,
            now=now,
            rules=rules,
        )
        if found_alone:
            refused[agency_id] = "; ".join(r.message for r in found_alone)
    return refused


def consortium_refusals(
    purchase: Purchase,
    consortium: Consortium,
    agencies: dict[str, Agency],
    standings: dict[str, CreditStanding],
    *,
    today: date,
    now: str,
    rules: CreditRules,
) -> dict[str, str]:
    """Why the consortium may not take part, by party (the lead or a member; `consortium` for the
    qualification the parties meet together): every party must be admitted for the item and
    eligible (level, blacklist, exclusions, suspension) like an agency alone, and the item's and
    the purchase's qualifications are met as the item's `consortium_qualification` says. Empty when
    it may."""
    found: dict[str, str] = {}
    held: dict[str, list[object]] = {}
    for party in [consortium.lead_id, *consortium.member_ids]:
        agency = agencies.get(party)
        if agency is None:
            found[party] = "not an agency of the marketplace (not admitted)"
            continue
        standing = standings.get(party) or CreditStanding(agency_id=party)
        refused = refusals(
            purchase, agency, standing, None, today=today, now=now, rules=rules, qualification=False
        )
        if refused:
            found[party] = "; ".join(r.message for r in refused)
        certificates = agency.record.certificates if agency.record else []
        held[party] = [
            Certificate(certificate_type=c.certificate_type, grade=c.grade)
            for c in certificates
            if c.valid_on(today)
        ]
    if found:
        return found
    rule = purchase.item_consortium_qualification
    for label, requirement in (
        ("item", purchase.item_qualification),
        ("purchase", purchase.extra_qualification),
    ):
        why = unmet_jointly(rule, requirement, held)
        if why is not None:
            found["consortium"] = f"the {label} requires {describe(requirement)} ({rule}): {why}"
    return found
