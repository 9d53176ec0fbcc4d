"""One canonical JSON serves the letters' signed bytes, idempotency fingerprints and page cursors:
sorted keys, no whitespace, UTF-8 kept, NaN refused, and the same bytes as each produced before."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from decimal import Decimal
from typing import Any

import pytest

from marketplace import strict_json
from marketplace.canonical_json import canonical_json
from marketplace.repositories.base import decode_cursor, encode_cursor
from marketplace.services.idempotency import _fingerprint
from tests.support.letters import letter, letter_data


def test_keys_are_sorted_at_every_depth_with_no_whitespace() -> None:
    value = {"b": {"z": 1, "a": [3, {"y": True, "x": None}]}, "a": "1"}
    assert canonical_json(value) == b'{"a":"1","b":{"a":[3,{"x":null,"y":true}],"z":1}}'


def test_non_ascii_is_kept_as_utf8_not_escaped() -> None:
    assert canonical_json({"名称": "杭州市西湖区", "e": "é"}) == '{"e":"é","名称":"杭州市西湖区"}'.encode()


def test_sorting_is_by_code_point_whatever_order_the_keys_came_in() -> None:
    forward = {"B": 1, "a": 2, "中": 3, "Z": 4}
    backward = dict(reversed(list(forward.items())))
    assert canonical_json(forward) == canonical_json(backward) == '{"B":1,"Z":4,"a":2,"中":3}'.encode()


@pytest.mark.parametrize("bad", [{"x": float("nan")}, {"x": float("inf")}, {"x": "\ud800"}, {"x": object()}])
def test_what_json_cannot_say_is_refused(bad: Any) -> None:
    with pytest.raises((ValueError, TypeError)):
        canonical_json(bad)


def test_a_letter_has_the_same_canonical_bytes_as_the_letter_format_always_gave() -> None:
    # The formula letters were signed with before this module existed: issued letters still verify.
    before = json.dumps(
        letter().model_dump(mode="json"),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    ).encode("utf-8")
    assert (
        letter().canonical_bytes()
        == before
        == canonical_json(letter_data() | {"format": "confirmation-letter/v1"})
    )


def test_an_idempotency_fingerprint_is_unchanged_so_stored_records_still_match() -> None:
    request = {
        "params": {"purchase_id": "P-1"},
        "body": {"名称": "评估", "amount": Decimal("1.50"), "n": [1, 2]},
    }
    before = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    assert _fingerprint(request) == hashlib.sha256(before.encode()).hexdigest()
    reordered = {"body": dict(reversed(list(request["body"].items()))), "params": request["params"]}
    assert _fingerprint(reordered) == _fingerprint(request)


def test_a_cursor_is_unchanged_and_reads_back() -> None:
    key = {"pk": {"S": "PURCHASE#P-1"}, "gsi1sk": {"S": "2026-03-02T01:00:00Z#名"}}
    before = json.dumps(key, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
    cursor = encode_cursor(key)
    assert cursor == base64.urlsafe_b64encode(before).decode().rstrip("=")
    assert decode_cursor(cursor, {"pk", "gsi1sk"}) == key


@pytest.mark.parametrize("text", ['{"x": 1e400}', '{"x": -1e999}', "[NaN]", '{"x": Infinity}'])
def test_strict_json_refuses_numbers_with_no_canonical_form(text: str) -> None:
    # 1e400 would be read as infinity, which canonical JSON cannot write back (a 500 later).
    with pytest.raises(ValueError):
        strict_json.loads(text)


def test_strict_json_reads_a_body_of_many_keys_in_linear_time() -> None:
    # A request body at the API's limit (256 KB) made of distinct keys: the repeated-key check once
    # compared every key with every other, about 12 s of a function's time for one request.
    text = "{" + ",".join(f'"{i:05d}":0' for i in range(32768)) + "}"
    started = time.perf_counter()
    assert len(strict_json.loads(text)) == 32768
    assert time.perf_counter() - started < 2
    with pytest.raises(ValueError, match="repeated keys: 00007"):
        strict_json.loads(text[:-1] + ',"00007":1}')
