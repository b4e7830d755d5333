"""A gate session that cannot decide never passes: no check, skipped checks, runs that cannot be read."""

from __future__ import annotations

import json
from collections.abc import Callable
from fnmatch import fnmatch
from pathlib import Path

import duckdb
import pytest

from conftest import WORKSPACES

pytestmark = pytest.mark.slow

LATENCY = WORKSPACES / "latency"
CANDIDATE = "run:svc.faster"

GATE = """
    import pytest
    from pytest_contexta import assert_metrics_present, assert_no_error_diagnostics, assert_no_regression

    @pytest.fixture
    def evaluated(contexta_run):
        return contexta_run

    def test_diagnostics(contexta_run):
        assert_no_error_diagnostics(contexta_run)

    def test_through_user_fixture(evaluated):
        assert_metrics_present(evaluated, "accuracy", stage="evaluate")

    def test_regression(contexta_run, baseline_run):
        assert_no_regression(contexta_run, baseline_run, ["accuracy", "latency-p95-ms"], stage="evaluate")

    def test_not_a_gate_check():
        pass
"""


def _gate_args(workspace: Path = LATENCY, *extra: str) -> list[str]:
    return [f"--contexta-workspace={workspace}", f"--contexta-candidate={CANDIDATE}", *extra]


def _report(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_a_gate_whose_checks_pass_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_gate=GATE)
    result = pytester.runpytest(*_gate_args())
    result.assert_outcomes(passed=4)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines([f"GATE PASSED for {CANDIDATE}"])


LEFT_OUT = "the selection left gate checks out (3 gate checks deselected and not run)"


@pytest.mark.parametrize(
    ("selection", "reason"),
    [
        pytest.param(["-k", "no_such_check"], LEFT_OUT, id="k-matches-nothing"),
        pytest.param(["-k", "not_a_gate_check"], LEFT_OUT, id="only-ordinary-tests-selected"),
        pytest.param(["-m", "no_such_marker"], LEFT_OUT, id="m-deselects-all"),
        pytest.param(
            [
                "--deselect=test_gate.py::test_diagnostics",
                "--deselect=test_gate.py::test_regression",
                "--deselect=test_gate.py::test_through_user_fixture",
            ],
            LEFT_OUT,
            id="every-check-deselected",
        ),
        pytest.param(
            ["empty_folder"], "no gate check ran for this candidate: none was collected", id="folder-without-tests"
        ),
    ],
)
def test_no_gate_check_selected_fails_the_gate(pytester: pytest.Pytester, selection: list[str], reason: str) -> None:
    pytester.makepyfile(test_gate=GATE)
    pytester.mkdir("empty_folder")
    report = pytester.path / "gate.json"
    result = pytester.runpytest(*_gate_args(LATENCY, f"--contexta-report={report}"), *selection)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([f"GATE FAILED for {CANDIDATE}: {reason}*"])
    candidate = _report(report)["candidates"][0]
    assert (_report(report)["verdict"], candidate["run_ref"]) == ("fail", CANDIDATE)
    assert candidate["reasons"][0].startswith(reason)


def test_a_path_that_does_not_exist_fails_the_gate(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(*_gate_args(), "test_gate_misspelt.py")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: file or directory not found: test_gate_misspelt.py"])
    result.stdout.fnmatch_lines([f"GATE FAILED for {CANDIDATE}: no gate check ran for this candidate*"])


def test_a_gate_file_that_cannot_be_imported_fails_the_gate(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_gate=GATE, test_broken="import no_such_module_anywhere")
    report = pytester.path / "gate.json"
    result = pytester.runpytest(*_gate_args(LATENCY, f"--contexta-report={report}"))
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "*ModuleNotFoundError: No module named 'no_such_module_anywhere'*",
            f"GATE FAILED for {CANDIDATE}: collection error in test_broken.py (*No module named*"
            f"3 of 3 gate checks never ran (the session stopped early: a collection error)*",
        ]
    )
    assert (_report(report)["verdict"], _report(report)["exit_status"]) == ("fail", pytest.ExitCode.INTERRUPTED)


