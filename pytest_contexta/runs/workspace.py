"""A Contexta workspace opened read-only: resolve run refs and load single runs."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from ..errors import GateError, RunLookupError, WorkspaceError, WorkspaceLockedError
from ..reading.files import read_regular, regular_file_exists, unreadable
from ..reading.ledger import DeploymentRow, Ledger
from ..reading.refs import RefError, RunRef, is_component, looks_like_ref, parse_run_ref
from ..reading.rows import Deployment, Run
from ..reading.segments import RecordReader, RunRecords
from ..text import printable
from .diagnostics import builtin_diagnostics
from .models import ContextaRun

LEDGER = Path("metadata") / "ledger.db"
MANIFEST = Path("records") / "manifest.json"
SUPPORTED_LAYOUT = {"layout_mode": "jsonl_segments", "layout_version": "1"}
_FIX_PATH = "pass the folder that holds metadata/ and records/ with --contexta-workspace (or CONTEXTA_WORKSPACE)"


_MAX_MANIFEST_BYTES = 2**20


def _looks_like_workspace(path: Path) -> bool:
    return (path / LEDGER).is_file() and (path / MANIFEST).is_file()


def check_layout(root: Path) -> None:
    """Raise :class:`WorkspaceError` unless ``root`` is a Contexta workspace this plugin can read."""
    try:
        _check_layout(root)
    except OSError as exc:
        where = Path(exc.filename) if exc.filename is not None else root
        raise unreadable(where, exc, "" if where == root else f" (in workspace {printable(str(root))})") from exc


def _check_layout(root: Path) -> None:
    if not root.exists():
        raise WorkspaceError(f"workspace {root} does not exist: {_FIX_PATH}")
    if not root.is_dir():
        raise WorkspaceError(f"workspace {root} is a file, not a folder: {_FIX_PATH}")
    missing = [str(part) for part in (LEDGER, MANIFEST) if not regular_file_exists(root / part)]
    if len(missing) == 2:
        nested = sorted(str(child) for child in root.iterdir() if child.is_dir() and _looks_like_workspace(child))
        if nested:
            raise WorkspaceError(
                f"{root} is not a Contexta workspace, but it holds workspaces one level down "
                f"({', '.join(nested)}): pass one of them with --contexta-workspace"
            )
        raise WorkspaceError(f"{root} is not a Contexta workspace (no {LEDGER} and no {MANIFEST}): {_FIX_PATH}")
    if missing:
        raise WorkspaceError(f"workspace {root} is incomplete: {missing[0]} is missing. Was it copied only in part?")
    try:
        manifest = json.loads(read_regular(root / MANIFEST, _MAX_MANIFEST_BYTES).decode("utf-8"))
        layout = {key: str(manifest[key]) for key in SUPPORTED_LAYOUT}
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise WorkspaceError(
            f"{root / MANIFEST} is not a readable Contexta record manifest (invalid JSON, or no layout_mode and "
            f"layout_version): restore it from a backup, or copy the whole workspace again"
        ) from exc
    if layout != SUPPORTED_LAYOUT:
        raise WorkspaceError(
            f"{root / MANIFEST} declares layout {layout['layout_mode']!r} version {layout['layout_version']!r}; "
            f"pytest-contexta reads 'jsonl_segments' version '1' (Contexta 1.x): upgrade pytest-contexta"
        )


class Workspace:
    """A Contexta workspace, read without creating, changing or locking anything in it."""

    def __init__(
        self, root: str | Path, *, lock_timeout: float = 10.0, on_wait: Callable[[str], None] | None = None
    ) -> None:
        self.root = Path(root)
        check_layout(self.root)
        self._ledger = Ledger(self.root / LEDGER, lock_timeout=lock_timeout, on_wait=on_wait)
        self._reader = RecordReader(self.root / "records")
        self._readers = 0

    @contextmanager
    def reading(self) -> Iterator[Workspace]:
        """Hold the ledger open across several reads (one connect); it is released when the outermost block ends.

        Every public read opens its own block, so outside one nothing is held and Contexta writers are never
        locked out for longer than a read.
        """
        self._readers += 1
        try:
            yield self
        finally:
            self._readers -= 1
            if self._readers == 0:
                self._ledger.close()

    def close(self) -> None:
        """Release the ledger connection even inside a :meth:`reading` block (nothing is held otherwise)."""
        self._ledger.close()

    def resolve_run(self, text: str) -> RunRef:
        """The canonical ref of a run given as ``run:<project>.<name>`` or as a unique bare name."""
        with self.reading():
            return self._resolve(text)[0]

    def _resolve(self, text: str) -> tuple[RunRef, Run]:
        """The canonical ref of a run given as a ref or a unique bare name, and its ledger row."""
        text = text.strip() if isinstance(text, str) else text
        if not isinstance(text, str) or not text:
            raise RunLookupError("the run is empty: give run:<project>.<run-name> or a unique run name")
        if looks_like_ref(text):
            try:
                ref = parse_run_ref(text)
            except RefError as exc:
                raise RunLookupError(
                    f"invalid run ref: {exc}; give run:<project>.<run-name> or a unique run name"
                ) from exc
            return ref, self._row(ref)
        if not is_component(text):
            hint = f" (did you mean run:{text}?)" if text.count(".") == 1 and text.isprintable() else ""
            raise RunLookupError(f"{text!r} is neither a run ref nor a run name{hint}: give run:<project>.<run-name>")
        matches = self._ledger.run_refs_named(text)
        if not matches:
            raise RunLookupError(f"no run named {text!r} in workspace {self.root}")
        if len(matches) > 1:
            raise RunLookupError(
                f"run name {text!r} is ambiguous in workspace {self.root}: {', '.join(matches)}; pass the full ref"
            )
        try:
            ref = parse_run_ref(matches[0])
        except RefError as exc:
            raise RunLookupError(
                f"run name {text!r} matches {matches[0]!r} in {self.root / LEDGER}, which is not "
                f"a valid run ref ({exc}): the ledger is damaged; restore it from a backup"
            ) from exc
        return ref, self._row(ref)

    def _row(self, ref: RunRef) -> Run:
        row = self._ledger.run(ref.text)
        if row is None:
            raise RunLookupError(f"run {ref.text} is not in workspace {self.root}{self._near(ref)}")
        return row

    def _near(self, ref: RunRef) -> str:
        names = [run.ref for run in self._ledger.runs(ref.project_ref)]
        if not names:
            return f" (it has no project {ref.project!r})"
        shown = ", ".join(printable(name) for name in names[-5:])
        return f" (project {ref.project} has {len(names)} runs, latest: {shown})"

    def load_runs(self, refs: Iterable[str]) -> dict[str, ContextaRun | GateError]:
        """Each of ``refs`` (canonical refs; others are left out) as :meth:`load_run` reads it, or the error it
        raises: the records of all of them in one pass over the segments, their ledger rows with one query per
        table. A pass that fails leaves each run to its own read, which then says why; a locked ledger raises
        :class:`WorkspaceLockedError`."""
        wanted: dict[str, RunRef] = {}
        for text in refs:
            with suppress(RefError):
                ref = parse_run_ref(text)
                wanted[ref.text] = ref
        if not wanted:
            return {}
        with self.reading():
            found: dict[str, RunRecords] = {}
            with suppress(WorkspaceError, OSError):
                found = self._reader.read_runs(list(wanted.values()))
            try:  # after the records: DuckDB's query memory then reuses what the pass freed (~3 MB less at peak)
                self._ledger.prefetch(list(wanted))  # their ledger rows too, one query per table
            except WorkspaceLockedError:
                raise
            except WorkspaceError:
                pass  # a damaged table: each run's own read says which row
            loaded: dict[str, ContextaRun | GateError] = {}
            for text, ref in wanted.items():
                try:
                    loaded[text] = self._load_run(ref, found.pop(text, None))
                except GateError as exc:
                    loaded[text] = exc
            return loaded

    def look_up(self, runs: Iterable[str]) -> None:
        """Fetch the ledger rows of many runs (refs) with one query, for the lookups of the enclosing
        :meth:`reading` block; a failure is left to each lookup, except a locked ledger."""
        if self._readers:
            try:
                self._ledger.prefetch(list(runs), tables=("runs",))
            except WorkspaceLockedError:
                raise
            except WorkspaceError:
                pass

    def load_run(self, run: str | RunRef) -> ContextaRun:
        """Read one run: its ledger rows and its records, found by reading every segment."""
        with self.reading():
            return self._load_run(run)

    def _load_run(self, run: str | RunRef, found: RunRecords | None = None) -> ContextaRun:
        """Read one run; ``found``: its records, when a pass over the segments for several runs read them."""
        if isinstance(run, RunRef):
            try:
                ref = parse_run_ref(run.text)  # a RunRef built by hand is checked before it names an index file
            except RefError as exc:
                raise RunLookupError(
                    f"invalid run ref: {exc}; build RunRef values with parse_run_ref(), or pass the ref as text"
                ) from exc
            row = self._row(ref)
        else:
            ref, row = self._resolve(run)
        try:
            found = self._reader.read_run(ref) if found is None else found
        except OSError as exc:  # the checks in files.py turn the expected ones into WorkspaceError first
            raise unreadable(
                Path(exc.filename) if exc.filename else self.root / "records",
                exc,
                f" (reading the records of {ref.text})",
            ) from exc
        loaded = ContextaRun.model_construct(  # the records were validated line by line: not again, one by one
            run=row,
            stages=tuple(self._ledger.stages(ref.text)),
            batches=tuple(self._ledger.batches(ref.text)),
            deployments=tuple(self._ledger.deployments(run_ref=ref.text)),
            environments=tuple(self._ledger.environments(ref.text)),
            records=found.records,
            damaged=tuple(found.damaged),
            reader_notes=tuple(found.notes),
        )
        return loaded.model_copy(update={"diagnostics": tuple(builtin_diagnostics(loaded))})

    def list_runs(self, project: str | None = None) -> list[Run]:
        """Runs of one project (by name) or of all, ordered by project, start time and ref."""
        with self.reading():
            return self._ledger.runs(None if project is None else f"project:{project}")

    def list_deployments(self, project: str | None = None) -> list[Deployment]:
        """Deployments of one project (by name) or of all."""
        with self.reading():
            return self._ledger.deployments(project_ref=None if project is None else f"project:{project}")

    def deployments_newest_first(self, project: str) -> list[DeploymentRow]:
        """The project's deployments, newest first by real start time, ordered in SQL."""
        with self.reading():
            return self._ledger.deployments_newest_first(f"project:{project}")

    def latest_completed_deployment(self, project: str, *, exclude_run: str) -> tuple[Deployment | None, list[str]]:
        """The newest completed deployment of ``project`` with a run other than ``exclude_run``.

        Also returns why each newer deployment was passed over. Only the chosen deployment is decoded.
        """
        passed_over = []
        for row in self.deployments_newest_first(project):
            if row.start_unreadable:
                passed_over.append(f"{printable(row.name)} (its started_at cannot be read as a time)")
            elif row.status != "completed":
                passed_over.append(f"{printable(row.name)} ({printable(row.status)})")
            elif row.run_ref is None:
                passed_over.append(f"{printable(row.name)} (records no run)")
            elif row.run_ref == exclude_run:
                passed_over.append(f"{printable(row.name)} (deployed the candidate itself)")
            else:
                with self.reading():
                    return self._ledger.deployment(row.ref), passed_over
        return None, passed_over
