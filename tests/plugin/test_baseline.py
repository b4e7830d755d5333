"""Which run a candidate is compared against, and what happens when there is none.

``tests/workspaces/deployments`` (see ``build_deployments`` in generate.py), newest first::

    rollout-open        2025-04-07  open       r3
    shadow-cand-b       2025-04-06  completed  cand-b
    prod-apr-cancelled  2025-04-03  cancelled  r2
    prod-apr-failed     2025-04-02  failed     cand-a
    hotfix-no-run       2025-03-20  completed  (no run)
    prod-mar            2025-03-15  completed  r3
    prod-feb            2025-02-15  completed  r2
    prod-jan            2025-01-15  completed  r1

and project ``other``: ``other-prod`` (2025-05-02, completed, o1), the newest of the ledger.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from conftest import WORKSPACES

pytestmark = pytest.mark.slow

DEPLOYMENTS = f"--contexta-workspace={WORKSPACES / 'deployments'}"
REGRESSION_CHECK = """
import pytest_contexta

def test_candidate_is_readable(contexta_run):
    assert contexta_run.metrics

def test_no_regression(contexta_run, baseline_run):
    print("BASELINE", baseline_run.ref)
    pytest_contexta.assert_no_regression(contexta_run, baseline_run, "accuracy", stage="evaluate", max_drop=0.5)
"""


def _gate(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict]:
    """Run REGRESSION_CHECK with ``args``; return the result and the JSON report."""
    pytester.makepyfile(REGRESSION_CHECK)
    report = pytester.path / "gate.json"
    result = pytester.runpytest(DEPLOYMENTS, f"--contexta-report={report}", "-s", *args)
    return result, json.loads(report.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("candidate", "baseline", "deployment", "passed_over"),
    [
        # Newer deployments of the candidate itself, failed, cancelled, open, without a run, and of
        # another project are all passed over.
        (
            "cand-b",
            "r3",
            "prod-mar",
            "rollout-open (open), shadow-cand-b (deployed the candidate itself), prod-apr-cancelled (cancelled), "
            "prod-apr-failed (failed), hotfix-no-run (records no run)",
        ),
        # The deployment of another, newer run counts, whatever it was called.
        ("cand-a", "cand-b", "shadow-cand-b", "rollout-open (open)"),
        ("r1", "cand-b", "shadow-cand-b", "rollout-open (open)"),
    ],
    ids=["cand-b", "cand-a", "r1"],
)
def test_default_baseline_is_the_latest_completed_deployment_of_the_project(
    pytester: pytest.Pytester, candidate: str, baseline: str, deployment: str, passed_over: str
) -> None:
    result, report = _gate(pytester, f"--contexta-candidate={candidate}")
    assert result.ret == pytest.ExitCode.OK, result.outlines
    result.stdout.fnmatch_lines([f"*BASELINE run:ranker.{baseline}"])
    reason = f"deployed as {deployment} (*), the latest completed deployment of ranker; passed over newer {passed_over}"
    result.stdout.fnmatch_lines(
        [
            f"contexta baseline of run:ranker.{candidate}: run:ranker.{baseline} ({reason})",
            f"baseline:  run:ranker.{baseline} — {reason}",
        ]
    )
    (entry,) = report["candidates"]
    assert entry["baseline"]["run_ref"] == f"run:ranker.{baseline}"
    assert entry["baseline"]["source"] == "latest-deployment"


def test_candidate_without_any_usable_deployment_has_no_baseline(pytester: pytest.Pytester) -> None:
    """o1's project has one deployment, of o1 itself: checks that need a baseline fail and say what to do."""
    result, report = _gate(pytester, "--contexta-candidate=o1")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, errors=1)
    why = (
        "project other has no completed deployment of another run; passed over newer other-prod "
        "(deployed the candidate itself). Choose one with --contexta-baseline=RUN, or "
        "--contexta-baseline=none for a first deployment"
    )
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_no_regression*",
            f"contexta: no baseline for run:other.o1: {why}",
        ]
    )
    result.stdout.fnmatch_lines([f"baseline:  none — {why}", "GATE FAILED for run:other.o1: 1 of 2 gate checks*"])
    (entry,) = report["candidates"]
    assert entry["verdict"] == "fail"
    assert entry["baseline"] == {"run_ref": None, "source": "latest-deployment", "reason": why}


