"""The base of every pydantic model in the system.

`defer_build` postpones building a model's validator until its first use: a function imports
every model of its area but uses a few, and building them all at import was a measurable part of
the cold start (BENCHMARKS.md).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(defer_build=True)


class StrictModel(Model):
    """Input shapes: unknown fields are refused and strings are trimmed."""

    model_config = ConfigDict(defer_build=True, extra="forbid", str_strip_whitespace=True)
