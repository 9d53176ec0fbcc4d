"""Checks on the pruned layer: that nothing the code uses was pruned, statically (pydantic.v1,
X-Ray integrations) and by importing everything from the pruned tree, as the runtime would; and
that every compiled extension is one the Lambda runtime can load (read from its ELF file: the
build machine cannot load arm64 code, so the import check swaps in its own build of the same
pinned version)."""

from __future__ import annotations

import importlib.machinery
import importlib.metadata
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from infra import elf
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


# The python3.11 Lambda runtime: Amazon Linux 2 (glibc 2.26, GCC 7's libgcc_s and libstdc++), arm64.
RUNTIME_MACHINE = elf.EM_AARCH64
RUNTIME_LIBRARY_VERSIONS = {"GLIBC": (2, 26), "GCC": (7, 0, 0), "GLIBCXX": (3, 4, 24), "CXXABI": (1, 3, 11)}
RUNTIME_LIBRARIES = frozenset(
    {
        "libc.so.6",
        "libm.so.6",
        "libdl.so.2",
        "librt.so.1",
        "libpthread.so.0",
        "libutil.so.1",
        "libresolv.so.2",
        "libgcc_s.so.1",
        "libstdc++.so.6",
        "ld-linux-aarch64.so.1",
    }
)
RUNTIME_EXTENSION_SUFFIXES = (".cpython-311-aarch64-linux-gnu.so", ".abi3.so", ".so")
# The extensions the code cannot run without (import path -> distribution, whose pin they follow).
REQUIRED_EXTENSIONS = {
    "pydantic_core._pydantic_core": "pydantic-core",
    "cryptography.hazmat.bindings._rust": "cryptography",
    "_cffi_backend": "cffi",
}
# The open-data layer's: charset-normalizer's mypyc builds (it falls back to md.py and cd.py without
# them, slower; requests imports it to guess the encoding of a response without one).
OPEN_DATA_EXTENSIONS = {
    "charset_normalizer.md": "charset-normalizer",
    "charset_normalizer.cd": "charset-normalizer",
}
# Installed as dependencies, never imported at run time, pruned from the common layer
# (infra/layer.py NEVER_IMPORTED): cryptography's `_rust` extension is a cffi module built out of
# line (API mode), which loads the C `_cffi_backend` alone; the `cffi` package (the FFI builder,
# `cdef`, `dlopen`) and `pycparser` (which `cdef` uses to parse C declarations) only run when an
# extension is built or a library opened in ABI mode, which nothing in the layer does.
# `check_never_imported` holds every other module in the layer to that.
NEVER_IMPORTED = ("cffi", "pycparser")
NEVER_IMPORTED_USE = re.compile(
    r"^\s*(?:import|from)\s+(?:" + "|".join(NEVER_IMPORTED) + r")\b", re.MULTILINE
)


def _module_name(library: Path, root: Path) -> str:
    """`cryptography/hazmat/bindings/_rust.abi3.so` -> `cryptography.hazmat.bindings._rust`."""
    parts = library.relative_to(root).parts
    return ".".join((*parts[:-1], parts[-1].split(".", 1)[0]))


def _vendored(root: Path) -> set[str]:
    """Shared libraries a wheel carries next to its packages (auditwheel's `<dist>.libs/`)."""
    return {path.name for path in root.glob("*.libs/*")}


