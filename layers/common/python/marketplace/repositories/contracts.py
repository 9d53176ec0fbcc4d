"""Contract templates and contract documents.

    catalogue table, partition <item code>:  TEMPLATE#000001, TEMPLATE#000002, ...  (template versions,
        beside the item's own V# rows; each written once, so two writers cannot take one version)
    purchases table, partition <purchase id>:  CONTRACT#000001, ...  (a registered contract's
        generated document, or the reference of an uploaded one, written once with the purchase)

The contract's state is part of the purchase's document (`Purchase.contract`): a registration, a
signature or a refusal is the purchase's conditional write (repositories.purchases.save) with the
document row, or the credit event, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pynamodb.transactions import TransactWrite

from marketplace.domain.contracts import ContractTemplate
from marketplace.domain.purchases import CONTRACT_DUE, Purchase
from marketplace.events import DomainEvent
from marketplace.repositories import event_bus
from marketplace.repositories import purchases as purchases_repo
from marketplace.repositories.base import connection, translated
from marketplace.repositories.tables import CatalogueItemRow, PurchaseRow

TEMPLATE_PREFIX = "TEMPLATE#"
DOCUMENT_PREFIX = "CONTRACT#"


def _template_key(version: int) -> str:
    return f"{TEMPLATE_PREFIX}{version:06d}"


def document_key(number: int) -> str:
    return f"{DOCUMENT_PREFIX}{number:06d}"


# --- Templates ----------------------------------------------------------------------------------


def template_versions(item_code: str) -> list[ContractTemplate]:
    """Every version of the item's template, oldest first (one Query)."""
    with translated():
        rows = CatalogueItemRow.query(
            item_code, CatalogueItemRow.sk.startswith(TEMPLATE_PREFIX), consistent_read=True
        )
        return [ContractTemplate.model_validate(r.document) for r in rows]


def add_template(template: ContractTemplate, events: list[DomainEvent]) -> None:
    """Write a new version, only if no one has written that version meanwhile."""
    conflict = (
        f"the contract template of {template.item_code} already has a version {template.version}; "
        "read it again and resubmit"
    )
    with translated(conflict=conflict), TransactWrite(connection=connection()) as tx:
        tx.save(
            CatalogueItemRow(
                code=template.item_code,
                sk=_template_key(template.version),
                document=template.model_dump(mode="json"),
            ),
            condition=CatalogueItemRow.sk.does_not_exist(),
        )
        event_bus.stage(tx, events)


# --- Contracts ----------------------------------------------------------------------------------


def document_row(purchase_id: str, number: int, document: dict[str, Any]) -> Callable[[TransactWrite], None]:
    """The registered contract's own row, staged with the purchase's write."""

    def stage(tx: TransactWrite) -> None:
        tx.save(
            PurchaseRow(purchase_id=purchase_id, sk=document_key(number), document=document),
            condition=PurchaseRow.sk.does_not_exist(),
        )

    return stage


def document(purchase_id: str, number: int) -> dict[str, Any] | None:
    with translated():
        try:
            row = PurchaseRow.get(purchase_id, document_key(number))
        except PurchaseRow.DoesNotExist:
            return None
    return dict(row.document or {})


def due(now: str) -> Iterator[Purchase]:
    """Confirmed purchases whose contract reminder or deadline has come (the due index's contract
    partition: keys only; each purchase is read as it is now)."""
    with translated():
        keys = [r.purchase_id for r in PurchaseRow.by_due.query(CONTRACT_DUE, PurchaseRow.due_at <= now)]
    for purchase_id in keys:
        yield purchases_repo.get(purchase_id, consistent=True)
