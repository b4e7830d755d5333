"""Hooks a team implements in its conftest.py to adapt the gate (added via ``pytest_addhooks``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import pytest

from ..errors import GateError

if TYPE_CHECKING:
    from ..runs.models import BaselineChoice, ContextaRun, Diagnostic
    from ..runs.workspace import Workspace
    from ..verdict.report import GateReport


class GateHookError(GateError):
    """A team's gate hook raised, or gave an answer the gate cannot use: a usage error of the whole gate."""


@pytest.hookspec(firstresult=True)
def pytest_contexta_select_baseline(
    config: pytest.Config, candidate: ContextaRun, workspace: Workspace
) -> BaselineChoice | str | None:
    """Choose the run ``candidate`` is compared against.

    Return a :class:`~pytest_contexta.BaselineChoice` (with the reason shown in the verdict), a run
    ref or unique run name, or None to leave the choice to the next implementation. The plugin's
    own rule, the run behind the project's latest completed deployment, runs when every hook returned
    None. Called once per candidate in each process that runs its checks (each xdist worker), after
    collection, so implementations in any conftest.py of the gate folder count; only when
    ``--contexta-baseline`` is ``latest-deployment``. It must answer alike in every process.
    """


@pytest.hookspec(firstresult=True)
def pytest_contexta_select_history(
    config: pytest.Config, candidate: ContextaRun, baseline: BaselineChoice | None, workspace: Workspace, count: int
) -> Sequence[ContextaRun | str] | None:
    """Choose the history of ``candidate``: the runs whose spread gives a metric without replicates or a standard
    error its noise estimate, that ``history_runs`` and ``assert_within_history`` use, and whose values make the
    trend.

    Return at most ``count`` (``--contexta-history``) runs, newest first, as run refs, unique run names or
    :class:`~pytest_contexta.ContextaRun` objects (never the candidate), or None to leave the choice to the next
    implementation. The plugin's own rule, the runs behind the project's last ``count`` completed deployments,
    runs when every hook returned None. ``baseline`` is the candidate's baseline choice (None when it could not
    be decided), so a team that chooses its baseline with ``pytest_contexta_select_baseline`` can choose the
    history by the same rule. Called once per candidate in each process that runs its checks (each xdist
    worker), after collection and the baseline; never with ``--contexta-history=0``. It must answer alike in
    every process.
    """


@pytest.hookspec
def pytest_contexta_diagnostics(run: ContextaRun) -> Iterable[Diagnostic] | None:
    """Return extra diagnostics for ``run`` (e.g. a dataset version that differs from the registered one).

    They are added to ``run.diagnostics`` once per run and process, when a check first needs the run
    (after collection), so ``assert_no_error_diagnostics`` honours those with severity ``error``.
    """


@pytest.hookspec
def pytest_contexta_gate_finished(config: pytest.Config, report: GateReport) -> None:
    """Called once per session on the controller with the final verdict (post it to chat, store it).

    Also called when the gate cannot start (a usage error): then ``report.error`` says why. The files
    (report, markdown) are written after these hooks ran; a hook that raises fails the gate.
    """
