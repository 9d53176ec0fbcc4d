"""The base of every pydantic model in the system.

`defer_build` postpones building a model's validator until its first use: a function imports
every model of its area but uses a few, and building them all at import was a measurable part of
the cold start (BENCHMARKS.md).
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(defer_build=True)


class StrictModel(Model):
    """Input shapes: unknown fields are refused and strings are trimmed."""

    model_config = ConfigDict(defer_build=True, extra="forbid", str_strip_whitespace=True)


M = TypeVar("M", bound=BaseModel)


def revised(model: M, /, **changes: Any) -> M:
    """A copy of `model` with `changes`, validated as a new model (pydantic's
    `model_copy(update=...)` validates nothing). Fields kept out of dumps (`exclude=True`: a row's
    revision, counters read from the row) are carried over."""
    data = model.model_dump()
    for name, info in type(model).model_fields.items():
        if info.exclude:
            data[name] = getattr(model, name)
    for name, value in changes.items():
        data[name] = value.model_dump() if isinstance(value, BaseModel) else value
    return type(model).model_validate(data)
