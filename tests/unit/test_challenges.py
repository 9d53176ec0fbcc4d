"""Challenges in the domain (marketplace.domain.challenges) and who is told about them: pure, no AWS."""

from __future__ import annotations

import json
from typing import Any

import pytest

from marketplace.domain import notifications as n
from marketplace.domain.challenges import (
    CHALLENGE,
    Challenge,
    ChallengeStatus,
    annul,
    challenge_id,
    due_at,
    public_view,
    purchase_of,
)
from marketplace.domain.purchases import (
    PURCHASE,
    PurchaseStatus,
    Result,
    ResultState,
    SelectionMethod,
    result_state,
)
from marketplace.errors import Conflict
from tests.support.schemas import EVENTS_DIR

TZ = "Asia/Shanghai"
AT = "2026-12-08T02:00:00Z"
DEADLINE = "2026-12-10T15:59:59Z"


def test_a_challenge_id_names_its_purchase() -> None:
    made = challenge_id("P-20261201-3F9A1C2B7D", "1a2b3c4d")
    assert made == "P-20261201-3F9A1C2B7D.C1A2B3C4D"
    assert purchase_of(made) == "P-20261201-3F9A1C2B7D"
    for wrong in ("P-1", "P-1.C123", "P-1.c1a2b3c4d", ".C1A2B3C4D", "P 1.C1A2B3C4D", "P-1.C1A2B3C4D/x"):
        assert purchase_of(wrong) is None, wrong


def _challenge(**changes: Any) -> Challenge:
    document: dict[str, Any] = {
        "challenge_id": "P-1.C1A2B3C4D",
        "purchase_id": "P-1",
        "owner_id": "OW-1",
        "item_code": "ZJ-HP-001",
        "industry": "environment",
        "subject": "result",
        "grounds": ["x"],
        "reasons": "y",
        "status": "filed",
        "challenger_id": "AG-1",
        "challenger_name": "某咨询有限公司",
        "purchase_status": "selected",
        "filed_at": AT,
        "answer_deadline": DEADLINE,
    }
    document.update(changes)
    return Challenge.model_validate(document)


def test_the_public_view_leaves_the_challenger_out_and_nothing_else() -> None:
    challenge = _challenge()
    public = public_view(challenge)
    assert public.challenger_id is None and public.challenger_name is None
    assert public.model_dump(exclude={"challenger_id", "challenger_name"}) == challenge.model_dump(
        exclude={"challenger_id", "challenger_name"}
    )


def test_a_challenge_is_timed_while_it_waits_for_an_answer_or_a_complaint() -> None:
    assert due_at(_challenge()) == DEADLINE
    assert (
        due_at(_challenge(status="rejected", complaint_deadline="2026-12-31T15:59:59Z"))
        == "2026-12-31T15:59:59Z"
    )
    for status in ("accepted", "complained", "upheld", "dismissed", "closed"):
        assert due_at(_challenge(status=status)) is None


def test_a_challenge_is_answered_once_and_decided_once() -> None:
    assert CHALLENGE.expect(ChallengeStatus.filed, "accept").target == ChallengeStatus.accepted
    for status, action in [
        (ChallengeStatus.accepted, "reject"),
        (ChallengeStatus.rejected, "accept"),
        (ChallengeStatus.upheld, "dismiss"),
        (ChallengeStatus.accepted, "complain"),
        (ChallengeStatus.closed, "complain"),
    ]:
        with pytest.raises(Conflict):
            CHALLENGE.expect(status, action)


def test_suspension_and_resumption_are_rows_of_the_purchases_table() -> None:
    from marketplace.domain.purchases import RESUME_ACTIONS

    before_result = (
        PurchaseStatus.enrollment_open,
        PurchaseStatus.enrollment_closed,
        PurchaseStatus.bidding,
        PurchaseStatus.scoring,
        PurchaseStatus.selecting,
    )
    for state in before_result:
        assert PURCHASE.expect(state, "suspend").target == PurchaseStatus.suspended
        assert PURCHASE.expect(PurchaseStatus.suspended, RESUME_ACTIONS[state]).target == state
    assert not PURCHASE.allows(PurchaseStatus.suspended, "enroll")
    assert not PURCHASE.allows(PurchaseStatus.selected, "suspend")  # after the result: annulled instead
    assert PURCHASE.expect(PurchaseStatus.suspended, "cancel").target == PurchaseStatus.cancelled


def _result(**changes: Any) -> Result:
    document: dict[str, Any] = {
        "method": SelectionMethod.random_draw,
        "selected_agency": "AG-1",
        "reserves": ["AG-2", "AG-3"],
        "selected_at": "2026-12-04T09:00:01Z",
        "confirmation_deadline": "2026-12-08T15:59:59Z",
    }
    document.update(changes)
    return Result.model_validate(document)


RANKING = ["AG-1", "AG-2", "AG-3", "AG-4", "AG-5"]


