"""The credit ledger is append-only on the built template: no role may update, delete, batch-write
or write through PartiQL on the credit table (or its indexes); the only write any role has there is
PutItem, which the code conditions (tests/unit/test_credit_ledger_code.py)."""

from __future__ import annotations

from typing import Any

from infra.definitions import table_specs
from tests.infra.conftest import as_list, policy_documents, statements

FORBIDDEN = {
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:PartiQLInsert",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
    "dynamodb:DeleteTable",
    "dynamodb:UpdateTable",
    "dynamodb:UpdateTimeToLive",
    "dynamodb:RestoreTableFromBackup",
    "dynamodb:ImportTable",
}


def _on_credit(resource: Any, logical_id: str) -> bool:
    text = repr(resource)
    return f"'{logical_id}'" in text or f"${{{logical_id}." in text


def test_no_role_may_change_or_remove_a_credit_row(template: dict[str, Any]) -> None:
    (credit,) = [s for s in table_specs() if s.logical_suffix == "credit"]
    writers = set()
    for owner, kind, document in policy_documents(template):
        for statement in statements(document):
            resources = as_list(statement.get("Resource", []))
            if not any(_on_credit(r, credit.logical_id) for r in resources) and "*" not in resources:
                continue
            actions = set(as_list(statement.get("Action", [])))
            assert not actions & FORBIDDEN, (
                f"{owner} ({kind}) may {sorted(actions & FORBIDDEN)} on the ledger"
            )
            assert not any(a.endswith("*") for a in actions), f"{owner}: {actions}"
            if "dynamodb:PutItem" in actions and "*" not in resources:
                writers.add(owner)
    # Someone does write it (the test would pass vacuously on a template without the table).
    assert writers, "no role puts credit rows?"