def test_explicit_baseline_run(pytester: pytest.Pytester) -> None:
    result, report = _gate(pytester, "--contexta-candidate=cand-b", "--contexta-baseline=r1")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        ["*BASELINE run:ranker.r1", "baseline:  run:ranker.r1 — given by --contexta-baseline (from command line)"]
    )
    assert report["candidates"][0]["baseline"]["source"] == "option"


def test_explicit_baseline_may_be_in_another_project(pytester: pytest.Pytester) -> None:
    result, _ = _gate(pytester, "--contexta-candidate=cand-b", "--contexta-baseline=run:other.o1")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*BASELINE run:other.o1"])


def test_unknown_explicit_baseline_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(REGRESSION_CHECK)
    result = pytester.runpytest(DEPLOYMENTS, "--contexta-candidate=cand-b", "--contexta-baseline=run:ranker.r9")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: contexta: run run:ranker.r9 is not in workspace *"])


@pytest.mark.parametrize("baseline", ["cand-b", "run:ranker.cand-b"])
def test_candidate_as_its_own_baseline_is_a_usage_error(pytester: pytest.Pytester, baseline: str) -> None:
    pytester.makepyfile(REGRESSION_CHECK)
    result = pytester.runpytest(DEPLOYMENTS, "--contexta-candidate=cand-b", f"--contexta-baseline={baseline}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: contexta: candidate run:ranker.cand-b is also its own baseline "
            "(given by --contexta-baseline (from command line)): choose another run with "
            "--contexta-baseline"
        ]
    )


def test_baseline_none_skips_regression_checks_and_the_gate_passes(pytester: pytest.Pytester) -> None:
    result, report = _gate(pytester, "--contexta-candidate=o1", "--contexta-baseline=none", "-rs")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1, skipped=1)
    reason = "first deployment declared (--contexta-baseline=none, from command line)"
    result.stdout.fnmatch_lines(
        [
            f"baseline:  none — {reason}",
            f"test_no_regression * SKIP * no baseline: {reason}",
            "GATE PASSED for run:other.o1",
            f"SKIPPED [[]1[]] *: no baseline: {reason}",
        ]
    )
    (entry,) = report["candidates"]
    assert entry["verdict"] == "pass"
    assert entry["baseline"]["source"] == "none"


def test_baseline_none_does_not_pass_other_failing_checks(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_other="""
        def test_diagnostics(contexta_run):
            assert False, "a failing check"
    """
    )
    result, report = _gate(pytester, "--contexta-candidate=o1", "--contexta-baseline=none")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    assert report["candidates"][0]["verdict"] == "fail"


def test_baseline_none_from_the_environment_names_its_source(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTEXTA_BASELINE", "none")
    result, _ = _gate(pytester, "--contexta-candidate=o1")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        ["baseline:  none — first deployment declared (--contexta-baseline=none, from env CONTEXTA_BASELINE)"]
    )


def test_each_candidate_has_its_own_baseline(pytester: pytest.Pytester) -> None:
    result, report = _gate(pytester, "--contexta-candidate=cand-b", "--contexta-candidate=cand-a")
    assert result.ret == pytest.ExitCode.OK
    baselines = {entry["run_ref"]: entry["baseline"]["run_ref"] for entry in report["candidates"]}
    assert baselines == {"run:ranker.cand-b": "run:ranker.r3", "run:ranker.cand-a": "run:ranker.cand-b"}
    result.stdout.fnmatch_lines(
        [
            "candidate: run:ranker.cand-b",
            "baseline:  run:ranker.r3 — *",
            "candidate: run:ranker.cand-a",
            "baseline:  run:ranker.cand-b — *",
        ]
    )


