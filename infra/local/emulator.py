"""moto's server, in this process, on a loopback port, configured as the local stack needs it."""

from __future__ import annotations

import json
import logging
import socket
import urllib.request
from dataclasses import dataclass
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from infra.local import naming

# Step Functions executes ASL for real; Lambda runs without Docker, through the dispatch patch.
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}


@dataclass
class Emulator:
    server: ThreadedMotoServer
    port: int

    @property
    def url(self) -> str:
        return f"http://{naming.HOST}:{self.port}"

    def client(self, service: str) -> Any:
        """A boto3 client on this emulator, whatever the process environment says."""
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=naming.REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def stop(self) -> None:
        self.server.stop()


def _check_free(port: int) -> None:
    """ThreadedMotoServer binds in its thread and would wait forever on a port in use: check first."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((naming.HOST, port))


def start(port: int = 0) -> Emulator:
    """Start moto's server; port 0 takes a free one. Set TZ=UTC (environment.use_utc) first."""
    if port:
        _check_free(port)
    # One log line per emulated call drowns the app's own logs.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address=naming.HOST, port=port, verbose=False)
    server.start()
    _, bound = server.get_host_and_port()
    return Emulator(server=server, port=bound)


def configure(url: str, config: dict[str, Any] | None = None) -> None:
    """POST the emulator's config (moto keeps it process-wide, shared with any mock_aws)."""
    body = json.dumps(config if config is not None else MOTO_CONFIG).encode()
    request = urllib.request.Request(  # noqa: S310 - the emulator's loopback URL
        f"{url}/moto-api/config", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        response.read()
