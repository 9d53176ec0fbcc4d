"""Open Contracting Data Standard 1.1 (docs/ocds.md): a purchase's public state as an OCDS release.

Pure: the service hands in what is public (the purchase's public view, the organisations it names)
and the event that changed it; this module names no AWS library and reads no clock. The mapping
table is in docs/ocds.md. Organisations are identified by their unified social credit code (scheme
`CN-USCI` of org-id.guide); nothing here names a person: witnesses, contacts, raters' users and
free-text reasons, which may name one, are left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from marketplace.domain.model import Model
from marketplace.domain.purchases import PurchasePublic, PurchaseStatus, Result, SelectionMethod

OCDS_VERSION = "1.1"
CURRENCY = "CNY"
# org-id.guide's list for China's 统一社会信用代码 (GB 32100-2015): https://org-id.guide/list/CN-USCI
ORG_SCHEME = "CN-USCI"
# The marketplace's own catalogue codes (docs/catalogue.md): a local scheme, `X-` as OCDS advises.
ITEM_SCHEME = "X-MARKETPLACE-CATALOGUE"
# The bids extension (bids.details: tenderers, value, status), at the version made for OCDS 1.1.5.
BIDS_EXTENSION = (
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/v1.1.5/extension.json"
)
# The example prefix of the standard's own documentation: a district registers its own with the
# Open Contracting Partnership and sets OCID_PREFIX (settings.ocid_prefix).
DEFAULT_OCID_PREFIX = "ocds-213czf"
OCID_PREFIX_PATTERN = r"^ocds-[a-z0-9]{6}$"
# How a buyer who is a natural person (owner type `person`) is named: never by its name.
PERSON_BUYER = "个人业主 (a natural person)"
PURCHASE_ID_PATTERN = r"P-\d{8}-[0-9A-F]{10}"

# The events that change a purchase's public state (events.py): each appends one release.
RELEASE_TAGS: dict[str, tuple[str, ...]] = {
    "PurchasePublished": ("tender",),
    "PurchaseFailed": ("tenderUpdate",),
    "PurchaseReannounced": ("tenderUpdate",),
    "PurchaseSuspended": ("tenderUpdate",),
    "PurchaseResumed": ("tenderUpdate",),
    "PurchaseCancelled": ("tenderCancellation",),
    "QuotesPublished": ("tenderUpdate",),
    "ProposalsOpened": ("tenderUpdate",),
    "BatchSplit": ("tenderUpdate",),
    "ResultPublished": ("award",),
    "AgencyPicked": ("award",),
    "ConsortiumSelected": ("award",),
    "RewardSelected": ("award",),
    "ShelfPurchaseMade": ("tender", "award"),
    "ResultConfirmed": ("awardUpdate",),
    "ResultAccepted": ("awardUpdate",),
    "PurchaseConfirmed": ("awardUpdate",),
    "ReserveMovedUp": ("awardUpdate",),
    "ResultAbandoned": ("awardUpdate",),
    "ResultAnnulled": ("awardUpdate",),
    "ContractRegistered": ("contract",),
    "ContractSigned": ("contractUpdate",),
    "ContractRefused": ("contractUpdate",),
    "DeliveryReported": ("implementation",),
    "DeliveryDisputed": ("implementationUpdate",),
    "PurchaseCompleted": ("implementationUpdate",),
    "EvaluationRecorded": ("implementationUpdate",),
}
RELEASE_EVENT_TYPES = tuple(RELEASE_TAGS)

METHOD_NAMES = {
    SelectionMethod.random_draw: "随机选取 (random draw among the eligible enrollees)",
    SelectionMethod.credit_best_value: "信用择优 (credit best-value: a short list by credit, owner picks)",
    SelectionMethod.direct: "直接选取 (direct selection, the reason published)",
    SelectionMethod.price_bidding: "竞价选取 (price bidding in sealed rounds)",
    SelectionMethod.proposal_best_value: "方案择优 (proposal best-value, scored by a panel)",
    SelectionMethod.shelf: "网上直购 (bought from an agency's listed offering)",
    SelectionMethod.reward: "守信激励 (chosen among the top credit level)",
}
# OCDS method codelist: open to every admitted agency of the item, or not competed.
DIRECT_METHODS = {SelectionMethod.direct, SelectionMethod.shelf, SelectionMethod.reward}
AWARD_CRITERIA = {
    SelectionMethod.price_bidding: "priceOnly",
    SelectionMethod.proposal_best_value: "ratedCriteria",
}
TENDER_STATUS = {
    PurchaseStatus.enrollment_open: "active",
    PurchaseStatus.enrollment_closed: "active",
    PurchaseStatus.bidding: "active",
    PurchaseStatus.scoring: "active",
    PurchaseStatus.selecting: "active",
    PurchaseStatus.suspended: "active",
    PurchaseStatus.failed: "unsuccessful",
    PurchaseStatus.cancelled: "cancelled",
}


class MalformedOcid(ValueError):
    """Not an ocid of this publisher: `{prefix}-{purchase id}`."""


@dataclass(frozen=True)
class Organisation:
    """What is public of an owner or agency: its name and unified social credit code."""

    org_id: str
    name: str
    credit_code: str | None = None


@dataclass(frozen=True)
class Trigger:
    """The domain event a release answers: its id makes the release's id."""

    event_id: str
    event_type: str


