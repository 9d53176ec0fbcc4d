"""Integrity red flags (issue 12, docs/red-flags.md): the Open Contracting Partnership's red-flag
indicators where they apply to this marketplace, plus the marketplace's own (`MK..`).

Pure: what a purchase's rows say goes in (`Facts`, `AgencyFacts`), the flags that apply come out.
A flag is a reason to look closer, never a verdict. In this marketplace a "bid" is an enrollment
(and a quote in price bidding, a proposal in proposal best-value); "disqualified" is an enrollment
judged ineligible when enrollment closed.

R044 (business similarities between suppliers) compares contacts and addresses privately: the
service passes keyed hashes (`Fingerprint`), never the values, and the flag names the agencies and
the kind of thing they share (phone, email, address), never the shared value.

Cross-purchase flags (R025, R048, MK01, MK03, MK04) count rows the consumer keeps per key
(`marks` says which keys a purchase belongs to); the counts arrive in `Facts` / `AgencyFacts`.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from pydantic import Field

from marketplace.domain.model import StrictModel, revised
from marketplace.domain.red_flag_record import Flag

# The official names (Open Contracting Partnership, red flags for integrity, 2024) and ours.
TITLES: dict[str, str] = {
    "R003": "Short submission period",
    "R018": "Single bid received",
    "R024": "Price close to winning bid",
    "R025": "Excessive unsuccessful bids",
    "R028": "Identical bid prices",
    "R030": "Late bid won",
    "R035": "All except winning bid disqualified",
    "R036": "Lowest bid disqualified",
    "R038": "Excessive disqualified bids",
    "R044": "Business similarities between suppliers",
    "R048": "Heterogeneous supplier",
    "R055": "Wide disparity in bid prices",
    "R058": "Heavily discounted bid",
    "MK01": "Same owner repeatedly chooses the same agency without competition",
    "MK02": "Repeated re-announcements",
    "MK03": "Same set of enrollees across purchases",
    "MK04": "Abandonments hand the deal to the same reserve",
}
CODES = tuple(TITLES)
CODE_PATTERN = r"^(R0[0-9]{2}|MK[0-9]{2})$"
# The events that can change a purchase's flags (infra/definitions.py EVENT_RULES "red-flags").
WATCHED = (
    "PurchasePublished",
    "PurchaseFailed",
    "QuotesPublished",
    "ResultPublished",
    "AgencyPicked",
    "ResultAbandoned",
    "ReserveMovedUp",
    "ResultAnnulled",
    "PurchaseReannounced",
    "ShelfPurchaseMade",
    "RewardSelected",
)
# Those after which the purchase's outcome is known: its agencies' bids count (R025, R048).
DECISIVE = {
    "PurchaseFailed",
    "ResultPublished",
    "AgencyPicked",
    "ReserveMovedUp",
    "ResultAnnulled",
    "ShelfPurchaseMade",
    "RewardSelected",
}
# Methods whose agency is chosen by the owner alone (MK01).
UNCONTESTED = ("direct", "shelf", "reward")
# Methods with an enrollment window (bids exist).
NO_WINDOW = UNCONTESTED


@dataclass(frozen=True)
class Thresholds:
    """Every threshold is a regional rule (settings.RegionalRules `flag_*`, docs/red-flags.md)."""

    short_window_hours: int = 72
    close_price_percent: int = 1
    unsuccessful_bids: int = 10
    late_bid_minutes: int = 60
    disqualified_percent: int = 50
    disqualified_min_bids: int = 4
    heterogeneous_items: int = 5
    price_disparity_percent: int = 100
    discount_percent: int = 30
    repeat_direct: int = 3
    reannouncements: int = 2
    same_enrollees: int = 3
    handovers: int = 2
    window_days: int = 365


@dataclass(frozen=True)
class Bid:
    """An enrollment that was not withdrawn."""

    agency_id: str
    enrolled_at: str
    eligible: bool | None = None


@dataclass(frozen=True)
class Price:
    """An agency's final quote (its last round's): `round` is the round it was sent in, `sealed_at`
    when the agency sent its round-one (sealed) quote, if it sent one."""

    agency_id: str
    price: Decimal
    valid: bool
    submitted_at: str
    round: int = 1
    sealed_at: str | None = None

    @property
    def sealed(self) -> str | None:
        """When the agency's round-one quote came: round one closes at the enrollment deadline."""
        return self.submitted_at if self.round == 1 else self.sealed_at


