"""How a person's name is shown publicly (姓名脱敏): its first character, the rest as `*`.

The public never reads the name of a person other than an organisation's legal representative
(DOMAIN.md; docs/disclosure.md). Where a public record still needs to say that someone is there (a
contact, a practitioner, a witness), the name keeps its first character (in Chinese, the surname),
which names no one, so the record keeps its shape. Kept apart from the domain's larger modules:
anything that builds a public view imports it, cheaply."""

from __future__ import annotations


def mask_name(name: str) -> str:
    """`钱芳` -> `钱*`, `欧阳明华` -> `欧***`; a one-character name is hidden whole."""
    name = name.strip()
    if len(name) <= 1:
        return "*" * len(name)
    return name[0] + "*" * (len(name) - 1)