class Publisher(Model):
    name: str


class ReleasePackage(Model):
    """An OCDS 1.1 release package (release-package-schema.json); `links.next` pages on."""

    uri: str
    version: str
    extensions: list[str]
    publishedDate: str
    publisher: Publisher
    releases: list[dict[str, Any]]
    links: dict[str, str] | None = None


class RecordPackage(Model):
    """An OCDS 1.1 record package (record-package-schema.json) holding the ocid's one record."""

    uri: str
    version: str
    extensions: list[str]
    publishedDate: str
    publisher: Publisher
    records: list[dict[str, Any]]


def ocid(prefix: str, purchase_id: str) -> str:
    return f"{prefix}-{purchase_id}"


def purchase_of(prefix: str, value: str) -> str:
    """The purchase id an ocid of this publisher names; `MalformedOcid` otherwise."""
    match = re.fullmatch(re.escape(prefix) + "-(" + PURCHASE_ID_PATTERN + ")", value)
    if match is None:
        raise MalformedOcid(f"an ocid is {prefix}-<purchase id> (P-YYYYMMDD-XXXXXXXXXX)")
    return match.group(1)


def release_id(trigger: Trigger) -> str:
    """Deterministic from the event: a redelivered event names the release already stored."""
    return f"{trigger.event_type}-{trigger.event_id}"


def organisations_named(purchase: PurchasePublic) -> list[str]:
    """The agencies a release of this purchase names (the owner aside), in a stable order."""
    named: list[str] = []
    for agency in _tenderers(purchase) + _award_history(purchase.result):
        if agency not in named:
            named.append(agency)
    return named


def build_release(
    purchase: PurchasePublic,
    organisations: dict[str, Organisation],
    trigger: Trigger,
    *,
    prefix: str,
    date: str,
) -> dict[str, Any]:
    """The release `trigger` appends: the purchase's public state when it was read (`date`)."""
    release: dict[str, Any] = {
        "ocid": ocid(prefix, purchase.purchase_id),
        "id": release_id(trigger),
        "date": date,
        "tag": list(RELEASE_TAGS.get(trigger.event_type, ("tenderUpdate",))),
        "initiationType": "tender",
        "language": "zh",
        "parties": _parties(purchase, organisations),
        "buyer": _reference(purchase.owner_id, organisations),
        "tender": _tender(purchase, organisations),
    }
    related = _related_processes(purchase, prefix)
    if related:
        release["relatedProcesses"] = related
    if purchase.quotes:
        release["bids"] = {"details": [_bid(q, organisations) for q in purchase.quotes]}
    awards = _awards(purchase, organisations)
    if awards:
        release["awards"] = awards
    if purchase.contract is not None:
        release["contracts"] = [_contract(purchase)]
    return release


def release_package(
    releases: list[dict[str, Any]], *, uri: str, published_date: str, publisher: str
) -> dict[str, Any]:
    return {
        "uri": uri,
        "version": OCDS_VERSION,
        "extensions": [BIDS_EXTENSION],
        "publishedDate": published_date,
        "publisher": {"name": publisher},
        "releases": releases,
    }


