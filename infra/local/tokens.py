"""Bearer tokens the local stack accepts, shaped like the Cognito ID tokens the platform reads.

    python -m infra.local.tokens --role admin --subject ADMIN-1 [--industries a,b] [--ttl 3600]

`--subject` is the organisation the caller acts for (`custom:org_id`); the user id (`sub`) is
derived from role and subject, so the same pair always names the same user.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import jwt

from infra.local.keys import load_signing_key
from infra.local.naming import DEFAULT_STATE_DIR, TOKEN_AUDIENCE, TOKEN_ISSUER
from marketplace.auth import GROUPS_CLAIM, INDUSTRIES_CLAIM, ORG_CLAIM, ROLES

_USER_NAMESPACE = uuid.UUID("6f1d3c1e-5b7a-4c53-9d4e-2f3a8b9c0d1e")


def user_id(role: str, org_id: str) -> str:
    """A stable, Cognito-like `sub` for a role acting for an organisation."""
    return str(uuid.uuid5(_USER_NAMESPACE, f"{role}:{org_id}"))


def mint_token(
    role: str,
    org_id: str,
    *,
    industries: Iterable[str] = (),
    state_dir: Path = DEFAULT_STATE_DIR,
    ttl: int = 3600,
    **overrides: Any,
) -> str:
    """A signed token for `role` acting for `org_id`. `overrides` replace claims (`iss=...`,
    `exp=...`, `name=...`); an override of None removes the claim."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    key = load_signing_key(Path(state_dir))
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": user_id(role, org_id),
        "iss": TOKEN_ISSUER,
        "aud": TOKEN_AUDIENCE,
        "iat": now,
        "exp": now + ttl,
        "token_use": "id",
        GROUPS_CLAIM: [role],
        ORG_CLAIM: org_id,
    }
    joined = ",".join(i.strip() for i in industries if i.strip())
    if joined:
        claims[INDUSTRIES_CLAIM] = joined
    for name, value in overrides.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m infra.local.tokens", description=__doc__.splitlines()[0])
    parser.add_argument("--role", required=True, choices=ROLES)
    parser.add_argument("--subject", required=True, help="the organisation id the caller acts for")
    parser.add_argument("--industries", default="", help="comma-separated (a regulator's industries)")
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    parser.add_argument("--ttl", type=int, default=3600, help="seconds the token stays valid")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        industries, state_dir = args.industries.split(","), args.state_dir
        token = mint_token(args.role, args.subject, industries=industries, state_dir=state_dir, ttl=args.ttl)
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
