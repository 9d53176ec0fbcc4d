"""A red flag as the public reads it, in a module of its own: the purchase document holds its flags,
so every function that loads a purchase loads this model, and not the indicators' computation
(domain/red_flags.py, docs/red-flags.md)."""

from __future__ import annotations

from pydantic import Field

from marketplace.domain.model import Model


class Flag(Model):
    """A flag as the public reads it: on the purchase page and in GET /red-flags."""

    flag_id: str = Field(description="`<code>:<purchase id>` or `<code>:agency:<agency id>`")
    code: str = Field(description="the Open Contracting Partnership's indicator code, or MKnn")
    title: str
    purchase_id: str | None = Field(default=None, description="null for a flag on an agency")
    owner_id: str | None = None
    agencies: list[str] = Field(default_factory=list, description="the agencies the flag concerns")
    detail: str = Field(description="what was measured against which threshold (never a private value)")
    state: str = Field(default="raised", description="raised, or cleared (it stopped applying)")
    raised_at: str = ""
    cleared_at: str | None = None
    history: list[list[str | None]] = Field(
        default_factory=list, description="every [raised_at, cleared_at] episode, oldest first"
    )
