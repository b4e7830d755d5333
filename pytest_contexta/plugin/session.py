"""The gate session: start-up (candidates, workspace), and each candidate's baseline and history decided once.

The runs themselves and the workspace lookups are kept by :class:`SessionRuns`, the session's one cache.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping, Sequence
from contextlib import suppress
from typing import Any

import pytest

from ..errors import GateError, WorkspaceLockedError
from ..runs.models import BaselineChoice, ContextaRun
from ..text import printable
from ..verdict.facts import RunFacts
from .baseline import BaselineChooser, fixed_choice
from .history import History, choose_history, deployed_runs
from .hook_diagnostics import with_hook_diagnostics
from .hookspecs import GateHookError
from .options import Settings
from .session_runs import SessionRuns
from .tracking import candidate_of

GATE_HOOKS = ("pytest_contexta_select_baseline", "pytest_contexta_select_history", "pytest_contexta_diagnostics")


class GateSession:
    """Everything the gate knows during one pytest session; pytest hooks only delegate to it."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.workspace: SessionRuns | None = None  # the gated workspace: the session's runs and lookups
        self.candidates: list[str] = []
        self.fixed_baseline: BaselineChoice | None = None
        self.usage_errors: list[str] = []  # gate hooks registered too late, or answering what cannot be used
        self._baselines: dict[str, BaselineChoice | GateError] = {}
        self._history: dict[str, History] = {}
        self._chooser: BaselineChooser | None = None
        self._hooks_consulted = False

    def _say_waiting(self, message: str) -> None:
        """One line in the terminal while the ledger is locked, so a wait is never silent."""
        if self.config.pluginmanager.get_plugin("terminalreporter") is None:
            return  # -p no:terminal: nowhere to say it
        writer = self.config.get_terminal_writer()
        if writer.width_of_current_line:
            writer.line()  # after a line of progress dots, not in it
        from ..outputs.summary import fitted_lines

        for line in fitted_lines([f"contexta: {printable(message)}"], writer.fullwidth):
            writer.line(line, yellow=True, flush=True)

    # -- start-up -----------------------------------------------------------------------------------

    def start(self, shared: Mapping[str, Any] | None = None) -> None:
        """Open the workspace and resolve the candidates (a worker takes the controller's ``shared`` answers).

        Raises :class:`GateError`; only ledger rows are read here, no records, and no gate hook is asked.
        """
        self.workspace = SessionRuns(
            self.settings.workspace,
            lock_timeout=self.settings.read_lock_timeout(),
            with_hook_diagnostics=self._with_hook_diagnostics,
            on_wait=self._say_waiting,
        )
        self._chooser = BaselineChooser(self.config, self.workspace)
        if shared is not None:
            self.candidates = list(shared["candidates"])
            fixed = shared["fixed_baseline"]
            self.fixed_baseline = None if fixed is None else BaselineChoice(**fixed)
            self.workspace.take_lookups(shared["deployments"])
            return
        with self.workspace.reading():
            self.workspace.look_up(self.settings.candidates)  # one query for every candidate given as a ref
            for text in self.settings.candidates:
                ref = self.workspace.resolve_run(text).text
                if ref not in self.candidates:
                    self.candidates.append(ref)
            self.fixed_baseline = fixed_choice(self.settings, self.workspace, self.candidates)
            if self.fixed_baseline is None:
                self._chooser.look_up(self.candidates)

    def shared(self) -> dict[str, Any]:
        """JSON-safe start-up answers every xdist worker needs (so that workers read no ledger to start)."""
        assert self.workspace is not None
        fixed = None if self.fixed_baseline is None else self.fixed_baseline.model_dump(mode="json")
        return {"candidates": self.candidates, "fixed_baseline": fixed, "deployments": self.workspace.shared_lookups()}

    # -- gate hooks: asked when first needed, after collection ------------------------------------

    def plugin_registered(self, plugin: object) -> None:
        """A gate hook that registers after the hooks were asked would be silently ignored: a usage error."""
        late = [name for name in GATE_HOOKS if hasattr(plugin, name)]
        if self._hooks_consulted and late:
            where = getattr(plugin, "__file__", None) or repr(plugin)
            self.usage_errors.append(
                f"{', '.join(late)} in {where} was registered after the gate had asked its hooks, so it could not "
                f"take part: define it in a conftest.py under the gate folder or in a plugin loaded at start-up"
            )

    def baseline(self, candidate: str) -> BaselineChoice:
        """The baseline of ``candidate``, decided once; raises :class:`GateError` when it cannot be decided."""
        if candidate not in self._baselines:
            try:
                self._baselines[candidate] = self._choose(candidate)
            except GateError as exc:
                self._baselines[candidate] = self._noted(exc)
        choice = self._baselines[candidate]
        if isinstance(choice, GateError):
            raise choice
        return choice

    def _choose(self, candidate: str) -> BaselineChoice:
        if self.fixed_baseline is not None:
            return self.fixed_baseline
        assert self._chooser is not None
        self._hooks_consulted = True
        try:
            run = self.load(candidate)
        except GateError as exc:
            raise GateError(f"the baseline cannot be chosen, the candidate is unreadable: {exc}") from exc
        return self._chooser.choose(run)

    def _noted(self, error: GateError) -> GateError:
        """A hook's error is the whole gate's usage error, not only the failure of the checks that met it."""
        if isinstance(error, GateHookError) and str(error) not in self.usage_errors:
            self.usage_errors.append(str(error))
        return error

    def prepare(self, items: Sequence[pytest.Item]) -> None:
        """After collection, read every run the selected gate checks need, in one ledger connection.

        A reconnect costs ~30-60 ms per run, so one burst per process; the ledger is released before the gate
        hooks are asked (they are the team's code, and may take their time) and before the first check runs.
        Errors are kept for the checks that meet them.
        """
        needs: dict[str, bool] = {}  # candidate -> whether a selected check of it uses baseline_run
        for item in items:
            candidate = candidate_of(item)
            if candidate is not None:
                fixtures = getattr(item, "fixturenames", ())
                needs[candidate] = (
                    needs.get(candidate, False) or "baseline_run" in fixtures or "history_runs" in fixtures
                )
        if not needs or self.workspace is None:
            return
        with self.workspace.reading():
            likely = self._likely_runs(needs)
            with suppress(WorkspaceLockedError):  # each read of these runs then fails with it
                self.workspace.read_ahead(likely)
        for candidate, wants_baseline in needs.items():
            with suppress(GateError):
                self.load(candidate)
                choice = self.baseline(candidate) if wants_baseline else None
                if choice is not None and choice.run_ref is not None:
                    self.load(choice.run_ref)
            if wants_baseline:
                self.history(candidate)
        _out_of_the_collectors_sight()

    def history(self, candidate: str) -> History:
        """The candidate's history runs, newest first (never the candidate), chosen (hook or built-in rule) and read
        once; a run that cannot be read is left out. A hook's error is the gate's usage error."""
        if candidate not in self._history:
            assert self.workspace is not None
            runs = []
            try:
                with self.workspace.reading():
                    baseline = None
                    with suppress(GateError):
                        baseline = self.baseline(candidate)
                    self._hooks_consulted = True
                    choice = choose_history(
                        self.config, self.workspace, self.load(candidate), baseline, self.settings.history
                    )
                    self.workspace.read_ahead(choice.refs)
                    for ref in choice.refs:
                        with suppress(GateError):
                            runs.append(self.load(ref))
                chosen_by = choice.chosen_by
            except GateError as exc:
                chosen_by = f"none: {self._noted(exc)}"
            self._history[candidate] = History(runs, chosen_by)
        return self._history[candidate]

    def _likely_runs(self, needs: dict[str, bool]) -> list[str]:
        """The candidates, the baselines they most likely get and their history runs, all read in one pass
        over the segments."""
        runs = list(needs)
        for candidate, wants_baseline in needs.items():
            if wants_baseline and candidate not in self._baselines:
                with suppress(GateError):
                    assert self._chooser is not None
                    likely = (
                        self.fixed_baseline.run_ref
                        if self.fixed_baseline is not None
                        else self._chooser.likely(candidate)
                    )
                    if likely is not None:
                        runs.append(likely)
            if wants_baseline:
                runs += self._likely_history(candidate)
        return list(dict.fromkeys(runs))

    def _likely_history(self, candidate: str) -> list[str]:
        """The built-in rule's history runs, read in the same pass as the candidate (none when a hook may choose)."""
        if self.config.hook.pytest_contexta_select_history.get_hookimpls() or self.workspace is None:
            return []
        return [ref for _, ref in deployed_runs(self.workspace, candidate, self.settings.history)]

    def decided_baselines(self) -> dict[str, BaselineChoice]:
        return {ref: choice for ref, choice in self._baselines.items() if isinstance(choice, BaselineChoice)}

    # -- runs --------------------------------------------------------------------------------------

    def load(self, text: str) -> ContextaRun:
        """The run ``text`` (a ref or a unique name) with every diagnostic, read once per session."""
        assert self.workspace is not None, "runs are loaded only after start()"
        return self.workspace.load_run(text)

    def _with_hook_diagnostics(self, run: ContextaRun) -> ContextaRun:
        """What the cache applies to each run it reads: a hook's error is the whole gate's usage error."""
        self._hooks_consulted = True
        try:
            return with_hook_diagnostics(self.config, run)
        except GateHookError as exc:
            self._noted(exc)
            raise

    def run_facts(self, ref: str) -> RunFacts | None:
        """What the verdict needs of a run this process read; None when it never read it."""
        loaded = None if self.workspace is None else self.workspace.loaded(ref)
        if loaded is None:
            return None
        if isinstance(loaded, GateError):
            return RunFacts(error=str(loaded))
        # the verdict's diagnostics carry no details, in every process: the report has none, and an xdist worker
        # cannot send a hook's details, which need not be JSON
        diagnostics = tuple(d.model_copy(update={"details": {}}) for d in loaded.diagnostics)
        return RunFacts(diagnostics=diagnostics, notes=loaded.reader_notes)

    def loaded_refs(self) -> list[str]:
        return [] if self.workspace is None else self.workspace.loaded_refs()


def _out_of_the_collectors_sight() -> None:
    """Everything alive once the runs are read (modules, collected checks, the runs) lives to the end of the
    session: moved out of the cyclic garbage collector's sight (``gc.freeze``), so that the collections after
    it, pytest's two full ones at exit among them, walk only what the checks create (~0.1 s of CPU for one
    candidate). Once per process: a nested session (pytester) leaves it to the first, so at most one session's
    objects are kept from the collector. (Not judged by ``gc.get_freeze_count()``: Python 3.12 starts with
    objects frozen already.)"""
    if not _froze:
        _froze.append(True)
        gc.freeze()


_froze: list[bool] = []  # whether this process froze its objects: the collector is the process's, not the session's
