"""The layers and the function package as deployed: third-party sources as upstream wrote them,
bytecode for the runtime's Python next to every module, licences kept, extensions the runtime can
load, within the size budgets. The open-data layer (ocdsmerge) is checked the same way, and
alongside the common layer, as the functions that load both see them."""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from infra import bytecode, layer
from infra.build import BuildResult, build
from infra.errors import BuildError
from infra.layer_check import (
    NEVER_IMPORTED,
    OPEN_DATA_EXTENSIONS,
    check_extensions,
    check_never_imported,
    extension_problems,
    overlaps,
)

LAYER_BUDGET = 24 * 1024 * 1024  # 25,165,824 bytes unzipped, bytecode and cryptography included
OPEN_DATA_LAYER_BUDGET = 5 * 1024 * 1024  # ocdsmerge, requests and its dependencies: 2.3 MB now
FUNCTION_PACKAGE_BUDGET = 200 * 1024
UNCHECKED_HASH = 0b01  # the pyc flags: hash-based, source not checked


def _layer(built: BuildResult) -> Path:
    return built.template_path.parent / "layer" / "python"


def _open_data_layer(built: BuildResult) -> Path:
    return built.template_path.parent / layer.OPEN_DATA.directory_name / "python"


def _is_unchecked_pyc_for_the_runtime(data: bytes) -> bool:
    return data[:4] == importlib.util.MAGIC_NUMBER and int.from_bytes(data[4:8], "little") == UNCHECKED_HASH


def _run_from(path: Path, code: str) -> str:
    """Run `code` in a Python without site-packages that never writes bytecode, `path` first."""
    command = [sys.executable, "-S", "-B", "-c", f"import sys; sys.path.insert(0, {str(path)!r}); {code}"]
    loaded = subprocess.run(command, capture_output=True, text=True, check=False)
    assert loaded.returncode == 0, loaded.stderr
    return loaded.stdout.strip()


def test_the_layer_ships_upstream_sources_within_its_budget(built: BuildResult) -> None:
    main = (_layer(built) / "pydantic" / "main.py").read_text(encoding="utf-8")
    model = next(n for n in ast.parse(main).body if isinstance(n, ast.ClassDef) and n.name == "BaseModel")
    assert ast.get_docstring(model)  # not rewritten: the file is pydantic's own
    assert built.layer_bytes <= LAYER_BUDGET
    assert built.function_zip_bytes < FUNCTION_PACKAGE_BUDGET


def test_every_distribution_in_the_layer_keeps_its_licence(built: BuildResult) -> None:
    infos = list(_layer(built).glob("*.dist-info"))
    assert {"cryptography", "cffi", "pydantic", "pyjwt"} <= {i.name.split("-")[0] for i in infos}
    for info in infos:
        kept = [p.name for p in info.rglob("*") if p.is_file()]
        assert any(name.upper().startswith(("LICENSE", "LICENCE", "COPYING")) for name in kept), info.name
        assert "RECORD" not in kept and "METADATA" not in kept, info.name
    licences = _layer(built) / "cryptography-50.0.2.dist-info" / "licenses"
    assert {"LICENSE.APACHE", "LICENSE.BSD"} <= {p.name for p in licences.iterdir()}


def test_every_layer_module_has_a_pyc_the_runtime_loads_without_its_source(
    built: BuildResult, tmp_path: Path
) -> None:
    python = _layer(built)
    sources = list(python.rglob("*.py"))
    assert len(sources) > 300
    for source in sources:
        compiled = source.parent / "__pycache__" / f"{source.stem}.{bytecode.CACHE_TAG}.pyc"
        assert _is_unchecked_pyc_for_the_runtime(compiled.read_bytes()[:16]), compiled
    # An unchecked pyc is loaded without reading its source: a spoiled source changes nothing.
    copy = tmp_path / "opt-python"
    shutil.copytree(python / "annotated_types", copy / "annotated_types")
    (copy / "annotated_types" / "__init__.py").write_text("raise RuntimeError('source read')\n")
    assert _run_from(copy, "import annotated_types as a; print(a.Gt(1))") == "Gt(gt=1)"


