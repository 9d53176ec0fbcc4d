"""Every function pauses Python's garbage collector while it imports and runs it again once its
entry module has loaded (functions/chalicelib/startup.py): a function left without a collector
would grow with every cycle its invocations leave behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.operations import Operation, discover

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import gc, sys
{entry}
assert gc.isenabled(), "the collector is still paused after the function's import"
assert gc.get_freeze_count() > 0, "the import's objects were not frozen out of later collections"
print("ok")
"""


def _entry(op: Operation) -> str:
    """What Lambda imports for the function: app.py for a route (Handler app.app), the task's own
    module for a task (Chalice's handler string `chalicelib.<area>.<name>`)."""
    if op.is_route:
        return "import app"
    return f"import chalicelib.{op.area} as module; module.{op.name}"


def _entries() -> list[tuple[str, str]]:
    """One (area, entry) per distinct import, named by the operations that share it."""
    seen: dict[tuple[str, str], list[str]] = {}
    for op in discover():
        seen.setdefault((op.area, _entry(op)), []).append(op.name)
    return sorted(seen)


@pytest.mark.parametrize(("area", "entry"), _entries())
def test_the_collector_runs_once_the_function_has_loaded(area: str, entry: str) -> None:
    env = {
        **os.environ,
        "MARKETPLACE_AREA": area,
        "PYTHONPATH": os.pathsep.join(
            [str(ROOT / "functions"), str(ROOT / "layers" / "common" / "python"), str(ROOT)]
        ),
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(entry=entry)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT / "functions",
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")


def test_the_collector_is_paused_while_a_function_imports() -> None:
    probe = "import gc, chalicelib; print(gc.isenabled())"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "functions"), str(ROOT / "layers" / "common" / "python")]),
    }
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "False"
