"""The OpenAPI 3.1 document, generated from the declared routes and their pydantic models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter

from marketplace.web.http import JSON, ROUTES, RouteSpec

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "correlation_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
REF = "#/components/schemas/{model}"


def _schema(model: Any, components: dict[str, Any]) -> dict[str, Any]:
    schema = TypeAdapter(model).json_schema(ref_template=REF, mode="serialization")
    components.update(schema.pop("$defs", {}))
    return schema


def _input_schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=REF, mode="validation")
    components.update(schema.pop("$defs", {}))
    return schema


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": REF.format(model="Problem")}}},
    }


def _operation(spec: RouteSpec, components: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": spec.name,
        "summary": spec.summary,
        "tags": [spec.tag],
        "x-roles": list(spec.roles) or ["public"],
    }
    if spec.description:
        op["description"] = spec.description
    params = [
        {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
        for p in _path_params(spec.path)
    ]
    if spec.query is not None:
        query = _input_schema(spec.query, components)
        required = set(query.get("required", []))
        for name, prop in query.get("properties", {}).items():
            params.append({"name": name, "in": "query", "required": name in required, "schema": prop})
    if spec.idempotent:
        params.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "repeat a create safely: the same key returns the first response",
                "schema": {"type": "string", "maxLength": 128},
            }
        )
    if params:
        op["parameters"] = params
    if spec.body is not None:
        op["requestBody"] = {
            "required": not spec.body_optional,
            "content": {"application/json": {"schema": _input_schema(spec.body, components)}},
        }
    responses: dict[str, Any] = {}
    ok: dict[str, Any] = {"description": "success"}
    if spec.content_type != JSON:
        ok["content"] = {spec.content_type.split(";")[0]: {"schema": {"type": "string"}}}
    elif spec.response is not None:
        ok["content"] = {JSON: {"schema": _schema(spec.response, components)}}
    for alternate in spec.alternates:  # chosen by the Accept header
        ok.setdefault("content", {})[alternate.split(";")[0]] = {"schema": {"type": "string"}}
    responses[str(spec.status)] = ok
    if spec.no_content:
        responses["204"] = {"description": spec.no_content}
    if spec.body is not None or spec.query is not None:
        responses["400"] = _problem("malformed request")
        responses["422"] = _problem("invalid fields, each named in errors[]")
    if spec.roles or spec.optional_auth:
        responses["401"] = _problem("missing, expired or invalid token")
    if spec.roles:
        responses["403"] = _problem("the caller's role or organisation may not do this")
        op["security"] = [{"bearer": []}]
    elif spec.optional_auth:
        op["security"] = [{}, {"bearer": []}]
    else:
        op["security"] = []
    if "{" in spec.path:
        responses["404"] = _problem("not found")
    if spec.method in ("POST", "PUT", "DELETE"):
        responses["409"] = _problem("conflicts with the current state")
    responses["500"] = _problem("unexpected failure; quote the correlation id")
    responses["503"] = _problem("temporarily unavailable; retry after Retry-After seconds")
    op["responses"] = responses
    return op


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


def document() -> dict[str, Any]:
    components: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for spec in sorted(ROUTES, key=lambda r: (r.path, r.method)):
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Online intermediary-service marketplace API (网上中介服务超市)",
            "version": "1.0.0",
            "description": "Errors are RFC 9457 problem documents. Lists take ?limit=&cursor=.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
