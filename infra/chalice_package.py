"""`chalice package --merge-template`: Chalice's SAM template (API, its functions) with ours merged
in, and the function package (deployment.zip) with bytecode for the runtime's Python."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from infra.bytecode import TASK_ROOT, compile_zip
from infra.cfn import Json
from infra.errors import BuildError
from infra.paths import BUILD_DIR, FUNCTIONS_DIR, LAYER_SOURCE, ROOT

CHALICE_STAGE = "dev"
DEFAULT_REGION = "cn-north-1"


def _chalice_command() -> list[str]:
    script = Path(sys.executable).with_name("chalice")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from chalice.cli import main; sys.exit(main())"]


def package(merge_template: Path, out_dir: Path) -> Json:
    """Run chalice package into `out_dir` (sam.json + deployment.zip) and return the merged template."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    env = dict(os.environ)
    env.setdefault("AWS_DEFAULT_REGION", DEFAULT_REGION)  # chalice package fails with "No region configured"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONPATH"] = os.pathsep.join([str(LAYER_SOURCE), str(FUNCTIONS_DIR), str(ROOT)])
    command = [
        *_chalice_command(),
        "package",
        "--stage",
        CHALICE_STAGE,
        "--merge-template",
        str(merge_template.resolve()),
        str(out_dir.resolve()),
    ]
    result = subprocess.run(command, cwd=FUNCTIONS_DIR, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BuildError(f"chalice package failed:\n{(result.stderr or result.stdout).strip()}")
    compile_zip(out_dir / "deployment.zip", TASK_ROOT)  # what every function runs from /var/task
    template: Json = json.loads((out_dir / "sam.json").read_text(encoding="utf-8"))
    return template


def function_zip_bytes(out_dir: Path = BUILD_DIR / "chalice") -> int:
    """The size of the code every function shares (Chalice's deployment.zip); build it first."""
    path = out_dir / "deployment.zip"
    if not path.exists():
        raise BuildError(f"no {path}: run python -m infra.build")
    return path.stat().st_size
