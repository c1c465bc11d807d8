"""Errors of the mapper: a model or graph it cannot build, with a message naming the node."""

from __future__ import annotations

from common.errors import UserError


class MappingError(UserError):
    """The graph cannot be mapped; the message names the node and what to change."""


class UnsupportedOperationError(MappingError):
    """A graph operation has no library component."""
