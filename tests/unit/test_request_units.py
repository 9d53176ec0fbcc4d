"""The bench's DynamoDB write-unit rules (bench/aws_calls.py), against DynamoDB's pricing rules:
an index is written only when the item's entry in it changes, a key change is a delete and a put,
and a transaction charges 2 WRU per KB of each item, a ConditionCheck included."""

from __future__ import annotations

from typing import Any

from bench.aws_calls import Call, Capacity

TABLE = "purchases"


class FakeDynamoDB:
    """describe_table and get_item, over items held in a dict: no network."""

    def __init__(self, indexes: list[dict[str, Any]]) -> None:
        self.indexes = indexes
        self.items: dict[tuple[str, str], dict[str, Any]] = {}

    def describe_table(self, TableName: str) -> dict[str, Any]:
        schema = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
        return {"Table": {"KeySchema": schema, "GlobalSecondaryIndexes": self.indexes}}

    def get_item(self, TableName: str, Key: dict[str, Any], ConsistentRead: bool) -> dict[str, Any]:
        item = self.items.get((Key["pk"]["S"], Key["sk"]["S"]))
        return {"Item": item} if item else {}


def _index(name: str, key: str, projection: str, included: tuple[str, ...] = ()) -> dict[str, Any]:
    spec: dict[str, Any] = {"ProjectionType": projection}
    if included:
        spec["NonKeyAttributes"] = list(included)
    return {"IndexName": name, "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}], "Projection": spec}


def _item(**attributes: str) -> dict[str, Any]:
    return {"pk": {"S": "P-1"}, "sk": {"S": "PURCHASE"}, **{k: {"S": v} for k, v in attributes.items()}}


def _update(client: FakeDynamoDB, old: dict[str, Any] | None, new: dict[str, Any]) -> Call:
    """An UpdateItem that turns `old` into `new`, sized as the recorder sizes it."""
    capacity = Capacity(client)
    key = {"pk": new["pk"], "sk": new["sk"]}
    call = Call("dynamodb", "UpdateItem", {"TableName": TABLE, "Key": key})
    if old is not None:
        client.items[("P-1", "PURCHASE")] = old
    capacity.before(call)
    client.items[("P-1", "PURCHASE")] = new
    capacity.after(call, {})
    return call


def test_an_update_of_an_attribute_a_keys_only_index_does_not_hold_writes_no_index() -> None:
    client = FakeDynamoDB([_index("by-status", "status", "KEYS_ONLY"), _index("by-all", "status", "ALL")])
    call = _update(client, _item(status="open", document="a" * 100), _item(status="open", document="b" * 100))
    assert call.indexes == {"purchases/by-all": 1.0}
    assert call.wru == 1


def test_an_included_attribute_that_changes_costs_one_index_write() -> None:
    client = FakeDynamoDB([_index("by-owner", "owner", "INCLUDE", ("status",))])
    call = _update(client, _item(owner="O-1", status="draft"), _item(owner="O-1", status="pending"))
    assert call.indexes == {"purchases/by-owner": 1.0}


def test_a_changed_index_key_costs_a_delete_and_a_put() -> None:
    client = FakeDynamoDB([_index("by-status", "status", "KEYS_ONLY")])
    call = _update(client, _item(status="open"), _item(status="closed"))
    assert call.indexes == {"purchases/by-status": 2.0}


def test_an_item_entering_a_sparse_index_costs_one_write_of_its_entry_size() -> None:
    client = FakeDynamoDB([_index("by-due", "due", "ALL"), _index("by-due-keys", "due", "KEYS_ONLY")])
    call = _update(client, _item(title="x"), _item(title="x", due="DUE", document="d" * 3000))
    # The whole item is over 3 KB; its keys-only entry is a few bytes.
    assert call.indexes == {"purchases/by-due": 3.0, "purchases/by-due-keys": 1.0}
    assert call.wru == 3


def test_a_transaction_charges_two_units_per_kilobyte_of_each_item_a_condition_check_included() -> None:
    client = FakeDynamoDB([])
    client.items[("P-1", "PURCHASE")] = _item(document="d" * 1500)
    client.items[("P-1", "WINDOW")] = {"pk": {"S": "P-1"}, "sk": {"S": "WINDOW"}, "n": {"N": "3"}}
    capacity = Capacity(client)
    actions = [
        {"ConditionCheck": {"TableName": TABLE, "Key": {"pk": {"S": "P-1"}, "sk": {"S": "PURCHASE"}}}},
        {"Update": {"TableName": TABLE, "Key": {"pk": {"S": "P-1"}, "sk": {"S": "WINDOW"}}}},
    ]
    call = Call("dynamodb", "TransactWriteItems", {"TransactItems": actions})
    capacity.before(call)
    capacity.after(call, {})
    assert call.wru == 2 * 2 + 2 * 1
    assert call.index_wru == 0
