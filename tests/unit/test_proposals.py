"""Proposal best-value's rules, pure: score sheets against the criteria, the panel's mean totals,
what the public sees of the terms, and the strategy's value-ordered draw."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from marketplace.domain import draw
from marketplace.domain.proposal_scores import (
    ProposalSubmission,
    Score,
    ScoreSheet,
    missing_scores,
    sheet_problems,
    submission_digest,
    weighted_totals,
)
from marketplace.domain.proposals import (
    OWNER_SEAT,
    ProposalScoring,
    ProposalScoringPublic,
    ProposalTerms,
    ProposalTermsPublic,
    panel_of,
    seat_label,
)

TERMS = ProposalTerms.model_validate(
    {
        "criteria": [{"name": "技术", "weight": 70}, {"name": "服务", "weight": 30}],
        "reviewers": ["u-1", "u-2"],
    }
)


def sheet(**scores: str) -> ScoreSheet:
    return ScoreSheet(scores={k: Decimal(v) for k, v in scores.items()})


def a_score(agency: str, seat: str, total: str) -> Score:
    return Score(
        purchase_id="P-1",
        agency_id=agency,
        seat=seat,
        by=seat,
        scores={"技术": Decimal(total)},
        total=Decimal(total),
        scored_at="2026-12-05T01:00:00Z",
    )


def test_weights_must_sum_to_100_and_names_and_reviewers_be_unique() -> None:
    with pytest.raises(ValidationError, match="sum to 100"):
        ProposalTerms.model_validate({"criteria": [{"name": "a", "weight": 60}]})
    with pytest.raises(ValidationError, match="named once"):
        ProposalTerms.model_validate({"criteria": [{"name": "a", "weight": 50}, {"name": "a", "weight": 50}]})
    with pytest.raises(ValidationError, match="reviewer is named once"):
        ProposalTerms.model_validate({"criteria": [{"name": "a", "weight": 100}], "reviewers": ["x", "x"]})


def test_a_sheet_scores_every_criterion_from_zero_to_its_weight_with_two_places() -> None:
    assert sheet_problems(TERMS, sheet(技术="70", 服务="0")) == []
    assert sheet_problems(TERMS, sheet(技术="70.01", 服务="1")) == [
        "scores.技术: 70.01 is outside 0..70 (the criterion's weight)"
    ]
    assert sheet_problems(TERMS, sheet(技术="-0.5", 服务="1"))[0].startswith("scores.技术")
    assert sheet_problems(TERMS, sheet(技术="1.005", 服务="1")) == ["scores.技术: at most two decimal places"]
    assert sheet_problems(TERMS, sheet(技术="1")) == ["scores.服务: missing"]
    assert sheet_problems(TERMS, sheet(技术="1", 服务="1", 价格="1")) == [
        "scores.价格: not a criterion of this purchase"
    ]


def test_the_figure_is_the_panel_mean_to_four_places_and_scoring_is_complete_when_every_seat_scored() -> None:
    panel = panel_of(TERMS)
    assert panel == [OWNER_SEAT, "u-1", "u-2"]
    scores = [a_score("A", s, t) for s, t in zip(panel, ("80", "70", "70.01"), strict=True)]
    scores.append(a_score("B", OWNER_SEAT, "90"))
    assert missing_scores(scores, ["A", "B"], panel) == [("u-1", "B"), ("u-2", "B")]
    totals = weighted_totals(scores, ["A", "B"], panel)
    assert totals == {"A": Decimal("73.3367"), "B": Decimal("30.0000")}
    assert seat_label(panel, "u-2") == "reviewer-2" and seat_label(panel, OWNER_SEAT) == "owner"


def test_the_public_sees_how_many_reviewers_and_the_proposals_hashes_not_who_or_where() -> None:
    public = ProposalTermsPublic.model_validate(TERMS.model_dump())
    assert public.reviewers == 2 and [c.name for c in public.criteria] == ["技术", "服务"]
    scoring = ProposalScoring(
        panel=panel_of(TERMS),
        proposals=[
            {
                "agency_id": "A",
                "file_ref": "s3://x/a.pdf",
                "sha256": "ab" * 32,
                "submitted_at": "2026-12-04T01:00:00Z",
            }
        ],
        opened_at="2026-12-04T09:00:01Z",
        deadline="2026-12-11T09:00:01Z",
    )
    shown = ProposalScoringPublic.model_validate(scoring.model_dump()).model_dump()
    assert shown["panel_size"] == 3 and "file_ref" not in str(shown) and "u-1" not in str(shown)


def test_the_receipt_digest_is_the_canonical_json_of_what_was_sent() -> None:
    sent = ProposalSubmission(file_ref="a.pdf", sha256="cd" * 32, title="t")
    same = ProposalSubmission.model_validate({"title": "t", "sha256": "cd" * 32, "file_ref": " a.pdf "})
    assert submission_digest(sent) == submission_digest(same)
    assert submission_digest(sent) != submission_digest(
        ProposalSubmission(file_ref="b.pdf", sha256="cd" * 32)
    )
    with pytest.raises(ValidationError):
        ProposalSubmission(file_ref="a.pdf", sha256="CD" * 32)


def _purchase(**changes: Any) -> Any:
    from marketplace.domain.purchases import Purchase

    document = {
        "purchase_id": "P-1",
        "owner_id": "OW-1",
        "status": "scoring",
        "project_code": "2026-330106-47-01-000123",
        "title": "t",
        "item_code": "ZJ-HP-001",
        "region": "330106",
        "funding_type": "fiscal",
        "price_kind": "ceiling",
        "amount_yuan": "100000.00",
        "method": "proposal_best_value",
        "proposal": TERMS.model_dump(),
        "enrollment_deadline": "2026-12-04T09:00:00Z",
        "selection_time": "2026-12-04T09:00:00Z",
        "created_at": "2026-12-01T00:00:00Z",
        "created_by": "u",
        "updated_at": "2026-12-01T00:00:00Z",
    }
    return Purchase.model_validate(document | changes)


def test_the_strategy_orders_by_the_highest_figure_and_the_draw_breaks_ties() -> None:
    from marketplace.domain.selection import SelectionInput, select

    seed = bytes(range(32))
    figures = {"A": Decimal("80.5000"), "B": Decimal("80.5000"), "C": Decimal("91.0000"), "D": Decimal("10")}
    proof, result = select(
        SelectionInput(
            purchase=_purchase(),
            seed=seed,
            eligible=sorted(figures),
            reserves=2,
            drawn_at="2026-12-05T01:00:00Z",
            confirmation_deadline="2026-12-08T09:59:59Z",
            proposal_scores=figures,
        )
    )
    published = proof.as_dict()
    assert draw.verify(published) == []
    assert result.selected_agency == "C" and published["tied"] == [["A", "B"]]
    ranks = {r["agency_id"]: r["rank"] for r in published["ranking"]}
    assert result.reserves == sorted(("A", "B"), key=lambda a: (ranks[a], a))
    assert published["values_order"] == "descending" and published["method"] == "proposal_best_value"


def test_a_scoring_purchase_is_due_at_its_scoring_deadline_and_stays_due_once_reported() -> None:
    from marketplace.domain.purchases import next_due

    scoring = {
        "panel": ["owner"],
        "proposals": [],
        "opened_at": "2026-12-04T09:00:01Z",
        "deadline": "2026-12-11T09:00:01Z",
    }
    assert next_due(_purchase(scoring=scoring)) == ("scoring", "2026-12-11T09:00:01Z")
    reported = _purchase(scoring=scoring | {"escalated_at": "2026-12-11T09:05:00Z"})
    # Still due: the sweeper ranks it once every score is in, should the last score's ranking fail.
    assert next_due(reported) == ("scoring", "2026-12-11T09:00:01Z")
    ranked = _purchase(status="selected", scoring=scoring)
    assert next_due(ranked) is None
