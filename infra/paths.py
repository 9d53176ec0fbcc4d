"""Where things are, and the import path the build needs: the layer's package and the Chalice
project, as `chalice package` and the Lambda runtime see them. Imported first by the build."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = ROOT / "functions"
LAYER_DIR = ROOT / "layers" / "common"
LAYER_SOURCE = LAYER_DIR / "python"
LAYER_REQUIREMENTS = LAYER_DIR / "requirements.txt"
OPEN_DATA_LAYER_DIR = ROOT / "layers" / "opendata"  # requirements only: no package of ours
OPEN_DATA_REQUIREMENTS = OPEN_DATA_LAYER_DIR / "requirements.txt"
BUILD_DIR = ROOT / "infra" / "build"
CACHE_DIR = BUILD_DIR / ".cache"


def ensure_import_paths() -> None:
    for path in (str(ROOT), str(FUNCTIONS_DIR), str(LAYER_SOURCE)):
        if path not in sys.path:
            sys.path.insert(0, path)


ensure_import_paths()
