"""Each red flag (domain/red_flags.py) raised at its threshold and not raised just short of it."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from marketplace.domain.red_flags import (
    TITLES,
    AgencyFacts,
    Bid,
    Facts,
    Fingerprint,
    Flag,
    Price,
    Thresholds,
    agency_flags,
    handover_pairs,
    listing_key,
    listing_keys,
    marks,
    purchase_flags,
    reconcile,
)

T = Thresholds()
DEADLINE = "2026-12-10T09:00:00Z"
PUBLISHED = "2026-12-01T09:00:00Z"  # nine days before: no R003


def bid(agency: str, eligible: bool | None = True, at: str = "2026-12-02T09:00:00Z") -> Bid:
    return Bid(agency, at, eligible)


def facts(**changes: object) -> Facts:
    base = Facts(
        purchase_id="P-1",
        owner_id="OW-1",
        method="random_draw",
        published_at=PUBLISHED,
        enrollment_deadline=DEADLINE,
        closed=True,
        winner="AG-1",
        bids=(bid("AG-1"), bid("AG-2"), bid("AG-3")),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def codes(f: Facts, t: Thresholds = T) -> set[str]:
    return {x.code for x in purchase_flags(f, t)}


def quotes(*prices: str, valid: tuple[bool, ...] | None = None) -> tuple[Price, ...]:
    return tuple(
        Price(f"AG-{i + 1}", Decimal(p), True if valid is None else valid[i], "2026-12-02T09:00:00Z")
        for i, p in enumerate(prices)
    )


def test_a_clean_purchase_raises_nothing() -> None:
    assert codes(facts()) == set()


def test_every_code_has_its_official_name() -> None:
    assert TITLES["R018"] == "Single bid received" and TITLES["R044"].startswith("Business similarities")
    assert len(TITLES) == 17


def test_r003_short_submission_period_at_the_edge() -> None:
    t = Thresholds(short_window_hours=72)
    assert "R003" in codes(facts(published_at="2026-12-07T09:00:01Z"), t)  # just under 72 h
    assert "R003" not in codes(facts(published_at="2026-12-07T09:00:00Z"), t)  # exactly 72 h
    assert "R003" not in codes(facts(method="direct", published_at="2026-12-09T09:00:00Z"), t)


def test_r018_single_bid() -> None:
    assert "R018" in codes(facts(bids=(bid("AG-1"),)))
    assert "R018" not in codes(facts(bids=(bid("AG-1"), bid("AG-2"))))
    assert "R018" not in codes(facts(bids=(bid("AG-1"),), closed=False))


def test_r024_price_close_to_winning_bid() -> None:
    t = Thresholds(close_price_percent=1, price_disparity_percent=1000, discount_percent=99)
    assert "R024" in codes(facts(prices=quotes("100.00", "101.00", "150.00")), t)  # exactly 1 %
    assert "R024" not in codes(facts(prices=quotes("100.00", "101.01", "150.00")), t)


def test_r028_identical_bid_prices() -> None:
    found = purchase_flags(facts(prices=quotes("100.00", "100.00", "120.00")), T)
    r028 = next(f for f in found if f.code == "R028")
    assert r028.agencies == ("AG-1", "AG-2")
    assert "R028" not in codes(facts(prices=quotes("100.00", "100.01", "120.00")))
    # An invalid quote with the same price is not a bid that counts.
    assert "R028" not in codes(facts(prices=quotes("100.00", "100.00", "120.00", valid=(True, False, True))))


def test_r030_late_bid_won() -> None:
    t = Thresholds(late_bid_minutes=60)
    late = (bid("AG-1", at="2026-12-10T08:00:00Z"), bid("AG-2"))
    assert "R030" in codes(facts(bids=late), t)  # exactly 60 min before
    early = (bid("AG-1", at="2026-12-10T07:59:59Z"), bid("AG-2"))
    assert "R030" not in codes(facts(bids=early), t)
    # A quote of the winner's counts as its bid too.
    quoted = (Price("AG-1", Decimal("90"), True, "2026-12-10T08:30:00Z"),)
    assert "R030" in codes(facts(bids=early, prices=quoted), t)


def test_r030_measures_the_sealed_round_not_the_open_rounds() -> None:
    """Rounds 2+ of price bidding open only after the enrollment deadline (round one closes at it):
    a winner's later-round quote is no late bid, and no time after the deadline is measured."""
    t = Thresholds(late_bid_minutes=60)
    early = (bid("AG-1", at="2026-12-02T09:00:00Z"), bid("AG-2"))
    round_two = Price(
        "AG-1", Decimal("90"), True, "2026-12-10T09:03:00Z", round=2, sealed_at="2026-12-03T09:00:00Z"
    )
    assert "R030" not in codes(facts(method="price_bidding", bids=early, prices=(round_two,)), t)
    # The reviewer's case: a round-three quote a day after the deadline, no round-one quote on record.
    day_after = Price("AG-1", Decimal("90"), True, "2026-12-11T10:00:00Z", round=3)
    assert "R030" not in codes(facts(method="price_bidding", bids=early, prices=(day_after,)), t)
    # The winner's sealed quote came in round one's last minutes: raised, even though it won in round 2.
    sealed_late = replace(round_two, sealed_at="2026-12-10T08:50:00Z")
    found = purchase_flags(facts(method="price_bidding", bids=early, prices=(sealed_late,)), t)
    r030 = next(f for f in found if f.code == "R030")
    assert r030.agencies == ("AG-1",) and "10 min before the enrollment deadline" in r030.detail
    # A single-round winner quoting in the last minutes of round one (it closes at the deadline).
    last_minutes = Price("AG-1", Decimal("90"), True, "2026-12-10T08:59:00Z")
    assert "R030" in codes(facts(method="price_bidding", bids=early, prices=(last_minutes,)), t)


