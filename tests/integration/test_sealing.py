"""Sealed submissions on moto's KMS: what is sealed opens only with the context it was sealed under."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from marketplace.repositories import sealing

CONTEXT = {"purchase_id": "P-2026-0001", "agency_id": "AG-1", "round": "1"}


def test_a_sealed_value_opens_with_its_own_context(aws: None) -> None:
    sealed = sealing.seal(b'{"amount_yuan": "98000.00"}', CONTEXT)
    assert b"98000" not in sealed
    assert sealing.unseal(sealed, CONTEXT) == b'{"amount_yuan": "98000.00"}'


def test_a_sealed_value_copied_to_another_agency_or_round_does_not_open(aws: None) -> None:
    sealed = sealing.seal(b"98000.00", CONTEXT)
    for other in ({**CONTEXT, "agency_id": "AG-2"}, {**CONTEXT, "round": "2"}):
        with pytest.raises(ClientError):
            sealing.unseal(sealed, other)
