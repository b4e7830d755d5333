"""The session's one cache of runs and lookups (``SessionRuns``), and the lock timeout as a bound on its wait."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import WORKSPACES
from pytest_contexta.errors import WorkspaceLockedError
from pytest_contexta.plugin.session import GateSession
from pytest_contexta.plugin.session_runs import SessionRuns
from pytest_contexta.reading.ledger import Ledger
from pytest_contexta.reading.refs import RunRef
from pytest_contexta.runs.models import ContextaRun
from pytest_contexta.runs.workspace import Workspace

DEPLOYMENTS = WORKSPACES / "deployments"


def _read(passes: list[list[str]]) -> list[str]:
    """Every run the reader read from the segments, once per pass that read it."""
    return [ref for runs in passes for ref in runs]


def _unchanged(run: ContextaRun) -> ContextaRun:
    return run


def test_a_run_is_read_once_and_handed_out_as_one_object(reader_passes: list[list[str]]) -> None:
    hooked: list[str] = []

    def with_hook_diagnostics(run: ContextaRun) -> ContextaRun:
        hooked.append(run.ref)
        return run

    runs = SessionRuns(DEPLOYMENTS, lock_timeout=0, with_hook_diagnostics=with_hook_diagnostics)
    with runs.reading():
        runs.read_ahead(["run:ranker.cand-a", "run:ranker.cand-b"])
        runs.read_ahead(["run:ranker.cand-b", "run:ranker.r3"])  # only r3 is read: cand-b is waiting
    assert _read(reader_passes) == ["run:ranker.cand-a", "run:ranker.cand-b", "run:ranker.r3"]
    assert hooked == []  # the hooks are asked when a run is first handed out, after the ledger is released
    candidate = runs.load_run("cand-b")
    assert runs.load_run("run:ranker.cand-b") is candidate
    assert runs.load_run(RunRef("ranker", "cand-b")) is candidate
    assert runs.loaded("run:ranker.cand-b") is candidate and runs.loaded("run:ranker.r1") is None
    runs.read_ahead(["run:ranker.cand-b"])
    assert runs.load_run("run:ranker.r1").ref == "run:ranker.r1"  # never read ahead: read when asked for
    assert _read(reader_passes) == ["run:ranker.cand-a", "run:ranker.cand-b", "run:ranker.r3", "run:ranker.r1"]
    assert hooked == ["run:ranker.cand-b", "run:ranker.r1"]
    assert runs.loaded_refs() == ["run:ranker.cand-b", "run:ranker.r1"]  # names and RunRefs are not listed


def test_lookups_are_answered_once_per_session(monkeypatch: pytest.MonkeyPatch) -> None:
    queries: list[str] = []
    rows = Ledger._rows

    def counted(ledger: Ledger, sql: str, *params: object) -> Any:
        queries.append(sql)
        return rows(ledger, sql, *params)

    monkeypatch.setattr(Ledger, "_rows", counted)
    runs = SessionRuns(DEPLOYMENTS, lock_timeout=0, with_hook_diagnostics=_unchanged)
    for _ in range(2):
        assert runs.resolve_run("cand-b").text == "run:ranker.cand-b"
        assert runs.known_ref("run:ranker.cand-b") == "run:ranker.cand-b"  # resolved as cand-b: known already
        assert runs.known_ref("run:ranker.gone") is None
        assert len(runs.list_deployments("ranker")) == 8
        assert runs.deployments_newest_first("ranker")[0].name == "rollout-open"
    assert len(queries) == 6  # a name, a ref that is not there (and its project's runs), two deployment queries


def test_deployments_are_ordered_once_per_session_and_only_the_chosen_one_is_decoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    workspace = SessionRuns(DEPLOYMENTS, lock_timeout=0, with_hook_diagnostics=_unchanged)
    queries: list[str] = []
    decoded: list[str] = []
    order, decode = Ledger.deployments_newest_first, Ledger._deployment
    monkeypatch.setattr(
        Ledger, "deployments_newest_first", lambda self, project: queries.append(project) or order(self, project)
    )
    monkeypatch.setattr(Ledger, "_deployment", lambda self, ref, *rest: decoded.append(ref) or decode(self, ref, *rest))
    for candidate in ("run:ranker.cand-a", "run:ranker.cand-b", "run:ranker.r1", "run:ranker.cand-a"):
        workspace.latest_completed_deployment("ranker", exclude_run=candidate)
    assert queries == ["project:ranker"]
    assert decoded == [
        "deployment:ranker.shadow-cand-b",
        "deployment:ranker.prod-mar",
        "deployment:ranker.shadow-cand-b",
    ]  # one per candidate: the chosen one
    worker = SessionRuns(DEPLOYMENTS, lock_timeout=0, with_hook_diagnostics=_unchanged)
    worker.take_lookups(workspace.shared_lookups())
    assert worker.latest_completed_deployment("ranker", exclude_run="run:ranker.cand-b") == (
        workspace.latest_completed_deployment("ranker", exclude_run="run:ranker.cand-b")
    )
    assert queries == ["project:ranker"]  # an xdist worker starts from the controller's answers


def test_a_locked_ledger_is_waited_for_once_per_session_not_once_per_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every read waits out the lock timeout and fails, as while a training job holds the ledger."""
    waits: list[str] = []

    def locked(workspace: Workspace, run: str | RunRef) -> ContextaRun:
        waits.append(run.text if isinstance(run, RunRef) else run)
        raise WorkspaceLockedError("ledger.db is locked by another process (PID 1); waited 10 s")

    monkeypatch.setattr(Workspace, "load_run", locked)
    session = GateSession(config=None, settings=None)  # type: ignore[arg-type]  # neither is used by load()
    session.workspace = SessionRuns(DEPLOYMENTS, lock_timeout=0, with_hook_diagnostics=_unchanged)
    for ref in ("run:p.a", "run:p.b", "run:p.a"):
        with pytest.raises(WorkspaceLockedError, match="locked by another process"):
            session.load(ref)
    assert waits == ["run:p.a"]
    facts = session.run_facts("run:p.b")
    assert facts is not None and facts.error is not None and facts.error.startswith("ledger.db is locked")
    with pytest.raises(WorkspaceLockedError):  # nor is a read of several runs attempted again
        session.workspace.read_ahead(["run:p.c"])