@dataclass(frozen=True)
class Fingerprint:
    """A keyed hash of one contact value or address of an agency: `kind` is phone, email or address."""

    agency_id: str
    kind: str
    digest: str


@dataclass(frozen=True)
class Facts:
    """What one purchase's rows say, and the cross-purchase counts its keys have."""

    purchase_id: str
    owner_id: str
    method: str
    published_at: str | None
    enrollment_deadline: str
    closed: bool  # enrollment has closed: the bids are judged
    winner: str | None
    bids: tuple[Bid, ...] = ()
    prices: tuple[Price, ...] = ()  # price bidding, once the quotes are published
    fingerprints: tuple[Fingerprint, ...] = ()
    announcements: int = 1  # this announcement and those it re-announces (MK02)
    repeat_direct: int = 0  # uncontested purchases of the winner by the owner in the window (MK01)
    same_enrollees: int = 0  # purchases with exactly this set of eligible enrollees (MK03)
    handovers: dict[tuple[str, str], int] = field(default_factory=dict)  # (abandoned, moved up) (MK04)


@dataclass(frozen=True)
class AgencyFacts:
    """An agency's bids in the window: (purchase, item, won) per purchase it took part in."""

    agency_id: str
    bids: tuple[tuple[str, str, bool], ...]


@dataclass(frozen=True)
class Finding:
    """A flag that applies now."""

    code: str
    subject: str  # the purchase id, or `agency:<id>`
    purchase_id: str | None
    owner_id: str | None
    agencies: tuple[str, ...]
    detail: str

    @property
    def flag_id(self) -> str:
        return f"{self.code}:{self.subject}"


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _finding(facts: Facts, code: str, agencies: list[str] | tuple[str, ...], detail: str) -> Finding:
    return Finding(
        code, facts.purchase_id, facts.purchase_id, facts.owner_id, tuple(sorted(set(agencies))), detail
    )


def _pct(part: Decimal, whole: Decimal) -> Decimal:
    return (part * 100 / whole).quantize(Decimal("0.01"))


def purchase_flags(facts: Facts, t: Thresholds) -> list[Finding]:
    """Every purchase-level flag that applies to the purchase now, in code order."""
    found: list[Finding] = []
    competitive = facts.method not in NO_WINDOW
    if competitive and facts.published_at:
        hours = (_instant(facts.enrollment_deadline) - _instant(facts.published_at)).total_seconds() / 3600
        if hours < t.short_window_hours:
            found.append(
                _finding(
                    facts, "R003", [], f"enrollment was open {hours:.1f} h, under {t.short_window_hours} h"
                )
            )
    if competitive and facts.closed:
        found += _bid_flags(facts, t)
    if facts.prices:
        found += _price_flags(facts, t)
    found += _similarities(facts)
    found += _marketplace_flags(facts, t)
    return sorted(found, key=lambda f: f.code)