SKIPS = """
    import pytest

    @pytest.mark.skip(reason="skip marker")
    def test_skip_marker(contexta_run):
        pass

    @pytest.mark.skipif(True, reason="skipif marker")
    def test_skipif_marker(contexta_run):
        pass

    def test_skip_inside(contexta_run):
        pytest.skip("skipped inside the test")

    @pytest.fixture
    def skipping_fixture(contexta_run):
        pytest.skip("skipped by a user fixture")

    def test_skip_in_user_fixture(skipping_fixture):
        pass

    @pytest.mark.xfail(reason="known bad")
    def test_xfail(contexta_run):
        assert contexta_run.status == "failed"

    @pytest.mark.contexta_optional
    def test_optional(contexta_run):
        pytest.skip("optional check skipped")

    def test_needs_baseline(contexta_run, baseline_run):
        pass

    def test_passes(contexta_run):
        pass
"""


def test_unapproved_skips_fail_and_are_listed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_skips=SKIPS)
    result = pytester.runpytest(*_gate_args(), "-rA")
    result.assert_outcomes(passed=2, failed=2, errors=3, skipped=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    denied = "contexta: gate check skipped ({}); a skipped check does not pass the gate*"
    result.stdout.fnmatch_lines_random(
        [
            f"ERROR test_skips.py::test_skip_marker[[]{CANDIDATE}[]]*",
            f"ERROR test_skips.py::test_skipif_marker[[]{CANDIDATE}[]]*",
            f"FAILED test_skips.py::test_skip_inside[[]{CANDIDATE}[]]*",
            f"ERROR test_skips.py::test_skip_in_user_fixture[[]{CANDIDATE}[]]*",
            f"FAILED test_skips.py::test_xfail[[]{CANDIDATE}[]]*",
            denied.format("skip marker"),
            denied.format("skipped inside the test"),
            denied.format("skipped by a user fixture"),
            denied.format("xfail: known bad"),
            "SKIPPED [[]1[]] test_skips.py:*: optional check skipped",
        ]
    )
    # the verdict table lists every check, the approved skip as SKIP
    result.stdout.fnmatch_lines_random(
        [
            "test_skip_marker *ERROR*",
            "test_skipif_marker *ERROR*",
            "test_skip_inside *FAIL*",
            "test_skip_in_user_fixture *ERROR*",
            "test_xfail *FAIL*",
            "test_optional *SKIP*optional check skipped*",
            "test_needs_baseline *PASS*",
            "test_passes *PASS*",
            f"GATE FAILED for {CANDIDATE}: 5 of 8 gate checks did not pass",
        ]
    )


def test_declared_first_deployment_may_skip_baseline_checks(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_gate="""
        import pytest

        def test_needs_baseline(contexta_run, baseline_run):
            pass

        @pytest.mark.contexta_optional
        def test_optional(contexta_run):
            pytest.skip("not needed")

        def test_passes(contexta_run):
            pass
    """
    )
    result = pytester.runpytest(*_gate_args(LATENCY, "--contexta-baseline=none"))
    result.assert_outcomes(passed=1, skipped=2)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        ["test_needs_baseline *SKIP*no baseline: first deployment declared*", f"GATE PASSED for {CANDIDATE}"]
    )