def record_package(
    releases: list[dict[str, Any]],
    compiled: dict[str, Any],
    *,
    uri: str,
    published_date: str,
    publisher: str,
) -> dict[str, Any]:
    """Every release of one ocid and the compiled release (made by ocdsmerge, in the service)."""
    return {
        "uri": uri,
        "version": OCDS_VERSION,
        "extensions": [BIDS_EXTENSION],
        "publishedDate": published_date,
        "publisher": {"name": publisher},
        "records": [{"ocid": releases[0]["ocid"], "releases": releases, "compiledRelease": compiled}],
    }


# The parts of a release.


def _party_id(org_id: str, organisations: dict[str, Organisation]) -> str:
    org = organisations.get(org_id)
    return f"{ORG_SCHEME}-{org.credit_code}" if org is not None and org.credit_code else org_id


def _reference(org_id: str, organisations: dict[str, Organisation]) -> dict[str, Any]:
    org = organisations.get(org_id)
    return {"id": _party_id(org_id, organisations), "name": org.name if org is not None else org_id}


def _parties(purchase: PurchasePublic, organisations: dict[str, Organisation]) -> list[dict[str, Any]]:
    roles: dict[str, list[str]] = {purchase.owner_id: ["buyer", "procuringEntity"]}
    for agency in _tenderers(purchase):
        roles.setdefault(agency, []).append("tenderer")
    for agency in _suppliers(purchase):
        if "supplier" not in roles.setdefault(agency, []):
            roles[agency].append("supplier")
    parties = []
    for org_id, org_roles in roles.items():
        party: dict[str, Any] = {**_reference(org_id, organisations), "roles": org_roles}
        org = organisations.get(org_id)
        if org is not None and org.credit_code:
            party["identifier"] = {"scheme": ORG_SCHEME, "id": org.credit_code, "legalName": org.name}
        parties.append(party)
    return parties


def _tenderers(purchase: PurchasePublic) -> list[str]:
    """The agencies the public knows took part: the result's candidates, the quotes' agencies and
    the consortia's members (who enrolled is public only through these)."""
    found: list[str] = []
    result = purchase.result
    if result is not None:
        found += [result.selected_agency] if result.selected_agency else []
        found += result.short_list + result.reserves + _award_history(result)
    found += [q.agency_id for q in purchase.quotes or []]
    for consortium in purchase.consortia.values():
        found += [consortium.lead_id] + [m.agency_id for m in consortium.members]
    if purchase.shelf is not None:
        found.append(purchase.shelf.agency_id)
    unique: list[str] = []
    for agency in found:
        if agency and agency not in unique:
            unique.append(agency)
    return unique


def _award_history(result: Result | None) -> list[str]:
    """Every agency selected in turn: those that abandoned or were annulled, then the current one."""
    if result is None:
        return []
    history = [a.agency_id for a in result.abandoned] + [a.agency_id for a in result.annulled]
    history = sorted(set(history), key=history.index)
    if result.selected_agency and result.selected_agency not in history:
        history.append(result.selected_agency)
    return history


def _suppliers(purchase: PurchasePublic) -> list[str]:
    result = purchase.result
    if result is None or not result.selected_agency:
        return []
    if (result.owner_confirmed_at and result.agency_accepted_at) or purchase.contract is not None:
        return [result.selected_agency]
    return []


def _amount(value: Decimal) -> dict[str, Any]:
    return {"amount": float(value), "currency": CURRENCY}


