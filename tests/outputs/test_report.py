"""The JSON verdict (--contexta-report): its schema, and that it is written whatever the session's end."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from conftest import EXAMPLE_WORKSPACE, RECORDED
from pytest_contexta.report import GateReport, main
from pytest_contexta.runs.models import BaselineChoice

GOOD = "run:product-ranker.candidate-v2-good"
REGRESSED = "run:product-ranker.candidate-v4-regressed"
PRODUCTION = "run:product-ranker.baseline-v1"

GATE = """
import pytest
from pytest_contexta import assert_metrics_present, assert_no_error_diagnostics, assert_no_regression

def test_diagnostics(contexta_run):
    assert_no_error_diagnostics(contexta_run)

def test_present(contexta_run):
    assert_metrics_present(contexta_run, ["accuracy", "latency-p95-ms"], stage="evaluate")

@pytest.mark.parametrize("metric", ["accuracy", "latency-p95-ms"])
def test_regression(contexta_run, baseline_run, metric):
    assert_no_regression(contexta_run, baseline_run, metric, stage="evaluate", max_drop=0.02)
"""


def run_gate(pytester: pytest.Pytester, *candidates: str, args: tuple[str, ...] = ()) -> pytest.RunResult:
    return pytester.runpytest(
        f"--contexta-workspace={EXAMPLE_WORKSPACE}", *(f"--contexta-candidate={c}" for c in candidates), *args
    )


def read_report(path: Path) -> GateReport:
    return GateReport.model_validate_json(path.read_text(encoding="utf-8"))


def checks_of(report: GateReport, candidate: str) -> dict[str, list]:
    (entry,) = [c for c in report.candidates if c.run_ref == candidate]
    found: dict[str, list] = {}
    for check in entry.checks:
        found.setdefault(check.nodeid.split("::")[-1], []).append(check)
    return found


@pytest.mark.slow
def test_report_of_a_passing_gate_has_every_field(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_gate=GATE)
    result = run_gate(pytester, "candidate-v2-good", args=("--contexta-report=out/gate.json",))
    result.assert_outcomes(passed=4)

    report = read_report(pytester.path / "out" / "gate.json")
    assert (report.schema_version, report.verdict, report.exit_status, report.error) == (2, "pass", 0, None)
    assert report.workspace == str(EXAMPLE_WORKSPACE)
    (candidate,) = report.candidates
    assert (candidate.run_ref, candidate.verdict, candidate.reasons) == (GOOD, "pass", [])
    assert candidate.baseline is not None
    assert (candidate.baseline.run_ref, candidate.baseline.source) == (PRODUCTION, "latest-deployment")
    assert "prod-v1" in candidate.baseline.reason and "prod-v1-canary-retry (failed)" in candidate.baseline.reason
    assert [(d.code, d.severity, d.subject_ref) for d in candidate.diagnostics] == [
        ("missing_expected_stage", "info", GOOD)
    ]

    checks = checks_of(report, GOOD)
    assert list(checks) == [
        f"test_diagnostics[{GOOD}]",
        f"test_present[{GOOD}]",
        f"test_regression[accuracy-{GOOD}]",
        f"test_regression[latency-p95-ms-{GOOD}]",
    ]
    (diagnostics,) = checks[f"test_diagnostics[{GOOD}]"]
    assert (diagnostics.kind, diagnostics.outcome) == ("diagnostics", "passed")
    present = checks[f"test_present[{GOOD}]"]
    assert [(c.kind, c.metric, c.stage, c.candidate_value) for c in present] == [
        ("metrics_present", "accuracy", "evaluate", 0.901),
        ("metrics_present", "latency-p95-ms", "evaluate", 41.0),
    ]
    (accuracy,) = checks[f"test_regression[accuracy-{GOOD}]"]
    assert accuracy.nodeid == f"test_gate.py::test_regression[accuracy-{GOOD}]"
    assert (accuracy.kind, accuracy.outcome, accuracy.metric, accuracy.stage) == (
        "regression",
        "passed",
        "accuracy",
        "evaluate",
    )
    assert (accuracy.candidate_value, accuracy.baseline_value, accuracy.baseline_ref) == (0.901, 0.893, PRODUCTION)
    assert math.isclose(accuracy.change_abs, 0.008) and math.isclose(accuracy.change_rel, 0.008 / 0.893)
    assert accuracy.limit == "worse by at most 2.00%" and accuracy.direction.startswith("higher is better")
    (latency,) = checks[f"test_regression[latency-p95-ms-{GOOD}]"]
    assert (latency.candidate_value, latency.baseline_value, latency.change_abs) == (41.0, 42.0, -1.0)
    assert latency.direction.startswith("lower is better")
    # the band the candidate had to stay within, and the trend's points with their deployments, as fields
    assert math.isclose(accuracy.allowed_low, 0.893 * 0.98) and accuracy.allowed_high is None
    assert math.isclose(latency.allowed_high, 42 * 1.02) and latency.allowed_low is None
    assert [(p.deployment, p.deployed_at, p.run_ref, p.value) for p in accuracy.history] == [
        ("prod-v1", "2025-04-28T12:00:00Z", PRODUCTION, 0.893),
        ("prod-v0", "2025-03-01T12:00:00Z", "run:product-ranker.baseline-v0", 0.871),
    ]
    assert accuracy.history_values == [0.893, 0.871]


@pytest.mark.slow
def test_report_of_a_failing_gate_says_which_check_failed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_gate=GATE)
    result = run_gate(pytester, "candidate-v2-good", "candidate-v4-regressed", args=("--contexta-report=gate.json",))
    result.assert_outcomes(passed=7, failed=1)

    report = read_report(pytester.path / "gate.json")
    assert (report.verdict, report.exit_status) == ("fail", int(pytest.ExitCode.TESTS_FAILED))
    assert [(c.run_ref, c.verdict) for c in report.candidates] == [(GOOD, "pass"), (REGRESSED, "fail")]
    assert report.candidates[1].reasons == ["1 of 4 gate checks did not pass"]
    (accuracy,) = checks_of(report, REGRESSED)[f"test_regression[accuracy-{REGRESSED}]"]
    assert (accuracy.outcome, accuracy.candidate_value, accuracy.baseline_value) == ("failed", 0.841, 0.893)
    assert accuracy.change_rel is not None and accuracy.change_rel < -0.05


@pytest.mark.slow
def test_a_check_that_errors_is_reported_as_custom(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_gate="""
        import pytest

        @pytest.fixture
        def model_card(contexta_run):
            raise RuntimeError("model card service unreachable")

        def test_card(model_card):
            pass

        def test_owner(contexta_run):
            assert contexta_run.name.startswith("release-"), "runs must be named release-*"

        def test_status(contexta_run):
            assert contexta_run.status == "completed"
    """
    )
    result = run_gate(pytester, "candidate-v2-good", args=("--contexta-report=gate.json",))
    result.assert_outcomes(passed=1, failed=1, errors=1)

    report = read_report(pytester.path / "gate.json")
    assert report.verdict == "fail"
    checks = checks_of(report, GOOD)
    assert [(c.kind, c.outcome) for c in checks[f"test_card[{GOOD}]"]] == [("custom", "error")]
    assert "model card service unreachable" in checks[f"test_card[{GOOD}]"][0].detail
    assert [(c.kind, c.outcome) for c in checks[f"test_owner[{GOOD}]"]] == [("custom", "failed")]
    assert "runs must be named release-*" in checks[f"test_owner[{GOOD}]"][0].detail
    assert [(c.kind, c.outcome, c.detail) for c in checks[f"test_status[{GOOD}]"]] == [("custom", "passed", "passed")]
    assert report.candidates[0].reasons == ["2 of 3 gate checks did not pass"]


@pytest.mark.slow
def test_a_usage_error_still_writes_a_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_gate=GATE)
    result = run_gate(pytester, "no-such-run", args=("--contexta-report=gate.json",))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: contexta: no run named 'no-such-run' in workspace *"])

    report = read_report(pytester.path / "gate.json")
    assert (report.verdict, report.exit_status, report.candidates) == ("fail", int(pytest.ExitCode.USAGE_ERROR), [])
    assert report.error is not None and "no run named 'no-such-run'" in report.error


@pytest.mark.slow
def test_baseline_none_says_why_there_is_none(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_gate=GATE)
    result = run_gate(pytester, "candidate-v2-good", args=("--contexta-baseline=none", "--contexta-report=gate.json"))
    result.assert_outcomes(passed=2, skipped=2)

    (candidate,) = read_report(pytester.path / "gate.json").candidates
    assert candidate.verdict == "pass"
    assert candidate.baseline == BaselineChoice(
        run_ref=None, source="none", reason="first deployment declared (--contexta-baseline=none, from command line)"
    )
    regression = checks_of(read_report(pytester.path / "gate.json"), GOOD)[f"test_regression[accuracy-{GOOD}]"]
    assert [(c.kind, c.outcome) for c in regression] == [("custom", "skipped")]


@pytest.mark.slow
@pytest.mark.parametrize("how", ["env", "ini"])
def test_report_path_from_env_or_ini(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    pytester.makepyfile(test_gate=GATE)
    if how == "env":
        monkeypatch.setenv("CONTEXTA_REPORT", "from-env/gate.json")
    else:
        pytester.makeini("[pytest]\ncontexta_report = from-ini/gate.json\n")
    run_gate(pytester, "candidate-v2-good").assert_outcomes(passed=4)
    assert read_report(pytester.path / f"from-{how}" / "gate.json").verdict == "pass"


def test_schema_round_trip_and_validation(capsys: pytest.CaptureFixture[str]) -> None:
    written = json.loads((RECORDED / "three-candidates.json").read_text(encoding="utf-8"))  # as a gate wrote it

    report = GateReport.model_validate(written)
    assert json.loads(report.model_dump_json()) == written
    assert GateReport.model_validate_json(report.model_dump_json()) == report

    capsys.readouterr()
    assert main(["--schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(written, schema)
    broken = {**written, "verdict": "maybe"}
    with pytest.raises(jsonschema.ValidationError, match="'maybe' is not one of"):
        jsonschema.validate(broken, schema)


def test_validate_command(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    good = RECORDED / "product-ranker.candidate-v4-regressed.json"
    capsys.readouterr()
    assert main(["--validate", str(good)]) == 0
    assert capsys.readouterr().out == f"{good}: valid report, verdict fail\n"

    written = json.loads(good.read_text(encoding="utf-8"))
    del written["candidates"][0]["baseline"]
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(written), encoding="utf-8")
    assert main(["--validate", str(broken)]) == 1
    assert capsys.readouterr().err == (
        f"{broken}: not a pytest-contexta report (schema version 2): candidates.0.baseline: Field required. "
        f"Compare it with python -m pytest_contexta.report --schema\n"
    )


@pytest.mark.slow
def test_the_validate_command_runs_as_documented(tmp_path: Path) -> None:
    good = tmp_path / "gate.json"
    shutil.copyfile(RECORDED / "product-ranker.candidate-v4-regressed.json", good)
    done = subprocess.run(
        [sys.executable, "-m", "pytest_contexta.report", "--validate", "gate.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "gate.json: valid report, verdict fail\n", "")


def test_validate_names_a_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    assert main(["--validate", str(missing)]) == 1
    assert capsys.readouterr().err == f"{missing}: cannot read the report: No such file or directory\n"


def _written(pytester: pytest.Pytester, name: str = "gate.json") -> dict:
    return json.loads((pytester.path / name).read_text(encoding="utf-8"))


@pytest.mark.slow
def test_an_unwritable_markdown_file_makes_the_json_report_say_fail_with_pytest_s_exit_status(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(GATE)
    folder = pytester.mkdir("markdown-is-a-folder")
    result = run_gate(pytester, GOOD, args=("--contexta-report=gate.json", f"--contexta-markdown={folder}"))
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = _written(pytester)  # was: "verdict": "pass", "exit_status": 0 while pytest exited 1
    assert (report["verdict"], report["exit_status"]) == ("fail", result.ret)
    assert f"cannot write the markdown summary to {folder}" in report["error"]
    assert not [path.name for path in pytester.path.iterdir() if path.name.startswith(".gate.json.")]


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [["--contexta-lock-timeout=abc"], ["--contexta-lock-timeout=-1"], ["--contexta-baseline=no-such-run"]],
    ids=["not-a-number", "negative", "at-session-start"],
)
def test_a_usage_error_before_any_test_still_writes_the_report_and_a_junit_file(
    pytester: pytest.Pytester, args: list[str]
) -> None:
    pytester.makepyfile(GATE)
    passing = run_gate(pytester, GOOD, args=("--contexta-report=gate.json", "--junitxml=junit.xml"))
    assert passing.ret == pytest.ExitCode.OK and _written(pytester)["verdict"] == "pass"
    result = run_gate(pytester, GOOD, args=("--contexta-report=gate.json", "--junitxml=junit.xml", *args))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    report = _written(pytester)  # was: the previous run's passing report stayed on disk, no JUnit file
    assert (report["verdict"], report["exit_status"]) == ("fail", pytest.ExitCode.USAGE_ERROR)
    junit = (pytester.path / "junit.xml").read_text(encoding="utf-8")
    assert '<property name="contexta.verdict" value="fail" />' in junit and "<error message=" in junit
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_an_output_that_is_not_permitted_says_permission_denied_and_who_the_gate_runs_as(tmp_path: Path) -> None:
    import getpass

    from pytest_contexta.outputs.writing import Outputs
    from pytest_contexta.plugin.options import OutputPaths

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    denied = Outputs(OutputPaths(tmp_path / "ws", tmp_path / "gate.json", {}))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("tempfile.mkstemp", refuse)
        (error,) = denied.stage()
    assert f"permission denied (the gate runs as user {getpass.getuser()})" in error
