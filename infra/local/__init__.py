"""The local stack, "the embedded default": the whole system on one machine, no AWS, no Docker.

`python -m infra.local --port 8000 [--demo]` starts moto's server in-process, creates the resources
from `infra/definitions.py` on it, and serves the Chalice app with Chalice's local server; a
scheduler thread and an SQS poller stand in for EventBridge schedules and event source mappings.
`python -m infra.local.tokens --role admin --subject ADMIN-1` prints a bearer token it accepts.

Modules, one job each:
- `naming`: the local names (stage, region, issuer, resource names) in one place;
- `environment`: the process environment that points boto3 and PynamoDB at moto;
- `keys`, `tokens`: the token signing key in the state dir, and tokens signed with it;
- `emulator`, `patches`, `lambdas`: moto's server, the patches, the Lambda dispatch map;
- `resources`, `statemachines`: tables, bus, rules, queues, bucket, KMS key, the Cognito user
  pool (in ap-northeast-1: the China regions have none), state machines;
- `scheduler`, `poller`: schedules and SQS consumers, which moto does not run;
- `api`, `demo`, `stack`: the Chalice local server, the demo data set, and the whole assembled.

Importing this package is cheap: it only makes the project's import roots reachable, as the
Makefile's PYTHONPATH does, so that `python -m infra.local` also works without it. The modules that
import the app do so only after `environment.apply` has set the table prefix.
docs/adr/0002-moto-local-stack.md says why it is built this way.
"""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]
for _root in (_ROOT / "layers" / "common" / "python", _ROOT / "functions"):
    if str(_root) not in sys.path:
        sys.path.append(str(_root))
