"""Fixtures and candidates: how runs are named, one check per candidate, and dormancy without one."""

from __future__ import annotations

import pytest

from conftest import WORKSPACES

pytestmark = pytest.mark.slow

CONFORMANCE = f"--contexta-workspace={WORKSPACES / 'conformance'}"
DEPLOYMENTS = f"--contexta-workspace={WORKSPACES / 'deployments'}"
NO_CANDIDATE = (
    "contexta: no candidate run to gate. Pass --contexta-candidate=run:<project>.<run-name> "
    "(or set CONTEXTA_CANDIDATE, or ini contexta_candidate)"
)
CHECKS = """
def test_candidate(contexta_run, contexta_candidate):
    assert contexta_run.ref == contexta_candidate

def test_plain():
    pass
"""
# An ordinary suite: every outcome pytest knows, none of them about Contexta.
UNRELATED = """
import pytest

@pytest.fixture
def broken():
    raise RuntimeError("fixture trouble")

def test_passes():
    assert 1 + 1 == 2

def test_fails():
    assert 1 + 1 == 3

@pytest.mark.skip(reason="not today")
def test_skipped():
    pass

@pytest.mark.xfail(reason="known", strict=False)
def test_xfails():
    assert False

def test_errors(broken):
    pass
"""


# -- candidates -------------------------------------------------------------------------------


@pytest.mark.parametrize("given", ["run:ranker.cand-b", "cand-b", " cand-b "])
def test_canonical_ref_and_unique_bare_name_name_the_same_run(pytester: pytest.Pytester, given: str) -> None:
    pytester.makepyfile(CHECKS)
    result = pytester.runpytest(DEPLOYMENTS, f"--contexta-candidate={given}", "-v")
    result.stdout.fnmatch_lines(["*::test_candidate[[]run:ranker.cand-b[]] PASSED*", "*::test_plain PASSED*"])
    result.assert_outcomes(passed=2)


def test_ambiguous_bare_name_is_a_usage_error_listing_the_matches(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(CHECKS)
    result = pytester.runpytest(CONFORMANCE, "--contexta-candidate=baseline")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: contexta: run name 'baseline' is ambiguous in workspace *: "
            "run:fraud-model.baseline, run:shop-ranker.baseline; pass the full ref"
        ]
    )


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("nope", "ERROR: contexta: no run named 'nope' in workspace *"),
        ("run:ranker.nope", "ERROR: contexta: run run:ranker.nope is not in workspace * (project ranker has 5 runs*"),
        (
            "ranker.cand-b",
            "ERROR: contexta: 'ranker.cand-b' is neither a run ref nor a run name (did you mean run:ranker.cand-b?)*",
        ),
    ],
)
def test_unknown_candidate_is_a_usage_error(pytester: pytest.Pytester, given: str, message: str) -> None:
    pytester.makepyfile(CHECKS)
    result = pytester.runpytest(DEPLOYMENTS, f"--contexta-candidate={given}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_each_candidate_gets_its_own_run_of_every_gate_check(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(CHECKS)
    result = pytester.runpytest(DEPLOYMENTS, "--contexta-candidate=cand-b", "--contexta-candidate=run:ranker.r3", "-v")
    result.stdout.fnmatch_lines(
        [
            "*::test_candidate[[]run:ranker.cand-b[]] PASSED*",
            "*::test_candidate[[]run:ranker.r3[]] PASSED*",
            "*::test_plain PASSED*",
        ]
    )
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "candidate: run:ranker.cand-b",
            "*GATE PASSED for run:ranker.cand-b",
            "candidate: run:ranker.r3",
            "*GATE PASSED for run:ranker.r3",
        ]
    )


def test_a_candidate_named_twice_is_gated_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(CHECKS)
    result = pytester.runpytest(DEPLOYMENTS, "--contexta-candidate=cand-b", "--contexta-candidate=run:ranker.cand-b")
    result.assert_outcomes(passed=2)


