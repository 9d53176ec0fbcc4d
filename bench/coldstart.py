"""Cold-start import time of each function against the floor of the libraries every function
needs anyway (boto3, pynamodb.models, chalice, aws_xray_sdk), measured in the same run.

Each sample is a fresh interpreter with the environment a deployed function has (X-Ray on), so
the figure includes our module imports and `observability.configure()`. Floor and function are
sampled alternately, so both see the same machine load, and each keeps its fastest sample: the
fastest run is the one least disturbed by anything else the machine was doing.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOOR_IMPORTS = "import boto3, pynamodb.models, chalice, aws_xray_sdk.core"
APP_IMPORT = "import app; app.app.handler_map[{name!r}]"
# The deployed layer has no `cryptography` (docs/adr/0004-token-verification.md); the dev
# environment does, and PyJWT imports it when present. Hide it so the figure is the deployed one.
_TIMER = """
import sys, time
sys.modules["cryptography"] = None
_t = time.perf_counter()
{body}
print((time.perf_counter() - _t) * 1000)
"""


def _environment() -> dict[str, str]:
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
        }
    )
    return env


def _sample_ms(body: str) -> float:
    result = subprocess.run(
        [sys.executable, "-c", _TIMER.format(body=body)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT / "functions",
        env=_environment(),
    )
    return float(result.stdout.strip().splitlines()[-1])


def measure(function_names: list[str], samples: int = 5) -> dict[str, dict[str, float]]:
    figures: dict[str, dict[str, float]] = {}
    for name in function_names:
        floors, imports = [], []
        for _ in range(samples):
            floors.append(_sample_ms(FLOOR_IMPORTS))
            imports.append(_sample_ms(APP_IMPORT.format(name=name)))
        floor, import_ms = min(floors), min(imports)
        figures[name] = {
            "import_ms": round(import_ms, 1),
            "import_median_ms": round(statistics.median(imports), 1),
            "floor_ms": round(floor, 1),
            "ratio": round(import_ms / floor, 3),
        }
    return figures
