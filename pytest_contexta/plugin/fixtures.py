"""The fixtures gate checks use. Heavy modules are imported only once a fixture runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .stash import BASELINE_NONE_KEY, SESSION_KEY, SETTINGS_KEY

if TYPE_CHECKING:
    from ..runs.models import ContextaRun
    from ..runs.workspace import Workspace
    from .session import GateSession

NO_CANDIDATE = (
    "contexta: no candidate run to gate. Pass --contexta-candidate=run:<project>.<run-name> "
    "(or set CONTEXTA_CANDIDATE, or ini contexta_candidate)"
)


def _session(request: pytest.FixtureRequest) -> GateSession:
    session = request.config.stash.get(SESSION_KEY, None)
    if session is None:
        pytest.fail(NO_CANDIDATE, pytrace=False)
    return session


def _load(request: pytest.FixtureRequest, ref: str, role: str) -> ContextaRun:
    from ..errors import GateError

    try:
        return _session(request).load(ref)
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
    from ..errors import GateError

    try:
        choice = _session(request).baseline(contexta_candidate)
    except GateError as exc:
        problem = str(exc)
    else:
        if choice.run_ref is not None:
            return _load(request, choice.run_ref, "baseline")
        if choice.declared_none:
            request.node.stash[BASELINE_NONE_KEY] = True
            pytest.skip(f"no baseline: {choice.reason}")
        problem = choice.reason
    pytest.fail(f"contexta: no baseline for {contexta_candidate}: {problem}", pytrace=False)


@pytest.fixture(scope="session")
def contexta_workspace(request: pytest.FixtureRequest) -> Workspace:
    """The workspace being gated, for custom checks: ``list_runs()``, ``list_deployments()``, ``load_run()``.

    While gating, ``load_run()`` hands out the same runs as ``contexta_run`` (read once, with the diagnostics
    of the team's hooks). Every read holds the ledger only while it reads.
    """
    session = request.config.stash.get(SESSION_KEY, None)
    if session is not None and session.workspace is not None:
        return session.workspace
    from ..errors import GateError
    from ..runs.workspace import Workspace

    settings = request.config.stash[SETTINGS_KEY]
    try:
        return Workspace(settings.workspace, lock_timeout=settings.read_lock_timeout())
    except (GateError, pytest.UsageError) as exc:
        problem = str(exc).removeprefix("contexta: ")
    pytest.fail(f"contexta: {problem}", pytrace=False)


@pytest.fixture
def history_runs(request: pytest.FixtureRequest, contexta_candidate: str) -> tuple[ContextaRun, ...]:
    """The runs behind the last ``--contexta-history`` (default 5) completed deployments of the candidate's
    project, newest first, never the candidate; read once per session. Pass it to ``assert_within_history``."""
    return _session(request).history(contexta_candidate)