def test_candidate_ids_combine_with_other_parameters(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.parametrize("metric", ["accuracy", "loss"])
        def test_metric(contexta_run, metric):
            assert metric in contexta_run.metric_keys()
    """)
    result = pytester.runpytest(DEPLOYMENTS, "--contexta-candidate=cand-b", "--contexta-candidate=r3", "-v")
    result.assert_outcomes(passed=4)
    # the candidate comes last: "-run:" starts it (a run ref holds no other ":"), whatever hyphens come before
    result.stdout.fnmatch_lines(
        ["*test_metric[[]accuracy-run:ranker.cand-b[]] PASSED*", "*test_metric[[]loss-run:ranker.r3[]] PASSED*"]
    )


def test_the_same_run_object_serves_every_check_of_a_candidate(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        seen = []

        def test_first(contexta_run):
            seen.append(contexta_run)

        def test_second(contexta_run):
            assert contexta_run is seen[0]
    """)
    pytester.runpytest(DEPLOYMENTS, "--contexta-candidate=cand-b").assert_outcomes(passed=2)


def test_contexta_workspace_is_the_gated_workspace(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_runs(contexta_workspace, contexta_run):
            assert contexta_workspace.load_run(contexta_run.ref).ref == "run:ranker.cand-b"
            assert [run.name for run in contexta_workspace.list_runs("ranker")] == [
                "r1", "r2", "r3", "cand-a", "cand-b"]
    """)
    pytester.runpytest(DEPLOYMENTS, "--contexta-candidate=cand-b").assert_outcomes(passed=1)


# -- dormancy -----------------------------------------------------------------------------------


def _outcome_lines(result: pytest.RunResult) -> list[str]:
    """Lines that describe outcomes, without timings."""
    return [
        line.split(" in ")[0]
        for line in result.outlines
        if line.startswith(("test_", "FAILED", "ERROR", "SKIPPED", "XFAIL", "="))
        and "session starts" not in line
        and "rootdir" not in line
    ]


def test_without_a_candidate_an_unrelated_suite_behaves_as_without_the_plugin(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(UNRELATED)
    with_plugin = pytester.runpytest("-rA")
    without_plugin = pytester.runpytest("-rA", "-p", "no:contexta")

    assert with_plugin.ret == without_plugin.ret == pytest.ExitCode.TESTS_FAILED
    assert (
        with_plugin.parseoutcomes()
        == without_plugin.parseoutcomes()
        == {"passed": 1, "failed": 1, "skipped": 1, "xfailed": 1, "errors": 1}
    )
    assert _outcome_lines(with_plugin) == _outcome_lines(without_plugin)
    assert not [line for line in with_plugin.outlines if "contexta" in line and not line.startswith("plugins:")]


def test_dormant_plugin_reads_no_workspace(pytester: pytest.Pytester) -> None:
    """A wrong workspace path is no error while no candidate is given: nothing is opened."""
    pytester.makepyfile("def test_plain():\n    pass\n")
    result = pytester.runpytest("--contexta-workspace=does-not-exist", "--contexta-baseline=also-not-a-run")
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.OK


@pytest.mark.parametrize("fixture", ["contexta_run", "baseline_run", "contexta_candidate"])
def test_gate_fixtures_without_a_candidate_error_at_setup_saying_how_to_pass_one(
    pytester: pytest.Pytester, fixture: str
) -> None:
    pytester.makepyfile(f"""
        def test_gate({fixture}):
            pass

        def test_plain():
            pass
    """)
    result = pytester.runpytest("-rA")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at setup of test_gate*", NO_CANDIDATE])
    assert "Traceback" not in result.stdout.str()


def test_contexta_workspace_works_without_a_candidate(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_runs(contexta_workspace):
            assert contexta_workspace.resolve_run("cand-b").text == "run:ranker.cand-b"
            assert len(contexta_workspace.list_deployments("ranker")) == 8
    """)
    result = pytester.runpytest(DEPLOYMENTS)
    result.assert_outcomes(passed=1)
    assert not [line for line in result.outlines if line.startswith("contexta ") or "contexta gate" in line]


