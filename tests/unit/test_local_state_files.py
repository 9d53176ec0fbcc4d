"""Two `make run` started at once in one checkout share the state dir: neither may leave the other,
or `make token`, a half-written JWKS, or a JWKS for a key the other does not sign with."""

from __future__ import annotations

import json
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from infra.local.files import create_exclusively, write_atomically
from infra.local.keys import ensure_signing_key, load_signing_key
from infra.local.naming import JWKS_FILE

WRITES_PER_STACK = 60


def start_many_times(state_dir: Path, times: int) -> set[str]:
    """What a stack does with the state dir at start, `times` over; the key ids it ended up with."""
    return {ensure_signing_key(state_dir).kid for _ in range(times)}


def test_two_stacks_starting_at_once_always_leave_a_whole_jwks_of_one_shared_key(tmp_path):
    state_dir = tmp_path / ".local"
    seen: list[dict] = []
    unreadable: list[str] = []
    done = threading.Event()

    def read_jwks_meanwhile() -> None:  # as the API and `make token` do, at any moment
        path = state_dir / JWKS_FILE
        while not done.is_set():
            if path.exists():
                text = path.read_text(encoding="utf-8")
                try:
                    seen.append(json.loads(text))
                except ValueError:
                    unreadable.append(text)

    reader = threading.Thread(target=read_jwks_meanwhile)
    reader.start()
    try:
        with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
            stacks = [pool.submit(start_many_times, state_dir, WRITES_PER_STACK) for _ in range(2)]
            kids = [stack.result(timeout=120) for stack in stacks]  # no stack failed on the other's file
    finally:
        done.set()
        reader.join()

    assert unreadable == []
    assert seen, "the reader never saw the JWKS"
    assert all(len(jwks["keys"]) == 1 and set(jwks["keys"][0]) >= {"kty", "n", "e", "kid"} for jwks in seen)
    shared_kid = load_signing_key(state_dir).kid
    assert kids == [{shared_kid}, {shared_kid}]  # both stacks sign with the key the JWKS publishes
    assert {jwks["keys"][0]["kid"] for jwks in seen} == {shared_kid}
    assert sorted(p.name for p in state_dir.iterdir()) == ["jwks.json", "signing-key.pem"]  # no temporaries


def test_the_signing_key_is_readable_by_its_owner_only(tmp_path):
    ensure_signing_key(tmp_path)

    assert (tmp_path / "signing-key.pem").stat().st_mode & 0o777 == 0o600


def test_an_atomic_write_replaces_and_an_exclusive_create_keeps_the_first(tmp_path):
    path = tmp_path / "state.json"

    assert create_exclusively(path, b"first") is True
    assert create_exclusively(path, b"second") is False
    assert path.read_bytes() == b"first"

    write_atomically(path, b"third")

    assert path.read_bytes() == b"third"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]
