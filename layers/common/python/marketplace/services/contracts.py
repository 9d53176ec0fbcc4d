"""The contract (合同, DOMAIN.md §7): from a confirmed purchase to `contracted`.

The owner registers the contract within `RULE_CONTRACT_DAYS` calendar days of confirmation
(generated from the item's template in force, or uploaded by reference and hash); the selected
agency countersigns it (the purchase is `contracted`) or refuses it with reasons (a credit event,
`contract_refused`; the owner may register another). An hourly task reminds both parties 7 and 1
days before the deadline and, when no contract is signed by then, tells the admin once and records
it on the purchase; the agency is at fault (`contract_late`) only when a contract registered in time
still awaited its signature.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from pynamodb.transactions import TransactWrite

from marketplace.auth import Principal
from marketplace.clock import parse_iso, stamp, utcnow
from marketplace.domain.contracts import (
    CONTRACT,
    ContractRequest,
    ContractView,
    due_reminders,
    fill,
)
from marketplace.domain.credit import CreditCause, CreditEventKind
from marketplace.domain.purchase_contract import (
    REMINDER_DAYS,
    Contract,
    ContractPublic,
    ContractSource,
    ContractStatus,
    RegisteredContract,
    deadline_from,
)
from marketplace.domain.purchases import PURCHASE, Purchase
from marketplace.errors import Conflict, Forbidden, invalid
from marketplace.events import DomainEvent, event
from marketplace.observability import log
from marketplace.repositories import contracts as repo
from marketplace.repositories import event_bus
from marketplace.repositories import purchases as purchases_repo
from marketplace.services.purchase_access import require_owner, require_published
from marketplace.settings import get_settings

logger = logging.getLogger("marketplace.contracts")
SYSTEM = "system"


# --- Helpers ------------------------------------------------------------------------------------


def _local_date(at: datetime) -> date:
    return at.astimezone(ZoneInfo(get_settings().timezone)).date()


def deadline_of(purchase: Purchase) -> str | None:
    """The contract deadline: kept on the purchase since confirmation (computed for a purchase
    confirmed before it was kept)."""
    if purchase.contract_deadline:
        return purchase.contract_deadline
    if purchase.confirmed_at:
        return stamp(
            deadline_from(
                parse_iso(purchase.confirmed_at), get_settings().rules.contract_days, get_settings().timezone
            )
        )
    return None


def _selected_agency(purchase: Purchase) -> str:
    result = purchase.result
    assert result is not None and result.selected_agency is not None  # confirmed: an agency is selected
    return result.selected_agency


def _base(purchase: Purchase) -> dict[str, Any]:
    return {
        "purchase_id": purchase.purchase_id,
        "owner_id": purchase.owner_id,
        "agency_id": _selected_agency(purchase),
    }


def _both(*stages: Callable[[TransactWrite], None] | None) -> Callable[[TransactWrite], None]:
    def stage(tx: TransactWrite) -> None:
        for s in stages:
            if s is not None:
                s(tx)

    return stage


# --- Registration -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filled:
    html: str
    sha256: str
    template_version: int
    amount_yuan: Decimal
    time_limit_working_days: int | None


@dataclass(frozen=True)
class Terms:
    """What the contract is held to: the price agreed (the most the contract may state, or exactly
    it) and the offering whose time limit, fee basis and content it carries.

    - shelf: the offering as bought (`purchase.shelf`): the amount is its price, exactly; its time
      limit and what it includes;
    - price bidding: at most the selected agency's winning quote (its last valid one); a generated
      contract states that quote;
    - otherwise: at most the purchase's budget or ceiling; the agency's profile offering for the item.
    """

    cap: Decimal
    cap_named: str
    exact: bool
    amount: Decimal | None  # a generated contract's amount when the request gives none
    time_limit_working_days: int | None
    fee_basis: str
    service_content: str


def agreed_terms(purchase: Purchase) -> Terms:
    from marketplace.domain.bidding import last_prices
    from marketplace.domain.purchases import SelectionMethod
    from marketplace.repositories import agencies as agencies_repo

    shelf = purchase.shelf
    if shelf is not None:
        return Terms(
            cap=shelf.price_yuan,
            cap_named=f"the price {shelf.price_yuan} yuan of shelf offering {shelf.offer_id}",
            exact=True,
            amount=shelf.price_yuan,
            time_limit_working_days=shelf.time_limit_working_days,
            fee_basis=f"货架标价 {shelf.price_yuan} 元 (the shelf offering's fixed price)",
            service_content="；".join(shelf.included),
        )
    agency_id = _selected_agency(purchase)
    agency = agencies_repo.get(agency_id)
    offerings = agency.record.offerings if agency.record else []
    offering = next((o for o in offerings if o.item_code == purchase.item_code), None)
    amount: Decimal | None
    if purchase.method == SelectionMethod.price_bidding:
        won = last_prices(purchase.quotes)[agency_id]
        cap, cap_named, amount = won, f"the winning quote of {won} yuan by agency {agency_id}", won
    else:
        cap = purchase.amount_yuan
        cap_named = f"the purchase's {purchase.price_kind.value} of {purchase.amount_yuan} yuan"
        amount = offering.fee.amount_yuan if offering else None
    return Terms(
        cap=cap,
        cap_named=cap_named,
        exact=False,
        amount=amount,
        time_limit_working_days=offering.time_limit_working_days if offering else None,
        fee_basis=offering.fee.basis if offering else "",
        service_content=offering.service_content if offering else "",
    )


def _generate(purchase: Purchase, request: ContractRequest, deadline: str, today: date) -> Filled:
    """Fill the template in force today with the purchase, the result and the terms agreed."""
    from marketplace.repositories import agencies as agencies_repo
    from marketplace.repositories import owners as owners_repo
    from marketplace.services import contract_templates

    template = contract_templates.in_force(purchase.item_code, today)
    if template is None:
        raise Conflict(
            f"catalogue item {purchase.item_code} has no contract template in force; upload the contract",
            reason="no_template",
        )
    agency = agencies_repo.get(_selected_agency(purchase))
    owner = owners_repo.get(purchase.owner_id)
    terms = agreed_terms(purchase)
    amount = request.amount_yuan or terms.amount
    if amount is None:
        raise invalid("amount_yuan", "required: the agency's offering commits to no fixed fee")
    _check_amount(terms, amount)
    confirmed = parse_iso(purchase.confirmed_at) if purchase.confirmed_at else utcnow()
    time_limit = terms.time_limit_working_days
    values = {
        "purchase.id": purchase.purchase_id,
        "purchase.project_code": purchase.project_code,
        "purchase.project_name": purchase.title,
        "purchase.item_code": purchase.item_code,
        "purchase.item_name": purchase.item_name,
        "purchase.region": purchase.region,
        "purchase.funding_type": purchase.funding_type.value,
        "purchase.price_yuan": str(purchase.amount_yuan),
        "purchase.confirmed_on": _local_date(confirmed).isoformat(),
        "purchase.letter_id": purchase.letter_id or "",
        "owner.id": owner.owner_id,
        "owner.name": owner.name,
        "agency.id": agency.agency_id,
        "agency.name": agency.name,
        "agency.credit_code": agency.credit_code,
        "amount_yuan": str(amount),
        "fee_basis": terms.fee_basis,
        "service_content": terms.service_content,
        "time_limit_days": str(time_limit) if time_limit is not None else "",
        "contract_deadline": _local_date(parse_iso(deadline)).isoformat(),
        "signing_date": request.signing_date.isoformat() if request.signing_date else "",
    }
    document = fill(template.body, values)
    return Filled(
        time_limit_working_days=time_limit,
        html=document,
        sha256=hashlib.sha256(document.encode("utf-8")).hexdigest(),
        template_version=template.version,
        amount_yuan=amount,
    )


def _check_amount(terms: Terms, amount: Decimal) -> None:
    if terms.exact and amount != terms.cap:
        raise invalid("amount_yuan", f"{amount} is not {terms.cap_named}: the contract amount is the price")
    if amount > terms.cap:
        raise invalid("amount_yuan", f"{amount} is more than {terms.cap_named}")


def register(purchase_id: str, request: ContractRequest, by: Principal) -> ContractView:
    """The owner registers the contract (generated or uploaded), or replaces one the agency has not
    acted on, within the deadline."""
    purchase = purchases_repo.get(purchase_id, consistent=True)
    require_owner(purchase, by)
    transition = PURCHASE.expect(purchase.status, "register_contract", subject=purchase_id)
    now_at = utcnow()
    now = stamp(now_at)
    deadline = deadline_of(purchase)
    assert deadline is not None  # a confirmed purchase has its confirmation time
    previous = purchase.contract
    # A refusal that came after the deadline would otherwise leave the purchase with no way to a
    # contract: the owner may register anew, once per such refusal (the admin already has it).
    refused_late = (
        previous is not None
        and previous.status == ContractStatus.refused
        and previous.refused_at is not None
        and previous.refused_at > deadline
    )
    if now > deadline and not refused_late:
        raise Conflict(
            f"the contract deadline {deadline} has passed: no contract can be registered; the admin "
            "has the purchase",
            reason="late",
            deadline=deadline,
        )
    earlier: list[RegisteredContract] = []
    replaces = False
    step = None
    if previous is not None:
        step = CONTRACT.expect(
            previous.status,
            "replace" if previous.status == ContractStatus.awaiting_signature else "register",
            subject=f"of purchase {purchase_id}",
        )
        replaces = step.action == "replace"
        earlier = [*previous.earlier, previous.summary(replaced_at=now if replaces else None)]
    confirmed_on = _local_date(parse_iso(purchase.confirmed_at)) if purchase.confirmed_at else None
    if request.signing_date is not None and confirmed_on is not None and request.signing_date < confirmed_on:
        raise invalid("signing_date", f"cannot be before the confirmation on {confirmed_on.isoformat()}")
    number = previous.number + 1 if previous else 1
    document: dict[str, Any]
    if request.generate:
        filled = _generate(purchase, request, deadline, _local_date(now_at))
        source, sha256, amount = ContractSource.generated, filled.sha256, filled.amount_yuan
        file_ref, template_version = None, filled.template_version
        time_limit = filled.time_limit_working_days
        document = {"html": filled.html, "sha256": sha256, "template_version": template_version}
    else:
        upload = request.upload
        assert upload is not None  # the request has one source
        if request.amount_yuan is None:
            raise invalid("amount_yuan", "required for an uploaded contract")
        terms = agreed_terms(purchase)
        _check_amount(terms, request.amount_yuan)
        source, sha256, amount = ContractSource.uploaded, upload.sha256, request.amount_yuan
        file_ref, template_version = upload.file_ref, None
        time_limit = terms.time_limit_working_days
        document = {"file_ref": file_ref, "sha256": sha256}
    document |= {"number": number, "registered_at": now, "registered_by": by.subject}
    fields: dict[str, Any] = {
        "number": number,
        "source": source,
        "agency_id": _selected_agency(purchase),
        "amount_yuan": amount,
        "sha256": sha256,
        "file_ref": file_ref,
        "template_version": template_version,
        "time_limit_working_days": time_limit,
        "signing_date": request.signing_date,
        "deadline": deadline,
        "registered_at": now,
        "registered_by": by.subject,
        "signed_at": None,
        "signed_on": None,
        "refused_at": None,
        "refusal_reasons": None,
        "earlier": earlier,
    }
    # The first contract starts awaiting the signature; a later one is the table's row from the
    # state of the one before (replace, or register after a refusal).
    contract = (
        step.apply(previous, **fields)
        if previous is not None and step is not None
        else Contract(status=ContractStatus.awaiting_signature, **fields)
    )
    changed = transition.apply(purchase, contract=contract, contract_deadline=deadline, updated_at=now)
    data = {
        **_base(purchase),
        "contract_number": number,
        "source": source.value,
        "sha256": sha256,
        "amount_yuan": str(amount),
        "deadline": deadline,
        "replaces": replaces,
    }
    events = [event("ContractRegistered", subject=purchase_id, data=data, actor=by.subject)]
    purchases_repo.save(
        changed,
        events,
        conflict=f"purchase {purchase_id} changed meanwhile; read it again",
        stage_also=repo.document_row(purchase_id, number, document),
        transition=transition,
    )
    event_bus.flush(events)
    return _whole(changed, document.get("html"))


# --- Signature ----------------------------------------------------------------------------------


def sign(
    purchase_id: str,
    decision: str,
    by: Principal,
    *,
    reasons: str | None = None,
    sha256: str | None = None,
) -> ContractView:
    """The selected agency countersigns (`accept`: the purchase is contracted) or refuses the
    contract awaiting its signature. `sha256`, when given, must be the contract's: the agency signs
    the document it read, never one the owner replaced meanwhile."""
    purchase = purchases_repo.get(purchase_id, consistent=True)
    require_published(purchase)
    accept = decision == "accept"
    transition = PURCHASE.expect(
        purchase.status, "sign_contract" if accept else "refuse_contract", subject=purchase_id
    )
    result = purchase.result
    if not (by.role == "agency" and result is not None and result.selected_agency == by.org_id):
        raise Forbidden(f"only the selected agency of purchase {purchase_id} signs its contract")
    contract = purchase.contract
    if contract is None:
        raise Conflict(f"purchase {purchase_id} has no contract to sign: the owner registers it first")
    step = CONTRACT.expect(
        contract.status, "sign" if accept else "refuse", subject=f"of purchase {purchase_id}"
    )
    if sha256 is not None and sha256.lower() != contract.sha256:
        raise Conflict(
            f"the contract awaiting signature is number {contract.number} with sha256 {contract.sha256}, "
            "not the one signed: read it again",
            reason="contract_changed",
            sha256=contract.sha256,
        )
    now_at = utcnow()
    now = stamp(now_at)
    base = {**_base(purchase), "contract_number": contract.number, "sha256": contract.sha256}
    stage_also = None
    if accept:
        signed_on = contract.signing_date or _local_date(now_at)
        moved = step.apply(contract, signed_at=now, signed_on=signed_on)
        events = [
            event(
                "ContractSigned",
                subject=purchase_id,
                data={**base, "signed_on": signed_on.isoformat(), "amount_yuan": str(contract.amount_yuan)},
                actor=by.subject,
            )
        ]
    else:
        from marketplace.repositories import credit as credit_repo
        from marketplace.services import credit

        assert reasons  # the request requires them for a refusal
        moved = step.apply(contract, refused_at=now, refusal_reasons=reasons)
        credit_event = credit.platform_event(
            CreditEventKind.contract_refused,
            by.org_id,
            event_id=f"{purchase_id}-contract-{contract.number}-refused-{by.org_id}",
            cause=CreditCause(
                type="contract", id=f"{purchase_id}#{contract.number}", purchase_id=purchase_id
            ),
            reason="拒绝签订合同: refused the contract",
            basis=f"purchase {purchase_id}, contract {contract.number}: {reasons}",
            occurred_at=now_at,
        )
        stage_also = credit_repo.staged(credit_event)
        events = [
            event(
                "ContractRefused", subject=purchase_id, data={**base, "reasons": reasons}, actor=by.subject
            ),
            credit.recorded(credit_event, actor=by.subject),
        ]
    changed = transition.apply(purchase, contract=moved, updated_at=now)
    purchases_repo.save(
        changed,
        events,
        conflict=f"purchase {purchase_id} changed meanwhile; read it again",
        stage_also=stage_also,
        transition=transition,
    )
    event_bus.flush(events)
    return _whole(changed, None)


# --- Reading ------------------------------------------------------------------------------------


def _whole(purchase: Purchase, html: str | None) -> ContractView:
    return ContractView(
        purchase_id=purchase.purchase_id,
        status=purchase.status.value,
        deadline=deadline_of(purchase),
        escalated_at=purchase.contract_escalated_at,
        contract=purchase.contract,
        document_html=html,
    )


def sees_whole(purchase: Purchase, viewer: Principal | None) -> bool:
    """The owner, the selected agency, the admin and the item's regulator."""
    if viewer is None:
        return False
    if viewer.is_admin() or (viewer.role == "owner" and purchase.is_owned_by(viewer.org_id)):
        return True
    result = purchase.result
    if viewer.role == "agency" and result is not None and result.selected_agency == viewer.org_id:
        return True
    if viewer.role == "regulator" and viewer.industries:
        from marketplace.repositories import catalogue as catalogue_repo

        return catalogue_repo.latest(purchase.item_code).industry in viewer.industries
    return False


