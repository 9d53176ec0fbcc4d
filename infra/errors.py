"""The one error the infrastructure build raises: its message says what to fix."""

from __future__ import annotations


class BuildError(Exception):
    """The template cannot be built as things stand (a missing policy entry, a bad reference...)."""