def _tender(purchase: PurchasePublic, organisations: dict[str, Organisation]) -> dict[str, Any]:
    method = purchase.method
    tender: dict[str, Any] = {
        "id": purchase.purchase_id,
        "title": purchase.title,
        "status": TENDER_STATUS.get(purchase.status, "complete"),
        "procuringEntity": _reference(purchase.owner_id, organisations),
        "items": [
            {
                "id": "1",
                "description": purchase.item_name or purchase.item_code,
                "classification": {
                    "scheme": ITEM_SCHEME,
                    "id": purchase.item_code,
                    "description": purchase.item_name or purchase.item_code,
                },
                "quantity": 1,
            }
        ],
        "value": _amount(purchase.amount_yuan),
        "procurementMethod": "direct" if method in DIRECT_METHODS else "open",
        "procurementMethodDetails": METHOD_NAMES[method],
        "mainProcurementCategory": "services",
        "hasEnquiries": False,
    }
    if purchase.description:
        tender["description"] = purchase.description
    if method in AWARD_CRITERIA:
        tender["awardCriteria"] = AWARD_CRITERIA[method]
    if method not in DIRECT_METHODS and purchase.published_at:
        tender["tenderPeriod"] = {
            "startDate": purchase.published_at,
            "endDate": _instant(purchase.enrollment_deadline),
        }
        tender["numberOfTenderers"] = purchase.enrollments
    tenderers = _tenderers(purchase)
    if tenderers:
        tender["tenderers"] = [_reference(a, organisations) for a in tenderers]
    if purchase.commitment:
        tender["documents"] = [
            {
                "id": "draw-commitment",
                "documentType": "evaluationCriteria",
                "title": "抽取承诺 (the draw's commitment)",
                "description": f"SHA-256 of the draw's secret seed, published before the draw: "
                f"{purchase.commitment}. The proof: GET /purchases/{purchase.purchase_id}/draw",
                "language": "zh",
            }
        ]
    return tender


