"""Cold-start import time of each function against the floor of the libraries every function
needs anyway (boto3, pynamodb.models, chalice, aws_xray_sdk), measured in the same run.

Each sample is a fresh interpreter with the environment a deployed function has (X-Ray on), so
the figure includes our module imports and `observability.configure()`. Floor and function are
sampled alternately, so both see the same machine load, and each keeps its fastest sample: the
fastest run is the one least disturbed by anything else the machine was doing. Times are the
process's CPU time.

Our sources are compiled to bytecode first, as pip compiled the floor's libraries when it
installed them: both sides then import cached bytecode, whatever ran (or did not) before the
bench. Without it a function's figure included compiling our modules, or not, by chance.
"""

from __future__ import annotations

import compileall
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("layers/common/python", "functions")
FLOOR_IMPORTS = "import boto3, pynamodb.models, chalice, aws_xray_sdk.core"
PYDANTIC_IMPORT = "from pydantic import BaseModel, Field"
APP_IMPORT = "import app; app.app.handler_map[{name!r}]"
TASK_IMPORT = "import chalicelib.{area}; chalicelib.{area}.{name}"
# The deployed layer has no `cryptography` (docs/adr/0004-token-verification.md); the dev
# environment does, and PyJWT imports it when present. Hide it so the figure is the deployed one.
# CPU time of the process, not wall time: an import is CPU-bound once the files are cached, and
# CPU time leaves out the moments the machine's other work held the core (wall-clock samples on
# this 2-core VM varied by 50%).
_TIMER = """
import sys, time
sys.modules["cryptography"] = None
_t = time.process_time()
{body}
print((time.process_time() - _t) * 1000)
"""


def _environment(area: str = "") -> dict[str, str]:
    """The variables a deployed function has (infra/lambdas.py) that change what is imported."""
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(
                [str(ROOT / "layers/common/python"), str(ROOT / "functions"), str(ROOT)]
            ),
            "AWS_DEFAULT_REGION": "cn-north-1",
            "AWS_XRAY_SDK_ENABLED": "true",
            "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYDANTIC_DISABLE_PLUGINS": "__all__",
            "MARKETPLACE_AREA": area,
        }
    )
    return env


def _sample_ms(body: str, area: str = "") -> float:
    result = subprocess.run(
        [sys.executable, "-c", _TIMER.format(body=body)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT / "functions",
        env=_environment(area),
    )
    return float(result.stdout.strip().splitlines()[-1])


def measure(functions: dict[str, tuple[str, bool]], samples: int = 5) -> dict[str, dict[str, Any]]:
    """`functions`: name -> (area, is_route). A route's function imports app.py, as its handler
    `app.app` does; a task's imports its own module, as Chalice's handler string does. A function
    whose import fails in its deployed environment gets `error` (the last line of its traceback)."""
    figures: dict[str, dict[str, Any]] = {}
    for source in SOURCES:
        compileall.compile_dir(ROOT / source, quiet=1)
    for name, (area, is_route) in sorted(functions.items()):
        entry = APP_IMPORT.format(name=name) if is_route else TASK_IMPORT.format(area=area, name=name)
        try:
            figures[name] = _against_floor(entry, area, samples)
        except subprocess.CalledProcessError as exc:
            lines = (exc.stderr or "").strip().splitlines() or ["no output"]
            figures[name] = {"error": f"MARKETPLACE_AREA={area!r}: {lines[-1]}"}
    return figures


def reference(samples: int = 5) -> dict[str, Any]:
    """What a function that validates with pydantic starts from: the floor plus pydantic's own
    import, before any model or code of ours. The distance from it to 1.25 is what the target
    leaves for a function's own code."""
    return _against_floor(f"{FLOOR_IMPORTS}; {PYDANTIC_IMPORT}", "", samples)


def _against_floor(entry: str, area: str, samples: int) -> dict[str, Any]:
    floors, imports = [], []
    for _ in range(samples):
        floors.append(_sample_ms(FLOOR_IMPORTS))
        imports.append(_sample_ms(entry, area))
    floor, import_ms = min(floors), min(imports)
    return {
        "import_ms": round(import_ms, 1),
        "import_median_ms": round(statistics.median(imports), 1),
        "floor_ms": round(floor, 1),
        "ratio": round(import_ms / floor, 3),
    }
