"""Qualification requirements: any-of / all-of of certificate types with minimum grades."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from marketplace.domain.catalogue import Certificate, Pricing, Requirement, describe, requirement_met

REQUIREMENT = TypeAdapter(Requirement)


def _req(data: dict) -> Requirement:
    return REQUIREMENT.validate_python(data)


def test_a_grade_one_certificate_meets_a_grade_two_minimum_but_not_the_reverse() -> None:
    need = _req({"kind": "certificate", "certificate_type": "环评资质", "min_grade": 2})
    assert requirement_met(need, [Certificate(certificate_type="环评资质", grade=1)])
    assert requirement_met(need, [Certificate(certificate_type="环评资质", grade=2)])
    assert not requirement_met(need, [Certificate(certificate_type="环评资质", grade=3)])
    assert not requirement_met(need, [Certificate(certificate_type="环评资质", grade=None)])


def test_all_of_needs_every_branch_and_any_of_one() -> None:
    need = _req(
        {
            "kind": "all_of",
            "requirements": [
                {"kind": "certificate", "certificate_type": "工程咨询"},
                {
                    "kind": "any_of",
                    "requirements": [
                        {"kind": "certificate", "certificate_type": "安全评价", "min_grade": 1},
                        {"kind": "certificate", "certificate_type": "职业卫生"},
                    ],
                },
            ],
        }
    )
    consulting = Certificate(certificate_type="工程咨询")
    assert requirement_met(need, [consulting, Certificate(certificate_type="职业卫生")])
    assert not requirement_met(need, [consulting, Certificate(certificate_type="安全评价", grade=2)])
    assert not requirement_met(need, [Certificate(certificate_type="职业卫生")])
    assert describe(need) == "all_of(工程咨询, any_of(安全评价 ≥ grade 1, 职业卫生))"


def test_an_empty_group_is_refused() -> None:
    with pytest.raises(ValidationError):
        _req({"kind": "any_of", "requirements": []})


def test_government_pricing_needs_a_fee_basis() -> None:
    with pytest.raises(ValidationError, match="fee basis"):
        Pricing(mode="government")
    assert Pricing(mode="government", fee_basis="发改价格〔2015〕299号").fee_basis
