"""Third-party sources in the layer without their docstrings and comments.

The layer's Python is read by the interpreter, never by people: pydantic, typing_extensions and
aws-xray-sdk carry their documentation inline, about 40% of their bytes. Each file is parsed,
its docstrings dropped and the tree written back with `ast.unparse`; the file is kept only if
parsing what was written gives exactly the tree that was meant (the original's, less the
docstrings), so the code that runs is the code upstream wrote. A file's leading comment block
(copyright and license notices) is kept verbatim. What changes at run time: those libraries'
own `__doc__` attributes are None, as under `python -OO`; nothing in the layer reads them
(ADR 0009 lists the checks), and tracebacks through them show the rewritten lines.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

_DOCUMENTED = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass
class Stripped:
    files: int = 0
    kept_as_is: int = 0  # files whose rewrite did not round-trip (left untouched)
    saved_bytes: int = 0


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def without_docstrings(tree: ast.Module) -> ast.Module:
    for node in ast.walk(tree):
        if isinstance(node, _DOCUMENTED) and node.body and _is_docstring(node.body[0]):
            node.body = node.body[1:] or [ast.Pass()]
    return ast.fix_missing_locations(tree)


def _leading_comments(source: str) -> str:
    header = []
    for line in source.splitlines():
        if line.startswith("#") or not line.strip():
            header.append(line)
            continue
        break
    return "\n".join(header).strip() + "\n" if any(line.startswith("#") for line in header) else ""


def rewrite(source: str) -> str | None:
    """The source without docstrings and comments, or None when it does not round-trip."""
    try:
        intended = without_docstrings(ast.parse(source))
        rewritten = _leading_comments(source) + ast.unparse(intended) + "\n"
        if ast.dump(ast.parse(rewritten)) != ast.dump(intended):
            return None
    except (SyntaxError, ValueError, RecursionError):
        return None
    return rewritten


def strip_tree(root: Path, skip: tuple[str, ...] = ()) -> Stripped:
    """Rewrite every .py under `root` (but the top-level entries named in `skip`) in place."""
    result = Stripped()
    for path in sorted(root.rglob("*.py")):
        if path.relative_to(root).parts[0] in skip:
            continue
        try:
            source = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            source = ""
        rewritten = rewrite(source) if source else None
        result.files += 1
        if rewritten is None or len(rewritten.encode()) >= len(source.encode()):
            result.kept_as_is += 1
            continue
        result.saved_bytes += len(source.encode()) - len(rewritten.encode())
        path.write_text(rewritten, encoding="utf-8")
    return result
