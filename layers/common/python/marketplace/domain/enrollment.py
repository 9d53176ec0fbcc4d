"""Who may enroll in a purchase (报名), and why not: DOMAIN.md §4's refusals, each with a code a
client can act on and a sentence a person can read. The same check runs when enrollment closes, so
an agency expelled or suspended meanwhile is not drawn."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from marketplace.domain.agencies import Agency, AgencyStatus, check_requirements
from marketplace.domain.catalogue import Requirement, describe
from marketplace.domain.credit import CreditLevel, CreditRules, CreditStanding
from marketplace.domain.purchases import Exclusion


class PurchaseTerms(Protocol):
    """What the refusals read of a purchase: a purchase, or an item alone (a shelf listing)."""

    @property
    def item_code(self) -> str: ...

    @property
    def extra_qualification(self) -> Requirement | None: ...

    @property
    def exclusions(self) -> Sequence[Exclusion]: ...


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str
    until: str | None = None  # a refusal that ends by itself (the blacklist): when

    def as_dict(self) -> dict[str, str]:
        found = {"code": self.code, "message": self.message}
        if self.until is not None:
            found["until"] = self.until
        return found


def refusals(
    purchase: PurchaseTerms,
    agency: Agency,
    standing: CreditStanding,
    item_requirement: Requirement | None,
    *,
    today: date,
    now: str,
    rules: CreditRules,
    qualification: bool = True,
) -> list[Refusal]:
    """Every reason the agency cannot take part; empty when it may. `qualification=False` leaves
    the qualification out: a consortium's is judged for the lead and its members together
    (domain/consortium.py)."""
    found: list[Refusal] = []
    if agency.status == AgencyStatus.expelled:
        found.append(
            Refusal("expelled", f"agency {agency.agency_id} is expelled (清退): {agency.status_reason()}")
        )
    elif agency.status == AgencyStatus.suspended:
        found.append(
            Refusal("suspended", f"agency {agency.agency_id} is suspended: {agency.status_reason()}")
        )
    elif agency.status != AgencyStatus.admitted or agency.record is None:
        found.append(Refusal("not_admitted", f"agency {agency.agency_id} is not admitted to the marketplace"))
    offered = {o.item_code for o in agency.record.offerings} if agency.record else set()
    if agency.record is not None and purchase.item_code not in offered:
        found.append(
            Refusal("not_admitted_for_item", f"agency is not admitted for item {purchase.item_code}")
        )
    elif purchase.item_code in agency.suspended_items:
        reason = agency.suspended_items[purchase.item_code]
        found.append(
            Refusal("item_suspended", f"item {purchase.item_code} is suspended for the agency: {reason}")
        )
    certificates = agency.record.certificates if agency.record else []
    required = (
        (("item", item_requirement), ("purchase", purchase.extra_qualification)) if qualification else ()
    )
    for label, requirement in required:
        met, _ = check_requirements(requirement, certificates, today)
        if not met:
            found.append(
                Refusal(
                    "missing_qualification",
                    f"the {label} requires {describe(requirement)}; no valid certificate meets it",
                )
            )
    excluded = next((e for e in purchase.exclusions if e.agency_id == agency.agency_id), None)
    if excluded is not None:
        found.append(Refusal("excluded", f"the owner excluded the agency (回避): {excluded.reason}"))
    if standing.blacklisted(now):
        until = standing.blacklisted_until
        found.append(
            Refusal(
                "blacklisted", f"agency is blacklisted (黑名单) for serious dishonesty until {until}", until
            )
        )
    elif standing.level(rules, now) == CreditLevel.D:
        found.append(Refusal("credit_level", "agencies at credit level D cannot enroll"))
    return found