def extension_problems(library: Path, root: Path) -> list[str]:
    """Why the Lambda runtime could not load this extension module (or vendored library); empty if it can."""
    name = library.relative_to(root).as_posix()
    try:
        shared = elf.read(library)
    except (elf.NotElf, IndexError, ValueError) as error:  # struct.error is a ValueError
        return [f"{name}: not a readable ELF shared object ({error})"]
    problems = []
    if shared.machine != RUNTIME_MACHINE or shared.elf_type != elf.ET_DYN:
        problems.append(f"{name}: built for ELF machine {shared.machine}, not arm64 ({RUNTIME_MACHINE})")
    if not library.parent.name.endswith(".libs"):  # an extension module, not a library it links
        if "." + library.name.partition(".")[2] not in RUNTIME_EXTENSION_SUFFIXES:
            problems.append(f"{name}: CPython 3.11 on arm64 Linux does not load a file named so")
        init = "PyInit_" + _module_name(library, root).rsplit(".", 1)[-1]
        if init not in shared.exported:
            problems.append(f"{name}: exports no {init}, so it cannot be imported as a module")
    vendored = _vendored(root)
    for needed in shared.needed:
        if needed not in RUNTIME_LIBRARIES and needed not in vendored:
            problems.append(f"{name}: needs {needed}, which neither the runtime nor the layer has")
    for namespace, limit in RUNTIME_LIBRARY_VERSIONS.items():
        newest = shared.newest(namespace)
        if newest is not None and newest > limit:
            wanted, have = ".".join(map(str, newest)), ".".join(map(str, limit))
            problems.append(f"{name}: needs {namespace}_{wanted}, the runtime has {namespace}_{have}")
    return problems


def check_extensions(layer_python: Path, required: dict[str, str] = REQUIRED_EXTENSIONS) -> None:
    """Every compiled extension in the layer loads on the runtime, and the required ones are there."""
    libraries = sorted({*layer_python.rglob("*.so"), *layer_python.glob("*.libs/*")})
    problems = [problem for library in libraries for problem in extension_problems(library, layer_python)]
    present = {_module_name(library, layer_python) for library in libraries}
    problems += [
        f"{module} ({dist}) has no compiled extension in the layer"
        for module, dist in required.items()
        if module not in present
    ]
    if problems:
        raise BuildError(
            "the layer's compiled extensions would not load on the Lambda runtime:\n" + "\n".join(problems)
        )


def _layer_version(layer_python: Path, dist: str) -> str | None:
    normalised = dist.replace("-", "_").lower()
    for info in layer_python.glob("*.dist-info"):
        name, _, version = info.name.removesuffix(".dist-info").partition("-")
        if name.lower() == normalised:
            return version
    return None


def _mirror_with_native(layer_package: Path, local_package: Path, shadow: Path) -> None:
    """The layer's package (its Python and bytecode) with this machine's build of each extension."""
    (shadow / layer_package.name).mkdir()
    for source in sorted(layer_package.rglob("*")):
        target = shadow / source.relative_to(layer_package.parent)
        if source.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif source.suffix == ".so":
            stem = source.name.split(".", 1)[0]
            local_dir = local_package / source.parent.relative_to(layer_package)
            local = [local_dir / f"{stem}{suffix}" for suffix in importlib.machinery.EXTENSION_SUFFIXES]
            found = next((path for path in local if path.exists()), None)
            if found is None:
                raise BuildError(f"cannot verify the layer: no local build of {source.name} in {local_dir}")
            target.with_name(found.name).symlink_to(found)
        else:
            target.symlink_to(source)


def _local_top_level_extensions(dist: str, shadow: Path) -> None:
    """Top-level extension modules this machine's build of `dist` carries and the layer's may not
    (mypyc's shared `<hash>__mypyc` module, which the local `md`/`cd` extensions import)."""
    for file in importlib.metadata.files(dist) or []:
        if len(file.parts) == 1 and file.name.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)):
            target = shadow / file.name
            if not target.exists():
                target.symlink_to(Path(str(file.locate())).resolve())


