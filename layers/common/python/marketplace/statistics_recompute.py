"""Rebuild the statistics' aggregates from the ledger of folded events (docs/statistics.md).

    python -m marketplace.statistics_recompute           # rebuild, print what changed
    python -m marketplace.statistics_recompute --check   # compare only: exit 1 if they differ

Pause the `fold_statistics` consumer first (disable its event source mapping): an event folded
while the rows are rewritten would be lost from them (it stays in the ledger; run again)."""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m marketplace.statistics_recompute")
    parser.add_argument(
        "--check", action="store_true", help="compare the ledger's fold with the kept rows only"
    )
    args = parser.parse_args(argv)

    from marketplace.services import statistics as service

    if args.check:
        recomputed, kept = service.recomputed(), service.kept()
        differing = sorted(k for k in recomputed.keys() | kept.keys() if recomputed.get(k) != kept.get(k))
        print(
            json.dumps(
                {"rows": len(recomputed), "differing": [list(k) for k in differing]}, ensure_ascii=False
            )
        )
        return 1 if differing else 0
    print(json.dumps(service.rebuild(), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
