"""The history: the runs that give a candidate's run-to-run noise and its trend, and how they were chosen.

A team's ``pytest_contexta_select_history`` hook chooses them; without one, the built-in rule: the runs
behind the last N completed deployments of the candidate's project (the deployment order of the built-in
baseline; never the candidate), read once per session. Where the history decides a verdict (an interval
from its spread, ``assert_within_history``) the check's message says how it was chosen, and says so
plainly when the baseline was chosen by another rule than the history.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from ..errors import GateError, RunLookupError
from ..reading.refs import parse_run_ref
from ..text import first_line, printable
from .hookspecs import GateHookError

if TYPE_CHECKING:
    import pytest

    from ..runs.models import BaselineChoice, ContextaRun
    from ..runs.workspace import Workspace

HOOK = "pytest_contexta_select_history"


class History(tuple["ContextaRun", ...]):
    """The history runs, newest first, with ``chosen_by``: how they were chosen, as checks show it."""

    chosen_by: str

    def __new__(cls, runs: Iterable[ContextaRun], chosen_by: str) -> History:
        history = super().__new__(cls, runs)
        history.chosen_by = chosen_by
        return history


class HistoryChoice(NamedTuple):
    """The refs of the history runs, newest first, and how they were chosen."""

    refs: list[str]
    chosen_by: str


class DeployedRuns:
    """The built-in rule, looked up once per session: each candidate's deployed runs, each run resolved once."""

    def __init__(self, workspace: Workspace) -> None:
        self._workspace = workspace
        self._found: dict[tuple[str, int], list[tuple[str, str]]] = {}
        self._known: dict[str, str | None] = {}  # run ref -> canonical ref, None when it is not in the workspace

    def __call__(self, candidate: str, count: int) -> list[tuple[str, str]]:
        """(deployment name, run ref) of the last ``count`` completed deployments of the candidate's project, newest
        first, each run once; deployments of the candidate, of no run or of a run no longer in the workspace, and
        those whose start time cannot be read, are passed over."""
        if (candidate, count) not in self._found:
            self._found[(candidate, count)] = self._find(candidate, count)
        return self._found[(candidate, count)]

    def refs(self, candidate: str, count: int) -> list[str]:
        return [ref for _, ref in self(candidate, count)]

    def _find(self, candidate: str, count: int) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        if count <= 0:
            return found
        for row in self._workspace.deployments_newest_first(parse_run_ref(candidate).project):
            if row.start_unreadable or row.status != "completed" or row.run_ref in (None, candidate):
                continue
            ref = self._resolve(row.run_ref)
            if ref is not None and ref != candidate and all(ref != known for _, known in found):
                found.append((row.name, ref))
            if len(found) == count:
                break
        return found

    def _resolve(self, run: str) -> str | None:
        if run not in self._known:
            try:
                self._known[run] = self._workspace.resolve_run(run).text
            except RunLookupError:
                self._known[run] = None
        return self._known[run]


def builtin_history(
    deployed: DeployedRuns, candidate: str, count: int, baseline: BaselineChoice | None
) -> HistoryChoice:
    runs = deployed(candidate, count)
    names = ", ".join(printable(name) for name, _ in runs) or "none found"
    chosen_by = f"the built-in rule: the runs behind the last {count} completed deployments ({names})"
    if baseline is not None and baseline.source != "latest-deployment":
        chosen_by += (
            f"; the baseline was chosen by another rule ({first_line(baseline.reason)}): implement "
            f"{HOOK} to choose the history by the same rule, or pass --contexta-history=0"
        )
    return HistoryChoice([ref for _, ref in runs], chosen_by)


def choose_history(
    config: pytest.Config,
    deployed: DeployedRuns,
    workspace: Workspace,
    candidate: ContextaRun,
    baseline: BaselineChoice | None,
    count: int,
) -> HistoryChoice:
    """Ask the team's ``pytest_contexta_select_history`` hooks, then the built-in rule; ``count`` 0: no history.

    Raises :class:`GateHookError` when a hook raises or answers what cannot be used.
    """
    if count <= 0:
        return HistoryChoice([], "--contexta-history=0: no history")
    try:
        answer = config.hook.pytest_contexta_select_history(
            config=config, candidate=candidate, baseline=baseline, workspace=workspace, count=count
        )
    except GateError:
        raise
    except Exception as exc:
        raise GateHookError(
            f"a {HOOK} hook raised {type(exc).__name__} for {candidate.ref}: {first_line(str(exc))}"
        ) from exc
    if answer is None:
        return builtin_history(deployed, candidate.ref, count, baseline)
    return HistoryChoice(_hook_refs(answer, workspace, candidate.ref, count), f"chosen by a {HOOK} hook")


def _hook_refs(answer: object, workspace: Workspace, candidate: str, count: int) -> list[str]:
    if isinstance(answer, (str, bytes)) or not isinstance(answer, Sequence):
        raise GateHookError(
            f"{HOOK} returned {answer!r} for {candidate}: return a list of runs (refs, names or "
            f"ContextaRun), newest first, or None to leave the choice to the built-in rule"
        )
    if len(answer) > count:
        raise GateHookError(
            f"{HOOK} returned {len(answer)} runs for {candidate}, more than --contexta-history="
            f"{count}: return at most the count it is given"
        )
    refs: list[str] = []
    for item in answer:
        text = item if isinstance(item, str) else getattr(item, "ref", None)
        if not isinstance(text, str):
            raise GateHookError(
                f"{HOOK} returned {item!r} among the runs of {candidate}: each must be a run ref, a "
                f"unique run name or a ContextaRun"
            )
        try:
            ref = workspace.resolve_run(text).text
        except RunLookupError as exc:
            raise GateHookError(
                f"{HOOK} chose {text!r} for the history of {candidate}, which cannot be used: {exc}"
            ) from exc
        if ref == candidate:
            raise GateHookError(
                f"{HOOK} chose the candidate {candidate} for its own history: the history holds other runs only"
            )
        if ref not in refs:
            refs.append(ref)
    return refs
