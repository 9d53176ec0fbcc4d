"""What a confirmed purchase's confirmation letter says (docs/letters.md): the parties as
registered, the item as bought, the price, the dates, and the draw it rests on."""

from __future__ import annotations

from marketplace.clock import utcnow
from marketplace.domain.bidding import last_prices
from marketplace.domain.letters import (
    FORMAT,
    FORMAT_CONSORTIUM,
    UNDRAWN,
    ConfirmationLetter,
    DrawReference,
    LetterAgency,
    LetterConsortium,
    LetterDates,
    LetterItem,
    LetterMember,
    LetterOwner,
    LetterPrice,
    proof_path,
)
from marketplace.domain.purchases import PriceKind, Purchase, SelectionMethod, stamp
from marketplace.repositories import agencies as agencies_repo
from marketplace.repositories import owners as owners_repo
from marketplace.repositories import purchases as repo


def letter_id(purchase_id: str) -> str:
    """One letter per purchase: issuing again finds it instead of signing a second one."""
    return f"L-{purchase_id}"


def letter_for(purchase: Purchase) -> ConfirmationLetter:
    result = purchase.result
    if result is None or result.selected_agency is None or result.owner_confirmed_at is None:
        raise ValueError(f"purchase {purchase.purchase_id} has no confirmed result")
    owner = owners_repo.get(purchase.owner_id)
    agency = agencies_repo.get(result.selected_agency)
    amount = str(purchase.amount_yuan)
    if purchase.method == SelectionMethod.price_bidding:
        # The price agreed is the selected agency's winning quote, not the ceiling it was under.
        won = last_prices(purchase.quotes)[result.selected_agency]
        price = LetterPrice(funding_type=purchase.funding_type.value, amount_yuan=f"{won:.2f}")
    elif purchase.price_kind == PriceKind.budget:
        price = LetterPrice(funding_type=purchase.funding_type.value, amount_yuan=amount)
    else:
        price = LetterPrice(funding_type=purchase.funding_type.value, ceiling_yuan=amount)
    draw = None
    drawn = purchase.method.value not in UNDRAWN  # direct, reward and the shelf have no draw
    if drawn:
        # A batch's project rests on its batch's one draw (its own /draw path serves that proof).
        proof = repo.draw_proof(purchase.batch_of or purchase.purchase_id)
        if proof is None:
            raise ValueError(f"purchase {purchase.purchase_id} has no draw proof")
        draw = DrawReference(
            proof_path=proof_path(purchase.purchase_id),
            commitment=proof["commitment"],
            digest=proof["digest"],
        )
    consortium = _consortium(purchase, result.selected_agency)
    return ConfirmationLetter(
        letter_id=letter_id(purchase.purchase_id),
        purchase_id=purchase.purchase_id,
        project_code=purchase.project_code,
        title=purchase.title,
        owner=LetterOwner(owner_id=owner.owner_id, name=owner.name),
        agency=LetterAgency(agency_id=agency.agency_id, name=agency.name, credit_code=agency.credit_code),
        item=LetterItem(code=purchase.item_code, name=purchase.item_name, version=purchase.item_version),
        method=purchase.method.value,
        price=price,
        dates=LetterDates(
            published_at=purchase.published_at or result.selected_at,
            enrollment_deadline=stamp(purchase.enrollment_deadline) if drawn else None,
            selected_at=result.selected_at,
            owner_confirmed_at=result.owner_confirmed_at,
            agency_accepted_at=result.agency_accepted_at,
        ),
        draw=draw,
        issued_at=stamp(utcnow()),
        consortium=consortium,
        format=FORMAT if consortium is None else FORMAT_CONSORTIUM,
    )


def _consortium(purchase: Purchase, lead_id: str) -> LetterConsortium | None:
    """The consortium the selected agency leads, its members as registered now (name, credit code)."""
    formed = purchase.consortia.get(lead_id)
    if formed is None:
        return None
    members = []
    for member in formed.members:  # a few at most: one read each, as for the lead
        profile = agencies_repo.get(member.agency_id)
        members.append(
            LetterMember(
                agency_id=member.agency_id,
                name=profile.name,
                credit_code=profile.credit_code,
                part=member.part,
            )
        )
    return LetterConsortium(lead_part=formed.lead_part, members=members)
