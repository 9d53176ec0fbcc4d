"""Cold-start import time of each function against the reference: what every function must
import anyway (boto3, pynamodb.models, chalice, aws_xray_sdk.core and pydantic's BaseModel),
measured in the same run (docs/adr/0005-libraries-and-cold-start.md).

Both sides import from the layer as built (compiled, as it ships: infra/layer.py) and from the
function package compiled the same way, with the Lambda runtime's boto3 beside them
(infra/layer_check.runtime_stand_ins; a package whose binary is for another platform than this
machine's, such as pydantic_core's arm64 one, is this machine's build of the same pinned version).

Each sample is a fresh interpreter with the environment a deployed function has (X-Ray on), so
the figure includes our module imports and `observability.configure()`. Reference and function
are sampled alternately, so both see the same machine load, and each keeps its fastest sample:
the fastest run is the one least disturbed by anything else the machine was doing. Times are the
process's CPU time. Functions whose import loads the same modules are one measurement, shared.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_NAME = "floor_and_pydantic"
REFERENCE_IMPORTS = (
    "import boto3, pynamodb.models, chalice, aws_xray_sdk.core; from pydantic import BaseModel"
)
# The reference as a function would import it: with the garbage collector paused, as every
# function's start pauses it (functions/chalicelib/startup.py). For information: like with like.
REFERENCE_COLLECTOR_PAUSED = "import gc; gc.disable()\n" + REFERENCE_IMPORTS
APP_IMPORT = "import app; app.app.handler_map[{name!r}]"
TASK_IMPORT = "import chalicelib.{area}; chalicelib.{area}.{name}"
SAMPLES = 7
# CPU time of the process, not wall time: an import is CPU-bound once the files are cached, and
# CPU time leaves out the moments the machine's other work held the core (wall-clock samples on
# this 2-core VM varied by 50%).
_TIMER = """
import time
_t = time.process_time()
{body}
print((time.process_time() - _t) * 1000)
"""
_MODULES = """
import sys
{body}
print(" ".join(sorted(sys.modules)))
"""


def _compiled_layer() -> Path:
    """The built layer's python/ tree: infra/build's if it is current (our package in it is the
    source's, compiled), else built now as `make infra` builds it."""
    from infra import layer
    from infra.paths import BUILD_DIR, LAYER_SOURCE

    python = BUILD_DIR / "layer" / "python"
    if not _current(python / "marketplace", LAYER_SOURCE / "marketplace"):
        python = layer.build_layer(out_dir=BUILD_DIR).directory / "python"
    if not _current(python / "marketplace", LAYER_SOURCE / "marketplace"):
        raise RuntimeError(f"the layer built in {python} is not compiled: the cold start would compile it")
    return python


def _current(built: Path, source: Path) -> bool:
    """The same sources, each with its bytecode beside it."""
    sources = sorted(p.relative_to(source) for p in source.rglob("*.py"))
    built_sources = sorted(p.relative_to(built) for p in built.rglob("*.py")) if built.is_dir() else []
    if sources != built_sources:
        return False
    for relative in sources:
        if (built / relative).read_bytes() != (source / relative).read_bytes():
            return False
        cached = built / relative.parent / "__pycache__"
        if not any(cached.glob(f"{relative.stem}.cpython-*.pyc")):
            return False
    return True


@contextmanager
def deployed_tree() -> Iterator[list[str]]:
    """The import path of a deployed function on this machine: the function package (app.py and
    chalicelib, compiled as the layer is), then the layer with the runtime's boto3."""
    from infra.bytecode import TASK_ROOT, compile_tree
    from infra.layer_check import runtime_stand_ins

    layer_python = _compiled_layer()
    with tempfile.TemporaryDirectory(prefix="coldstart-") as tmp:
        package, runtime = Path(tmp) / "task", Path(tmp) / "opt"
        package.mkdir()
        runtime.mkdir()
        shutil.copy2(ROOT / "functions" / "app.py", package / "app.py")
        shutil.copytree(
            ROOT / "functions" / "chalicelib",
            package / "chalicelib",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        compile_tree(package, TASK_ROOT)  # as the build compiles the function package
        runtime_stand_ins(runtime, layer_python)
        yield [str(package), str(runtime)]


def _environment(path: list[str], area: str = "") -> dict[str, str]:
    """The variables a deployed function has (infra/lambdas.py) that change what is imported."""
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(path),
            "AWS_DEFAULT_REGION": "cn-north-1",
            "AWS_XRAY_SDK_ENABLED": "true",
            "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYDANTIC_DISABLE_PLUGINS": "__all__",
            "MARKETPLACE_AREA": area,
        }
    )
    return env