def test_a_gate_of_approved_skips_only_does_not_pass(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_gate="""
        def test_needs_baseline(contexta_run, baseline_run):
            pass
    """
    )
    result = pytester.runpytest(*_gate_args(LATENCY, "--contexta-baseline=none"))
    result.assert_outcomes(skipped=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([f"GATE FAILED for {CANDIDATE}: no gate check passed (all were skipped)"])


def test_failed_checks_are_not_reported_as_skipped(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_gate="""
        def test_fails(contexta_run):
            assert False, "bad model"
    """
    )
    result = pytester.runpytest(*_gate_args())
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([f"GATE FAILED for {CANDIDATE}: 1 of 1 gate checks did not pass"])
    result.stdout.no_fnmatch_line("*all were skipped*")


def _damage_stage_rows(workspace: Path, run_ref: str) -> None:
    """Give every stage row of ``run_ref`` a status no Contexta writes (the run row stays readable)."""
    connection = duckdb.connect(str(workspace / "metadata" / "ledger.db"))
    try:
        rows = connection.execute(
            "SELECT ref, payload_json FROM stage_executions WHERE run_ref = ?", [run_ref]
        ).fetchall()
        assert rows, f"{run_ref} has no stages to damage"
        for ref, payload in rows:
            connection.execute(
                "UPDATE stage_executions SET payload_json = ? WHERE ref = ?",
                [json.dumps({**json.loads(payload), "status": "exploded"}), ref],
            )
    finally:
        connection.close()


def test_a_baseline_that_cannot_be_read_is_an_error_of_every_check_using_it(
    pytester: pytest.Pytester, workspace_copy: Callable[[str], Path]
) -> None:
    workspace = workspace_copy("latency")
    _damage_stage_rows(workspace, "run:svc.baseline")
    pytester.makepyfile(
        test_gate="""
        import pytest

        @pytest.fixture
        def previous(baseline_run):
            return baseline_run

        def test_diagnostics(contexta_run):
            pass

        def test_regression(contexta_run, baseline_run):
            pass

        def test_through_user_fixture(contexta_run, previous):
            pass
    """
    )
    report = pytester.path / "gate.json"
    result = pytester.runpytest(*_gate_args(workspace, f"--contexta-report={report}"))
    result.assert_outcomes(passed=1, errors=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    message = (
        f"contexta: cannot read the baseline run run:svc.baseline: {workspace}/metadata/ledger.db holds a "
        f"Stage row that cannot be read (status: *): *restore it from a backup"
    )
    result.stdout.fnmatch_lines_random(
        [
            f"*ERROR at setup of test_regression[[]{CANDIDATE}[]]*",
            f"*ERROR at setup of test_through_user_fixture[[]{CANDIDATE}[]]*",
        ]
    )
    output = result.stdout.str()
    assert "Traceback" not in output
    assert "During handling of the above exception" not in output
    shown = [line for line in output.splitlines() if line.startswith("contexta: cannot read the baseline run")]
    assert len(shown) == 2
    assert all(fnmatch(line, message) for line in shown), shown
    errors = [check for check in _report(report)["candidates"][0]["checks"] if check["outcome"] == "error"]
    assert len(errors) == 2
    assert errors[0]["detail"] == errors[1]["detail"]
    assert fnmatch(errors[0]["detail"], message), errors[0]["detail"]


def test_a_candidate_that_cannot_be_read_fails_every_check_with_one_clear_reason(
    pytester: pytest.Pytester, workspace_copy: Callable[[str], Path]
) -> None:
    workspace = workspace_copy("latency")
    _damage_stage_rows(workspace, CANDIDATE)
    pytester.makepyfile(test_gate=GATE)
    report = pytester.path / "gate.json"
    result = pytester.runpytest(*_gate_args(workspace, f"--contexta-report={report}"))
    # records and stage rows are read when a check first needs them (after collection), not at start-up
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, errors=3)
    result.stdout.fnmatch_lines(
        [
            (
                f"GATE FAILED for {CANDIDATE}: the run could not be read: {workspace}/"
                f"metadata/ledger.db holds a Stage row that cannot be read (status: *"
                f"restore it from a backup*"
            )
        ]
    )
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    written = _report(report)
    assert (written["verdict"], written["exit_status"]) == ("fail", pytest.ExitCode.TESTS_FAILED)
    assert "Stage row that cannot be read" in written["candidates"][0]["reasons"][0]


def test_records_that_cannot_be_read_stop_the_gate_with_a_clear_message(
    pytester: pytest.Pytester, workspace_copy: Callable[[str], Path]
) -> None:
    workspace = workspace_copy("latency")
    segment = workspace / "records" / "segments" / "segment-000001.jsonl"
    segment.unlink()
    segment.mkdir()  # a folder where Contexta writes a regular file
    pytester.makepyfile(test_gate=GATE)
    result = pytester.runpytest(*_gate_args(workspace))
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            (
                f"GATE FAILED for {CANDIDATE}: the run could not be read: {segment} is a folder, "
                f"not a regular file: *copy the workspace again*"
            )
        ]
    )
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


@pytest.mark.parametrize("plugin_args", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_fail_closed_holds_with_xdist(pytester: pytest.Pytester, plugin_args: list[str]) -> None:
    pytester.makepyfile(test_skips=SKIPS)
    report = pytester.path / "gate.json"
    result = pytester.runpytest_subprocess(*_gate_args(LATENCY, f"--contexta-report={report}"), *plugin_args)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    written = _report(report)
    outcomes = {
        check["nodeid"].split("::")[1].split("[")[0]: check["outcome"] for check in written["candidates"][0]["checks"]
    }
    assert outcomes == {
        "test_skip_marker": "error",
        "test_skipif_marker": "error",
        "test_skip_inside": "failed",
        "test_skip_in_user_fixture": "error",
        "test_xfail": "failed",
        "test_optional": "skipped",
        "test_needs_baseline": "passed",
        "test_passes": "passed",
    }
    assert written["verdict"] == "fail"
