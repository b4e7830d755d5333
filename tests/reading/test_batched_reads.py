"""Reading many runs at once: their ledger rows with one query per table, every run's records in one pass."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import WORKSPACES
from pytest_contexta import Workspace
from pytest_contexta.errors import RunLookupError, WorkspaceError
from pytest_contexta.reading.ledger import Ledger
from pytest_contexta.runs.models import ContextaRun

CONFORMANCE = WORKSPACES / "conformance"


def _all_runs() -> list[str]:
    workspace = Workspace(CONFORMANCE)
    try:
        return [run.ref for run in workspace.list_runs()]
    finally:
        workspace.close()


def test_runs_loaded_together_are_the_runs_loaded_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stages, batches, deployments and environments in Contexta's order, runs with none of them included; the
    ledger rows of all of them with one query per table."""
    refs = [*_all_runs(), "run:shop-ranker.not-there"]
    alone = Workspace(CONFORMANCE)
    with alone.reading():
        expected = {ref: alone.load_run(ref) for ref in refs[:-1]}
    batched = Workspace(CONFORMANCE)
    queries: list[str] = []
    rows = Ledger._rows

    def counted(ledger: Ledger, sql: str, *params: object) -> Any:
        queries.append(sql)
        return rows(ledger, sql, *params)

    monkeypatch.setattr(Ledger, "_rows", counted)
    loaded = batched.load_runs(refs)
    batched_queries = [sql for sql in queries if "list_contains" in sql]
    assert len(batched_queries) == 5  # runs, stages, batches, deployments, environments
    # every per-run read came from the rows read together; only the missing run's message lists its project's runs
    (listing,) = [sql for sql in queries if sql not in batched_queries]
    assert "FROM runs WHERE project_ref = ?" in listing
    missing = loaded.pop("run:shop-ranker.not-there")
    assert isinstance(missing, RunLookupError) and "is not in workspace" in str(missing)
    assert loaded == expected
    assert any(run.batches for run in expected.values()) and any(not run.stages for run in expected.values())


