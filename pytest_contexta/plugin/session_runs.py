"""``SessionRuns``: the one cache of a gate session's runs and workspace lookups (nothing else keeps either)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..errors import GateError, RunLookupError, WorkspaceLockedError
from ..reading.ledger import DeploymentRow
from ..reading.refs import RefError, RunRef, parse_run_ref
from ..reading.rows import Deployment
from ..runs.models import ContextaRun
from ..runs.workspace import Workspace

Latest = tuple[Deployment | None, list[str]]


class SessionRuns(Workspace):
    """The gated workspace as the session, its checks and its hooks see it, and the session's only cache.

    Every run (a candidate, a baseline, a history run, one a custom check or hook loads) is read from disk once
    and handed out by ref as the same object, with the diagnostics of the ``pytest_contexta_diagnostics`` hooks
    (``with_hook_diagnostics``, applied when it is first handed out): ``load_run()`` gives what ``contexta_run``,
    ``baseline_run`` and ``history_runs`` get. Each lookup (a run resolved, a project's deployments listed or
    ordered, its latest completed deployment) is answered once per session. The baseline and history rules ask
    it and keep nothing themselves; below it, the reader keeps no runs (only, per segment, the lines no byte
    search can attribute) and the ledger only the rows of its open connection.
    """

    def __init__(
        self,
        root: Path,
        *,
        lock_timeout: float,
        with_hook_diagnostics: Callable[[ContextaRun], ContextaRun],
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(root, lock_timeout=lock_timeout, on_wait=on_wait)
        self._with_hook_diagnostics = with_hook_diagnostics
        self._runs: dict[str, ContextaRun | GateError] = {}  # a ref, or the text a run was asked by -> it, or why not
        self._unhooked: dict[str, ContextaRun | GateError] = {}  # read ahead, the hooks not yet asked
        self._locked: WorkspaceLockedError | None = None  # the lock timeout bounds the session's wait, not each read
        self._resolved: dict[str, RunRef | RunLookupError] = {}
        self._deployments: dict[str | None, list[Deployment]] = {}
        self._newest_first: dict[str, list[DeploymentRow]] = {}
        self._latest: dict[tuple[str, str], Latest] = {}

    # -- runs --------------------------------------------------------------------------------------

    def read_ahead(self, refs: Iterable[str]) -> None:
        """Read the runs of ``refs`` (canonical refs) not read yet in one pass over the segments; the hooks are
        asked when each is first handed out. A locked ledger raises :class:`WorkspaceLockedError`, and every
        later read fails with it without waiting again."""
        unread = [ref for ref in dict.fromkeys(refs) if ref not in self._runs and ref not in self._unhooked]
        if not unread:
            return
        if self._locked is not None:
            raise self._locked
        try:
            self._unhooked.update(self.load_runs(unread))
        except WorkspaceLockedError as exc:
            self._locked = exc
            raise

    def load_run(self, run: str | RunRef) -> ContextaRun:
        """The run (a ref or a unique name) with every diagnostic, read once per session; raises :class:`GateError`."""
        text = run.text if isinstance(run, RunRef) else run
        if text not in self._runs:
            try:
                ref = parse_run_ref(text).text
            except RefError:  # a bare run name, or a malformed ref the lookup explains
                ref = self.resolve_run(text).text
            if ref not in self._runs:
                self._runs[ref] = self._first_read(ref)
            self._runs[text] = self._runs[ref]
        loaded = self._runs[text]
        if isinstance(loaded, GateError):
            raise loaded
        return loaded

    def _first_read(self, ref: str) -> ContextaRun | GateError:
        try:
            if self._locked is not None:
                raise self._locked
            read = self._unhooked.pop(ref) if ref in self._unhooked else super().load_run(parse_run_ref(ref))
            if isinstance(read, GateError):
                raise read
            return self._with_hook_diagnostics(read)
        except WorkspaceLockedError as exc:
            self._locked = exc
            return exc
        except GateError as exc:
            return exc

    def loaded(self, ref: str) -> ContextaRun | GateError | None:
        """The run handed out as ``ref``, or why it could not be; None when it was never asked for."""
        return self._runs.get(ref)

    def loaded_refs(self) -> list[str]:
        return [ref for ref in self._runs if ref.startswith("run:")]

    # -- lookups -----------------------------------------------------------------------------------

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

    def known_ref(self, run: str | None) -> str | None:
        """The canonical ref of ``run``; None when it names no run in the workspace (or is None)."""
        if run is None:
            return None
        try:
            return self.resolve_run(run).text
        except RunLookupError:
            return None

    def list_deployments(self, project: str | None = None) -> list[Deployment]:
        """Read once per project and session (each candidate's baseline may walk its project's deployments)."""
        if project not in self._deployments:
            self._deployments[project] = super().list_deployments(project)
        return list(self._deployments[project])

    def deployments_newest_first(self, project: str) -> list[DeploymentRow]:
        """Ordered once per project and session, in SQL."""
        if project not in self._newest_first:
            self._newest_first[project] = super().deployments_newest_first(project)
        return self._newest_first[project]

    def latest_completed_deployment(self, project: str, *, exclude_run: str) -> Latest:
        """Looked up once per project and excluded run, in the session or (xdist) by the controller."""
        key = (project, exclude_run)
        if key not in self._latest:
            self._latest[key] = super().latest_completed_deployment(project, exclude_run=exclude_run)
        return self._latest[key]

    def shared_lookups(self) -> list[dict[str, Any]]:
        """The latest-deployment lookups made so far, JSON-safe, for xdist workers."""
        return [
            {
                "project": project,
                "exclude": exclude,
                "passed_over": passed_over,
                "deployment": None if deployment is None else deployment.model_dump(mode="json"),
            }
            for (project, exclude), (deployment, passed_over) in self._latest.items()
        ]

    def take_lookups(self, shared: list[dict[str, Any]]) -> None:
        """Start from the controller's lookups (:meth:`shared_lookups`)."""
        for entry in shared:
            deployment = None if entry["deployment"] is None else Deployment(**entry["deployment"])
            self._latest[(entry["project"], entry["exclude"])] = (deployment, list(entry["passed_over"]))
