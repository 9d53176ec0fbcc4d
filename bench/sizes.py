"""Deployment sizes: the function package and the layers, from a fresh `make infra` build (all
compiled to bytecode for the runtime's Python; the common layer carries cryptography, the open-data
layer ocdsmerge and requests)."""

from __future__ import annotations

from typing import Any


def measure() -> dict[str, Any]:
    from infra import build
    from infra.layer import OPEN_DATA
    from infra.paths import BUILD_DIR

    result = build.build()
    return {
        "function_zip_bytes": build.function_zip_bytes(),
        "layer_unzipped_bytes": build.layer_unzipped_bytes(),
        "layer_zip_bytes": result.layer_zip_bytes,
        "opendata_layer_unzipped_bytes": build.layer_unzipped_bytes(BUILD_DIR / OPEN_DATA.directory_name),
        "opendata_layer_zip_bytes": result.open_data_layer_zip_bytes,
    }
