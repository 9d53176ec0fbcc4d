"""Checks on the pruned layer: that nothing the code uses was pruned. Statically (pydantic.v1,
X-Ray integrations) and by importing everything from the pruned tree, as the runtime would."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from infra.errors import BuildError
from infra.paths import FUNCTIONS_DIR, LAYER_SOURCE

# What the Lambda runtime provides, imported from this machine during the check.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "urllib3", "jmespath", "dateutil", "six")
XRAY_EXTENSIONS_USED = ("botocore",)  # marketplace.observability: patch(["botocore"])
PYDANTIC_V1_USE = re.compile(r"pydantic\.v1|from pydantic import v1|__get_validators__")
XRAY_PATCH = re.compile(r"patch\(\s*\[([^\]]*)\]")


def _sources(roots: Iterable[Path]) -> Iterable[str]:
    for root in roots:
        for path in root.rglob("*.py"):
            yield path.read_text(encoding="utf-8", errors="replace")


def uses_pydantic_v1(roots: Iterable[Path] = (LAYER_SOURCE, FUNCTIONS_DIR)) -> bool:
    """pydantic 2 imports pydantic.v1 only for v1 models and `__get_validators__` types."""
    return any(PYDANTIC_V1_USE.search(text) for text in _sources(roots))


def check_xray_patches(roots: Iterable[Path] = (LAYER_SOURCE, FUNCTIONS_DIR)) -> None:
    for text in _sources(roots):
        if "patch_all(" in text:
            raise BuildError("X-Ray patch_all() needs every integration: list the ones used in patch([...])")
        for listed in XRAY_PATCH.findall(text):
            for name in re.findall(r"['\"]([a-z0-9_]+)['\"]", listed):
                if name not in XRAY_EXTENSIONS_USED:
                    raise BuildError(
                        f"X-Ray patches {name!r}: add it to XRAY_EXTENSIONS_USED in infra/layer_check.py"
                    )


def _elf_machine(path: Path) -> bytes:
    with path.open("rb") as file:
        header = file.read(20)
    return header[18:20] if header[:4] == b"\x7fELF" else b""


def _foreign_native(entry: Path) -> bool:
    """Whether a layer entry holds a compiled extension this machine cannot load (the layer is
    built for arm64 Lambda; the build may run elsewhere)."""
    own = _elf_machine(Path(sys.executable).resolve())
    files = [entry] if entry.is_file() else entry.rglob("*.so")
    return any(f.name.endswith(".so") and _elf_machine(f) not in (own, b"") for f in files)


def _module_name(entry: Path) -> str:
    return entry.name.split(".", 1)[0]


def runtime_stand_ins(shadow: Path, layer_python: Path) -> None:
    """A tree that imports like the Lambda runtime: the layer, the runtime's boto3, and this
    machine's build of each layer package with a binary for another platform, such as
    pydantic_core's arm64 one (same pinned versions)."""
    foreign = []
    for entry in layer_python.iterdir():
        if _foreign_native(entry):
            foreign.append(_module_name(entry))
        else:
            (shadow / entry.name).symlink_to(entry)
    for name in (*foreign, "chalice", *RUNTIME_PROVIDED):
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise BuildError(f"cannot verify the layer: {name} is not installed in the build environment")
        source = Path(spec.origin)
        source = source.parent if source.name == "__init__.py" else source
        (shadow / source.name).symlink_to(source)


SMOKE_TEST = """
import importlib, pkgutil, sys
sys.path[:0] = [{shadow!r}, {functions!r}]
import marketplace
for module in pkgutil.walk_packages(marketplace.__path__, "marketplace."):
    importlib.import_module(module.name)
import app
from chalicelib.openapi import document
assert document()["paths"]
from aws_xray_sdk.core import patch
patch(["botocore"])
import jwt, pynamodb.models, pynamodb.transactions
from pydantic import BaseModel, ValidationError
class Probe(BaseModel):
    count: int
try:
    Probe(count="several")
except ValidationError as exc:
    assert exc.errors()[0]["type"] == "int_parsing", exc.errors()
else:
    raise AssertionError("pydantic accepted a word for an int")
"""


def verify(layer_python: Path) -> None:
    """Import everything the functions import from the pruned layer, in a Python without site-packages."""
    with tempfile.TemporaryDirectory(prefix="layer-verify-") as tmp:
        shadow = Path(tmp)
        runtime_stand_ins(shadow, layer_python)
        code = SMOKE_TEST.format(shadow=str(shadow), functions=str(FUNCTIONS_DIR))
        env = {
            "PATH": os.environ.get("PATH", ""),
            "AWS_DEFAULT_REGION": "cn-north-1",
            "AWS_XRAY_SDK_ENABLED": "false",
        }
        result = subprocess.run(
            [sys.executable, "-S", "-B", "-c", code], capture_output=True, text=True, env=env, check=False
        )
        if result.returncode != 0:
            raise BuildError(f"the pruned layer does not import cleanly:\n{result.stderr.strip()[-2000:]}")
