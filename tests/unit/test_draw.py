"""The verifiable draw reproduces every published test vector exactly, and its verifier rejects
any tampering."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest

from marketplace.domain import draw
from marketplace.verify_draw import main as verify_main

VECTORS = json.loads((Path(__file__).parent / "vectors" / "draw-vectors.json").read_text(encoding="utf-8"))[
    "vectors"
]
# Our own vectors (docs/draw.md), computed by this implementation and checked by the verifier.
OWN = json.loads((Path(__file__).parent / "vectors" / "draw-vectors-own.json").read_text(encoding="utf-8"))[
    "vectors"
]


@pytest.mark.parametrize("vector", VECTORS + OWN, ids=lambda v: v["purchase_id"])
def test_each_vector_is_reproduced_exactly(vector: dict) -> None:
    proof = draw.draw(
        vector["purchase_id"],
        bytes.fromhex(vector["seed"]),
        list(reversed(vector["candidates"])),  # the order enrolled in does not matter
        winners=len(vector["winners"]),
        reserves=len(vector["reserves"]),
        drawn_at="2026-11-29T00:00:00Z",
    ).as_dict()
    for key in ("commitment", "candidates", "digest", "ranking", "winners", "reserves"):
        assert proof[key] == vector[key], key
    assert draw.verify(vector) == []


@pytest.mark.parametrize(
    ("field", "change", "problem"),
    [
        ("seed", lambda v: "11" + v["seed"][2:], "commitment"),
        ("winners", lambda v: list(reversed(v["winners"] + v["reserves"]))[: len(v["winners"])], "winners"),
        ("candidates", lambda v: v["candidates"][:-1], "digest"),
        ("ranking", lambda v: list(reversed(v["ranking"])), "ranking"),
        ("commitment", lambda v: "0" * 64, "commitment"),
    ],
)
def test_a_tampered_proof_is_rejected_saying_what_is_wrong(field: str, change, problem: str) -> None:
    tampered = copy.deepcopy(VECTORS[1])
    tampered[field] = change(tampered)
    problems = draw.verify(tampered)
    assert problems and any(problem in p for p in problems), problems


def test_the_command_line_verifier_accepts_a_real_proof_and_rejects_a_changed_byte(tmp_path, capsys) -> None:
    proof = draw.draw(
        "P-CLI",
        draw.new_seed(),
        ["AG-3", "AG-1", "AG-2"],
        winners=1,
        reserves=2,
        drawn_at="2026-11-29T00:00:00Z",
    ).as_dict()
    good = tmp_path / "proof.json"
    good.write_text(json.dumps(proof), encoding="utf-8")
    assert verify_main([str(good)]) == 0 and capsys.readouterr().out.startswith("valid")
    proof["ranking"][0]["rank"] = ("0" if proof["ranking"][0]["rank"][0] != "0" else "1") + proof["ranking"][
        0
    ]["rank"][1:]
    good.write_text(json.dumps(proof), encoding="utf-8")
    assert verify_main([str(good)]) == 1 and "INVALID" in capsys.readouterr().out
    assert verify_main([str(tmp_path / "missing.json")]) == 2


def test_a_draw_needs_a_winner_and_distinct_candidates() -> None:
    with pytest.raises(ValueError):
        draw.draw("P", draw.new_seed(), ["A", "A"], winners=1, reserves=0, drawn_at="t")
    with pytest.raises(ValueError):
        draw.draw("P", draw.new_seed(), ["A"], winners=0, reserves=0, drawn_at="t")


def test_fewer_candidates_than_places_gives_fewer_reserves() -> None:
    proof = draw.draw("P", draw.new_seed(), ["A", "B"], winners=1, reserves=2, drawn_at="t")
    assert len(proof.winners) == 1 and len(proof.reserves) == 1
    assert draw.verify(proof.as_dict()) == []


def test_the_command_line_verifier_refuses_a_proof_with_a_repeated_key(tmp_path, capsys) -> None:
    # Parsers disagree on a repeated key (Python keeps the last, others the first): one file could
    # show two readers two different winners. Refused, as verify_letter does.
    proof = draw.draw(
        "P-DUP",
        draw.new_seed(),
        ["AG-3", "AG-1", "AG-2"],
        winners=1,
        reserves=1,
        drawn_at="2026-11-29T00:00:00Z",
    ).as_dict()
    text = json.dumps(proof)
    assert text.startswith("{")
    duplicated = tmp_path / "proof.json"
    # The same winners key twice: a reader that keeps the first sees AG-0, Python the real winner.
    duplicated.write_text('{"winners": ["AG-0"], ' + text[1:], encoding="utf-8")
    assert verify_main([str(duplicated)]) == 2
    assert "repeated keys: winners" in capsys.readouterr().err


def test_a_value_ordered_draw_ranks_by_value_and_breaks_ties_by_the_draw() -> None:
    values = {
        "AG-1": Decimal("98.50"),
        "AG-2": Decimal("97"),
        "AG-3": Decimal("97.00"),
        "AG-4": Decimal("120"),
    }
    proof = draw.draw("P-1", bytes(32), list(values), winners=1, reserves=3, drawn_at="t", values=values)
    published = proof.as_dict()
    tied_first = {"AG-2", "AG-3"}
    assert set([*proof.winners, proof.reserves[0]]) == tied_first  # the two at 97, in draw order
    by_rank = [e["agency_id"] for e in proof.ranking if e["agency_id"] in tied_first]
    assert [*proof.winners, proof.reserves[0]] == by_rank
    assert proof.reserves[1:] == ["AG-1", "AG-4"]
    assert draw.tied(values) == [["AG-2", "AG-3"]]
    assert draw.verify(published) == []
    # Highest first (proposal scores): the same proof shape, the other order.
    best = draw.draw(
        "P-1",
        bytes(32),
        list(values),
        winners=1,
        reserves=0,
        drawn_at="t",
        values=values,
        values_order="descending",
    )
    assert best.winners == ["AG-4"] and draw.verify(best.as_dict()) == []


def test_a_value_ordered_proof_with_a_changed_value_or_order_is_refused() -> None:
    values = {"AG-1": Decimal("10"), "AG-2": Decimal("11")}
    published = draw.draw(
        "P-1", bytes(32), list(values), winners=1, reserves=1, drawn_at="t", values=values
    ).as_dict()
    assert published["winners"] == ["AG-1"]
    assert draw.verify({**published, "values": {"AG-1": "12", "AG-2": "11"}}) == [
        "winners are not the first of the recomputed ranking",
        "reserves do not follow the winners in the recomputed ranking",
    ]
    assert draw.verify({**published, "values_order": "sideways"}) == [
        "values_order must be one of ascending, descending"
    ]
    assert draw.verify({**published, "values": {"AG-1": "10"}}) == [
        "values must give exactly one value per candidate"
    ]
    assert draw.verify({**published, "values": {"AG-1": "NaN", "AG-2": "11"}}) == [
        "a value is not a finite decimal number"
    ]