def runtime_stand_ins(
    shadow: Path,
    layer_python: Path,
    required: dict[str, str] = REQUIRED_EXTENSIONS,
    *,
    with_runtime: bool = True,
) -> None:
    """A tree that imports like the Lambda runtime: the layer, the runtime's boto3 (`with_runtime`),
    and this machine's build of each compiled extension (the same pinned version) in place of the
    arm64 one, the Python around it being the layer's."""
    native_dists = {module.split(".")[0]: dist for module, dist in required.items()}
    for dist in native_dists.values():
        try:
            local: str | None = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            local = None
        pinned = _layer_version(layer_python, dist)
        if pinned != local:
            raise BuildError(
                f"cannot verify the layer: it pins {dist} {pinned}, the build environment has {local}"
            )
    for entry in layer_python.iterdir():
        top = entry.name.split(".", 1)[0]
        if top not in native_dists:
            (shadow / entry.name).symlink_to(entry)
        elif entry.is_dir():
            spec = importlib.util.find_spec(top)
            if spec is None or spec.origin is None:
                raise BuildError(f"cannot verify the layer: {top} is not installed in the build environment")
            _mirror_with_native(entry, Path(spec.origin).parent, shadow)
    for dist in set(native_dists.values()):
        _local_top_level_extensions(dist, shadow)
    if not with_runtime:
        return
    for name in ("_cffi_backend", "chalice", *RUNTIME_PROVIDED):
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise BuildError(f"cannot verify the layer: {name} is not installed in the build environment")
        source = Path(spec.origin)
        source = source.parent if source.name == "__init__.py" else source
        if not (shadow / source.name).exists():  # _cffi_backend: linked with cffi's extensions above
            (shadow / source.name).symlink_to(source)


SMOKE_TEST = """
import importlib, pkgutil, sys
sys.path[:0] = [{shadow!r}, {functions!r}]
import marketplace
for module in pkgutil.walk_packages(marketplace.__path__, "marketplace."):
    importlib.import_module(module.name)
import app
from marketplace.web.openapi import document
assert document()["paths"]
from aws_xray_sdk.core import patch
patch(["botocore"])
import jwt, pynamodb.models, pynamodb.transactions
from cryptography.hazmat.primitives.asymmetric import ec, rsa
for key, algorithm in ((ec.generate_private_key(ec.SECP256R1()), "ES256"),
                       (rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256")):
    token = jwt.encode({{"sub": "probe"}}, key, algorithm=algorithm)
    assert jwt.decode(token, key.public_key(), algorithms=[algorithm])["sub"] == "probe", algorithm
from cryptography.hazmat.primitives import hashes, serialization
from marketplace import letter_signatures
signer = ec.generate_private_key(ec.SECP256R1())
der = signer.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
)
signature = letter_signatures.low_s(signer.sign(b"letter", ec.ECDSA(hashes.SHA256())))
assert letter_signatures.verify(letter_signatures.public_key_from_der(der), b"letter", signature)
assert not {{"cffi", "pycparser"}} & set(sys.modules), sorted(sys.modules)
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


def _run_isolated(code: str, what: str) -> None:
    """`code` in a Python without site-packages (what the runtime has: the layers and its boto3)."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_DEFAULT_REGION": "cn-north-1",
        "AWS_XRAY_SDK_ENABLED": "false",
    }
    result = subprocess.run(
        [sys.executable, "-S", "-B", "-c", code], capture_output=True, text=True, env=env, check=False
    )
    if result.returncode != 0:
        raise BuildError(f"{what} does not import cleanly:\n{result.stderr.strip()[-2000:]}")


def check_never_imported(layer_python: Path) -> None:
    """No module the layer ships imports what the build prunes as never imported (NEVER_IMPORTED)."""
    users = sorted(
        path.relative_to(layer_python).as_posix()
        for path in layer_python.rglob("*.py")
        if path.relative_to(layer_python).parts[0] not in NEVER_IMPORTED
        and NEVER_IMPORTED_USE.search(path.read_text(encoding="utf-8", errors="replace"))
    )
    if users:
        raise BuildError(
            f"{', '.join(users)} import {' or '.join(NEVER_IMPORTED)}, which the layer leaves out: "
            "take it out of NEVER_IMPORTED in infra/layer_check.py"
        )