def _bid_flags(facts: Facts, t: Thresholds) -> list[Finding]:
    found: list[Finding] = []
    bids = facts.bids
    if len(bids) == 1:
        found.append(_finding(facts, "R018", [bids[0].agency_id], "one enrollment when enrollment closed"))
    disqualified = [b for b in bids if b.eligible is False]
    others_out = len(disqualified) == len(bids) - 1 and all(b.agency_id != facts.winner for b in disqualified)
    if facts.winner and len(bids) >= 2 and others_out:
        found.append(
            _finding(
                facts,
                "R035",
                [facts.winner],
                f"{len(disqualified)} of {len(bids)} enrollments ineligible, all but the winner's",
            )
        )
    if len(bids) >= t.disqualified_min_bids and len(disqualified) * 100 >= t.disqualified_percent * len(bids):
        found.append(
            _finding(
                facts,
                "R038",
                [b.agency_id for b in disqualified],
                f"{len(disqualified)} of {len(bids)} enrollments ineligible "
                f"(threshold {t.disqualified_percent}%)",
            )
        )
    if facts.winner:
        # The winner's bid is its enrollment and its sealed round-one quote, both due by the
        # enrollment deadline. Later price-bidding rounds open only after that deadline and last
        # minutes each (a live auction: quoting near a round's close is how it works), so their
        # quotes are left out; a time after the deadline is never measured (no negative minutes).
        won = next((b for b in bids if b.agency_id == facts.winner), None)
        sealed = next((p.sealed for p in facts.prices if p.agency_id == facts.winner), None)
        deadline = _instant(facts.enrollment_deadline)
        times = [_instant(x) for x in (won.enrolled_at if won else None, sealed) if x]
        latest = max((x for x in times if x <= deadline), default=None)
        if latest is not None:
            before = (deadline - latest).total_seconds() / 60
            if before <= t.late_bid_minutes:
                found.append(
                    _finding(
                        facts,
                        "R030",
                        [facts.winner],
                        f"the winner's bid came {before:.0f} min before the enrollment deadline "
                        f"(threshold {t.late_bid_minutes} min)",
                    )
                )
    return found


def _price_flags(facts: Facts, t: Thresholds) -> list[Finding]:
    found: list[Finding] = []
    eligible = {b.agency_id for b in facts.bids if b.eligible is not False}
    valid = sorted(
        (p for p in facts.prices if p.valid and p.agency_id in eligible), key=lambda p: (p.price, p.agency_id)
    )
    every = sorted(facts.prices, key=lambda p: (p.price, p.agency_id))
    by_price: dict[Decimal, list[str]] = defaultdict(list)
    for p in valid:
        by_price[p.price].append(p.agency_id)
    same = sorted(a for agencies in by_price.values() if len(agencies) >= 2 for a in agencies)
    if same:
        found.append(_finding(facts, "R028", same, f"{len(same)} valid quotes share a price with another"))
    if every and (not every[0].valid or every[0].agency_id not in eligible):
        found.append(
            _finding(facts, "R036", [every[0].agency_id], "the lowest quote was invalid or ineligible")
        )
    if len(valid) >= 2:
        low, second, high = valid[0].price, valid[1].price, valid[-1].price
        gap = _pct(second - low, low) if low > 0 else Decimal(0)
        if gap <= t.close_price_percent:
            found.append(
                _finding(
                    facts,
                    "R024",
                    [valid[0].agency_id, valid[1].agency_id],
                    f"the second-lowest valid quote is {gap}% above the lowest "
                    f"(threshold {t.close_price_percent}%)",
                )
            )
        discount = _pct(second - low, second) if second > 0 else Decimal(0)
        if discount >= t.discount_percent:
            found.append(
                _finding(
                    facts,
                    "R058",
                    [valid[0].agency_id],
                    f"the lowest valid quote is {discount}% under the second-lowest "
                    f"(threshold {t.discount_percent}%)",
                )
            )
        spread = _pct(high - low, low) if low > 0 else Decimal(0)
        if spread >= t.price_disparity_percent:
            found.append(
                _finding(
                    facts,
                    "R055",
                    [valid[0].agency_id, valid[-1].agency_id],
                    f"the highest valid quote is {spread}% above the lowest "
                    f"(threshold {t.price_disparity_percent}%)",
                )
            )
    return found