def view(purchase_id: str, viewer: Principal | None) -> ContractView:
    purchase = purchases_repo.get(purchase_id)
    owner_or_admin = viewer is not None and (
        viewer.is_admin() or (viewer.role == "owner" and purchase.is_owned_by(viewer.org_id))
    )
    if not owner_or_admin:
        require_published(purchase)
    contract = purchase.contract
    if not sees_whole(purchase, viewer):
        return ContractView(
            purchase_id=purchase_id,
            status=purchase.status.value,
            deadline=deadline_of(purchase),
            escalated_at=purchase.contract_escalated_at,
            contract=ContractPublic.model_validate(contract.model_dump()) if contract else None,
        )
    html = None
    if contract is not None and contract.source == ContractSource.generated:
        stored = repo.document(purchase_id, contract.number)
        html = stored.get("html") if stored else None
    return _whole(purchase, html)


# --- The deadline -------------------------------------------------------------------------------


@dataclass
class DeadlineReport:
    reminded: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def check_deadlines() -> DeadlineReport:
    """Hourly: every confirmed purchase whose contract reminder or deadline has come (a Query on the
    due index's contract partition)."""
    report = DeadlineReport()
    for purchase in repo.due(stamp(utcnow())):
        try:
            outcome = check(purchase)
        except Exception as exc:
            report.failed[purchase.purchase_id] = f"{type(exc).__name__}: {exc}"
            log(logger, logging.WARNING, "contract deadline check failed", purchase_id=purchase.purchase_id)
            continue
        if outcome == "reminded":
            report.reminded.append(purchase.purchase_id)
        elif outcome == "escalated":
            report.escalated.append(purchase.purchase_id)
    return report