def test_the_function_package_carries_a_pyc_for_every_module(built: BuildResult, tmp_path: Path) -> None:
    package = built.template_path.parent / "chalice" / "deployment.zip"
    with zipfile.ZipFile(package) as archive:
        names = set(archive.namelist())
        sources = [n for n in names if n.endswith(".py")]
        assert "app.py" in sources and any(n.startswith("chalicelib/") for n in sources)
        for source in sources:
            folder, _, file = source.rpartition("/")
            compiled = f"{folder + '/' if folder else ''}__pycache__/{file[:-3]}.{bytecode.CACHE_TAG}.pyc"
            assert compiled in names, source
            assert _is_unchecked_pyc_for_the_runtime(archive.read(compiled)[:16]), compiled
        assert len([n for n in names if n.endswith(".pyc")]) == len(sources)  # no stale bytecode
        archive.extractall(tmp_path)
    # Chalice's runtime ships in the package: its module loads from the pyc, the source spoiled.
    (tmp_path / "chalice" / "app.py").write_text("raise RuntimeError('source read')\n")
    assert "chalice.app.Chalice" in _run_from(tmp_path, "import chalice.app; print(chalice.app.Chalice)")


def test_tracebacks_name_the_files_where_lambda_puts_them(built: BuildResult) -> None:
    compiled = _layer(built) / "marketplace" / "__pycache__" / f"settings.{bytecode.CACHE_TAG}.pyc"
    assert b"/opt/python/marketplace/settings.py" in compiled.read_bytes()
    with zipfile.ZipFile(built.template_path.parent / "chalice" / "deployment.zip") as archive:
        assert b"/var/task/app.py" in archive.read(f"__pycache__/app.{bytecode.CACHE_TAG}.pyc")


