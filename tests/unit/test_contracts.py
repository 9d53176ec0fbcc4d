"""Contract templates and the contract deadline's milestones (pure: domain/contracts.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from marketplace.domain.contracts import (
    CONTRACT,
    PLACEHOLDERS,
    ContractRequest,
    due_reminders,
    fill,
    placeholders_in,
    unknown_placeholders,
)
from marketplace.domain.purchase_contract import ContractStatus, next_milestone
from marketplace.errors import Conflict

DEADLINE = datetime(2027, 1, 7, 2, 0, tzinfo=UTC)


def test_placeholders_are_found_once_each_with_or_without_spaces() -> None:
    body = "{{agency.name}} {{ amount_yuan }} {{agency.name}} {{ purchase.project_name}} {x} {{1bad}}"
    assert placeholders_in(body) == ["agency.name", "amount_yuan", "purchase.project_name"]
    assert unknown_placeholders(body) == []
    assert unknown_placeholders("{{agency.phone}}{{owner.name}}{{secret}}") == ["agency.phone", "secret"]


def test_filling_escapes_every_value_and_keeps_the_templates_markup() -> None:
    filled = fill(
        '<p class="a">{{purchase.project_name}}</p><i>{{owner.name}}</i>',
        {
            "purchase.project_name": '<script>alert("x")</script> & co',
            "owner.name": "O'Brien",
        },
    )
    assert (
        filled
        == '<p class="a">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co</p><i>O&#x27;Brien</i>'
    )


def test_every_documented_placeholder_is_a_dotted_name_the_pattern_reads() -> None:
    body = " ".join(f"{{{{{name}}}}}" for name in PLACEHOLDERS)
    assert placeholders_in(body) == list(PLACEHOLDERS)


def test_reminders_come_at_seven_and_one_day_before_and_none_after_the_deadline() -> None:
    assert due_reminders(DEADLINE, [], DEADLINE - timedelta(days=8)) == []
    assert due_reminders(DEADLINE, [], DEADLINE - timedelta(days=7)) == [7]
    assert due_reminders(DEADLINE, [7], DEADLINE - timedelta(days=3)) == []
    assert due_reminders(DEADLINE, [7], DEADLINE - timedelta(hours=2)) == [1]
    assert due_reminders(DEADLINE, [], DEADLINE - timedelta(hours=2)) == [7, 1]  # one missed: both due
    assert due_reminders(DEADLINE, [], DEADLINE + timedelta(seconds=1)) == []


def test_the_next_milestone_is_the_next_reminder_not_sent_then_the_deadline() -> None:
    assert next_milestone(DEADLINE, []) == DEADLINE - timedelta(days=7)
    assert next_milestone(DEADLINE, [7]) == DEADLINE - timedelta(days=1)
    assert next_milestone(DEADLINE, [7, 1]) == DEADLINE


def test_a_request_names_one_source_and_a_hex_hash() -> None:
    upload = {"file_ref": "OA-1.pdf", "sha256": "AB" * 32}
    assert ContractRequest.model_validate({"upload": upload}).upload.sha256 == "ab" * 32  # type: ignore[union-attr]
    assert ContractRequest.model_validate({"generate": True, "amount_yuan": "1.50"}).amount_yuan == Decimal(
        "1.50"
    )
    for bad in (
        {},
        {"generate": False},
        {"generate": True, "upload": upload},
        {"upload": {**upload, "sha256": "ab" * 31}},
        {"upload": {**upload, "file_ref": "../etc passwd"}},
        {"generate": True, "amount_yuan": "0"},
    ):
        with pytest.raises(ValidationError):
            ContractRequest.model_validate(bad)


def test_the_contract_table_lets_a_refused_contract_be_registered_again_and_nothing_after_signing() -> None:
    assert CONTRACT.expect(ContractStatus.refused, "register").target == ContractStatus.awaiting_signature
    assert CONTRACT.expect(ContractStatus.awaiting_signature, "sign").target == ContractStatus.signed
    assert CONTRACT.allowed_from(ContractStatus.signed) == ()
    with pytest.raises(Conflict):
        CONTRACT.expect(ContractStatus.refused, "refuse")
