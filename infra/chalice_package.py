"""`chalice package --merge-template`: Chalice's SAM template (API, its functions) with ours merged in."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

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
    _drop_bytecode(out_dir / "deployment.zip")
    template: Json = json.loads((out_dir / "sam.json").read_text(encoding="utf-8"))
    return template


def _drop_bytecode(path: Path) -> None:
    """Chalice zips whatever __pycache__ the working tree holds. It is dead weight: the zip's 1980
    timestamps never match the .pyc headers, so the runtime recompiles anyway (in memory: /var/task
    is read-only)."""
    with zipfile.ZipFile(path) as source:
        entries = [
            (info, source.read(info)) for info in source.infolist() if "__pycache__/" not in info.filename
        ]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info, data in entries:
            target.writestr(info, data)


def function_zip_bytes(out_dir: Path = BUILD_DIR / "chalice") -> int:
    """The size of the code every function shares (Chalice's deployment.zip); build it first."""
    path = out_dir / "deployment.zip"
    if not path.exists():
        raise BuildError(f"no {path}: run python -m infra.build")
    return path.stat().st_size
