"""The layer and the function package as deployed: third-party sources as upstream wrote them,
bytecode for the runtime's Python next to every module, licences kept, extensions the runtime can
load, within the size budget."""

from __future__ import annotations

import ast
import importlib.util
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from infra import bytecode
from infra.build import BuildResult, build
from infra.errors import BuildError
from infra.layer_check import check_extensions, extension_problems

LAYER_BUDGET = 24 * 1024 * 1024  # 25,165,824 bytes unzipped, bytecode and cryptography included
FUNCTION_PACKAGE_BUDGET = 200 * 1024
UNCHECKED_HASH = 0b01  # the pyc flags: hash-based, source not checked


def _layer(built: BuildResult) -> Path:
    return built.template_path.parent / "layer" / "python"


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