def test_r035_all_except_winning_bid_disqualified() -> None:
    bids = (bid("AG-1"), bid("AG-2", False), bid("AG-3", False))
    assert "R035" in codes(facts(bids=bids))
    bids = (bid("AG-1"), bid("AG-2", True), bid("AG-3", False))
    assert "R035" not in codes(facts(bids=bids))


def test_r036_lowest_bid_disqualified() -> None:
    assert "R036" in codes(facts(prices=quotes("90.00", "100.00", "110.00", valid=(False, True, True))))
    bids = (bid("AG-1", False), bid("AG-2"), bid("AG-3"))
    assert "R036" in codes(facts(bids=bids, winner="AG-2", prices=quotes("90.00", "100.00", "110.00")))
    assert "R036" not in codes(facts(prices=quotes("90.00", "100.00", "110.00", valid=(True, False, True))))


def test_r038_excessive_disqualified_bids() -> None:
    t = Thresholds(disqualified_percent=50, disqualified_min_bids=4)
    half = (bid("AG-1"), bid("AG-2"), bid("AG-3", False), bid("AG-4", False))
    assert "R038" in codes(facts(bids=half), t)
    under = (bid("AG-1"), bid("AG-2"), bid("AG-3"), bid("AG-4", False), bid("AG-5", False))
    assert "R038" not in codes(facts(bids=under), t)  # 40 %
    few = (bid("AG-1"), bid("AG-2", False), bid("AG-3", False))
    assert "R038" not in codes(facts(bids=few), t)  # fewer bids than the minimum


def test_r044_business_similarities_name_agencies_and_kind_never_the_value() -> None:
    shared = (
        Fingerprint("AG-1", "phone", "d1"),
        Fingerprint("AG-2", "phone", "d1"),
        Fingerprint("AG-3", "phone", "d3"),
    )
    found = [f for f in purchase_flags(facts(fingerprints=shared), T) if f.code == "R044"]
    assert len(found) == 1 and found[0].agencies == ("AG-1", "AG-2")
    assert "phone" in found[0].detail and "d1" not in found[0].detail
    apart = (Fingerprint("AG-1", "phone", "d1"), Fingerprint("AG-2", "email", "d1"))
    assert "R044" not in codes(facts(fingerprints=apart))  # different kinds never match
    outsider = (Fingerprint("AG-1", "address", "d1"), Fingerprint("AG-9", "address", "d1"))
    assert "R044" not in codes(facts(fingerprints=outsider))  # AG-9 did not enroll


def test_r055_wide_disparity_in_bid_prices() -> None:
    t = Thresholds(price_disparity_percent=100, close_price_percent=0, discount_percent=99)
    assert "R055" in codes(facts(prices=quotes("100.00", "150.00", "200.00")), t)
    assert "R055" not in codes(facts(prices=quotes("100.00", "150.00", "199.99")), t)


def test_r058_heavily_discounted_bid() -> None:
    t = Thresholds(discount_percent=30, close_price_percent=0, price_disparity_percent=1000)
    assert "R058" in codes(facts(prices=quotes("70.00", "100.00")), t)
    assert "R058" not in codes(facts(prices=quotes("70.01", "100.00")), t)


def test_mk01_repeated_uncontested_choice() -> None:
    t = Thresholds(repeat_direct=3)
    direct = facts(method="direct", bids=(), closed=False, repeat_direct=3)
    assert "MK01" in codes(direct, t)
    assert "MK01" not in codes(replace(direct, repeat_direct=2), t)
    assert "MK01" not in codes(facts(repeat_direct=5), t)  # a competitive method


