"""The Lambda layers: each one's pinned runtime requirements, installed for the Lambda platform
(arm64, CPython 3.11), minus what the runtime already has and what the code never loads, all of
it with bytecode for the runtime's Python. Third-party sources ship as upstream wrote them. The
pip step is cached by the requirements' hash.

- `common` (every function): those requirements plus the `marketplace` package;
- `opendata` (only the functions in infra/definitions.py OPEN_DATA_FUNCTIONS): ocdsmerge and what
  it imports (requests and its own dependencies), which the common layer's budget has no room for
  (docs/adr/0016-open-data-layer-and-bucket.md)."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from infra.bytecode import LAYER_ROOT, compile_tree, require_runtime_python
from infra.errors import BuildError
from infra.layer_check import (
    NEVER_IMPORTED,
    RUNTIME_PROVIDED,
    XRAY_EXTENSIONS_USED,
    check_xray_patches,
    uses_pydantic_v1,
    verify,
    verify_open_data,
)
from infra.paths import BUILD_DIR, CACHE_DIR, LAYER_REQUIREMENTS, LAYER_SOURCE, OPEN_DATA_REQUIREMENTS

PIP_PLATFORM_ARGS = (
    "--no-compile",
    "--platform",
    "manylinux2014_aarch64",
    "--implementation",
    "cp",
    "--python-version",
    "3.11",
    "--only-binary=:all:",
)
# The Lambda Python runtime ships boto3 and what it depends on (RUNTIME_PROVIDED); their dists:
RUNTIME_PROVIDED_DISTS = ("boto3", "botocore", "s3transfer", "urllib3", "jmespath", "python_dateutil", "six")
# X-Ray integrations other than the ones the code patches (XRAY_EXTENSIONS_USED) are never imported.
XRAY_EXTENSIONS_SUPPORT = ("__init__.py", "boto_utils.py", "util.py", "resources")
# Files no code path loads: the mypy plugin, C sources next to their compiled extension, the
# command-line entry point of charset-normalizer (`python -m charset_normalizer`), ocdsmerge's
# Sphinx sources (its wheel installs them as a top-level `docs/` directory).
UNUSED_FILES = (
    "pydantic/mypy.py",
    "wrapt/_wrappers.c",
    "charset_normalizer/cli",
    "charset_normalizer/__main__.py",
    "docs",
)
LICENSE_FILE = re.compile(r"^(LICEN[CS]E|COPYING|NOTICE|AUTHORS)", re.IGNORECASE)
CACHE_VERSION = "7"  # bump when the pruning below changes
MIB = 1024 * 1024


@dataclass(frozen=True)
class LayerSpec:
    """A layer: what it installs, what of ours it carries, where it is built, its budget."""

    name: str  # the cache's and the template's: "common" -> CommonLayer
    requirements: Path
    budget: int  # unzipped bytes, as Lambda counts them
    directory_name: str  # under the build directory; the zip is <directory_name>.zip
    package: Path | None = None  # our own package, copied in next to the requirements


COMMON = LayerSpec(
    "common",
    LAYER_REQUIREMENTS,
    budget=24 * MIB,  # docs/adr/0009-layer-size.md
    directory_name="layer",
    package=LAYER_SOURCE / "marketplace",
)
OPEN_DATA = LayerSpec(
    "opendata",
    OPEN_DATA_REQUIREMENTS,
    budget=5 * MIB,  # docs/adr/0016-open-data-layer-and-bucket.md
    directory_name="layer-opendata",
)


@dataclass
class LayerBuild:
    directory: Path  # the layer root: python/... inside
    zip_path: Path
    unzipped_bytes: int
    pip_cached: bool
    pruned: dict[str, int] = field(default_factory=dict)  # what was removed, in bytes


def tree_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _remove(path: Path) -> int:
    if not path.exists():
        return 0
    size = tree_bytes(path)
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()
    return size


def _cache_key(requirements: Path) -> str:
    digest = hashlib.sha256()
    digest.update(requirements.read_bytes())
    digest.update(" ".join(PIP_PLATFORM_ARGS).encode())
    digest.update(CACHE_VERSION.encode())
    return digest.hexdigest()[:16]


def _pip_install(requirements: Path, target: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        *PIP_PLATFORM_ARGS,
        "--target",
        str(target),
        "-r",
        str(requirements),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BuildError(
            f"the layer's requirements do not resolve to arm64 CPython 3.11 wheels:\n{result.stderr.strip()}"
        )


def _strip_debug_symbols(root: Path) -> int:
    """Extensions shipped with debug info (wrapt's) lose it; code is unchanged. Skipped where the
    build machine has no strip that reads arm64 ELF."""
    strip = shutil.which("llvm-strip")
    if strip is None:
        return 0
    saved = 0
    for library in root.rglob("*.so"):
        before = library.stat().st_size
        subprocess.run([strip, "--strip-unneeded", str(library)], check=True, capture_output=True)
        saved += before - library.stat().st_size
    return saved


def _prune_dependencies(root: Path) -> dict[str, int]:
    pruned: dict[str, int] = {}

    def count(rule: str, paths: Iterable[Path]) -> None:
        pruned[rule] = pruned.get(rule, 0) + sum(_remove(p) for p in list(paths))

    count("runtime-provided (boto3, botocore, urllib3, ...)", (root / name for name in RUNTIME_PROVIDED))
    count(
        "runtime-provided (boto3, botocore, urllib3, ...)", (root / f"{name}.py" for name in RUNTIME_PROVIDED)
    )
    count(
        "runtime-provided (boto3, botocore, urllib3, ...)",
        (p for p in root.glob("*.dist-info") if p.name.split("-")[0] in RUNTIME_PROVIDED_DISTS),
    )
    count("scripts (bin/)", [root / "bin"])
    count("type stubs (*.pyi, *-stubs)", [*root.rglob("*.pyi"), *root.glob("*-stubs")])
    count("tests directories", (p for p in root.rglob("*") if p.is_dir() and p.name in ("tests", "test")))
    count("unused files (mypy plugin, C sources, CLIs, docs)", (root / f for f in UNUSED_FILES))
    count(
        "never imported (cffi's builder, pycparser: cryptography loads _cffi_backend alone)",
        (p for p in root.iterdir() if p.name in NEVER_IMPORTED),
    )
    count(
        "package metadata (dist-info) but licenses",
        (
            p
            for info in root.glob("*.dist-info")
            for p in info.rglob("*")
            if p.is_file() and p.parent.name != "licenses" and not LICENSE_FILE.match(p.name)
        ),
    )
    pruned["debug symbols (llvm-strip)"] = _strip_debug_symbols(root)
    ext = root / "aws_xray_sdk" / "ext"
    keep = set(XRAY_EXTENSIONS_USED) | set(XRAY_EXTENSIONS_SUPPORT)
    count(
        "unused X-Ray integrations", (p for p in ext.iterdir() if p.name not in keep) if ext.exists() else []
    )
    return pruned


def dependencies(
    requirements: Path = LAYER_REQUIREMENTS, cache_dir: Path = CACHE_DIR, name: str = COMMON.name
) -> tuple[Path, bool]:
    """The installed, pruned requirements: from the cache when the requirements did not change."""
    cached = cache_dir / f"layer-deps-{name}-{_cache_key(requirements)}"
    if (cached / ".complete").exists():
        return cached, True
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="staging-", dir=cache_dir))
    _pip_install(requirements, staging)
    pruned = _prune_dependencies(staging)
    (staging / ".pruned").write_text("\n".join(f"{k}\t{v}" for k, v in pruned.items()), encoding="utf-8")
    (staging / ".complete").write_text("", encoding="utf-8")
    if cached.exists():  # another build finished first
        shutil.rmtree(staging)
    else:
        staging.rename(cached)
    for stale in cache_dir.glob(f"layer-deps-{name}-*"):  # earlier requirements: never used again
        if stale.is_dir() and stale != cached and (stale / ".complete").exists():
            shutil.rmtree(stale, ignore_errors=True)
    return cached, False


def _ignore(skip_v1: bool) -> Callable[[str, list[str]], set[str]]:
    def ignore(directory: str, entries: list[str]) -> set[str]:
        skipped = {e for e in entries if e in ("__pycache__", ".complete", ".pruned")}
        if skip_v1 and Path(directory).name == "pydantic" and "v1" in entries:
            skipped.add("v1")
        return skipped

    return ignore


def _zip(directory: Path, zip_path: Path) -> None:
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                info = zipfile.ZipInfo(str(path.relative_to(directory)), date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())


def _pruned(deps: Path) -> dict[str, int]:
    lines = (deps / ".pruned").read_text(encoding="utf-8").splitlines()
    return {name: int(size) for name, _, size in (line.partition("\t") for line in lines if line)}


def _assemble(spec: LayerSpec, out_dir: Path, cache_dir: Path, skip_v1: bool) -> tuple[Path, Path, bool]:
    """The layer's tree (dependencies, our package), compiled for the runtime: (the layer's root,
    the cached dependencies it was copied from, whether pip's step came from the cache)."""
    deps, cached = dependencies(spec.requirements, cache_dir, spec.name)
    directory = out_dir / spec.directory_name
    if directory.exists():
        shutil.rmtree(directory)
    python = directory / "python"
    shutil.copytree(deps, python, ignore=_ignore(skip_v1))
    if spec.package is not None:
        shutil.copytree(spec.package, python / spec.package.name, ignore=_ignore(False))
    compile_tree(python, LAYER_ROOT)
    return directory, deps, cached


def _finish(spec: LayerSpec, directory: Path, deps: Path, cached: bool) -> LayerBuild:
    zip_path = directory.parent / f"{spec.directory_name}.zip"
    _zip(directory, zip_path)
    result = LayerBuild(directory, zip_path, tree_bytes(directory), cached, _pruned(deps))
    if result.unzipped_bytes > spec.budget:
        raise BuildError(
            f"the {spec.name} layer is {result.unzipped_bytes:,} bytes unzipped, over its budget of "
            f"{spec.budget:,} (infra/layer.py; docs/adr/0009 and 0016)"
        )
    return result


def build_layer(out_dir: Path = BUILD_DIR, cache_dir: Path = CACHE_DIR) -> LayerBuild:
    """The common layer as deployed: dependencies and our package, compiled for the runtime's
    Python (infra/bytecode.py), checked to import as the runtime would, and zipped."""
    require_runtime_python()  # before anything slow
    check_xray_patches()
    skip_v1 = not uses_pydantic_v1()
    directory, deps, cached = _assemble(COMMON, out_dir, cache_dir, skip_v1)
    verify(directory / "python")
    result = _finish(COMMON, directory, deps, cached)
    if skip_v1:
        result.pruned["pydantic.v1 (nothing imports it)"] = tree_bytes(deps / "pydantic" / "v1")
    return result


def build_open_data_layer(
    common: LayerBuild, out_dir: Path = BUILD_DIR, cache_dir: Path = CACHE_DIR
) -> LayerBuild:
    """The open-data layer as deployed, checked to compile an OCDS record with ocdsmerge from it
    with the common layer (`common`, built first) beside it, as the functions that load both see them."""
    require_runtime_python()
    directory, deps, cached = _assemble(OPEN_DATA, out_dir, cache_dir, skip_v1=False)
    verify_open_data(directory / "python", common.directory / "python")
    return _finish(OPEN_DATA, directory, deps, cached)


def layer_unzipped_bytes(directory: Path = BUILD_DIR / COMMON.directory_name) -> int:
    """The built layer's size as Lambda counts it (unzipped); build it first (python -m infra.build).
    The open-data layer's: `layer_unzipped_bytes(BUILD_DIR / OPEN_DATA.directory_name)`."""
    if not directory.exists():
        raise BuildError(f"no layer at {directory}: run python -m infra.build")
    return tree_bytes(directory)
