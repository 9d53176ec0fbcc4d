"""Every AWS call the code makes, in order, with the DynamoDB request units each would consume.

Calls are seen through botocore's `before-parameter-build` and `after-call` events on every client
created while `Recorder.installed()` is active (PynamoDB, the event bus, Step Functions, KMS and S3
clients make their own clients: patching `Session.create_client` catches them all, as
tests/support/scenario.py `on_clients` does). One API call is one entry, however many HTTP retries
botocore makes inside it.

Request units follow the DynamoDB on-demand rules, computed from the real item sizes (DynamoDB's
size rule: attribute names plus values), read back from the emulator before and after each write
through a client of our own that is not recorded:
- reads: strongly consistent 1 RRU per 4 KB, eventually consistent half that, transactional twice;
  a read of a missing item still costs the minimum; a Query costs the summed size of the items it
  returns, rounded up to 4 KB once (with a filter, the items it drops are counted at the average
  size of those it returns: an estimate);
- writes: 1 WRU per 1 KB of the larger of the item before and after, at least 1; transactional
  writes 2 WRU per 1 KB of each item, a ConditionCheck in a transaction charged like a write of the
  item it checks (it changes nothing, so it writes no index);
- global secondary indexes: an index holds an entry for each item that has all its key attributes;
  the entry is the table's key, the index's key and the projected attributes (ALL: the whole item;
  KEYS_ONLY: nothing more; INCLUDE: the named attributes). A write that adds an entry, or removes
  one, costs one index write of that entry; one that changes the entry's projected attributes but
  not its index key costs one write of the larger entry; one that changes its index key costs a
  delete of the old entry and a put of the new; one that leaves the entry as it was costs nothing.
  Each index write is 1 WRU per 1 KB of the entry, at least 1, at the standard rate also under a
  transaction (the index is updated after the commit, not inside it).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import botocore.session

READ_UNIT = 4096
WRITE_UNIT = 1024


@dataclass
class Call:
    service: str
    operation: str
    params: dict[str, Any]
    rru: float = 0.0
    wru: float = 0.0
    index_wru: float = 0.0
    failed: bool = False
    item_bytes: int = 0  # the largest item read or written (a Query: all it returned)
    before: list[dict[str, Any] | None] = field(default_factory=list)
    indexes: dict[str, float] = field(default_factory=dict)  # index WRU by `table/index`


def attribute_size(value: dict[str, Any]) -> int:
    ((kind, v),) = value.items()
    if kind == "S":
        return len(str(v).encode("utf-8"))
    if kind == "N":
        return _number_size(str(v))
    if kind == "B":
        return len(v) if isinstance(v, bytes | bytearray) else len(str(v))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(s).encode("utf-8")) for s in v)
    if kind == "NS":
        return sum(_number_size(str(n)) for n in v)
    if kind == "BS":
        return sum(len(b) for b in v)
    if kind == "L":
        return 3 + sum(attribute_size(x) + 1 for x in v)
    if kind == "M":
        return 3 + sum(len(k.encode("utf-8")) + attribute_size(x) + 1 for k, x in v.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def _number_size(text: str) -> int:
    digits = text.lstrip("+-").replace(".", "").lstrip("0") or "0"
    return min((len(digits) + 1) // 2 + 1, 21)


def item_size(item: dict[str, Any] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode("utf-8")) + attribute_size(value) for name, value in item.items())


@dataclass(frozen=True)
class IndexShape:
    name: str
    keys: tuple[str, ...]
    projection: str  # ALL, KEYS_ONLY or INCLUDE
    included: tuple[str, ...] = ()

    def entry(self, table_keys: tuple[str, ...], item: dict[str, Any] | None) -> dict[str, Any] | None:
        """The item's entry in this index: None when the item lacks one of the index's keys."""
        if item is None or not all(k in item for k in self.keys):
            return None
        if self.projection == "ALL":
            return item
        kept = {*table_keys, *self.keys, *(self.included if self.projection == "INCLUDE" else ())}
        return {name: value for name, value in item.items() if name in kept}


@dataclass(frozen=True)
class TableShape:
    keys: tuple[str, ...]
    indexes: tuple[IndexShape, ...]


class Capacity:
    """Looks items up in the emulator (through its own, unrecorded client) to size each request."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._shapes: dict[str, TableShape] = {}

    def shape(self, table: str) -> TableShape:
        if table not in self._shapes:
            described = self._client.describe_table(TableName=table)["Table"]
            keys = tuple(k["AttributeName"] for k in described["KeySchema"])
            indexes = tuple(
                IndexShape(
                    name=index["IndexName"],
                    keys=tuple(k["AttributeName"] for k in index["KeySchema"]),
                    projection=index["Projection"]["ProjectionType"],
                    included=tuple(index["Projection"].get("NonKeyAttributes", ())),
                )
                for index in described.get("GlobalSecondaryIndexes", [])
            )
            self._shapes[table] = TableShape(keys, indexes)
        return self._shapes[table]

    def key_of(self, table: str, item: dict[str, Any]) -> dict[str, Any]:
        return {k: item[k] for k in self.shape(table).keys}

    def lookup(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self._client.get_item(
            TableName=table, Key=key, ConsistentRead=True
        ).get("Item")
        return found

    # Writes: what each action touches, read before the call and again after it.

    def write_targets(self, call: Call) -> list[tuple[str, dict[str, Any], int]]:
        """(table, key, multiplier) of every item a write call changes or checks."""
        p, op = call.params, call.operation
        if op == "PutItem":
            return [(p["TableName"], self.key_of(p["TableName"], p["Item"]), 1)]
        if op in ("UpdateItem", "DeleteItem"):
            return [(p["TableName"], p["Key"], 1)]
        if op == "BatchWriteItem":
            targets = []
            for table, requests in p["RequestItems"].items():
                for request in requests:
                    if "PutRequest" in request:
                        targets.append((table, self.key_of(table, request["PutRequest"]["Item"]), 1))
                    else:
                        targets.append((table, request["DeleteRequest"]["Key"], 1))
            return targets
        if op == "TransactWriteItems":
            targets = []
            for action in p["TransactItems"]:
                ((kind, body),) = action.items()
                key = self.key_of(body["TableName"], body["Item"]) if kind == "Put" else body["Key"]
                # Put, Update, Delete and ConditionCheck alike: 2 WRU per 1 KB of the item.
                targets.append((body["TableName"], key, 2))
            return targets
        return []

    def before(self, call: Call) -> None:
        call.before = [self.lookup(t, k) for t, k, _ in self.write_targets(call)]

    def after(self, call: Call, parsed: dict[str, Any]) -> None:
        op, p = call.operation, call.params
        call.failed = "Error" in parsed
        if op == "GetItem":
            call.rru = self._read(call, p["TableName"], [p["Key"]], p.get("ConsistentRead", False))
        elif op == "BatchGetItem":
            call.rru = sum(
                self._read(call, table, spec["Keys"], spec.get("ConsistentRead", False))
                for table, spec in p["RequestItems"].items()
            )
        elif op == "TransactGetItems":
            call.rru = 2 * sum(
                self._read(call, g["Get"]["TableName"], [g["Get"]["Key"]], True) for g in p["TransactItems"]
            )
        elif op in ("Query", "Scan"):
            call.rru = self._query(call, parsed)
        else:
            targets = self.write_targets(call)
            for (table, key, multiplier), old in zip(targets, call.before, strict=True):
                new = self.lookup(table, key)
                size = max(item_size(old), item_size(new))
                call.item_bytes = max(call.item_bytes, size)
                call.wru += multiplier * max(1, math.ceil(size / WRITE_UNIT))
                for index, units in self._index_writes(table, old, new).items():
                    call.index_wru += units
                    call.indexes[f"{table}/{index}"] = call.indexes.get(f"{table}/{index}", 0.0) + units

    def _read(self, call: Call, table: str, keys: list[dict[str, Any]], consistent: bool) -> float:
        factor = 1.0 if consistent else 0.5
        units = 0.0
        for key in keys:
            size = item_size(self.lookup(table, key))
            call.item_bytes = max(call.item_bytes, size)
            units += factor * max(1, math.ceil(size / READ_UNIT))
        return units

    @staticmethod
    def _query(call: Call, parsed: dict[str, Any]) -> float:
        items = parsed.get("Items", [])
        total = sum(item_size(i) for i in items)
        dropped = max(int(parsed.get("ScannedCount", len(items))) - len(items), 0)
        if dropped:
            total += dropped * (total // len(items) if items else WRITE_UNIT)
        call.item_bytes = total
        factor = 1.0 if call.params.get("ConsistentRead") else 0.5
        return factor * max(1, math.ceil(total / READ_UNIT))

    def _index_writes(
        self, table: str, old: dict[str, Any] | None, new: dict[str, Any] | None
    ) -> dict[str, float]:
        """The write units each index of the table consumes for a write that turned `old` into `new`."""
        shape = self.shape(table)
        units: dict[str, float] = {}
        for index in shape.indexes:
            was, now = index.entry(shape.keys, old), index.entry(shape.keys, new)
            if (was is None and now is None) or was == now:
                continue
            if was is not None and now is not None:
                moved = any(was[k] != now[k] for k in index.keys)
                cost = _units(was) + _units(now) if moved else max(_units(was), _units(now))
            else:
                cost = _units(was if was is not None else now)
            units[index.name] = float(cost)
        return units


def _units(entry: dict[str, Any] | None) -> int:
    return max(1, math.ceil(item_size(entry) / WRITE_UNIT))


class Recorder:
    """`calls`: every AWS call made since the last `take()`, in order."""

    def __init__(self, capacity: Capacity | None = None) -> None:
        self.capacity = capacity
        self.calls: list[Call] = []
        self._open: list[Call] = []

    def take(self) -> list[Call]:
        calls, self.calls = self.calls, []
        return calls

    def _before(self, service: str, operation: str, params: dict[str, Any]) -> None:
        call = Call(service=service, operation=operation, params=copy.deepcopy(params))
        if service == "dynamodb" and self.capacity is not None:
            self.capacity.before(call)
        self.calls.append(call)
        self._open.append(call)

    def _after(self, parsed: dict[str, Any]) -> None:
        if not self._open:
            return
        call = self._open.pop()
        if call.service == "dynamodb" and self.capacity is not None:
            self.capacity.after(call, parsed)

    @contextmanager
    def installed(self) -> Iterator[Recorder]:
        original = botocore.session.Session.create_client
        recorder = self

        def create_client(session: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
            client = original(session, service_name, *args, **kwargs)

            def before(params: dict[str, Any], model: Any, **_: Any) -> None:
                recorder._before(service_name, model.name, params)

            def after(parsed: dict[str, Any], **_: Any) -> None:
                recorder._after(parsed)

            def failed(**_: Any) -> None:
                recorder._after({"Error": {}})

            client.meta.events.register("before-parameter-build", before)
            client.meta.events.register("after-call", after)
            client.meta.events.register("after-call-error", failed)
            return client

        botocore.session.Session.create_client = create_client
        try:
            yield self
        finally:
            botocore.session.Session.create_client = original