def test_rows_read_together_are_forgotten_when_the_connection_closes(monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = Workspace(CONFORMANCE)
    workspace.load_runs(["run:shop-ranker.candidate"])
    queries: list[str] = []
    rows = Ledger._rows
    monkeypatch.setattr(Ledger, "_rows", lambda ledger, sql, *params: queries.append(sql) or rows(ledger, sql, *params))
    assert workspace.load_run("run:shop-ranker.candidate").stages
    assert len(queries) == 5  # read again through the new connection: the ledger may have changed between


def test_a_damaged_table_fails_the_batched_query_quietly_and_each_read_says_which_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = Ledger._rows

    def failing_batches(ledger: Ledger, sql: str, *params: object) -> Any:
        if "list_contains" in sql:
            raise WorkspaceError("batch_executions cannot be queried")
        return rows(ledger, sql, *params)

    monkeypatch.setattr(Ledger, "_rows", failing_batches)
    loaded = Workspace(CONFORMANCE).load_runs(["run:shop-ranker.candidate"])["run:shop-ranker.candidate"]
    assert isinstance(loaded, ContextaRun) and len(loaded.batches) == 4


@pytest.mark.slow
def test_the_session_reads_candidates_baselines_and_history_runs_in_one_pass(
    pytester: pytest.Pytester, reader_passes: list[list[str]]
) -> None:
    pytester.makepyfile(
        test_gate="""
        def test_history(contexta_run, baseline_run, history_runs):
            assert baseline_run.ref == "run:ranker.r3"
            assert [run.ref for run in history_runs] == ["run:ranker.r3", "run:ranker.r2", "run:ranker.r1"]
    """
    )
    result = pytester.runpytest_inprocess(
        f"--contexta-workspace={WORKSPACES / 'deployments'}", "--contexta-candidate=run:ranker.cand-b"
    )
    result.assert_outcomes(passed=1)
    assert reader_passes == [["run:ranker.cand-b", "run:ranker.r3", "run:ranker.r2", "run:ranker.r1"]]


@pytest.mark.slow
def test_a_session_looks_each_run_and_each_project_s_deployments_up_once(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every candidate's baseline and history ask for the same deployed runs: the ledger answers once."""
    queries: list[tuple[str, tuple[object, ...]]] = []
    rows = Ledger._rows

    def counted(ledger: Ledger, sql: str, *params: object) -> Any:
        queries.append((sql, params))
        return rows(ledger, sql, *params)

    monkeypatch.setattr(Ledger, "_rows", counted)
    pytester.makepyfile(
        test_gate="""
        def test_history(contexta_run, baseline_run, history_runs):
            assert len(history_runs) >= 2
    """
    )
    result = pytester.runpytest_inprocess(
        f"--contexta-workspace={WORKSPACES / 'deployments'}",
        "--contexta-candidate=run:ranker.cand-a",
        "--contexta-candidate=run:ranker.cand-b",
        "--contexta-candidate=r2",
    )
    result.assert_outcomes(passed=3)
    looked_up = [params[0] for sql, params in queries if "FROM runs WHERE ref = ?" in sql]
    listed = [(sql, params[0]) for sql, params in queries if "FROM deployment_executions WHERE project_ref = ?" in sql]
    assert looked_up and len(looked_up) == len(set(looked_up))
    assert not {"run:ranker.cand-a", "run:ranker.cand-b"} & set(looked_up)  # one query for the candidates given as refs
    assert {project for _, project in listed} == {"project:ranker"} and len(listed) == len(set(listed))


@pytest.mark.slow
def test_the_runs_read_are_kept_out_of_the_garbage_collectors_walks(pytester: pytest.Pytester) -> None:
    """Once the runs are read they live to the end of the session: pytest's full collections at exit (and any
    during the checks) do not walk them; a session without a candidate leaves the collector alone."""
    pytester.makepyfile(
        test_gate="""
        import gc

        def test_runs_frozen(contexta_run, baseline_run):
            assert gc.get_freeze_count() > 0
            assert not any(obj is contexta_run for obj in gc.get_objects())  # only the permanent generation holds it

        def test_plain():
            assert True
    """
    )
    result = pytester.runpytest_subprocess(
        f"--contexta-workspace={WORKSPACES / 'latency'}",
        "--contexta-candidate=run:svc.faster",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=2)
    at_start = subprocess.run(
        [sys.executable, "-c", "import gc; print(gc.get_freeze_count())"], check=True, capture_output=True, text=True
    ).stdout.strip()  # 0, but 375 on Python 3.12.1
    pytester.makepyfile(
        test_dormant=f"""
        import gc

        def test_not_frozen():
            assert gc.get_freeze_count() == {at_start}
    """
    )
    pytester.runpytest_subprocess("test_dormant.py", "-p", "no:cacheprovider").assert_outcomes(passed=1)


@pytest.mark.slow
def test_the_gate_hooks_are_asked_while_the_ledger_is_free(
    pytester: pytest.Pytester, workspace_copy: Callable[[str], Path]
) -> None:
    """The runs are read in one burst holding the ledger; the team's hooks run after it is released, so a
    slow hook never keeps Contexta's writers out (a second process opens the ledger read-write inside them)."""
    workspace = workspace_copy("latency")
    pytester.makeconftest(f"""
        import subprocess, sys

        OPENS = "import duckdb, sys; duckdb.connect(sys.argv[1]).close()"
        LEDGER = {str(workspace / "metadata" / "ledger.db")!r}
        seen = []

        def _writer_opens():
            return subprocess.run([sys.executable, "-c", OPENS, LEDGER], capture_output=True, text=True).returncode == 0

        def pytest_contexta_diagnostics(run):
            seen.append(("diagnostics", run.ref, _writer_opens()))

        def pytest_contexta_select_baseline(config, candidate, workspace):
            seen.append(("baseline", candidate.ref, _writer_opens()))
    """)
    pytester.makepyfile(
        test_gate="""
        from conftest import seen

        def test_hooks(contexta_run, baseline_run):
            assert sorted(seen) == [("baseline", "run:svc.faster", True), ("diagnostics", "run:svc.baseline", True),
                                    ("diagnostics", "run:svc.faster", True)]
    """
    )
    result = pytester.runpytest_inprocess(
        f"--contexta-workspace={workspace}",
        "--contexta-candidate=run:svc.faster",
        "--contexta-history=0",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=1)
