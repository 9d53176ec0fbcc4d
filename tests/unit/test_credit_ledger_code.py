"""The credit ledger is append-only in code: the only module that writes `CreditRow` is
repositories/credit.py; every write there is a `save` (PutItem) carrying a condition; event rows
are written only on the condition that their key does not exist; nothing updates or deletes."""

from __future__ import annotations

import ast
from pathlib import Path

LAYER = Path(__file__).resolve().parents[2] / "layers" / "common" / "python" / "marketplace"
REPOSITORY = LAYER / "repositories" / "credit.py"
# Credit actions keep their own rows in the table (appeals, their decisions, guards): new rows only,
# each a conditioned put, and never an event row (events go through REPOSITORY's staged()).
ACTIONS = LAYER / "repositories" / "credit_actions.py"
FORBIDDEN = {"update", "delete", "batch_write", "update_item", "delete_item", "execute_statement"}


def _calls(tree: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)]


def _method(call: ast.Call) -> str | None:
    return call.func.attr if isinstance(call.func, ast.Attribute) else None


def _store(receiver: str) -> bool:
    return any(
        word in receiver.lower() for word in ("row", "tx", "transact", "connection", "table", "client")
    )


def test_every_write_in_the_credit_repository_is_a_conditioned_put() -> None:
    tree = ast.parse(REPOSITORY.read_text(encoding="utf-8"))
    saves = [c for c in _calls(tree) if _method(c) == "save"]
    assert saves, "the repository writes through save()"
    for call in saves:
        assert any(k.arg == "condition" for k in call.keywords), ast.unparse(call)
    # No update or delete of a row, through the model, a row, a transaction or a connection.
    changes = [
        ast.unparse(c)
        for c in _calls(tree)
        if _method(c) in FORBIDDEN and isinstance(c.func, ast.Attribute) and _store(ast.unparse(c.func.value))
    ]
    assert not changes


def test_event_rows_are_written_only_when_their_key_is_new() -> None:
    tree = ast.parse(REPOSITORY.read_text(encoding="utf-8"))
    event_saves = [
        c for c in _calls(tree) if _method(c) == "save" and c.args and "event_row" in ast.unparse(c.args[0])
    ]
    assert len(event_saves) == 1
    (condition,) = [k.value for k in event_saves[0].keywords if k.arg == "condition"]
    assert ast.unparse(condition) == "CreditRow.sk.does_not_exist()"
    # Every row the repository builds under an EVENT# key goes through that one save.
    built = [c for c in _calls(tree) if isinstance(c.func, ast.Name) and c.func.id == "CreditRow"]
    event_rows = [
        c for c in built if any(k.arg == "sk" and "event_key" in ast.unparse(k.value) for k in c.keywords)
    ]
    assert len(event_rows) == 1


def test_credit_actions_write_only_new_rows_of_their_own() -> None:
    tree = ast.parse(ACTIONS.read_text(encoding="utf-8"))
    saves = [c for c in _calls(tree) if _method(c) == "save"]
    assert saves
    for call in saves:
        (condition,) = [k.value for k in call.keywords if k.arg == "condition"]
        assert ast.unparse(condition) == "_new()", ast.unparse(call)
    assert "def _new() -> Any:\n    return CreditRow.sk.does_not_exist()" in ACTIONS.read_text(
        encoding="utf-8"
    )
    changes = [
        ast.unparse(c)
        for c in _calls(tree)
        if _method(c) in FORBIDDEN and isinstance(c.func, ast.Attribute) and _store(ast.unparse(c.func.value))
    ]
    assert not changes
    built = [c for c in _calls(tree) if isinstance(c.func, ast.Name) and c.func.id == "CreditRow"]
    keys = [ast.unparse(k.value) for c in built for k in c.keywords if k.arg == "sk"]
    assert keys and not any("EVENT" in key for key in keys), keys


def test_no_other_module_writes_the_credit_table() -> None:
    for path in LAYER.rglob("*.py"):
        if path in (REPOSITORY, ACTIONS, LAYER / "repositories" / "tables.py"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for call in _calls(tree):
            text = ast.unparse(call.func)
            assert not (
                text == "CreditRow" or (text.startswith("CreditRow.") and _method(call) != "from_raw_data")
            ), f"{path.relative_to(LAYER)} touches CreditRow: {ast.unparse(call)}"