def _similarities(facts: Facts) -> list[Finding]:
    """R044: agencies of the purchase sharing a contact or an address (compared by keyed hash)."""
    enrolled = {b.agency_id for b in facts.bids}
    holders: dict[tuple[str, str], set[str]] = defaultdict(set)
    for f in facts.fingerprints:
        if f.agency_id in enrolled:
            holders[(f.kind, f.digest)].add(f.agency_id)
    shared = {
        (kind, tuple(sorted(agencies))) for (kind, _), agencies in holders.items() if len(agencies) >= 2
    }
    if not shared:
        return []
    agencies = sorted({a for _, group in shared for a in group})
    kinds = sorted({kind for kind, _ in shared})
    return [
        _finding(
            facts, "R044", agencies, f"{len(agencies)} enrollees each share with another: {', '.join(kinds)}"
        )
    ]


def _marketplace_flags(facts: Facts, t: Thresholds) -> list[Finding]:
    found: list[Finding] = []
    if facts.method in UNCONTESTED and facts.winner and facts.repeat_direct >= t.repeat_direct:
        found.append(
            _finding(
                facts,
                "MK01",
                [facts.winner],
                f"the owner chose this agency without competition {facts.repeat_direct} times in "
                f"{t.window_days} days (threshold {t.repeat_direct})",
            )
        )
    if facts.announcements - 1 >= t.reannouncements:
        found.append(
            _finding(
                facts,
                "MK02",
                [],
                f"announced {facts.announcements} times (re-announced {facts.announcements - 1}, "
                f"threshold {t.reannouncements})",
            )
        )
    eligible = [b.agency_id for b in facts.bids if b.eligible]
    if len(eligible) >= 2 and facts.same_enrollees >= t.same_enrollees:
        found.append(
            _finding(
                facts,
                "MK03",
                eligible,
                f"the same {len(eligible)} eligible enrollees in {facts.same_enrollees} purchases in "
                f"{t.window_days} days (threshold {t.same_enrollees})",
            )
        )
    repeated = sorted(pair for pair, n in facts.handovers.items() if n >= t.handovers)
    if repeated:
        worst = max(facts.handovers[p] for p in repeated)
        found.append(
            _finding(
                facts,
                "MK04",
                [a for pair in repeated for a in pair],
                f"an abandonment handed the deal to the same reserve {worst} times in {t.window_days} days "
                f"(threshold {t.handovers})",
            )
        )
    return found


def agency_flags(facts: AgencyFacts, t: Thresholds) -> list[Finding]:
    """R025 and R048: an agency's bids across purchases in the window."""
    found: list[Finding] = []
    subject = f"agency:{facts.agency_id}"
    won = [b for b in facts.bids if b[2]]
    lost = len(facts.bids) - len(won)
    if not won and lost >= t.unsuccessful_bids:
        found.append(
            Finding(
                "R025",
                subject,
                None,
                None,
                (facts.agency_id,),
                f"{lost} eligible enrollments without a win in {t.window_days} days "
                f"(threshold {t.unsuccessful_bids})",
            )
        )
    items = {b[1] for b in won}
    if len(items) >= t.heterogeneous_items:
        found.append(
            Finding(
                "R048",
                subject,
                None,
                None,
                (facts.agency_id,),
                f"won purchases of {len(items)} different items in {t.window_days} days "
                f"(threshold {t.heterogeneous_items})",
            )
        )
    return found


# Cross-purchase keys: which sets a purchase belongs to.


@dataclass(frozen=True)
class Marks:
    """The cross-purchase keys of one purchase (each a set of purchases, counted in the window)."""

    repeat_direct: str | None = None  # MK01: owner and the agency it chose without competition
    same_enrollees: str | None = None  # MK03: the set of eligible enrollees
    handovers: tuple[tuple[str, tuple[str, str]], ...] = ()  # MK04: (key, (abandoned, moved up))
    bids: tuple[tuple[str, bool], ...] = ()  # R025/R048: each agency that bid and whether it won


