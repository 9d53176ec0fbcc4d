"""The API: the Chalice app served by Chalice's own local server (chalice/local.py, 1.34), in this
process, so route handlers run in-process with the environment that points them at moto.

`chalice local` itself would load the app in a reloader subprocess and read the stage's config;
here the app object is already imported and the environment already set, so the server is built
directly with `create_local_server`, which also makes `current_request` thread-local.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from chalice.config import Config
from chalice.local import LocalDevServer, create_local_server

from infra.local import naming

FUNCTIONS_DIR = naming.ROOT / "functions"
CHALICE_STAGE = "dev"


def chalice_config(app: Any, functions_dir: Path = FUNCTIONS_DIR) -> Config:
    on_disk = json.loads((functions_dir / ".chalice" / "config.json").read_text(encoding="utf-8"))
    return Config(
        chalice_stage=CHALICE_STAGE,
        user_provided_params={"chalice_app": app, "project_dir": str(functions_dir)},
        config_from_disk=on_disk,
        default_params={"project_dir": str(functions_dir)},
    )


def config_environment(functions_dir: Path = FUNCTIONS_DIR) -> dict[str, str]:
    """The environment variables the Chalice config gives every function (e.g. LOG_LEVEL)."""
    on_disk = json.loads((functions_dir / ".chalice" / "config.json").read_text(encoding="utf-8"))
    merged: dict[str, str] = dict(on_disk.get("environment_variables", {}))
    merged.update(on_disk.get("stages", {}).get(CHALICE_STAGE, {}).get("environment_variables", {}))
    return merged


class ApiServer:
    def __init__(self, app: Any, port: int) -> None:
        self._server: LocalDevServer = create_local_server(app, chalice_config(app), naming.HOST, port)
        self.port: int = self._server.server.server_address[1]
        self._thread = threading.Thread(target=self._server.server.serve_forever, name="api", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{naming.HOST}:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(10)
        self._server.server.server_close()
