"""Bytecode for the runtime's Python, shipped next to the sources of the layer and the function
package. Lambda's `/opt` (layers) and `/var/task` (function code) are read-only: what a cold start
imports without a .pyc beside it is compiled again, in memory, at every cold start.

Each module gets `__pycache__/<name>.cpython-311.pyc`, where CPython 3.11 looks for it, with an
unchecked hash: the code never changes once built, so the loader neither reads the source nor
compares timestamps (which zipping resets to 1980). Bytecode is specific to a Python minor
version, so the build must run on the runtime's: anything else fails the build.
"""

from __future__ import annotations

import compileall
import py_compile
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

from infra.errors import BuildError
from infra.lambdas import RUNTIME

RUNTIME_VERSION = tuple(int(part) for part in RUNTIME.removeprefix("python").split("."))
CACHE_TAG = f"cpython-{''.join(str(part) for part in RUNTIME_VERSION)}"
LAYER_ROOT = "/opt/python"  # where Lambda mounts a layer's python/ directory
TASK_ROOT = "/var/task"  # where Lambda unpacks the function package


def require_runtime_python() -> None:
    """Bytecode is only loaded by the Python that wrote it: the build's must be the runtime's."""
    running = sys.version_info[:2]
    if running != RUNTIME_VERSION or sys.implementation.cache_tag != CACHE_TAG:
        raise BuildError(
            f"the build compiles bytecode for the Lambda runtime ({RUNTIME}, {CACHE_TAG}) and must run on "
            f"that Python, not {sys.implementation.name} {sys.version.split()[0]}: "
            "recreate .venv with it (make clean && make infra PYTHON=python3.11)"
        )


def compile_tree(root: Path, deployed_at: str) -> None:
    """A .pyc beside every .py under `root`; tracebacks name the files where Lambda puts them."""
    require_runtime_python()
    ok = compileall.compile_dir(
        root,
        ddir=deployed_at,
        quiet=1,
        workers=1,
        optimize=0,  # the runtime runs without -O: it looks for <module>.cpython-311.pyc, not .opt-1
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    if not ok:
        raise BuildError(f"compiling {root} to bytecode failed (see the output above)")


def compile_zip(path: Path, deployed_at: str = TASK_ROOT) -> None:
    """Rewrite a code zip with a .pyc beside every .py. Whatever __pycache__ it held (Chalice zips
    the working tree's) is dropped first: those were written for the sources' timestamps."""
    with tempfile.TemporaryDirectory(prefix="bytecode-") as tmp:
        tree = Path(tmp)
        with zipfile.ZipFile(path) as source:
            entries = [info for info in source.infolist() if "__pycache__/" not in info.filename]
            for info in entries:
                source.extract(info, tree)
        for stale in tree.rglob("__pycache__"):
            shutil.rmtree(stale)
        compile_tree(tree, deployed_at)
        compiled = sorted(p for p in tree.rglob("*.pyc") if p.parent.name == "__pycache__")
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as target:
            for info in entries:
                data = b"" if info.is_dir() else (tree / info.filename).read_bytes()
                target.writestr(info, data)
            for pyc in compiled:
                entry = zipfile.ZipInfo(pyc.relative_to(tree).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
                entry.external_attr = 0o644 << 16
                entry.compress_type = zipfile.ZIP_DEFLATED
                target.writestr(entry, pyc.read_bytes())