def test_mk02_reannouncements() -> None:
    t = Thresholds(reannouncements=2)
    assert "MK02" in codes(facts(announcements=3), t)
    assert "MK02" not in codes(facts(announcements=2), t)


def test_mk03_same_enrollees() -> None:
    t = Thresholds(same_enrollees=3)
    assert "MK03" in codes(facts(same_enrollees=3), t)
    assert "MK03" not in codes(facts(same_enrollees=2), t)


def test_mk04_handovers() -> None:
    t = Thresholds(handovers=2)
    assert "MK04" in codes(facts(handovers={("AG-1", "AG-2"): 2}), t)
    assert "MK04" not in codes(facts(handovers={("AG-1", "AG-2"): 1}), t)


def test_r025_excessive_unsuccessful_bids() -> None:
    t = Thresholds(unsuccessful_bids=3)
    lost = tuple((f"P-{i}", "ZJ-1", False) for i in range(3))
    assert {f.code for f in agency_flags(AgencyFacts("AG-1", lost), t)} == {"R025"}
    assert agency_flags(AgencyFacts("AG-1", lost[:2]), t) == []
    assert agency_flags(AgencyFacts("AG-1", (*lost, ("P-9", "ZJ-1", True))), t) == []


def test_r048_heterogeneous_supplier() -> None:
    t = Thresholds(heterogeneous_items=3)
    won = tuple((f"P-{i}", f"ZJ-{i}", True) for i in range(3))
    found = agency_flags(AgencyFacts("AG-1", won), t)
    assert [f.flag_id for f in found] == ["R048:agency:AG-1"]
    same_item = (*won[:2], ("P-7", "ZJ-0", True))
    assert agency_flags(AgencyFacts("AG-1", same_item), t) == []


def test_marks_and_handovers() -> None:
    assert handover_pairs([], "AG-2") == []
    assert handover_pairs(["AG-1", "AG-2"], "AG-3") == [("AG-1", "AG-2"), ("AG-2", "AG-3")]
    m = marks(owner_id="OW", method="reward", winner="AG-1", eligible=[], abandoned=[], decided=True)
    assert m.repeat_direct == "MK01#OW#AG-1" and m.bids == (("AG-1", True),)
    m = marks(
        owner_id="OW",
        method="random_draw",
        winner="AG-2",
        eligible=["AG-2", "AG-1"],
        abandoned=[],
        decided=False,
    )
    other = marks(
        owner_id="X",
        method="price_bidding",
        winner=None,
        eligible=["AG-1", "AG-2"],
        abandoned=[],
        decided=True,
    )
    assert m.same_enrollees == other.same_enrollees and m.bids == ()
    assert other.bids == (("AG-1", False), ("AG-2", False))


def test_reconcile_raises_keeps_clears_and_raises_again() -> None:
    finding = purchase_flags(facts(bids=(bid("AG-1"),)), T)
    flags, raised, cleared = reconcile({}, finding, "t1")
    assert [f.code for f in raised] == ["R018"] and cleared == []
    again, raised, cleared = reconcile(flags, finding, "t2")
    assert again == flags and raised == [] and cleared == []  # a repeat changes nothing
    gone, raised, cleared = reconcile(flags, [], "t3")
    flag = gone["R018:P-1"]
    assert flag.state == "cleared" and flag.cleared_at == "t3" and flag.history == [["t1", "t3"]]
    back, raised, _ = reconcile(gone, finding, "t4")
    assert back["R018:P-1"].state == "raised" and back["R018:P-1"].history == [["t1", "t3"], ["t4", None]]
    assert len(raised) == 1


@pytest.mark.parametrize(
    ("code", "owner", "agency", "key"),
    [
        (None, None, None, "all"),
        ("R018", None, None, "code=R018"),
        ("R018", "OW-1", "AG-1", "code=R018&owner=OW-1&agency=AG-1"),
        (None, "OW-1", "AG-1", "owner=OW-1&agency=AG-1"),
    ],
)
def test_listing_key(code: str | None, owner: str | None, agency: str | None, key: str) -> None:
    assert listing_key(code, owner, agency) == key


def test_a_flag_is_listed_under_every_filter_combination_it_matches() -> None:
    flag = Flag(
        flag_id="R028:P-1",
        code="R028",
        title="x",
        purchase_id="P-1",
        owner_id="OW",
        agencies=["A", "B"],
        detail="",
    )
    keys = listing_keys(flag)
    assert len(keys) == 4 + 4 * 2
    assert "code=R028&owner=OW&agency=B" in keys and "all" in keys
