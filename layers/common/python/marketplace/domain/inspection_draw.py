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
inspection's proof against its plan (`GET /inspections/{id}`, public before the draw) with
nothing else.
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


# What a plan (`GET /inspections/{id}`, published before the draw) must hold to check a proof by.
PLAN_FIELDS = (
    "inspection_id",
    "commitment",
    "agencies",
    "inspectors",
    "inspectors_per_agency",
    "agency_digest",
    "inspector_digest",
)


def verify(published: dict[str, Any], plan: dict[str, Any]) -> list[str]:
    """Recompute an inspection's proof and check it against its `plan`, the public document of
    `GET /inspections/{id}` published before the draw: the same commitment, the frozen candidates
    (digests, and the lists when the plan carries them), the plan's numbers and the draw subjects.
    A proof is only consistent with itself otherwise: another seed, other candidates or fewer
    winners would recompute too. The problems found, empty when it is valid."""
    problems = _self_consistent(published)
    if problems:
        return problems
    return _against_plan(published, plan)


def _self_consistent(published: dict[str, Any]) -> list[str]:
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


def _against_plan(published: dict[str, Any], plan: dict[str, Any]) -> list[str]:
    if not isinstance(plan, dict):
        return ["the plan must be a JSON object (GET /inspections/{id})"]
    missing = [k for k in PLAN_FIELDS if k not in plan]
    if missing:
        return [f"the plan misses fields: {', '.join(missing)} (is it GET /inspections/{{id}}?)"]
    if plan["inspection_id"] != published["inspection_id"]:
        return [
            f"inspection_id: the proof is of {published['inspection_id']!r}, "
            f"the plan of {plan['inspection_id']!r}"
        ]
    problems: list[str] = []
    if published["commitment"] != plan["commitment"]:
        problems.append(
            "commitment: the proof's seed is not the one the plan committed to "
            f"(plan {plan['commitment']}, proof {published['commitment']})"
        )
    parts = {
        "agencies": ("agency_digest", "agency_candidates", "agencies"),
        "inspectors": ("inspector_digest", "inspector_candidates", "inspectors"),
    }
    for part, (digest, listed, number) in parts.items():
        sub = published[part]
        if sub.get("digest") != plan[digest]:
            problems.append(
                f"{part}: candidates differ from the plan's frozen list "
                f"(plan {digest} {plan[digest]}, proof {sub.get('digest')})"
            )
        if listed in plan and list(sub.get("candidates", [])) != list(plan[listed]):
            problems.append(f"{part}: candidates differ from the plan's {listed}")
        if len(sub.get("winners", [])) != plan[number]:
            problems.append(
                f"{part}: {len(sub.get('winners', []))} drawn, the plan draws {plan[number]} ({number})"
            )
    if published["inspectors_per_agency"] != plan["inspectors_per_agency"]:
        problems.append(
            f"inspectors_per_agency: the proof assigns {published['inspectors_per_agency']}, "
            f"the plan {plan['inspectors_per_agency']}"
        )
    return problems
