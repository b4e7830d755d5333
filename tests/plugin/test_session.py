"""GateSession without a pytest run: the run cache and the lock timeout as a bound on the session's wait."""

from __future__ import annotations

import pytest

from pytest_contexta.errors import WorkspaceLockedError
from pytest_contexta.plugin.session import GateSession


class LockedWorkspace:
    """Every read waits out the lock timeout and fails, as while a training job holds the ledger."""

    def __init__(self) -> None:
        self.reads: list[str] = []

    def read_run(self, ref: str) -> None:
        self.reads.append(ref)
        raise WorkspaceLockedError("ledger.db is locked by another process (PID 1); waited 10 s")


def test_a_locked_ledger_is_waited_for_once_per_session_not_once_per_run() -> None:
    session = GateSession(config=None, settings=None)  # type: ignore[arg-type]  # neither is used by load()
    session.workspace = LockedWorkspace()  # type: ignore[assignment]
    for ref in ("run:p.a", "run:p.b", "run:p.a"):
        with pytest.raises(WorkspaceLockedError, match="locked by another process"):
            session.load(ref)
    assert session.workspace.reads == ["run:p.a"]  # type: ignore[attr-defined]
    assert session.run_facts("run:p.b").error.startswith("ledger.db is locked")
