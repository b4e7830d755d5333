"""The fixtures gate checks use. Heavy modules are imported only once a fixture runs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from .stash import GATE_KEY, SETTINGS_KEY

if TYPE_CHECKING:
    from .gate import GateSession
    from .models import ContextaRun
    from .workspace import Workspace

NO_CANDIDATE = ("contexta: no candidate run to gate. Pass --contexta-candidate=run:<project>.<run-name> "
                "(or set CONTEXTA_CANDIDATE, or ini contexta_candidate)")


def _gate(request: pytest.FixtureRequest) -> GateSession:
    gate = request.config.stash.get(GATE_KEY, None)
    if gate is None:
        pytest.fail(NO_CANDIDATE, pytrace=False)
    return gate


def _load(request: pytest.FixtureRequest, ref: str, role: str) -> ContextaRun:
    from .errors import GateError

    try:
        return _gate(request).load(ref)
    except GateError as exc:
        problem = str(exc)
    # failing outside the except block keeps pytest from printing the chained exceptions: one message
    pytest.fail(f"contexta: cannot read the {role} run {ref}: {problem}", pytrace=False)


@pytest.fixture
def contexta_candidate(request: pytest.FixtureRequest) -> str:
    """The ref of the candidate run this check gates; each gate check runs once per candidate."""
    ref: str | None = getattr(request, "param", None)
    if ref is None:
        pytest.fail(NO_CANDIDATE, pytrace=False)
    return ref


@pytest.fixture
def contexta_run(request: pytest.FixtureRequest, contexta_candidate: str) -> ContextaRun:
    """The candidate run (``--contexta-candidate``), read once per session."""
    return _load(request, contexta_candidate, "candidate")


@pytest.fixture
def baseline_run(request: pytest.FixtureRequest, contexta_candidate: str) -> ContextaRun:
    """The run the candidate is compared against (``--contexta-baseline``; by default the run behind the
    project's latest completed deployment). With ``--contexta-baseline=none`` checks that use it are skipped."""
    from .gate import BASELINE_NONE_KEY

    choice = _gate(request).baseline_for(contexta_candidate)
    if choice.run_ref is None:
        if choice.declared_none:
            request.node.stash[BASELINE_NONE_KEY] = True
            pytest.skip(f"no baseline: {choice.reason}")
        pytest.fail(f"contexta: no baseline for {contexta_candidate}: {choice.reason}", pytrace=False)
    return _load(request, choice.run_ref, "baseline")


@pytest.fixture(scope="session")
def contexta_workspace(request: pytest.FixtureRequest) -> Iterator[Workspace]:
    """The workspace being gated, for custom checks: ``list_runs()``, ``list_deployments()``, ``load_run()``."""
    gate = request.config.stash.get(GATE_KEY, None)
    if gate is not None and gate.workspace is not None:
        yield gate.workspace
        return
    from .errors import GateError
    from .workspace import Workspace

    settings = request.config.stash[SETTINGS_KEY]
    try:
        workspace = Workspace(settings.workspace, lock_timeout=settings.lock_timeout)
    except GateError as exc:
        problem = str(exc)
    else:
        yield workspace
        workspace.close()
        return
    pytest.fail(f"contexta: {problem}", pytrace=False)