def verify(layer_python: Path) -> None:
    """The extensions load on the runtime; everything the functions import imports from the pruned
    layer, in a Python without site-packages; PyJWT signs and verifies with cryptography, and so do
    the letters' signatures, without cffi's builder or pycparser."""
    check_extensions(layer_python)
    check_never_imported(layer_python)
    with tempfile.TemporaryDirectory(prefix="layer-verify-") as tmp:
        shadow = Path(tmp)
        runtime_stand_ins(shadow, layer_python)
        code = SMOKE_TEST.format(shadow=str(shadow), functions=str(FUNCTIONS_DIR))
        _run_isolated(code, "the pruned layer")


OPEN_DATA_SMOKE_TEST = """
import sys
sys.path[:0] = [{open_data!r}, {common!r}]
import ocdsmerge, requests, charset_normalizer.md, charset_normalizer.cd, jsonref, idna, certifi
for module in (ocdsmerge, requests, jsonref, idna, certifi):
    assert module.__file__.startswith({open_data!r}), module.__file__
assert charset_normalizer.md.__file__.endswith({native!r}), charset_normalizer.md.__file__
schema = {{"properties": {{"id": {{"type": "string"}}, "date": {{"type": "string"}},
          "tag": {{"type": "array"}}, "tender": {{"$ref": "#/definitions/Tender"}}}},
          "definitions": {{"Tender": {{"type": "object", "properties": {{"title": {{"type": "string"}},
                                     "items": {{"type": "array", "items": {{"type": "object"}}}}}}}}}}}}
merger = ocdsmerge.Merger(schema)
compiled = merger.create_compiled_release([
    {{"ocid": "ocds-x-1", "id": "1", "date": "2026-01-01T00:00:00Z", "tag": ["tender"],
      "tender": {{"title": "a", "items": [{{"id": "i", "quantity": 1}}]}}}},
    {{"ocid": "ocds-x-1", "id": "2", "date": "2026-01-02T00:00:00Z", "tag": ["tenderUpdate"],
      "tender": {{"title": "b", "items": [{{"id": "i", "quantity": 2}}]}}}},
])
assert compiled["tender"] == {{"title": "b", "items": [{{"id": "i", "quantity": 2}}]}}, compiled
assert compiled["tag"] == ["compiled"] and compiled["ocid"] == "ocds-x-1", compiled
assert requests.utils.guess_json_utf(b'{{"a": 1}}') == "utf-8"
assert charset_normalizer.from_bytes("数据公开".encode("gb18030")).best() is not None
"""


def _files(root: Path) -> set[str]:
    return {path.relative_to(root).as_posix() for path in root.rglob("*") if not path.is_dir()}


def overlaps(layer_python: Path, beside: Path) -> list[str]:
    """Files both layers ship: Lambda extracts every layer into /opt in order, so the later one's
    would replace the earlier one's (directories merge: both have a top-level `__pycache__`)."""
    return sorted(_files(layer_python) & _files(beside))


def verify_open_data(layer_python: Path, common_python: Path) -> None:
    """The open-data layer: its extensions load on the runtime, it replaces nothing of the common
    layer, and ocdsmerge compiles a record from it with the common layer and the runtime's urllib3
    beside it (requests needs urllib3, which the runtime ships with botocore), in a Python without
    site-packages."""
    check_extensions(layer_python, OPEN_DATA_EXTENSIONS)
    shared = overlaps(layer_python, common_python)
    if shared:
        raise BuildError(f"the open-data layer would overwrite the common layer's {', '.join(shared)}")
    with tempfile.TemporaryDirectory(prefix="layer-verify-") as tmp:
        common, open_data = Path(tmp) / "common", Path(tmp) / "opendata"
        common.mkdir()
        open_data.mkdir()
        runtime_stand_ins(common, common_python)
        runtime_stand_ins(open_data, layer_python, OPEN_DATA_EXTENSIONS, with_runtime=False)
        native = importlib.machinery.EXTENSION_SUFFIXES[0]
        code = OPEN_DATA_SMOKE_TEST.format(open_data=str(open_data), common=str(common), native=native)
        _run_isolated(code, "the open-data layer")