def _run(code: str, path: list[str], area: str) -> str:
    result = subprocess.run(
        [sys.executable, "-S", "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=path[0],
        env=_environment(path, area),
    )
    return result.stdout.strip().splitlines()[-1]


def entry(name: str, area: str, is_route: bool) -> str:
    """A route's function imports app.py, as its handler `app.app` does; a task's imports its own
    module, as Chalice's handler string does."""
    return APP_IMPORT.format(name=name) if is_route else TASK_IMPORT.format(area=area, name=name)


def modules(body: str, path: list[str], area: str = "") -> set[str]:
    return set(_run(_MODULES.format(body=body), path, area).split())


def measure(functions: dict[str, tuple[str, bool]], samples: int = SAMPLES) -> dict[str, Any]:
    """`functions`: name -> (area, is_route). Returns `cold_start` (per function: its ratio to the
    reference, the modules it loads beyond it, and the functions it shares a measurement with) and
    `cold_start_reference`. A function whose import fails in its deployed environment gets
    `error` (the last line of its traceback)."""
    with deployed_tree() as path:
        baseline = modules(REFERENCE_IMPORTS, path)
        groups: dict[frozenset[str], list[str]] = {}
        figures: dict[str, dict[str, Any]] = {}
        for name, (area, is_route) in sorted(functions.items()):
            try:
                imported = modules(entry(name, area, is_route), path, area)
            except subprocess.CalledProcessError as exc:
                lines = (exc.stderr or "").strip().splitlines() or ["no output"]
                figures[name] = {"error": f"MARKETPLACE_AREA={area!r}: {lines[-1]}"}
                continue
            groups.setdefault(frozenset(imported), []).append(name)
        references: list[float] = []
        paused: list[float] = []
        for loaded, names in groups.items():
            area, is_route = functions[names[0]]
            figure = _against_reference(
                entry(names[0], area, is_route), area, path, samples, references, paused
            )
            ours = sorted(
                m for m in loaded - baseline if m.split(".")[0] in ("marketplace", "chalicelib", "app")
            )
            beyond = sorted(m for m in loaded - baseline if m not in ours)
            for name in names:
                figures[name] = {
                    **figure,
                    "measured_as": names[0],
                    "shared_with": [n for n in names if n != name],
                    "modules_of_ours": len(ours),
                    "libraries_beyond_reference": _top_level(beyond),
                }
        reference = {
            "imports": REFERENCE_IMPORTS,
            "import_ms": round(min(references), 1) if references else None,
            "import_median_ms": round(statistics.median(references), 1) if references else None,
            "samples": len(references),
        }
        like_for_like = {
            "imports": REFERENCE_COLLECTOR_PAUSED,
            "import_ms": round(min(paused), 1) if paused else None,
            "samples": len(paused),
        }
    return {
        "cold_start": figures,
        "cold_start_reference": {
            "name": REFERENCE_NAME,
            REFERENCE_NAME: reference,
            "collector_paused": like_for_like,
        },
    }


def _top_level(names: list[str]) -> list[str]:
    """Library packages (and stdlib modules) loaded beyond the reference, by top-level name."""
    return sorted({n.split(".")[0] for n in names})


def _sample_ms(body: str, path: list[str], area: str) -> float:
    return float(_run(_TIMER.format(body=body), path, area))


def _against_reference(
    body: str, area: str, path: list[str], samples: int, references: list[float], paused: list[float]
) -> dict[str, Any]:
    """The ratio against the reference as the issue defines it, and for information against the
    reference imported with the collector paused as the function's own start does."""
    floors, imports, floors_paused = [], [], []
    for _ in range(samples):
        floors.append(_sample_ms(REFERENCE_IMPORTS, path, ""))
        imports.append(_sample_ms(body, path, area))
        floors_paused.append(_sample_ms(REFERENCE_COLLECTOR_PAUSED, path, ""))
    references.extend(floors)
    paused.extend(floors_paused)
    floor, import_ms = min(floors), min(imports)
    return {
        "import_ms": round(import_ms, 1),
        "import_median_ms": round(statistics.median(imports), 1),
        "reference_ms": round(floor, 1),
        "ratio": round(import_ms / floor, 3),
        "reference_collector_paused_ms": round(min(floors_paused), 1),
        "ratio_collector_paused_both": round(import_ms / min(floors_paused), 3),
        "pairs": samples,
    }


def main() -> int:
    """`python -m bench.coldstart`: the cold-start part of the bench alone, printed as JSON."""
    from infra.operations import discover

    functions = {op.name: (op.area, op.is_route) for op in discover()}
    measured = measure(functions)
    print(json.dumps(measured, indent=1))
    from bench import report

    results = {**measured, "scans_on_request_paths": None, "function_zip_bytes": 0, "layer_unzipped_bytes": 0}
    for name in ("cold_start_ratio", "cold_start_ratio_median"):
        print(name, report.targets(results)[name])
    return 0


if __name__ == "__main__":
    sys.exit(main())