def test_contexta_workspace_without_a_workspace_errors_saying_which_path(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_runs(contexta_workspace):\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            f"contexta: workspace {pytester.path / '.contexta'} does not exist: pass the "
            f"folder that holds metadata/ and records/ with --contexta-workspace*"
        ]
    )


# -- contexta_workspace: the same runs as contexta_run, and no lock left behind -------------------------

WRITER = """
import sys
import duckdb

duckdb.connect(sys.argv[1]).close()  # read-write, as a training job opens the ledger
"""


def test_contexta_workspace_hands_out_the_session_s_runs_with_hook_diagnostics(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("""
        def pytest_contexta_diagnostics(run):
            return [{"code": "team_rule", "severity": "info", "summary": "added by the team"}]
    """)
    pytester.makepyfile("""
        def test_same_run(contexta_workspace, contexta_run):
            loaded = contexta_workspace.load_run("cand-b")
            assert loaded is contexta_run  # was: a second read, without the hook's diagnostics
            assert loaded.diagnostics[-1].code == "team_rule"
            assert contexta_workspace.load_run("run:ranker.cand-b") is contexta_run
    """)
    pytester.runpytest(DEPLOYMENTS, "--contexta-candidate=cand-b").assert_outcomes(passed=1)


@pytest.mark.parametrize("candidate", [["--contexta-candidate=run:svc.faster"], []], ids=["gating", "dormant"])
def test_a_custom_check_s_reads_leave_the_ledger_unlocked(
    pytester: pytest.Pytester, workspace_copy, candidate: list[str]
) -> None:
    import sys

    workspace = workspace_copy("latency")
    pytester.makepyfile(f"""
        import subprocess
        import sys

        def test_team_rule(contexta_workspace):
            assert contexta_workspace.list_runs("svc")
            assert contexta_workspace.list_deployments("svc")
            ledger = {str(workspace / "metadata" / "ledger.db")!r}
            writer = subprocess.run([{sys.executable!r}, "-c", {WRITER!r}, ledger], capture_output=True, text=True)
            assert writer.returncode == 0, writer.stderr  # was: "Conflicting lock is held" for the whole session
    """)
    result = pytester.runpytest(f"--contexta-workspace={workspace}", *candidate)
    result.assert_outcomes(passed=1)


def test_the_lock_timeout_applies_without_a_candidate(pytester: pytest.Pytester, workspace_copy) -> None:
    workspace = workspace_copy("latency")
    pytester.makepyfile("""
        def test_team_rule(contexta_workspace):
            contexta_workspace.list_runs()
    """)
    result = pytester.runpytest(f"--contexta-workspace={workspace}", "--contexta-lock-timeout=soon")
    result.assert_outcomes(errors=1)  # was: the setting was ignored (10 s) when no candidate was given
    result.stdout.fnmatch_lines(["*contexta lock timeout 'soon' (from command line) must be a number of seconds*"])


def test_a_dormant_contexta_workspace_waits_only_the_configured_lock_timeout(
    pytester: pytest.Pytester, workspace_copy
) -> None:
    from test_lock import Holder

    workspace = workspace_copy("latency")
    holder = Holder(workspace / "metadata" / "ledger.db")
    try:
        pytester.makepyfile("""
            def test_team_rule(contexta_workspace):
                contexta_workspace.list_runs()
        """)
        result = pytester.runpytest(f"--contexta-workspace={workspace}", "--contexta-lock-timeout=0")
    finally:
        holder.stop()
    result.assert_outcomes(failed=1)  # was: the default 10 s, whatever the option said
    result.stdout.fnmatch_lines([f"*ledger.db is locked by another process (PID {holder.pid}, *waited 0 s*"])