def test_a_build_on_another_python_than_the_runtimes_stops_before_anything_is_built(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(bytecode, "RUNTIME", "python3.12")
    monkeypatch.setattr(bytecode, "RUNTIME_VERSION", (3, 12))
    monkeypatch.setattr(bytecode, "CACHE_TAG", "cpython-312")
    with pytest.raises(BuildError, match=r"python3\.12.*not cpython 3\.11"):
        build(out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_layers_extensions_are_arm64_builds_the_runtimes_glibc_loads(built: BuildResult) -> None:
    python = _layer(built)
    check_extensions(python)  # raises on any problem
    rust = python / "cryptography" / "hazmat" / "bindings" / "_rust.abi3.so"
    assert extension_problems(rust, python) == []


def test_an_extension_built_for_this_machine_is_refused(tmp_path: Path) -> None:
    """This machine's cryptography (x86-64, a newer glibc than Amazon Linux 2's 2.26) would not load."""
    spec = importlib.util.find_spec("cryptography.hazmat.bindings._rust")
    assert spec is not None and spec.origin is not None
    local = tmp_path / "cryptography" / "hazmat" / "bindings" / Path(spec.origin).name
    local.parent.mkdir(parents=True)
    shutil.copy(spec.origin, local)
    problems = "\n".join(extension_problems(local, tmp_path))
    assert "not arm64" in problems
    with pytest.raises(BuildError, match=r"_cffi_backend \(cffi\) has no compiled extension"):
        check_extensions(tmp_path)


def test_the_open_data_layer_ships_ocdsmerge_and_its_imports_within_its_budget(built: BuildResult) -> None:
    python = _open_data_layer(built)
    assert 0 < built.open_data_layer_bytes <= OPEN_DATA_LAYER_BUDGET == layer.OPEN_DATA.budget
    assert layer.COMMON.budget == LAYER_BUDGET
    infos = {i.name.split("-")[0] for i in python.glob("*.dist-info")}
    assert infos == {"ocdsmerge", "jsonref", "requests", "idna", "certifi", "charset_normalizer"}
    for info in python.glob("*.dist-info"):  # licences kept, the rest of the metadata not
        kept = [p.name for p in info.rglob("*") if p.is_file()]
        assert any(name.upper().startswith(("LICENSE", "LICENCE", "COPYING")) for name in kept), info.name
    # urllib3 is the runtime's (botocore's); no docs, no command-line entry points
    for absent in ("urllib3", "docs", "bin", "charset_normalizer/cli"):
        assert not (python / absent).exists(), absent
    sources = list(python.rglob("*.py"))
    assert sources
    for source in sources:
        compiled = source.parent / "__pycache__" / f"{source.stem}.{bytecode.CACHE_TAG}.pyc"
        assert _is_unchecked_pyc_for_the_runtime(compiled.read_bytes()[:16]), compiled
    compiled = python / "ocdsmerge" / "__pycache__" / f"merge.{bytecode.CACHE_TAG}.pyc"
    assert b"/opt/python/ocdsmerge/merge.py" in compiled.read_bytes()


def test_the_open_data_layers_extensions_load_on_the_runtime_and_replace_nothing_of_the_common_layer(
    built: BuildResult,
) -> None:
    python = _open_data_layer(built)
    check_extensions(python, OPEN_DATA_EXTENSIONS)  # raises on any problem
    for extension in python.glob("charset_normalizer/*.so"):
        assert extension.name.endswith(".cpython-311-aarch64-linux-gnu.so"), extension.name
        assert extension_problems(extension, python) == []
    assert overlaps(python, _layer(built)) == []


def test_a_file_in_both_layers_is_an_overlap(tmp_path: Path) -> None:
    """Lambda extracts the layers into /opt one after the other: a shared file would be replaced."""
    for root in (tmp_path / "common", tmp_path / "opendata"):
        (root / "__pycache__").mkdir(parents=True)
        (root / "__pycache__" / f"{root.name}.pyc").write_bytes(b"")
        (root / "typing_extensions.py").write_text("")
    assert overlaps(tmp_path / "opendata", tmp_path / "common") == ["typing_extensions.py"]


def test_the_common_layer_ships_cffis_backend_without_the_builder_or_pycparser(built: BuildResult) -> None:
    """cryptography's extension is an out-of-line cffi module: it loads `_cffi_backend` alone. The
    `cffi` package and `pycparser` only run to build extensions or parse C declarations (ADR 0009);
    the layer check imports the app and signs and verifies through PyJWT without them."""
    python = _layer(built)
    assert set(NEVER_IMPORTED) == {"cffi", "pycparser"}
    for name in NEVER_IMPORTED:
        assert not (python / name).exists(), name
    assert list(python.glob("_cffi_backend.*.so"))
    assert list(python.glob("cffi-*.dist-info/**/LICENSE*"))  # its backend ships: so does its licence
    check_never_imported(python)


def test_a_module_importing_a_pruned_package_fails_the_check(tmp_path: Path) -> None:
    (tmp_path / "cffi").mkdir()
    (tmp_path / "cffi" / "api.py").write_text("from pycparser import c_parser\n")  # cffi's own: fine
    (tmp_path / "ours.py").write_text('"""Uses cffi."""\n\nimport cffi\n')
    with pytest.raises(BuildError, match=r"ours\.py import cffi or pycparser"):
        check_never_imported(tmp_path)


def test_a_layer_over_its_budget_fails_the_build(tmp_path: Path) -> None:
    (tmp_path / "deps").mkdir()
    (tmp_path / "deps" / ".pruned").write_text("", encoding="utf-8")
    (tmp_path / "layer-opendata" / "python").mkdir(parents=True)
    (tmp_path / "layer-opendata" / "python" / "big.py").write_bytes(b"#" * 2048)
    spec = dataclasses.replace(layer.OPEN_DATA, budget=1024)
    with pytest.raises(BuildError, match="opendata layer is 2,048 bytes unzipped, over its budget of 1,024"):
        layer._finish(spec, tmp_path / "layer-opendata", tmp_path / "deps", cached=True)
