"""Lifecycles: one table per record of which action moves it from which state to which, and who
takes the action. The same table answers the services (`allows`, `expect`), makes the change (a
validated copy with the new state), gives the repositories the state a conditional write expects,
refuses every other move with a 409 naming the state and the action, and writes docs/lifecycles.md.

A row's `actors` are roles (`owner`, `agency`, `admin`, `regulator`) or `system` (a timed task of
the purchase's window). Who exactly within a role (this purchase's owner, the selected agency, a
regulator of the agency's industries) is checked by the service, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from marketplace.domain.model import revised
from marketplace.errors import Conflict

S = TypeVar("S", bound=StrEnum)
M = TypeVar("M", bound=BaseModel)

SYSTEM = "system"


@dataclass(frozen=True)
class Transition(Generic[S]):
    """One row: `action`, taken by one of `actors`, moves the record from `source` to `target`."""

    source: S
    action: str
    actors: tuple[str, ...]
    target: S
    lifecycle: Lifecycle[S] = field(repr=False, compare=False)

    def apply(self, record: M, /, **changes: Any) -> M:
        """The record with `changes` and the row's target state, validated as a new model."""
        if self.lifecycle.field is not None:
            changes[self.lifecycle.field] = self.target
        moved = revised(record, **changes)
        reached = self.lifecycle.state_of(moved)
        if reached != self.target:
            raise ValueError(
                f"{self.lifecycle.record} {self.action} from {self.source.value} must reach "
                f"{self.target.value}, not {reached.value}"
            )
        return moved


Row = tuple[S, str, tuple[str, ...], S]


class Lifecycle(Generic[S]):
    """The allowed transitions of one kind of record. `field` names the model's attribute that
    stores the state; a record whose state is derived from other fields (a result) gives `state_of`
    and no field."""

    def __init__(
        self,
        record: str,
        states: type[S],
        rows: Iterable[Row[S]],
        *,
        field: str | None = "status",
        state_of: Callable[[Any], S] | None = None,
    ) -> None:
        self.record = record
        self.states = states
        self.field = field
        if state_of is None:
            if field is None:
                raise ValueError("a lifecycle with no state field needs state_of")
            name = field

            def state_of(model: Any) -> S:
                return states(getattr(model, name))

        self.state_of: Callable[[Any], S] = state_of
        self.rows: tuple[Transition[S], ...] = tuple(
            Transition(source, action, actors, target, self) for source, action, actors, target in rows
        )
        self._index: dict[tuple[S, str], Transition[S]] = {}
        for row in self.rows:
            key = (row.source, row.action)
            if key in self._index:
                raise ValueError(f"{record}: two rows for {row.action} from {row.source.value}")
            self._index[key] = row

    @property
    def actions(self) -> tuple[str, ...]:
        """Every action, in the order the table first names it."""
        return tuple(dict.fromkeys(row.action for row in self.rows))

    def allows(self, state: S, action: str) -> bool:
        return (state, action) in self._index

    def sources(self, action: str) -> tuple[S, ...]:
        """The states `action` may start from: what a conditional write on the state expects."""
        return tuple(row.source for row in self.rows if row.action == action)

    def allowed_from(self, state: S) -> tuple[str, ...]:
        return tuple(row.action for row in self.rows if row.source == state)

    def expect(self, state: S, action: str, *, subject: str = "", **extra: Any) -> Transition[S]:
        """The row for `action` from `state`, or a Conflict (409) naming both and what the state
        allows; `extra` goes into the problem body (e.g. a `reason` a client acts on)."""
        row = self._index.get((state, action))
        if row is None:
            raise self.refusal(state, action, subject=subject, **extra)
        return row

    def refusal(self, state: S, action: str, *, subject: str = "", **extra: Any) -> Conflict:
        allowed = self.allowed_from(state)
        who = f"{self.record} {subject}".strip()
        detail = f"{who} is {state.value}: {action} is not allowed in that state" + (
            f" (allowed: {', '.join(allowed)})" if allowed else " (no action is allowed: it is final)"
        )
        return Conflict(detail, **{"state": state.value, "action": action, "allowed": list(allowed), **extra})


def markdown(lifecycle: Lifecycle[Any]) -> str:
    """The table as docs/lifecycles.md lists it: one line per row, in the table's order."""
    lines = ["| from | action | by | to |", "|---|---|---|---|"]
    for row in lifecycle.rows:
        actors = ", ".join(row.actors)
        lines.append(f"| `{row.source.value}` | `{row.action}` | {actors} | `{row.target.value}` |")
    return "\n".join(lines)
