"""Unified social credit codes (GB 32100-2015)."""

from __future__ import annotations

import pytest

from marketplace.domain import credit_code


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000802100433B", "91110108551385082Q"])
def test_real_codes_are_valid(code: str) -> None:
    assert credit_code.problem_with(code) is None


def test_a_wrong_check_character_is_named() -> None:
    assert credit_code.problem_with("91350100M000100Y44") == "check character does not match"


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("91350100M000100Y4", "18 characters"),
        ("91350100M000100YI3", "not allowed"),
        ("9135AB00M000100Y43", "administrative division"),
    ],
)
def test_malformed_codes_say_why(code: str, why: str) -> None:
    problem = credit_code.problem_with(code)
    assert problem is not None and why in problem


def test_complete_makes_a_valid_code() -> None:
    assert credit_code.is_valid(credit_code.complete("91330100MA2B3C4D"))


def test_a_wrong_organisation_check_character_is_named_even_with_a_matching_last_character() -> None:
    """Character 17 checks the organisation code (GB 11714): a code whose 18th character was
    recomputed over a wrong 17th is still refused."""
    start = "91350100M000100Y"  # a real code's first 16: its organisation check character is 4
    forged = start + "5"
    forged += credit_code.check_character(forged)
    problem = credit_code.problem_with(forged)
    assert problem is not None and "organisation code" in problem
    assert credit_code.complete(start) == "91350100M000100Y43"


def test_complete_takes_exactly_the_first_16_characters() -> None:
    with pytest.raises(ValueError, match="16"):
        credit_code.complete("91350100M000100Y4")
