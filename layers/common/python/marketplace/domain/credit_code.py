"""The unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters, two check digits.

Characters 1-2: registering authority and entity type; 3-8: administrative division; 9-17: the
organisation code (GB 11714, its own check character last); 18: check character over 1-17. Both are checked.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def check_character(first17: str) -> str:
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def org_check_character(first8: str) -> str:
    total = sum(_ORG_ALPHABET.index(c) * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def problem_with(code: str) -> str | None:
    """Why `code` is not a valid unified social credit code, or None when it is."""
    if len(code) != 18:
        return "must be 18 characters"
    bad = sorted({c for c in code if c not in ALPHABET})
    if bad:
        return f"contains characters not allowed in a credit code: {''.join(bad)}"
    if not code[2:8].isdigit():
        return "characters 3-8 must be the administrative division code (digits)"
    if check_character(code[:17]) != code[17]:
        return "check character does not match"
    if org_check_character(code[8:16]) != code[16]:
        return "character 17 (the organisation code's check character, GB 11714) does not match"
    return None


def is_valid(code: str) -> bool:
    return problem_with(code) is None


def complete(first16: str) -> str:
    """The full code for its first 16 characters: both check characters added (demo data, tests)."""
    if len(first16) != 16:
        raise ValueError(f"complete() takes the first 16 characters, got {len(first16)}")
    first17 = first16 + org_check_character(first16[8:16])
    return first17 + check_character(first17)


def _validated(value: str) -> str:
    value = value.upper()
    problem = problem_with(value)
    if problem:
        raise ValueError(f"not a valid unified social credit code: {problem}")
    return value


CreditCode = Annotated[
    str,
    AfterValidator(_validated),
    Field(
        description="unified social credit code (统一社会信用代码): 18 characters, check character validated"
    ),
]