def check(purchase: Purchase) -> str | None:
    """Remind or escalate one purchase, once per threshold: each is a conditional write on the
    purchase's revision, so a second run (or a racing one) finds it done."""
    if not PURCHASE.allows(purchase.status, "escalate_contract") or purchase.contract_escalated_at:
        return None
    deadline_text = deadline_of(purchase)
    if deadline_text is None:
        return None
    now_at = utcnow()
    deadline = parse_iso(deadline_text)
    if now_at > deadline:
        return _escalate(purchase, deadline_text, now_at)
    due = due_reminders(deadline, purchase.contract_reminders, now_at)
    if not due:
        return None
    return _remind(purchase, deadline_text, due, now_at)


def _waiting_for(purchase: Purchase) -> str:
    contract = purchase.contract
    return (
        "agency" if contract is not None and contract.status == ContractStatus.awaiting_signature else "owner"
    )


def _remind(purchase: Purchase, deadline: str, due: list[int], now_at: datetime) -> str | None:
    purchase_id = purchase.purchase_id
    transition = PURCHASE.expect(purchase.status, "remind_contract", subject=purchase_id)
    sent = sorted({*purchase.contract_reminders, *due}, reverse=True)
    now = stamp(now_at)
    changed = transition.apply(purchase, contract_reminders=sent, contract_deadline=deadline, updated_at=now)
    data = {
        **_base(purchase),
        "deadline": deadline,
        # Whole days left, rounded up: a reminder an hour after "7 days before" says 7.
        "days_left": math.ceil((parse_iso(deadline) - now_at) / timedelta(days=1)),
        "waiting_for": _waiting_for(purchase),
    }
    events = [event("ContractReminder", subject=purchase_id, data=data, actor=SYSTEM)]
    try:
        purchases_repo.save(
            changed, events, conflict=f"purchase {purchase_id} changed meanwhile", transition=transition
        )
    except Conflict:
        return None  # the parties acted, or another run reminded: the next run reads it again
    event_bus.flush(events)
    return "reminded"


