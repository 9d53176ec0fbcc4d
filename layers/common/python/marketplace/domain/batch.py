"""Batch mode (批量, DOMAIN.md §5): one announcement covers several projects of the same item, each
with its own project code, place and amount. One draw ranks the candidates for the whole batch;
each project is then a purchase of its own (`Purchase.batch_of` names the announcement), with its
own confirmation, letter and contract.

The award (docs/batch.md):
- `one_agency`: the first of the draw's ranking serves every project;
- `each_project`: the winners are taken in turn from the ranking, one per project in the order the
  projects are listed, no agency twice; with fewer candidates than projects the ranking is used
  again from its start (project n gets the ranking's (n mod candidates)-th agency).
Each project's reserves (`each_project`) are its own slice of the agencies after the winners in
the ranking, dealt in turn: project n takes the remainder's positions n-1, n-1+projects,
n-1+2*projects, ..., up to the purchase's `reserves`, so no two projects share a reserve and no
agency ends up serving two projects while another reserve is never used. Only when the remainder
is too short for that is a project's list completed with the remainder's other agencies, going on
from its own position and wrapping to the remainder's start (a reserve may then stand for more
than one project, as a winner does with fewer candidates than projects). With `one_agency` every
project has the same reserves (the agencies after the one winner): one agency serves them all.
With as many winners as candidates, no reserve is left.

Pure: the draw itself is domain/draw.py; the service (services/batch.py) writes the projects.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from pydantic import Field, model_validator

from marketplace.domain.model import Model, StrictModel
from marketplace.domain.regions import DIVISION_PATTERN, covers

# A project's code (一项一码): the announcement's, and each project's of a batch.
PROJECT_CODE_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z\-]{5,49}$"
MIN_PROJECTS = 2
# The split (the announcement, the proof, each project, its result and its consortium's selection,
# the BatchSplit event) is one transaction: 2 + 3 x 20 + 1 items, within DynamoDB's 100.
MAX_PROJECTS = 20
# The methods a batch is selected by: one ranking, winners taken in turn. Credit best-value's short
# list and the owner's pick, and the sealed methods' single lowest quote or best proposal, do not
# give one winner per project; they are refused for a batch for now.
BATCH_METHODS = ("random_draw",)
ASSIGNMENT_RULE = (
    "each_project: project n (1-based, in the order listed) gets the ranking's agency at position "
    "((n - 1) mod number of winners), the winners being the first min(projects, candidates) of the "
    "ranking; one_agency: the ranking's first agency gets every project. each_project reserves: of the "
    "agencies after the winners in the ranking (the remainder, positions from 0), project n gets "
    "positions n-1, n-1+projects, n-1+2*projects, ... up to the purchase's reserves (disjoint); only "
    "when the remainder is too short, a project's list is completed with the remainder's other agencies "
    "from position ((n - 1) mod remainder) on, wrapping to its start. one_agency reserves: the agencies "
    "after the winner, up to the purchase's reserves, the same for every project."
)


class BatchAward(StrEnum):
    one_agency = "one_agency"  # one agency serves every project
    each_project = "each_project"  # each project its own winner, taken in turn from one ranking


class BatchProject(StrictModel):
    project_code: str = Field(pattern=PROJECT_CODE_PATTERN, description="一项一码: this project's own code")
    title: str = Field(min_length=1, max_length=200)
    region: str = Field(pattern=DIVISION_PATTERN, description="division code of the project's place")
    amount_yuan: Decimal = Field(gt=0, max_digits=14, decimal_places=2)


class BatchTerms(StrictModel):
    """Published with the announcement: the projects it covers and how they are awarded."""

    projects: list[BatchProject] = Field(min_length=MIN_PROJECTS, max_length=MAX_PROJECTS)
    award: BatchAward

    @model_validator(mode="after")
    def _unique_codes(self) -> BatchTerms:
        codes = [p.project_code for p in self.projects]
        repeated = sorted({c for c in codes if codes.count(c) > 1})
        if repeated:
            raise ValueError(
                f"batch.projects: each project has its own code; repeated: {', '.join(repeated)}"
            )
        return self


def check_terms(
    terms: BatchTerms, *, method: str, project_code: str, region: str, amount_yuan: Decimal
) -> None:
    """What a batch must agree with in its announcement; ValueError naming the field otherwise."""
    if method not in BATCH_METHODS:
        raise ValueError(f"batch: a batch is selected by {', '.join(BATCH_METHODS)} for now, not by {method}")
    for n, project in enumerate(terms.projects):
        if project.project_code == project_code:
            raise ValueError(
                f"batch.projects[{n}].project_code: a project's code differs from the announcement's"
            )
        if not covers(region, project.region):
            raise ValueError(
                f"batch.projects[{n}].region: {project.region} is not within the announcement's "
                f"region {region}"
            )
    total = sum((p.amount_yuan for p in terms.projects), Decimal(0))
    if total != amount_yuan:
        raise ValueError(
            f"amount_yuan: the announcement's amount ({amount_yuan}) must equal the sum of its projects' "
            f"amounts ({total})"
        )


@dataclass(frozen=True)
class Assignment:
    """The draw's outcome for a batch: the winners (distinct, in ranking order), the agency of each
    project (in the order listed), every reserve of the batch (in ranking order: the draw publishes
    them after the winners) and each project's own reserves (in the order they move up)."""

    winners: list[str]
    agencies: list[str]
    reserves: list[str]
    project_reserves: list[list[str]]


def assign(award: BatchAward, projects: int, ranking: list[str], reserves: int) -> Assignment:
    """The assignment rule (ASSIGNMENT_RULE), from the draw's ranking (its agencies, in order)."""
    if projects < 1 or not ranking:
        raise ValueError("an assignment needs at least one project and one candidate")
    size = 1 if award == BatchAward.one_agency else min(projects, len(ranking))
    winners = ranking[:size]
    agencies = [winners[n % size] for n in range(projects)]
    rest = ranking[size:]
    if award == BatchAward.one_agency:
        shared = rest[:reserves]
        return Assignment(winners, agencies, shared, [list(shared) for _ in range(projects)])
    own = [_project_reserves(rest, projects, n, reserves) for n in range(projects)]
    used = {a for listed in own for a in listed}
    return Assignment(winners, agencies, [a for a in rest if a in used], own)


def _project_reserves(rest: list[str], projects: int, n: int, reserves: int) -> list[str]:
    """Project n's reserves (0-based n): its own positions of the remainder, then, only if those
    are too few, the remainder's others from its position on (wrapping)."""
    dealt = rest[n::projects][:reserves]
    if len(dealt) == reserves or not rest:
        return dealt
    start = n % len(rest)
    around = [a for a in rest[start:] + rest[:start] if a not in dealt]
    return (dealt + around)[:reserves]


def child_id(parent_id: str, n: int) -> str:
    """The purchase id of the batch's n-th project (1-based)."""
    return f"{parent_id}-{n:02d}"


class BatchProjectResult(Model):
    """One project of a split batch, as the announcement's page lists it."""

    project_code: str
    title: str
    region: str
    amount_yuan: Decimal
    purchase_id: str = Field(description="the project's own purchase: its confirmation, letter, contract")
    agency_id: str = Field(description="the agency the draw assigned to it")
    reserves: list[str] = Field(
        default_factory=list, description="this project's own reserves, in the order they move up"
    )


class BatchSplit(Model):
    """What the announcement records when its draw split it into one purchase per project."""

    award: BatchAward
    split_at: str
    rule: str = ASSIGNMENT_RULE
    projects: list[BatchProjectResult]
