"""Check a signed confirmation letter (电子中选确认书) with the platform's published public key,
offline: no call to the platform's signing service, no trust in its code (docs/letters.md).

    python -m marketplace.verify_letter LETTER.json --public-key KEY.pem
    python -m marketplace.verify_letter LETTER.json --key-url https://…/letters/public-key
    python -m marketplace.verify_letter https://…/letters/L-P-2026-0001

A letter given by URL takes its key from the same API (`…/letters/public-key`) unless one is named.
Prints `valid` and exits 0, or lists what is wrong and exits 1 (2 when an input cannot be read).
"""

from __future__ import annotations

import argparse
import sys
import urllib.request
from pathlib import Path
from typing import Any

from marketplace import letter_signatures, strict_json
from marketplace.domain.letters import check

HTTP = ("https://", "http://")


class Unreadable(Exception):
    """An input that cannot be read or parsed (exit code 2)."""


def _parse(raw: bytes) -> Any:
    # A repeated key would let two readers of one file see two letters: refused (strict_json).
    return strict_json.loads(raw)


def _read(source: str) -> bytes:
    if source.startswith(HTTP):
        with urllib.request.urlopen(source, timeout=10) as response:  # noqa: S310 - http(s) only
            return bytes(response.read())
    return Path(source).read_bytes()


def _key_url(letter_source: str) -> str | None:
    """`…/letters/<id>` → `…/letters/public-key`, for a letter fetched from the API."""
    if not letter_source.startswith(HTTP):
        return None
    base, _, _ = letter_source.rstrip("/").rpartition("/")
    return f"{base}/public-key" if base.endswith("/letters") else None


def _key(args: argparse.Namespace) -> tuple[letter_signatures.PublicKey, str | None]:
    """The public key, and its KMS key id when the source publishes one (GET /letters/public-key)."""
    if args.public_key:
        return letter_signatures.public_key_from_pem(Path(args.public_key).read_text(encoding="ascii")), None
    url = args.key_url or _key_url(args.letter)
    if url is None:
        raise Unreadable("name the platform's public key: --public-key KEY.pem or --key-url URL")
    raw = _read(url)
    if raw.lstrip().startswith(b"-----BEGIN"):
        return letter_signatures.public_key_from_pem(raw.decode("ascii")), None
    published = _parse(raw)
    if not isinstance(published, dict) or not isinstance(published.get("public_key_pem"), str):
        raise Unreadable(f"{url} does not publish a public_key_pem")
    key_id = published.get("key_id")
    key = letter_signatures.public_key_from_pem(published["public_key_pem"])
    return key, key_id if isinstance(key_id, str) else None


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m marketplace.verify_letter",
        description="Verify a signed confirmation letter (电子中选确认书) offline.",
    )
    parser.add_argument("letter", help="the signed letter: a file, or the URL of GET /letters/{id}")
    keys = parser.add_mutually_exclusive_group()
    keys.add_argument("--public-key", metavar="KEY.pem", help="the platform's public key in PEM")
    keys.add_argument("--key-url", metavar="URL", help="the URL of GET /letters/public-key")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    try:
        args = _arguments(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:  # argparse has printed the usage
        return 2 if exc.code else 0
    try:
        envelope = _parse(_read(args.letter))
        key, key_id = _key(args)
    except (OSError, ValueError, RecursionError, Unreadable) as exc:
        print(f"cannot read the letter or the key: {exc}", file=sys.stderr)
        return 2
    problems = check(envelope, key, key_id=key_id)
    if problems:
        print("INVALID")
        for problem in problems:
            print(f"- {problem}")
        return 1
    letter = envelope["letter"]
    print(
        f"valid: confirmation letter {letter['letter_id']} of purchase {letter['purchase_id']}: "
        f"{letter['agency']['name']} selected, signed by the key with SHA-256 fingerprint "
        f"{key.fingerprint()}"
    )
    if args.public_key is None:
        # The key came from a server (perhaps the letter's own): only a fingerprint compared with
        # the platform's published one proves whose key it is.
        print("compare that fingerprint with the one the platform publishes before trusting it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
