"""Check a published draw proof independently of the platform's stored result.

    python -m marketplace.verify_draw PROOF.json
    python -m marketplace.verify_draw https://…/purchases/P-2026-0001/draw
    python -m marketplace.verify_draw https://…/inspections/INS-20261206-0A1B2C3D4E/draw
    python -m marketplace.verify_draw INSPECTION-PROOF.json PLAN.json

An inspection's proof ("kind": "inspection") is checked against its plan, the document of
GET /inspections/{id} published before the draw: the same commitment, the frozen candidates, the
plan's numbers of agencies, inspectors and inspectors per agency, and the draw subjects. Given the
proof's URL, the verifier fetches the plan from the same URL without its `/draw`; given a file,
the plan is the second argument (a file or a URL). An inspection proof without its plan is not
checked (exit 2): on its own, a proof drawn with another seed, other candidates or fewer winners
would recompute as well.

Prints `valid` and exits 0, or lists what is wrong and exits 1 (2 when the proof or the plan
cannot be read).
"""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path
from typing import Any

from marketplace import strict_json
from marketplace.domain import inspection_draw
from marketplace.domain.draw import verify

DRAW_SUFFIX = "/draw"


def _is_url(source: str) -> bool:
    return source.startswith(("https://", "http://"))


def _load(source: str) -> Any:
    # A repeated key would let two readers of one proof see two draws: refused (strict_json).
    if _is_url(source):
        with urllib.request.urlopen(source, timeout=10) as response:  # noqa: S310 - http(s) only
            return strict_json.loads(response.read())
    return strict_json.loads(Path(source).read_bytes())


def plan_source(proof_source: str) -> str | None:
    """Where an inspection proof's plan is: its URL without `/draw` (None for a file)."""
    if not _is_url(proof_source):
        return None
    base = proof_source.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    return base[: -len(DRAW_SUFFIX)] if base.endswith(DRAW_SUFFIX) else None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    if len(args) not in (1, 2):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        proof = _load(args[0])
    except (OSError, ValueError, RecursionError) as exc:
        print(f"cannot read the proof: {exc}", file=sys.stderr)
        return 2
    if not isinstance(proof, dict):
        print("the proof must be a JSON object", file=sys.stderr)
        return 2
    inspection = proof.get("kind") == inspection_draw.KIND
    if not inspection:
        if len(args) == 2:
            print("a purchase's proof is checked alone: no second argument", file=sys.stderr)
            return 2
        problems = verify(proof)
    else:
        source = args[1] if len(args) == 2 else plan_source(args[0])
        if source is None:
            print(
                "an inspection's proof is checked against its plan: give the plan "
                "(GET /inspections/{id}) as the second argument",
                file=sys.stderr,
            )
            return 2
        try:
            plan = _load(source)
        except (OSError, ValueError, RecursionError) as exc:
            print(f"cannot read the plan {source}: {exc}", file=sys.stderr)
            return 2
        problems = inspection_draw.verify(proof, plan)
    if problems:
        print("INVALID")
        for problem in problems:
            print(f"- {problem}")
        return 1
    if inspection:
        agencies, team = proof["agencies"]["winners"], proof["inspectors"]["winners"]
        print(
            f"valid: {proof['algorithm']} inspection draw of {proof['inspection_id']} "
            f"(against its plan's commitment and candidates), "
            f"agencies {', '.join(agencies)}; inspectors {', '.join(team)}"
        )
        return 0
    print(
        f"valid: {proof['algorithm']} draw of {proof['purchase_id']}, winners {', '.join(proof['winners'])}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
