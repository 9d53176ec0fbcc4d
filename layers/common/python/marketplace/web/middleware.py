"""HTTP middleware: the errors Chalice produces itself (405, 415, an unknown route locally) are
rendered as problem+json like ours."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from chalice import Response

from marketplace.problems import PROBLEM_CONTENT_TYPE, generic_problem
from marketplace.web.http import requested_path


def chalice_errors_as_problems(event: Any, get_response: Callable[[Any], Response]) -> Response:
    response = get_response(event)
    content_type = str({k.lower(): v for k, v in response.headers.items()}.get("content-type", ""))
    if response.status_code < 400 or content_type.startswith(PROBLEM_CONTENT_TYPE):
        return response
    body = response.body
    detail = body.get("Message", "request refused") if isinstance(body, dict) else "request refused"
    headers = getattr(event, "headers", None) or {}
    cid = headers.get("x-correlation-id") or str(uuid.uuid4())
    path = requested_path(event)
    problem = generic_problem(response.status_code, detail, instance=path, correlation_id=cid)
    if response.status_code >= 500:
        problem["detail"] = "The request failed unexpectedly. Quote the correlation id when reporting it."
    headers = {**response.headers, "Content-Type": PROBLEM_CONTENT_TYPE, "X-Correlation-Id": cid}
    return Response(body=json.dumps(problem), status_code=response.status_code, headers=headers)