def _escalate(purchase: Purchase, deadline: str, now_at: datetime) -> str | None:
    """No signed contract by the deadline: the admin is told, once, and it is recorded on the
    purchase. The agency is at fault (`contract_late`) only when a contract registered in time still
    awaited its signature; if the owner never registered one (or not again after a refusal, which
    already cost the agency its own event), the delay is the owner's."""
    purchase_id = purchase.purchase_id
    transition = PURCHASE.expect(purchase.status, "escalate_contract", subject=purchase_id)
    now = stamp(now_at)
    at_fault = _waiting_for(purchase)
    agency_id = _selected_agency(purchase)
    contract = purchase.contract
    reason = (
        f"contract {contract.number} registered on {contract.registered_at} was not countersigned by the "
        f"deadline {deadline}"
        if at_fault == "agency" and contract is not None
        else f"the owner registered no contract to sign by the deadline {deadline}"
    )
    changed = transition.apply(
        purchase,
        contract_escalated_at=now,
        contract_deadline=deadline,
        contract_reminders=sorted({*purchase.contract_reminders, *REMINDER_DAYS}, reverse=True),
        updated_at=now,
    )
    data = {**_base(purchase), "deadline": deadline, "at_fault": at_fault, "reason": reason}
    events: list[DomainEvent] = [event("ContractEscalated", subject=purchase_id, data=data, actor=SYSTEM)]
    stage_also = None
    if at_fault == "agency" and contract is not None:
        from marketplace.repositories import credit as credit_repo
        from marketplace.services import credit

        credit_event = credit.platform_event(
            CreditEventKind.contract_late,
            agency_id,
            event_id=f"{purchase_id}-contract-late-{agency_id}",
            cause=CreditCause(
                type="contract", id=f"{purchase_id}#{contract.number}", purchase_id=purchase_id
            ),
            reason="逾期未签订合同: the contract was not signed by the deadline",
            basis=reason,
            occurred_at=parse_iso(deadline),
        )
        stage_also = credit_repo.staged(credit_event)
        events.append(credit.recorded(credit_event, actor=SYSTEM))
    try:
        purchases_repo.save(
            changed,
            events,
            conflict=f"purchase {purchase_id} changed meanwhile",
            stage_also=_both(stage_also),
            transition=transition,
        )
    except Conflict:
        return None  # signed at the last moment, or escalated by another run
    event_bus.flush(events)
    return "escalated"
