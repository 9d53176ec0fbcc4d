"""Query and response shapes every list shares: `?limit=&cursor=` and `{items, cursor}`."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import Field

from marketplace.domain.model import Model, StrictModel

T = TypeVar("T")


class PageQuery(StrictModel):
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=2048)


class Page(Model, Generic[T]):
    items: list[T]
    cursor: str | None = Field(description="pass back as ?cursor= for the next page; null on the last")
