"""The layer's third-party sources lose their docstrings and comments, and nothing else."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from infra.build import BuildResult, build
from infra.docstrings import rewrite, strip_tree, without_docstrings

SAMPLE = '''# Copyright 2024 Example Authors
# Licensed under the Apache License, Version 2.0

"""Module documentation."""
import math  # a comment that goes


class Circle:
    """A circle."""

    def __init__(self, radius):
        """Made from a radius."""
        self.radius = radius

    def area(self):
        # comments go too
        return math.pi * self.radius ** 2

    def label(self):
        return f"r={self.radius!r:>6} {'big' if self.radius > 1 else 'small'}"


def only_documented():
    """Nothing but a docstring."""


NOT_A_DOCSTRING = "kept"
'''


def _load(source: str) -> dict[str, object]:
    namespace: dict[str, object] = {}
    exec(compile(source, "<sample>", "exec"), namespace)
    return namespace


def test_docstrings_and_comments_go_and_the_code_behaves_the_same() -> None:
    rewritten = rewrite(SAMPLE)
    assert rewritten is not None
    assert "A circle" not in rewritten and "comments go too" not in rewritten
    assert rewritten.startswith("# Copyright 2024 Example Authors\n# Licensed under the Apache License")
    before, after = _load(SAMPLE), _load(rewritten)
    circle_before, circle_after = before["Circle"](2.5), after["Circle"](2.5)  # type: ignore[operator]
    assert circle_after.area() == circle_before.area()
    assert circle_after.label() == circle_before.label() == "r=   2.5 big"
    assert after["only_documented"]() is None  # type: ignore[operator]
    assert after["NOT_A_DOCSTRING"] == "kept"
    assert after["Circle"].__doc__ is None  # type: ignore[attr-defined]
    assert len(rewritten) < len(SAMPLE)


def test_the_rewrite_parses_to_exactly_the_original_tree_less_its_docstrings() -> None:
    rewritten = rewrite(SAMPLE)
    assert rewritten is not None
    assert ast.dump(ast.parse(rewritten)) == ast.dump(without_docstrings(ast.parse(SAMPLE)))


def test_a_file_that_does_not_parse_is_left_alone(tmp_path: Path) -> None:
    assert rewrite("def broken(:\n") is None
    (tmp_path / "pkg").mkdir()
    broken = tmp_path / "pkg" / "broken.py"
    broken.write_text('"""doc"""\ndef broken(:\n', encoding="utf-8")
    (tmp_path / "pkg" / "fine.py").write_text('"""doc"""\nVALUE = 1\n', encoding="utf-8")
    result = strip_tree(tmp_path)
    assert (result.files, result.kept_as_is) == (2, 1)
    assert broken.read_text(encoding="utf-8") == '"""doc"""\ndef broken(:\n'
    assert (tmp_path / "pkg" / "fine.py").read_text(encoding="utf-8") == "VALUE = 1\n"


def test_every_module_of_the_pinned_pydantic_round_trips() -> None:
    spec = importlib.util.find_spec("pydantic")
    assert spec is not None and spec.origin is not None
    sources = [p for p in Path(spec.origin).parent.rglob("*.py") if "v1" not in p.parts]
    assert len(sources) > 50
    refused = [p.name for p in sources if rewrite(p.read_text(encoding="utf-8")) is None]
    assert refused == []


def test_the_built_layer_carries_no_third_party_docstrings_and_fits_its_budget(built: BuildResult) -> None:
    layer = built.template_path.parent / "layer" / "python"
    main = (layer / "pydantic" / "main.py").read_text(encoding="utf-8")
    tree = ast.parse(main)
    model = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "BaseModel")
    assert not isinstance(model.body[0], ast.Expr)
    ours = (layer / "marketplace" / "settings.py").read_text(encoding="utf-8")
    assert ours.startswith('"""')  # our own package is shipped as written
    assert built.layer_bytes < 6 * 1024 * 1024


def test_with_bytecode_every_module_has_a_pyc_the_runtime_loads_without_its_source(
    tmp_path_factory: pytest.TempPathFactory, built: BuildResult
) -> None:
    result = build(out_dir=tmp_path_factory.mktemp("infra-build-bytecode"), bytecode=True)
    python = result.template_path.parent / "layer" / "python"
    sources = list(python.rglob("*.py"))
    assert len(sources) > 200
    tag = sys.implementation.cache_tag
    for source in sources:
        compiled = source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"
        header = compiled.read_bytes()[:16]
        assert header[:4] == importlib.util.MAGIC_NUMBER, compiled
        assert int.from_bytes(header[4:8], "little") == 0b01, compiled  # hash-based, source unchecked
    assert result.layer_bytes > built.layer_bytes
    # An unchecked pyc is loaded without reading its source: a spoiled source changes nothing.
    (python / "annotated_types" / "__init__.py").write_text("raise RuntimeError('source read')\n")
    code = f"import sys; sys.path.insert(0, {str(python)!r}); import annotated_types as a; print(a.Gt(1))"
    command = [sys.executable, "-S", "-B", "-c", code]
    loaded = subprocess.run(command, capture_output=True, text=True, check=False)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "Gt(gt=1)"
