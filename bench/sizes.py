"""Deployment sizes: the function package and the common layer, from a fresh `make infra` build
(both compiled to bytecode for the runtime's Python; the layer carries cryptography)."""

from __future__ import annotations

from typing import Any


def measure() -> dict[str, Any]:
    from infra import build

    result = build.build()
    return {
        "function_zip_bytes": build.function_zip_bytes(),
        "layer_unzipped_bytes": build.layer_unzipped_bytes(),
        "layer_zip_bytes": result.layer_zip_bytes,
    }
