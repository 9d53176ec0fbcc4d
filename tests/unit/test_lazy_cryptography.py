"""`cryptography` (and PyJWT, which loads it) are imported where a token or a letter is verified,
never when a function starts: a cold start pays for them only on a path that checks a signature."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PATH = os.pathsep.join(str(ROOT / p) for p in ("layers/common/python", "functions", "."))

# Every module of the layer and of the Chalice project, imported as a function would import it.
IMPORT_EVERYTHING = """
import importlib, pkgutil, sys
import marketplace, chalicelib
for package in (marketplace, chalicelib):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(module.name)
"""


def _loaded_after(code: str) -> set[str]:
    probe = code + "\nimport sys\nprint(' '.join(sorted(m.split('.')[0] for m in sys.modules)))\n"
    env = {**os.environ, "PYTHONPATH": PATH, "JWKS_URL": "https://idp.example/jwks.json"}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


@pytest.mark.parametrize(
    "code",
    [
        "import app",
        "import marketplace.auth",
        "import marketplace.domain.letters, marketplace.services.letters, marketplace.letter_signatures",
        IMPORT_EVERYTHING,
    ],
    ids=["app", "auth", "letters", "every module"],
)
def test_importing_a_function_does_not_load_cryptography_or_pyjwt(code: str) -> None:
    loaded = _loaded_after(code)
    assert "cryptography" not in loaded
    assert "jwt" not in loaded


def test_verifying_a_letter_does_load_it_so_the_probe_can_see_it() -> None:
    # The same probe, on the path that checks a signature: it is the library that checks.
    loaded = _loaded_after(
        "from marketplace import letter_signatures\n"
        "try:\n    letter_signatures.public_key_from_der(b'')\n"
        "except letter_signatures.InvalidKey:\n    pass\n"
    )
    assert "cryptography" in loaded
