"""The gated workspace as a session's checks and hooks see it: runs read once, lookups answered once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import RunLookupError
from ..reading.refs import RunRef, parse_run_ref
from ..reading.rows import Deployment
from ..runs.models import ContextaRun
from ..runs.workspace import Workspace


class GateWorkspace(Workspace):
    """The gated workspace as checks and hooks see it: ``load_run()`` hands out the session's runs, read once,
    with the diagnostics of the ``pytest_contexta_diagnostics`` hooks, exactly as ``contexta_run`` gets them."""

    def __init__(
        self,
        root: Path,
        *,
        lock_timeout: float,
        cached: Callable[[str], ContextaRun],
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(root, lock_timeout=lock_timeout, on_wait=on_wait)
        self._cached = cached
        self._resolved: dict[str, RunRef | RunLookupError] = {}
        self._deployments: dict[str | None, list[Deployment]] = {}

    def load_run(self, run: str | RunRef) -> ContextaRun:
        return self._cached(run.text if isinstance(run, RunRef) else run)

    def resolve_run(self, text: str) -> RunRef:
        """Looked up once per session: every candidate's baseline and history ask for the same deployed runs."""
        if not isinstance(text, str):
            return super().resolve_run(text)
        if text not in self._resolved:
            try:
                ref = self._resolved[text] = super().resolve_run(text)
                self._resolved[ref.text] = ref
            except RunLookupError as exc:
                self._resolved[text] = exc
        found = self._resolved[text]
        if isinstance(found, RunLookupError):
            raise found
        return found

    def list_deployments(self, project: str | None = None) -> list[Deployment]:
        """Read once per project and session (each candidate's history walks its project's deployments)."""
        if project not in self._deployments:
            self._deployments[project] = super().list_deployments(project)
        return list(self._deployments[project])

    def read_run(self, ref: str) -> ContextaRun:
        """Read a run from disk, bypassing the cache (the session's own loader)."""
        return super().load_run(parse_run_ref(ref))