SAME_OBJECTS = """
    import pytest

    seen = {}

    def pytest_contexta_select_baseline(candidate, workspace):
        seen.setdefault("hook", {})[candidate.ref] = workspace.load_run(candidate.ref)
        return None  # the built-in rule

    @pytest.fixture
    def check_same(contexta_workspace):
        def check(run):
            assert contexta_workspace.load_run(run.ref) is run
            assert seen["hook"].get(run.ref, run) is run
            return run
        return check
"""

GATE = """
    def test_runs(contexta_run, baseline_run, history_runs, check_same):
        for run in (contexta_run, baseline_run, *history_runs):
            check_same(run)
        print("RUNS", contexta_run.name, baseline_run.name, [run.name for run in history_runs])
"""


@pytest.mark.slow
def test_a_run_that_is_candidate_baseline_and_history_is_read_once_per_session(
    pytester: pytest.Pytester, reader_passes: list[list[str]]
) -> None:
    """cand-b is a candidate, the baseline of cand-a and in cand-a's history; r3 is cand-b's baseline and in both
    histories: each is read from the segments once, and the fixtures, the hooks and ``contexta_workspace`` get the
    same objects."""
    pytester.makeconftest(SAME_OBJECTS)
    pytester.makepyfile(test_gate=GATE)
    result = pytester.runpytest_inprocess(
        f"--contexta-workspace={DEPLOYMENTS}",
        "--contexta-candidate=run:ranker.cand-a",
        "--contexta-candidate=cand-b",
        "-s",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=2)
    output = result.stdout.str()
    assert "RUNS cand-a cand-b ['cand-b', 'r3', 'r2', 'r1']" in output
    assert "RUNS cand-b r3 ['r3', 'r2', 'r1']" in output
    assert sorted(_read(reader_passes)) == [
        "run:ranker.cand-a",
        "run:ranker.cand-b",
        "run:ranker.r1",
        "run:ranker.r2",
        "run:ranker.r3",
    ]
