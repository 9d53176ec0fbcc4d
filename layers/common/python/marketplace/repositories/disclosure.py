"""What a purchase's public page reads beside the purchase itself: its challenges, its draw proof
and its evaluations, kept as rows of the purchase's own partition (`CHALLENGE#...`, `DRAW`,
`EVALUATION#...`).

They come from ONE Query, `sk BETWEEN "CHALLENGE#" AND "EVALUATION#\\uffff"`: the range also holds
the contract documents (`CONTRACT#`), the delivery (`DELIVERY`) and the enrollments (`ENR#`), which
DynamoDB cannot filter out on the sort key; they are read (a few read units: small rows) and dropped
here, never returned. Two Queries (challenges, evaluations) would cost a second round trip on every
public page instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from marketplace.domain.challenges import Challenge
from marketplace.domain.performance import Evaluation
from marketplace.repositories.base import translated
from marketplace.repositories.challenges import PREFIX as CHALLENGE_PREFIX
from marketplace.repositories.performance import EVALUATION_PREFIX
from marketplace.repositories.purchases import DRAW
from marketplace.repositories.tables import PurchaseRow

LAST = EVALUATION_PREFIX + "\uffff"


@dataclass
class PublicRecords:
    challenges: list[Challenge] = field(default_factory=list)
    evaluations: list[Evaluation] = field(default_factory=list)
    draw: dict[str, Any] | None = None


def public_records(purchase_id: str) -> PublicRecords:
    found = PublicRecords()
    with translated():
        for row in PurchaseRow.query(
            purchase_id,
            PurchaseRow.sk.between(CHALLENGE_PREFIX, LAST),
            attributes_to_get=["purchase_id", "sk", "document"],
        ):
            if row.sk.startswith(CHALLENGE_PREFIX):
                found.challenges.append(Challenge.model_validate(row.document))
            elif row.sk.startswith(EVALUATION_PREFIX):
                found.evaluations.append(Evaluation.model_validate(row.document))
            elif row.sk == DRAW:
                found.draw = dict(row.document)
    found.challenges.sort(key=lambda c: (c.filed_at, c.challenge_id))
    found.evaluations.sort(key=lambda e: (e.rater != "owner", e.rated_at))
    return found
