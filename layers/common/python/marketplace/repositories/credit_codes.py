"""Which agency holds a unified social credit code: the `credit-code#<code>` guard rows that keep
credit codes unique in the `agencies` table (repositories.agencies.open_first_submission) name
their holder. An import finds its agencies with one BatchGetItem."""

from __future__ import annotations

from marketplace.repositories.agencies import PROFILE
from marketplace.repositories.base import translated
from marketplace.repositories.tables import AgencyRow

PREFIX = "credit-code#"


def holders(credit_codes: list[str]) -> dict[str, str]:
    """credit code -> agency id, for the codes an agency holds."""
    wanted = list(dict.fromkeys(credit_codes))
    found: dict[str, str] = {}
    with translated():
        for row in AgencyRow.batch_get([(f"{PREFIX}{code}", PROFILE) for code in wanted]):
            if row.holder:
                found[row.agency_id.removeprefix(PREFIX)] = row.holder
    return found