def test_an_annulment_moves_the_first_reserve_up_with_a_fresh_window() -> None:
    annulled = annul(_result(owner_confirmed_at=AT), "P-1.C1A2B3C4D", "投诉成立", AT, DEADLINE, RANKING)
    assert annulled.selected_agency == "AG-2" and annulled.reserves == ["AG-3"]
    assert annulled.confirmation_deadline == DEADLINE and annulled.owner_confirmed_at is None
    (record,) = annulled.annulled
    assert (record.agency_id, record.replaced_by, record.replaced_from) == ("AG-1", "AG-2", "reserves")
    assert result_state(annulled) == ResultState.awaiting


def test_a_refused_reserve_is_passed_over_with_why() -> None:
    annulled = annul(_result(), "C", "r", AT, DEADLINE, RANKING, {"AG-2": "expelled"})
    assert annulled.selected_agency == "AG-3" and annulled.reserves == []
    assert [(p.agency_id, p.reason) for p in annulled.passed_over] == [("AG-2", "expelled")]


def test_with_no_reserve_the_ranking_gives_the_next_candidate_never_one_already_out() -> None:
    result = _result(
        selected_agency="AG-3",
        reserves=[],
        abandoned=[{"agency_id": "AG-1", "reason": "x", "at": AT}],
        passed_over=[{"agency_id": "AG-2", "reason": "x", "at": AT}],
    )
    annulled = annul(result, "C", "r", AT, DEADLINE, RANKING, {"AG-4": "blacklisted"})
    assert annulled.selected_agency == "AG-5" and annulled.annulled[0].replaced_from == "ranking"
    assert [p.agency_id for p in annulled.passed_over] == ["AG-2", "AG-4"]


def test_with_no_candidate_left_the_result_lapses() -> None:
    annulled = annul(_result(reserves=[]), "C", "r", AT, DEADLINE, ["AG-1"])
    assert annulled.selected_agency is None and annulled.annulled[0].replaced_by is None
    assert result_state(annulled) == ResultState.lapsed
    assert PURCHASE.allows(PurchaseStatus.selected, "annul_last")


def _told(event_type: str) -> dict[str, n.Notice]:
    sample = json.loads((EVENTS_DIR / "domain" / f"{event_type}.json").read_text(encoding="utf-8"))
    plan = n.plan(sample["detail"], timezone=TZ)
    assert plan is not None
    return {e.recipient: n.Notice(e.recipient, e.title, e.text) for e in n.entries(plan, plan.notices)}


OWNER, CHALLENGER, ADMINS = "owner:OW-001", "agency:AG-002", n.ADMINS


@pytest.mark.parametrize(
    ("event_type", "recipients"),
    [
        ("ChallengeFiled", {OWNER, CHALLENGER}),
        ("ChallengeAnswered", {OWNER, CHALLENGER}),
        ("ChallengeEscalated", {OWNER, CHALLENGER, ADMINS}),
        ("ComplaintFiled", {OWNER, CHALLENGER, ADMINS, n.industry_inbox("environment")}),
        ("ComplaintDecided", {OWNER, CHALLENGER, ADMINS}),
        ("PurchaseSuspended", {OWNER, ADMINS}),
        ("PurchaseResumed", {OWNER, ADMINS}),
        ("PurchaseCancelled", {OWNER, ADMINS}),
        ("ResultAnnulled", {OWNER, CHALLENGER, "agency:AG-003"}),
    ],
)
def test_each_challenge_event_reaches_the_parties_it_concerns(event_type: str, recipients: set[str]) -> None:
    assert set(_told(event_type)) == recipients


@pytest.mark.parametrize(
    "event_type", ["PurchaseSuspended", "PurchaseResumed", "PurchaseCancelled", "ResultAnnulled"]
)
def test_the_enrolled_agencies_hear_of_a_suspension_a_resumption_a_cancellation_an_annulment(
    event_type: str,
) -> None:
    sample = json.loads((EVENTS_DIR / "domain" / f"{event_type}.json").read_text(encoding="utf-8"))
    plan = n.plan(sample["detail"], timezone=TZ)
    assert plan is not None and plan.enrollees is not None
    enrolled = [n.Enrollee("AG-009", n.ENROLLED), n.Enrollee("AG-008", "withdrawn")]
    assert [x.recipient for x in n.enrollee_notices(plan, enrolled)] == ["agency:AG-009"]


def test_the_resumption_tells_the_moved_deadline_in_local_time() -> None:
    text = _told("PurchaseResumed")[OWNER].text
    assert "2026-12-05 17:00" in text and "已修改资格条件" in text


@pytest.mark.parametrize(
    ("status", "moved", "told"),
    [
        ("bidding", {"round_closes_at": "2026-12-04T09:40:00Z"}, "本轮报价截止顺延至 2026-12-04 17:40"),
        ("scoring", {"scoring_deadline": "2026-12-09T15:59:59Z"}, "评审截止顺延至 2026-12-09 23:59"),
    ],
)
def test_a_resumed_round_or_scoring_tells_its_moved_deadline(
    status: str, moved: dict[str, str], told: str
) -> None:
    sample = json.loads((EVENTS_DIR / "domain" / "PurchaseResumed.json").read_text(encoding="utf-8"))
    sample["detail"]["data"].update({"status": status, **moved})
    plan = n.plan(sample["detail"], timezone=TZ)
    assert plan is not None
    texts = [e.text for e in n.entries(plan, plan.notices)]
    assert texts and all(told in text for text in texts)
