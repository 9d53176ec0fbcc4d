"""`python -m infra.build`: the deployable SAM template in infra/build/.

1. discover the operations (routes and tasks of the Chalice app) and check each has a policy entry;
2. build the layers (infra/layer.py; pip cached by the requirements' hash), compiled: the common
   one, and the open-data one that only the functions in OPEN_DATA_FUNCTIONS load;
3. write the merge template (infra/template_parts.py) and run `chalice package --merge-template`;
   the function package it writes is compiled too (infra/bytecode.py: the runtime's Python only);
4. write infra/build/template.yaml: Chalice's merged output with paths relative to it, checked.

Deploy with `sam deploy` (or `aws cloudformation package` + `deploy`) of that template;
`chalice deploy` does not know the per-operation functions.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import infra.paths  # noqa: F401  (first: puts the layer's package and the Chalice project on sys.path)
from infra import (
    bytecode,
    chalice_package,
    finalize,
    layer,
    operations,
    policies,
    sam_globals,
    template_parts,
)
from infra.chalice_package import function_zip_bytes
from infra.definitions import EVENT_RULES, OPEN_DATA_FUNCTIONS, QUEUES, state_machine_files, table_specs
from infra.errors import BuildError
from infra.layer import layer_unzipped_bytes
from infra.names import NEVER
from infra.paths import BUILD_DIR, CACHE_DIR
from infra.workflows import workflows

__all__ = ["BuildResult", "build", "function_zip_bytes", "layer_unzipped_bytes", "main"]

TEMPLATE_NAME = "template.yaml"


@dataclass(frozen=True)
class BuildResult:
    template_path: Path
    template: dict[str, object]
    function_count: int
    route_count: int
    task_count: int
    layer_bytes: int
    layer_zip_bytes: int
    function_zip_bytes: int
    layer_pruned: dict[str, int]
    pip_cached: bool
    seconds: float
    unused_policies: list[str]
    open_data_layer_bytes: int = 0
    open_data_layer_zip_bytes: int = 0
    open_data_layer_pruned: dict[str, int] = field(default_factory=dict)
    # OPEN_DATA_FUNCTIONS the app does not define (yet): the open-data layer is built, nobody loads it.
    open_data_functions_missing: list[str] = field(default_factory=list)


def build(
    policy_file: Path = policies.DEFAULT_POLICY_FILE,
    out_dir: Path = BUILD_DIR,
    cache_dir: Path = CACHE_DIR,
) -> BuildResult:
    started = time.monotonic()
    bytecode.require_runtime_python()  # the layer and the functions ship compiled for it
    ops = operations.discover()
    flows = workflows(state_machine_files())
    policy = policies.load(policy_file)
    names = [op.name for op in ops] + [w.name for w in flows]
    policies.require(policy, names, policy_file)  # before anything slow: a missing entry fails fast
    out_dir.mkdir(parents=True, exist_ok=True)
    built_layer = layer.build_layer(out_dir, cache_dir)
    open_data_layer = layer.build_open_data_layer(built_layer, out_dir, cache_dir)
    chalice_dir = out_dir / "chalice"
    sources = template_parts.Sources(
        operations=ops,
        policies=policy,
        policy_path=policy_file,
        tables=table_specs(),
        queues=QUEUES,
        rules=EVENT_RULES,
        workflows=flows,
        chalice_dir=chalice_dir,
        layer_dir=built_layer.directory,
        open_data_layer_dir=open_data_layer.directory,
    )
    merge_path = out_dir / "merge-template.json"
    merge_path.write_text(json.dumps(template_parts.merge_template(sources), indent=1), encoding="utf-8")
    template = chalice_package.package(merge_path, chalice_dir)
    finalize.rebase_paths(template, chalice_dir, out_dir)
    finalize.check(template)
    sam_globals.hoist(template, never=NEVER)  # what every function shares, said once (ADR 0017)
    template_path = out_dir / TEMPLATE_NAME
    finalize.write_yaml(template, template_path)
    routes = sum(1 for op in ops if op.is_route)
    return BuildResult(
        template_path=template_path,
        template=template,
        function_count=len(ops),
        route_count=routes,
        task_count=len(ops) - routes,
        layer_bytes=built_layer.unzipped_bytes,
        layer_zip_bytes=built_layer.zip_path.stat().st_size,
        function_zip_bytes=chalice_package.function_zip_bytes(chalice_dir),
        layer_pruned=built_layer.pruned,
        pip_cached=built_layer.pip_cached,
        seconds=time.monotonic() - started,
        unused_policies=policies.unused(policy, names),
        open_data_layer_bytes=open_data_layer.unzipped_bytes,
        open_data_layer_zip_bytes=open_data_layer.zip_path.stat().st_size,
        open_data_layer_pruned=open_data_layer.pruned,
        open_data_functions_missing=[name for name in OPEN_DATA_FUNCTIONS if name not in names],
    )


def _report(result: BuildResult) -> str:
    lines = [
        f"wrote {result.template_path}",
        f"functions: {result.function_count} ({result.route_count} routes, {result.task_count} tasks), "
        "one role each",
        f"function zip (shared code): {result.function_zip_bytes / 1024:.1f} KiB",
        f"layer: {result.layer_bytes / 1e6:.2f} MB unzipped, {result.layer_zip_bytes / 1e6:.2f} MB zipped"
        f" (pip step {'cached' if result.pip_cached else 'ran'})",
        *(f"  pruned {name}: {size / 1e6:.2f} MB" for name, size in result.layer_pruned.items() if size),
        f"open-data layer: {result.open_data_layer_bytes / 1e6:.2f} MB unzipped, "
        f"{result.open_data_layer_zip_bytes / 1e6:.2f} MB zipped",
        *(
            f"  pruned {name}: {size / 1e6:.2f} MB"
            for name, size in result.open_data_layer_pruned.items()
            if size
        ),
        f"built in {result.seconds:.1f} s",
    ]
    if result.open_data_functions_missing:
        lines.append(
            "warning: OPEN_DATA_FUNCTIONS the app does not define (no function loads the open-data layer "
            f"for them): {', '.join(result.open_data_functions_missing)}"
        )
    if result.unused_policies:
        lines.append(f"warning: policy entries with no operation: {', '.join(result.unused_policies)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--policies", type=Path, default=policies.DEFAULT_POLICY_FILE, help="policy file")
    parser.add_argument("--out", type=Path, default=BUILD_DIR, help="output directory")
    args = parser.parse_args(argv)
    try:
        result = build(policy_file=args.policies, out_dir=args.out)
    except BuildError as error:
        print(f"infra build failed: {error}", file=sys.stderr)
        return 1
    print(_report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
