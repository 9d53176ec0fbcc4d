"""Check a published draw proof independently of the platform's stored result.

    python -m marketplace.verify_draw PROOF.json
    python -m marketplace.verify_draw https://…/purchases/P-2026-0001/draw
    python -m marketplace.verify_draw https://…/inspections/INS-20261206-0A1B2C3D4E/draw

Prints `valid` and exits 0, or lists what is wrong and exits 1 (2 when the proof cannot be read).
"""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path
from typing import Any

from marketplace import strict_json
from marketplace.domain import inspection_draw
from marketplace.domain.draw import verify


def _load(source: str) -> Any:
    # A repeated key would let two readers of one proof see two draws: refused (strict_json).
    if source.startswith(("https://", "http://")):
        with urllib.request.urlopen(source, timeout=10) as response:  # noqa: S310 - http(s) only
            return strict_json.loads(response.read())
    return strict_json.loads(Path(source).read_bytes())


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
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
    problems = inspection_draw.verify(proof) if inspection else verify(proof)
    if problems:
        print("INVALID")
        for problem in problems:
            print(f"- {problem}")
        return 1
    if inspection:
        agencies, team = proof["agencies"]["winners"], proof["inspectors"]["winners"]
        print(
            f"valid: {proof['algorithm']} inspection draw of {proof['inspection_id']}, "
            f"agencies {', '.join(agencies)}; inspectors {', '.join(team)}"
        )
        return 0
    print(
        f"valid: {proof['algorithm']} draw of {proof['purchase_id']}, winners {', '.join(proof['winners'])}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