def test_regression_message_names_the_baseline_and_why(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest_contexta

        def test_no_regression(contexta_run, baseline_run):
            pytest_contexta.assert_no_regression(contexta_run, baseline_run, "accuracy", stage="evaluate",
                                                 max_drop=0.01, confidence=None)
    """)
    result = pytester.runpytest(DEPLOYMENTS, "--contexta-candidate=r1")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "E * run:ranker.r1 vs baseline run:ranker.cand-b (deployed as shadow-cand-b (*) in stage 'evaluate':",
            "E * FAIL accuracy: 0.86 -> 0.8, change -0.06 (-6.98%), higher is better (built-in: name part 'accuracy'); "
            "allowed: worse by at most 1.00%; values from evaluate",
        ]
    )


def test_a_deployment_whose_run_was_deleted_is_passed_over_not_blamed_on_a_hook(
    pytester: pytest.Pytester, workspace_copy
) -> None:
    import duckdb

    workspace = workspace_copy("deployments")
    connection = duckdb.connect(str(workspace / "metadata" / "ledger.db"))
    try:
        connection.execute("DELETE FROM runs WHERE ref = 'run:ranker.r3'")  # prod-mar deployed it
    finally:
        connection.close()
    pytester.makepyfile(REGRESSION_CHECK.replace('"accuracy", stage="evaluate", ', '"accuracy", '))
    result = pytester.runpytest(
        f"--contexta-workspace={workspace}", "--contexta-candidate=cand-b", "--contexta-report=gate.json", "-s"
    )
    report = json.loads((pytester.path / "gate.json").read_text(encoding="utf-8"))
    baseline = report["candidates"][0]["baseline"]
    assert (baseline["run_ref"], baseline["source"]) == ("run:ranker.r2", "latest-deployment")
    assert "prod-mar (its run run:ranker.r3 is not in the workspace)" in baseline["reason"]
    assert "pytest_contexta_select_baseline" not in result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(["*BASELINE run:ranker.r2"])


def test_deployments_are_looked_up_once_per_project_and_session(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_contexta.plugin.baseline import BaselineChooser
    from pytest_contexta.plugin.session_runs import SessionRuns
    from pytest_contexta.runs.workspace import Workspace

    lookups: list[tuple[str, str]] = []
    look_up = Workspace.latest_completed_deployment

    def counted(workspace: Workspace, project: str, *, exclude_run: str) -> Any:
        lookups.append((project, exclude_run))
        return look_up(workspace, project, exclude_run=exclude_run)

    monkeypatch.setattr(Workspace, "latest_completed_deployment", counted)
    runs = SessionRuns(WORKSPACES / "deployments", lock_timeout=10, with_hook_diagnostics=lambda run: run)
    chooser = BaselineChooser(config=None, runs=runs)  # type: ignore[arg-type]  # no hook is asked
    candidates = ["run:ranker.cand-a", "run:ranker.cand-b", "run:ranker.r1", "run:ranker.r2"]
    chooser.look_up(candidates)
    choices = {ref: chooser.latest_deployment(runs.load_run(ref)).run_ref for ref in candidates}
    assert choices == {
        "run:ranker.cand-a": "run:ranker.cand-b",
        "run:ranker.cand-b": "run:ranker.r3",
        "run:ranker.r1": "run:ranker.cand-b",
        "run:ranker.r2": "run:ranker.cand-b",
    }
    # one lookup for the project, one more only for cand-b, whose own deployment is the latest
    assert lookups == [("ranker", ""), ("ranker", "run:ranker.cand-b")]
    assert BaselineChooser(config=None, runs=runs).likely("run:ranker.cand-b") == "run:ranker.r3"  # type: ignore[arg-type]
    assert len(lookups) == 2  # a second chooser asks the same cache
