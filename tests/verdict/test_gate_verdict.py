"""The verdict counts what was selected, not only what reported: interrupted, skipped-at-collection and
half-run gates fail, and the JSON verdict never says pass when pytest does not exit 0."""

from __future__ import annotations

import json
import textwrap

import pytest

from conftest import EXAMPLE_WORKSPACE, WORKSPACES

pytestmark = pytest.mark.slow

LATENCY = WORKSPACES / "latency"
GOOD = "run:svc.faster"
SLOWER = "run:svc.slower"

TWO_CHECKS = """
    import pytest
    from pytest_contexta import assert_no_regression

    def test_first(contexta_run):
        {first}

    def test_second(contexta_run, baseline_run):
        assert_no_regression(contexta_run, baseline_run, "latency-p95-ms", stage="evaluate")
"""


def _run(pytester: pytest.Pytester, *args: str, candidates: tuple[str, ...] = (GOOD,)) -> tuple[pytest.RunResult, dict]:
    report = pytester.path / "gate.json"
    result = pytester.runpytest(
        f"--contexta-workspace={LATENCY}",
        f"--contexta-report={report}",
        *(f"--contexta-candidate={c}" for c in candidates),
        *args,
    )
    return result, json.loads(report.read_text(encoding="utf-8"))


def test_pytest_exit_zero_before_the_checks_ran_fails_the_gate(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TWO_CHECKS.format(first='pytest.exit("stop here", returncode=0)'))
    result, report = _run(pytester)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    candidate = report["candidates"][0]
    assert report["verdict"] == candidate["verdict"] == "fail"
    # test_first started (its setup passed) and never finished; test_second never started
    assert "1 of 2 gate checks never ran" in " ".join(candidate["reasons"]), candidate["reasons"]
    assert "1 of 2 gate checks did not pass" in " ".join(candidate["reasons"]), candidate["reasons"]
    result.stdout.fnmatch_lines([f"GATE FAILED for {GOOD}: *never ran*"])


def test_maxfail_leaves_the_other_candidates_checks_unrun_and_failed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TWO_CHECKS.format(first="pass"))
    result, report = _run(pytester, "-x", candidates=(SLOWER, GOOD))
    verdicts = {c["run_ref"]: c for c in report["candidates"]}
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert verdicts[SLOWER]["verdict"] == "fail"  # its latency regression stopped the session
    assert verdicts[GOOD]["verdict"] == "fail"
    assert any("never ran" in reason for reason in verdicts[GOOD]["reasons"]), verdicts[GOOD]["reasons"]


def test_a_module_skipped_at_collection_fails_the_gate(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_ok=TWO_CHECKS.format(first="pass"),
        test_skipped_module=(
            'import pytest\npytest.importorskip("no_such_module_for_the_gate")\n\n'
            "def test_would_fail(contexta_run):\n    assert False\n"
        ),
    )
    result, report = _run(pytester)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    reasons = report["candidates"][0]["reasons"]
    assert any("skipped at collection" in r and "test_skipped_module.py" in r for r in reasons), reasons


def test_verdict_is_fail_whenever_pytest_does_not_exit_zero(pytester: pytest.Pytester) -> None:
    custom_check = "\n\ndef test_custom_workspace_check(contexta_workspace):\n    assert False, 'a team check'\n"
    pytester.makepyfile(textwrap.dedent(TWO_CHECKS.format(first="pass")) + custom_check)
    result, report = _run(pytester)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert report["candidates"][0]["verdict"] == "pass"  # every gate check of the candidate passed ...
    assert report["verdict"] == "fail"  # ... but the session did not, so a deploy script must not deploy
    assert report["exit_status"] == 1


def test_an_unwritable_report_path_is_one_line_and_fails_the_gate(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TWO_CHECKS.format(first="pass"))
    folder = pytester.mkdir("report-is-a-folder")
    result = pytester.runpytest(
        f"--contexta-workspace={LATENCY}", f"--contexta-candidate={GOOD}", f"--contexta-report={folder}"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([f"contexta: cannot write the JSON report to {folder} (from --contexta-report): *"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_an_unwritable_report_path_on_a_usage_error_is_said_too(pytester: pytest.Pytester) -> None:
    folder = pytester.mkdir("report-is-a-folder")
    result = pytester.runpytest(
        f"--contexta-workspace={LATENCY}", "--contexta-candidate=run:svc.nope", f"--contexta-report={folder}"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: contexta: run run:svc.nope is not in workspace*",
            f"contexta: cannot write the JSON report to {folder}*",
        ]
    )
    assert "Traceback" not in result.stderr.str()


@pytest.mark.parametrize("plugin_args", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_reader_notes_of_the_baseline_reach_the_report(
    pytester: pytest.Pytester, workspace_copy, plugin_args: list[str]
) -> None:
    workspace = workspace_copy("latency")
    (workspace / "records" / "indexes" / "run_ref" / "run__svc.baseline.jsonl").unlink()
    pytester.makepyfile(TWO_CHECKS.format(first="pass"))
    report_path = pytester.path / "gate.json"
    result = pytester.runpytest(
        f"--contexta-workspace={workspace}",
        f"--contexta-candidate={GOOD}",
        f"--contexta-report={report_path}",
        *plugin_args,
    )
    assert result.ret == pytest.ExitCode.OK
    notes = json.loads(report_path.read_text(encoding="utf-8"))["notes"]
    assert [note for note in notes if note.startswith("run:svc.baseline: ")], notes


def test_ini_direction_rules_apply_to_custom_checks_too(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ncontexta_lower_is_better =\n    accuracy\n")
    pytester.makepyfile("""
        from pytest_contexta import assert_no_regression

        def test_gate(contexta_run):
            pass

        def test_team_rule(contexta_workspace):
            good = contexta_workspace.load_run("run:product-ranker.candidate-v2-good")
            baseline = contexta_workspace.load_run("run:product-ranker.baseline-v1")
            assert_no_regression(good, baseline, "accuracy", stage="evaluate", max_drop=0)
    """)
    result = pytester.runpytest(
        f"--contexta-workspace={EXAMPLE_WORKSPACE}", "--contexta-candidate=run:product-ranker.candidate-v2-good"
    )
    # accuracy rose 0.893 -> 0.901: under the ini rule "lower is better" that is a regression
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*accuracy*lower is better (ini contexta_lower_is_better 'accuracy')*"])


def test_a_check_that_started_but_never_finished_is_not_passed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TWO_CHECKS.format(first='pytest.exit("gone", returncode=0)'))
    _, report = _run(pytester)
    first = [c for c in report["candidates"][0]["checks"] if c["nodeid"].endswith(f"test_first[{GOOD}]")]
    assert first and all(check["outcome"] != "passed" for check in first), first
