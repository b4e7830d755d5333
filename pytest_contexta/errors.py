"""Errors that stop a gate from deciding; each message says what is wrong, where, and how to fix it."""

from __future__ import annotations


class GateError(Exception):
    """The gate cannot decide. ``str()`` is the one-line message shown to the user."""


class WorkspaceError(GateError):
    """The workspace path is missing, is not a Contexta workspace, or cannot be read."""


class WorkspaceLockedError(WorkspaceError):
    """Another process holds the ledger's write lock for longer than the lock timeout."""


class RunLookupError(GateError):
    """A run ref is malformed, unknown or ambiguous."""


class CheckArgumentError(ValueError):
    """An assertion helper was called with arguments that cannot describe a check."""