def handover_pairs(abandoned: list[str], selected: str | None) -> list[tuple[str, str]]:
    """(the agency that abandoned, the one the deal passed to), in order."""
    if not abandoned:
        return []
    following = [*abandoned[1:], selected]
    return [(a, b) for a, b in zip(abandoned, following, strict=True) if b is not None and a != b]


def marks(
    *,
    owner_id: str,
    method: str,
    winner: str | None,
    eligible: list[str],
    abandoned: list[str],
    decided: bool,
) -> Marks:
    """`decided`: the purchase has its outcome (a result or a failure), so its bids count."""
    repeat = f"MK01#{owner_id}#{winner}" if method in UNCONTESTED and winner else None
    same = None
    if len(eligible) >= 2:
        digest = hashlib.sha256("\n".join(sorted(eligible)).encode()).hexdigest()[:32]
        same = f"MK03#{digest}"
    hand = tuple((f"MK04#{a}#{b}", (a, b)) for a, b in handover_pairs(abandoned, winner))
    bidders = set(eligible) | ({winner} if winner else set())
    bids = tuple((a, a == winner) for a in sorted(bidders)) if decided else ()
    return Marks(repeat, same, hand, bids)


# Stored flag records: raise, keep, clear.


def reconcile(
    current: dict[str, Flag], found: list[Finding], now: str
) -> tuple[dict[str, Flag], list[Flag], list[Flag]]:
    """The subject's flags after a recomputation: `found` raised (again), the others cleared, kept in
    history. Returns (every flag, newly raised, newly cleared); nothing changes for a repeat."""
    result = dict(current)
    raised: list[Flag] = []
    cleared: list[Flag] = []
    seen = set()
    for f in found:
        seen.add(f.flag_id)
        old = current.get(f.flag_id)
        view = dict(
            flag_id=f.flag_id,
            code=f.code,
            title=TITLES[f.code],
            purchase_id=f.purchase_id,
            owner_id=f.owner_id,
            agencies=list(f.agencies),
        )
        if old is None or old.state == "cleared":
            history = [*(old.history if old else []), [now, None]]
            flag = Flag(**view, detail=f.detail, state="raised", raised_at=now, history=history)
            result[f.flag_id] = flag
            raised.append(flag)
        elif old.detail != f.detail or old.agencies != list(f.agencies):
            result[f.flag_id] = revised(old, detail=f.detail, agencies=list(f.agencies))
    for flag_id, old in current.items():
        if flag_id not in seen and old.state == "raised":
            history = [*old.history[:-1], [old.history[-1][0] if old.history else old.raised_at, now]]
            flag = revised(old, state="cleared", cleared_at=now, history=history)
            result[flag_id] = flag
            cleared.append(flag)
    return result, raised, cleared


# GET /red-flags: one listing partition per combination of filters.


def listing_keys(flag: Flag) -> list[str]:
    """Every filter combination under which `flag` is listed (code, owner, agency; each optional)."""
    owners = [None, flag.owner_id] if flag.owner_id else [None]
    agencies: list[str | None] = [None, *flag.agencies]
    return sorted(
        {
            listing_key(code, owner, agency)
            for code in (None, flag.code)
            for owner in owners
            for agency in agencies
        }
    )


def listing_key(code: str | None, owner: str | None, agency: str | None) -> str:
    parts = [
        f"{name}={value}" for name, value in (("code", code), ("owner", owner), ("agency", agency)) if value
    ]
    return "&".join(parts) or "all"


ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$"


class RedFlagQuery(StrictModel):
    """`GET /red-flags`: every filter optional, combinable; a page of at most `limit`."""

    code: str | None = Field(
        default=None, pattern="^(" + "|".join(CODES) + ")$", description="an indicator code, e.g. R018"
    )
    owner: str | None = Field(default=None, pattern=ID_PATTERN, description="the owner's id")
    agency: str | None = Field(default=None, pattern=ID_PATTERN, description="an agency the flag concerns")
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=2048)