def _instant(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _bid(quote: Any, organisations: dict[str, Organisation]) -> dict[str, Any]:
    return {
        "id": f"{quote.round}-{quote.agency_id}",
        "date": quote.submitted_at,
        "status": "valid" if quote.valid else "disqualified",
        "tenderers": [_reference(quote.agency_id, organisations)],
        "value": _amount(quote.price_yuan),
    }


def _award_id(purchase_id: str, agency_id: str) -> str:
    return f"{purchase_id}-award-{agency_id}"


def _award_value(purchase: PurchasePublic, agency_id: str, *, current: bool) -> dict[str, Any]:
    """What the agency is (or was to be) paid: for the current award the contract's amount once
    there is one (the contract is the current agency's alone, never a superseded award's); else its
    best valid quote in price bidding; the offering's price on the shelf; otherwise the announced
    amount."""
    if current and purchase.contract is not None:
        return _amount(purchase.contract.amount_yuan)
    prices = [q.price_yuan for q in purchase.quotes or [] if q.agency_id == agency_id and q.valid]
    if prices:
        return _amount(min(prices))
    if purchase.shelf is not None:
        return _amount(purchase.shelf.price_yuan)
    return _amount(purchase.amount_yuan)


def _selection_dates(result: Result) -> dict[str, str]:
    """When each agency of the award history was selected: the first at the selection
    (`selected_at`), each later one when the abandonment or annulment before it took effect (its
    `at`), the selections superseded in time order. An agency not placed so has no entry."""
    superseded = sorted(
        [(a.at, a.agency_id) for a in result.abandoned] + [(a.at, a.agency_id) for a in result.annulled]
    )
    chain = [agency for _, agency in superseded]
    if result.selected_agency:
        chain.append(result.selected_agency)
    dates = [result.selected_at] + [at for at, _ in superseded]
    found: dict[str, str] = {}
    for agency, at in zip(chain, dates, strict=False):
        found.setdefault(agency, at)
    return found


def _awards(purchase: PurchasePublic, organisations: dict[str, Organisation]) -> list[dict[str, Any]]:
    result = purchase.result
    if result is None:
        return []
    selected_on = _selection_dates(result)
    awards = []
    for agency in _award_history(result):
        current = agency == result.selected_agency
        confirmed = bool(result.owner_confirmed_at and result.agency_accepted_at)
        if not current or purchase.status == PurchaseStatus.cancelled:
            status = "cancelled"
        elif confirmed or purchase.contract is not None:
            status = "active"
        else:
            status = "pending"
        award: dict[str, Any] = {
            "id": _award_id(purchase.purchase_id, agency),
            "title": purchase.title,
            "status": status,
            "date": selected_on.get(agency, result.selected_at),
            "value": _award_value(purchase, agency, current=current),
            "suppliers": [_reference(agency, organisations)],
            "items": [{"id": "1", "description": purchase.item_name or purchase.item_code, "quantity": 1}],
        }
        if current and purchase.commitment:
            award["documents"] = [
                {
                    "id": "draw-proof",
                    "documentType": "evaluationReports",
                    "title": "抽取过程证明 (the draw proof)",
                    "description": f"GET /purchases/{purchase.purchase_id}/draw: the seed, the "
                    "candidates and the ranking; anyone recomputes the draw",
                    "language": "zh",
                }
            ]
        awards.append(award)
    return awards


CONTRACT_STATUS = {"awaiting_signature": "pending", "signed": "active", "refused": "cancelled"}


def _contract(purchase: PurchasePublic) -> dict[str, Any]:
    contract = purchase.contract
    assert contract is not None
    result = purchase.result
    agency = result.selected_agency if result is not None and result.selected_agency else ""
    status = CONTRACT_STATUS.get(contract.status.value, "pending")
    if status == "active" and purchase.status in (PurchaseStatus.completed, PurchaseStatus.evaluated):
        status = "terminated"  # the service was delivered and accepted: the contract is fulfilled
    item: dict[str, Any] = {
        "id": f"{purchase.purchase_id}-contract-{contract.number}",
        "awardID": _award_id(purchase.purchase_id, agency),
        "title": purchase.title,
        "status": status,
        "value": _amount(contract.amount_yuan),
        "documents": [
            {
                "id": f"contract-{contract.number}",
                "documentType": "contractSigned" if contract.signed_on else "contractDraft",
                "title": f"合同 No. {contract.number} ({contract.source.value})",
                "description": f"SHA-256 of the contract document: {contract.sha256}",
                "dateModified": contract.registered_at,
                "language": "zh",
            }
        ],
    }
    if contract.signed_on is not None:
        item["dateSigned"] = f"{contract.signed_on.isoformat()}T00:00:00+08:00"
    implementation = _implementation(purchase)
    if implementation:
        item["implementation"] = implementation
    return item


def _implementation(purchase: PurchasePublic) -> dict[str, Any]:
    performance = purchase.performance
    if performance is None or performance.delivery_status is None:
        return {}
    milestones: list[dict[str, Any]] = [
        {
            "id": "delivery",
            "title": "服务成果交付 (delivery of the service's result)",
            "type": "delivery",
            "status": "met",
            "dateMet": performance.reported_at,
            "description": f"report {performance.report_number}, SHA-256 {performance.file_sha256}; "
            f"{performance.working_days_taken} of {performance.time_limit_working_days} working days"
            + ("; late" if performance.late else ""),
        }
    ]
    if performance.completed_at:
        milestones.append(
            {
                "id": "completion",
                "title": "验收 (the owner accepted the service)",
                "type": "approval",
                "status": "met",
                "dateMet": performance.completed_at,
                "description": "accepted by the owner's silence"
                if performance.accepted_by_silence
                else "accepted",
            }
        )
    else:
        milestones.append(
            {
                "id": "completion",
                "title": "验收 (the owner accepts or disputes the delivery)",
                "type": "approval",
                "status": "scheduled",
                "dueDate": performance.completion_deadline,
            }
        )
    ratings = [
        f"owner's average {performance.owner_rating}" if performance.owner_rating is not None else "",
        f"regulator's rating {performance.regulator_rating}"
        if performance.regulator_rating is not None
        else "",
    ]
    if any(ratings):
        milestones.append(
            {
                "id": "evaluation",
                "title": "服务评价 (evaluation of the service)",
                "type": "assessment",
                "status": "met",
                "description": "; ".join(r for r in ratings if r),
            }
        )
    return {
        "milestones": milestones,
        "documents": [
            {
                "id": "delivery-report",
                "documentType": "completionCertificate"
                if performance.completed_at
                else "physicalProgressReport",
                "title": f"成果报告 {performance.report_number}",
                "description": f"SHA-256 of the result's file: {performance.file_sha256}",
                "datePublished": performance.reported_at,
                "language": "zh",
            }
        ],
    }


def _related_processes(purchase: PurchasePublic, prefix: str) -> list[dict[str, Any]]:
    related = []
    if purchase.reannounces:
        related.append(_related("unsuccessfulProcess", purchase.reannounces, prefix))
    if purchase.reannounced_as:
        related.append(_related("replacementProcess", purchase.reannounced_as, prefix))
    if purchase.batch_of:
        related.append(_related("parent", purchase.batch_of, prefix))
    return related


def _related(relationship: str, purchase_id: str, prefix: str) -> dict[str, Any]:
    return {
        "id": f"{relationship}-{purchase_id}",
        "relationship": [relationship],
        "scheme": "ocid",
        "identifier": ocid(prefix, purchase_id),
    }
