"""The draw of a random inspection (双随机、一公开, docs/inspections.md): two `hmac-sha256-rank/v1`
draws (domain/draw.py, unchanged) under one committed seed, and the assignment of the drawn
inspectors to the drawn agencies.

1. At the plan's creation the platform draws one secret 32-byte `seed`, publishes
   `commitment` = hex SHA-256(seed), and freezes both candidate lists (published with their digests).
2. At the draw time, the agencies are drawn with the draw subject `<inspection id>:agencies`
   (in the shared proof format's `purchase_id` field) and the inspectors with
   `<inspection id>:inspectors`: the rank of a candidate is
   HMAC-SHA256(seed, subject + ":" + digest + ":" + candidate). In the inspectors' proof the
   `agency_id` of the shared format holds the inspector's staff code.
3. The first `agencies` of the agencies' ranking are inspected; the first `inspectors` of the
   inspectors' ranking form the team; no reserves.
4. Assignment: the agency at drawn position i (0-based) gets the team members at positions
   (i * k + j) mod T for j = 0..k-1, where k = inspectors per agency and T = the team's size
   (T >= k, so an agency's k inspectors are distinct; with T = agencies * k each inspector checks
   exactly one agency).

Standard library only, like domain/draw.py: `python -m marketplace.verify_draw` checks an
inspection's proof with nothing else.
"""

from __future__ import annotations

from typing import Any

from marketplace.domain import draw

KIND = "inspection"


def agencies_subject(inspection_id: str) -> str:
    return f"{inspection_id}:agencies"


def inspectors_subject(inspection_id: str) -> str:
    return f"{inspection_id}:inspectors"


def assign(agencies: list[str], team: list[str], per_agency: int) -> list[dict[str, Any]]:
    """Each drawn agency (in drawn order) with its `per_agency` inspectors from the team (in drawn
    order), round-robin: agency i gets team[(i*k + j) mod T], j = 0..k-1."""
    if per_agency < 1 or len(team) < per_agency:
        raise ValueError("the team must hold at least the inspectors one agency needs")
    size = len(team)
    return [
        {"agency_id": agency, "inspectors": [team[(i * per_agency + j) % size] for j in range(per_agency)]}
        for i, agency in enumerate(agencies)
    ]


def proof(
    inspection_id: str,
    seed: bytes,
    *,
    agency_candidates: list[str],
    inspector_candidates: list[str],
    agencies: int,
    inspectors: int,
    per_agency: int,
    drawn_at: str,
) -> dict[str, Any]:
    """The published proof of both draws and the assignment."""
    drawn_agencies = draw.draw(
        agencies_subject(inspection_id),
        seed,
        agency_candidates,
        winners=agencies,
        reserves=0,
        drawn_at=drawn_at,
    )
    team = draw.draw(
        inspectors_subject(inspection_id),
        seed,
        inspector_candidates,
        winners=inspectors,
        reserves=0,
        drawn_at=drawn_at,
    )
    return {
        "algorithm": draw.ALGORITHM,
        "kind": KIND,
        "inspection_id": inspection_id,
        "commitment": draw.commitment(seed),
        "seed": seed.hex(),
        "agencies": drawn_agencies.as_dict(),
        "inspectors": team.as_dict(),
        "inspectors_per_agency": per_agency,
        "assignment": assign(drawn_agencies.winners, team.winners, per_agency),
        "drawn_at": drawn_at,
    }


def verify(published: dict[str, Any]) -> list[str]:
    """Recompute an inspection's proof; the problems found, empty when it is valid."""
    required = ("algorithm", "kind", "inspection_id", "commitment", "seed", "agencies", "inspectors")
    missing = [k for k in (*required, "inspectors_per_agency", "assignment") if k not in published]
    if missing:
        return [f"missing fields: {', '.join(missing)}"]
    if published["algorithm"] != draw.ALGORITHM:
        return [f"unknown algorithm {published['algorithm']!r}; this verifier checks {draw.ALGORITHM}"]
    inspection_id = str(published["inspection_id"])
    problems: list[str] = []
    subjects = {"agencies": agencies_subject(inspection_id), "inspectors": inspectors_subject(inspection_id)}
    for part, subject in subjects.items():
        sub = published[part]
        if not isinstance(sub, dict):
            return [f"{part} is not a draw proof"]
        if sub.get("purchase_id") != subject:
            problems.append(f"{part}: the draw subject must be {subject!r}")
        if sub.get("seed") != published["seed"] or sub.get("commitment") != published["commitment"]:
            problems.append(f"{part}: not drawn with the inspection's committed seed")
        if sub.get("reserves"):
            problems.append(f"{part}: an inspection draws no reserves")
        problems += [f"{part}: {p}" for p in draw.verify(sub)]
    if problems:
        return problems
    per_agency = published["inspectors_per_agency"]
    team = list(published["inspectors"]["winners"])
    if not isinstance(per_agency, int) or per_agency < 1 or per_agency > len(team):
        return ["inspectors_per_agency must be between 1 and the team's size"]
    if published["assignment"] != assign(list(published["agencies"]["winners"]), team, per_agency):
        problems.append("assignment does not follow the drawn orders (docs/inspections.md)")
    return problems
