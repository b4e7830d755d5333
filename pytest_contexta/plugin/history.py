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
    from .session_runs import SessionRuns

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


def deployed_runs(runs: SessionRuns, candidate: str, count: int) -> list[tuple[str, str]]:
    """The built-in rule: (deployment name, run ref) of the last ``count`` completed deployments of the candidate's
    project, newest first, each run once; deployments of the candidate, of no run or of a run no longer in the
    workspace, and those whose start time cannot be read, are passed over. ``runs`` answers each lookup once."""
    found: list[tuple[str, str]] = []
    if count <= 0:
        return found
    for row in runs.deployments_newest_first(parse_run_ref(candidate).project):
        if row.start_unreadable or row.status != "completed" or row.run_ref in (None, candidate):
            continue
        ref = runs.known_ref(row.run_ref)
        if ref is not None and ref != candidate and all(ref != known for _, known in found):
            found.append((row.name, ref))
        if len(found) == count:
            break
    return found


def builtin_history(runs: SessionRuns, candidate: str, count: int, baseline: BaselineChoice | None) -> HistoryChoice:
    deployed = deployed_runs(runs, candidate, count)
    names = ", ".join(printable(name) for name, _ in deployed) or "none found"
    chosen_by = f"the built-in rule: the runs behind the last {count} completed deployments ({names})"
    if baseline is not None and baseline.source != "latest-deployment":
        chosen_by += (
            f"; the baseline was chosen by another rule ({first_line(baseline.reason)}): implement "
            f"{HOOK} to choose the history by the same rule, or pass --contexta-history=0"
        )
    return HistoryChoice([ref for _, ref in deployed], chosen_by)


def choose_history(
    config: pytest.Config,
    runs: SessionRuns,
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
            config=config, candidate=candidate, baseline=baseline, workspace=runs, count=count
        )
    except GateError:
        raise
    except Exception as exc:
        raise GateHookError(
            f"a {HOOK} hook raised {type(exc).__name__} for {candidate.ref}: {first_line(str(exc))}"
        ) from exc
    if answer is None:
        return builtin_history(runs, candidate.ref, count, baseline)
    return HistoryChoice(_hook_refs(answer, runs, candidate.ref, count), f"chosen by a {HOOK} hook")


def _hook_refs(answer: object, runs: SessionRuns, candidate: str, count: int) -> list[str]:
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
            ref = runs.resolve_run(text).text
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
