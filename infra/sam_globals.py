"""What every function shares, said once: SAM's `Globals: Function:` section.

Each function is generated whole (infra/lambdas.py, Chalice's own properties); `hoist` then moves
what all of them share into Globals and keeps on each function only what is its own, so the
template stays under CloudFormation's 1,000,000-byte limit as operations are added
(docs/adr/0017-template-globals.md). `expand` is the inverse, by SAM's merge rules: tests check the
functions as SAM creates them, and tests/infra/test_template_size.py checks `expand` against
aws-sam-translator's own output.

SAM's merge rules (samtranslator/plugins/globals/globals.py): a function's scalar replaces the
global one; maps merge key by key (recursively, the function's value winning); lists are
concatenated, the global items first. So a list (or an intrinsic function, which is a map) is
hoisted only where every function has the very same value; Layers alone are hoisted as the prefix
every function shares, each function keeping the layers after it.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from typing import Any

from infra.cfn import Json

FUNCTION = "AWS::Serverless::Function"

# Hoisted as the most common value; a function with another keeps its own (a scalar overrides).
SCALARS = ("Runtime", "Handler", "MemorySize", "Timeout", "Tracing")
# Hoisted only where every created function has exactly this value (SAM would merge or concatenate).
WHOLE = ("Architectures", "Tags", "ReservedConcurrentExecutions")
# Maps hoisted key by key: the keys whose value every created function shares.
MAPS = (("Environment", "Variables"), ("LoggingConfig",))
LAYERS = "Layers"


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _functions(template: Json, created_only: bool, never: str | None) -> dict[str, Json]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") == FUNCTION
        and not (created_only and never is not None and resource.get("Condition") == never)
    }


def _get(properties: Json, path: tuple[str, ...]) -> Any:
    node: Any = properties
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _shared_scalar(created: list[Json], name: str) -> Any:
    values = [p[name] for p in created if name in p]
    if len(values) < len(created) or not values:
        return None  # a function without it would gain it from Globals
    if any(isinstance(v, (dict, list)) for v in values):
        return None
    counts = Counter(_key(v) for v in values)
    best, _ = counts.most_common(1)[0]
    return json.loads(best)


def _shared_whole(created: list[Json], name: str) -> Any:
    values = {_key(p.get(name)) for p in created}
    if len(values) != 1 or any(name not in p for p in created):
        return None
    return created[0][name]


def _shared_map(created: list[Json], path: tuple[str, ...]) -> Json:
    maps = [_get(p, path) for p in created]
    if not maps or any(not isinstance(m, dict) for m in maps):
        return {}
    first = maps[0]
    return {k: v for k, v in first.items() if all(k in m and _key(m[k]) == _key(v) for m in maps)}


def _shared_prefix(created: list[Json]) -> list[Any]:
    lists = [p.get(LAYERS) for p in created]
    if not lists or any(not isinstance(x, list) for x in lists):
        return []
    prefix: list[Any] = []
    for items in zip(*lists, strict=False):
        if len({_key(i) for i in items}) != 1:
            break
        prefix.append(items[0])
    return prefix


def _set_path(target: Json, path: tuple[str, ...], value: Json) -> None:
    node = target
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value


def hoist(template: Json, never: str | None = None) -> Json:
    """Move what every created function shares into `Globals.Function`, in place; returns it.

    `never` names the always-false condition of Chalice's switched-off function: it neither decides
    what is shared nor keeps what Globals now give it (it is never created).
    """
    created = [r["Properties"] for r in _functions(template, True, never).values()]
    for resource in _functions(template, False, never).values():
        resource.setdefault("Properties", {})
    shared: Json = {}
    for name in SCALARS:
        value = _shared_scalar(created, name)
        if value is not None:
            shared[name] = value
    for name in WHOLE:
        value = _shared_whole(created, name)
        if value is not None:
            shared[name] = value
    for path in MAPS:
        values = _shared_map(created, path)
        if values:
            _set_path(shared, path, values)
    prefix = _shared_prefix(created)
    if prefix:
        shared[LAYERS] = prefix
    for resource in _functions(template, False, never).values():
        properties = resource["Properties"]
        if never is not None and resource.get("Condition") == never:
            # Never created: where SAM would merge its own list or map with the global one (two
            # architectures, say), it keeps none of its own, so the merged value stays valid.
            for name in (*WHOLE, LAYERS):
                if name in shared and isinstance(properties.get(name), (list, dict)):
                    del properties[name]
        for name in (*SCALARS, *WHOLE):
            if name in shared and _key(properties.get(name)) == _key(shared[name]):
                del properties[name]
        for path in MAPS:
            values = _get(shared, path) or {}
            own = _get(properties, path)
            if isinstance(own, dict):
                for k, v in values.items():
                    if k in own and _key(own[k]) == _key(v):
                        del own[k]
                _drop_empty(properties, path)
        if LAYERS in shared:
            layers = properties.get(LAYERS)
            if isinstance(layers, list) and _key(layers[: len(prefix)]) == _key(prefix):
                rest = layers[len(prefix) :]
                if rest:
                    properties[LAYERS] = rest
                else:
                    del properties[LAYERS]
    if shared:
        template.setdefault("Globals", {})["Function"] = shared
    return template


def _drop_empty(properties: Json, path: tuple[str, ...]) -> None:
    for depth in range(len(path), 0, -1):
        parent = _get(properties, path[: depth - 1]) if depth > 1 else properties
        if isinstance(parent, dict) and parent.get(path[depth - 1]) == {}:
            del parent[path[depth - 1]]


def _merge(global_value: Any, own: Any) -> Any:
    if isinstance(global_value, dict) and isinstance(own, dict):
        merged = copy.deepcopy(global_value)
        for k, v in own.items():
            merged[k] = _merge(merged[k], v) if k in merged else copy.deepcopy(v)
        return merged
    if isinstance(global_value, list) and isinstance(own, list):
        return copy.deepcopy(global_value) + copy.deepcopy(own)
    return copy.deepcopy(own)


def expand(template: Json) -> Json:
    """A copy with `Globals.Function` merged into every function, by SAM's rules, and removed."""
    expanded = copy.deepcopy(template)
    shared = expanded.pop("Globals", {}).get("Function", {})
    for resource in expanded["Resources"].values():
        if resource.get("Type") != FUNCTION:
            continue
        properties = resource.setdefault("Properties", {})
        for name, value in shared.items():
            properties[name] = _merge(value, properties[name]) if name in properties else copy.deepcopy(value)
    return expanded
