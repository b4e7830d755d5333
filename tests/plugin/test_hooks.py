"""The three hooks a team implements in its conftest.py, and the shipped example of them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import EXAMPLE_GATES, EXAMPLE_WORKSPACE, WORKSPACES
from pytest_contexta.report import GateReport

pytestmark = pytest.mark.slow

DEPLOYMENTS_WORKSPACE = WORKSPACES / "deployments"
GOOD = "run:product-ranker.candidate-v2-good"
PRODUCTION = "run:product-ranker.baseline-v1"
OLD_PRODUCTION = "run:product-ranker.baseline-v0"

GATE = """
from pytest_contexta import assert_no_error_diagnostics, assert_no_regression

def test_diagnostics(contexta_run):
    assert_no_error_diagnostics(contexta_run)

def test_accuracy(contexta_run, baseline_run):
    assert_no_regression(contexta_run, baseline_run, "accuracy", stage="evaluate", max_drop=0.05)
"""


def run_gate(
    pytester: pytest.Pytester, conftest: str, *args: str, candidate: str = GOOD, workspace: Path = EXAMPLE_WORKSPACE
) -> tuple[pytest.RunResult, GateReport]:
    pytester.makepyfile(test_gate=GATE)
    pytester.makeconftest(conftest)
    result = pytester.runpytest(
        f"--contexta-workspace={workspace}", f"--contexta-candidate={candidate}", "--contexta-report=gate.json", *args
    )
    report = GateReport.model_validate_json((pytester.path / "gate.json").read_text(encoding="utf-8"))
    return result, report


def accuracy_check(report: GateReport):
    (check,) = [c for c in report.candidates[0].checks if c.metric == "accuracy"]
    return check


# -- pytest_contexta_select_baseline -------------------------------------------------------------------


def test_select_baseline_returning_a_run_name(pytester: pytest.Pytester) -> None:
    result, report = run_gate(
        pytester,
        """
        def pytest_contexta_select_baseline(config, candidate, workspace):
            assert candidate.ref == "run:product-ranker.candidate-v2-good"
            assert any(run.name == "baseline-v0" for run in workspace.list_runs("product-ranker"))
            return "baseline-v0"
    """,
    )
    result.assert_outcomes(passed=2)
    baseline = report.candidates[0].baseline
    assert (baseline.run_ref, baseline.source, baseline.reason) == (
        OLD_PRODUCTION,
        "hook",
        "chosen by a pytest_contexta_select_baseline hook",
    )
    assert (accuracy_check(report).baseline_ref, accuracy_check(report).baseline_value) == (OLD_PRODUCTION, 0.871)
    result.stdout.fnmatch_lines([f"contexta baseline of {GOOD}: {OLD_PRODUCTION} (chosen by a *hook)"])


def test_select_baseline_returning_a_choice_with_its_reason(pytester: pytest.Pytester) -> None:
    result, report = run_gate(
        pytester,
        """
        from pytest_contexta import BaselineChoice

        def pytest_contexta_select_baseline(candidate):
            return BaselineChoice(run_ref="run:product-ranker.baseline-v0", reason="the model finance signed off")
    """,
    )
    result.assert_outcomes(passed=2)
    assert report.candidates[0].baseline.model_dump() == {
        "run_ref": OLD_PRODUCTION,
        "reason": "the model finance signed off",
        "source": "hook",
    }
    result.stdout.fnmatch_lines([f"baseline:  {OLD_PRODUCTION} — the model finance signed off"])


def test_select_baseline_choosing_none_fails_the_checks_that_need_one(pytester: pytest.Pytester) -> None:
    result, report = run_gate(
        pytester,
        """
        from pytest_contexta import BaselineChoice

        def pytest_contexta_select_baseline(candidate):
            return BaselineChoice(run_ref=None, reason="nothing signed off yet")
    """,
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([f"*contexta: no baseline for {GOOD}: nothing signed off yet"])
    assert report.verdict == "fail"


def test_select_baseline_returning_none_falls_through_to_the_default(pytester: pytest.Pytester) -> None:
    result, report = run_gate(
        pytester,
        """
        def pytest_contexta_select_baseline(config, candidate):
            (config.rootpath / "asked.txt").write_text(candidate.ref)
            return None
    """,
    )
    result.assert_outcomes(passed=2)
    assert (pytester.path / "asked.txt").read_text() == GOOD
    baseline = report.candidates[0].baseline
    assert (baseline.run_ref, baseline.source) == (PRODUCTION, "latest-deployment")


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            "42",
            f"pytest_contexta_select_baseline returned 42 for {GOOD}: return a BaselineChoice, a run ref, or None *",
        ),
        (
            "'no-such-run'",
            (
                f"pytest_contexta_select_baseline chose 'no-such-run' as the baseline of {GOOD}, which "
                f"cannot be used: no run named 'no-such-run' in workspace *"
            ),
        ),
    ],
)
def test_select_baseline_with_an_unusable_answer_is_a_usage_error(
    pytester: pytest.Pytester, answer: str, message: str
) -> None:
    result, report = run_gate(
        pytester,
        f"""
        def pytest_contexta_select_baseline(candidate):
            return {answer}
    """,
    )
    # asked after collection (so conftests under the gate folder count): the gate ends as a usage error
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines([f"GATE FAILED for {GOOD}: *{message}"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert report.error is not None and report.error.startswith("pytest_contexta_select_baseline")


def test_select_baseline_is_not_asked_when_the_baseline_is_given(pytester: pytest.Pytester) -> None:
    result, report = run_gate(
        pytester,
        """
        def pytest_contexta_select_baseline(candidate):
            return 42
    """,
        "--contexta-baseline=baseline-v0",
    )
    result.assert_outcomes(passed=2)
    assert (report.candidates[0].baseline.run_ref, report.candidates[0].baseline.source) == (OLD_PRODUCTION, "option")


# -- pytest_contexta_gate_finished ---------------------------------------------------------------------

FINISHED = """
def pytest_contexta_gate_finished(config, report):
    with open(config.rootpath / "finished.jsonl", "a", encoding="utf-8") as handle:
        handle.write(report.model_dump_json() + "\\n")
"""


def test_gate_finished_gets_the_written_report_once(pytester: pytest.Pytester) -> None:
    result, report = run_gate(pytester, FINISHED, candidate="candidate-v4-regressed")
    result.assert_outcomes(passed=1, failed=1)
    (line,) = (pytester.path / "finished.jsonl").read_text(encoding="utf-8").splitlines()
    assert GateReport.model_validate_json(line) == report
    assert report.verdict == "fail"


def test_gate_finished_is_called_when_the_gate_cannot_start(pytester: pytest.Pytester) -> None:
    result, report = run_gate(pytester, FINISHED, candidate="no-such-run")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    (line,) = (pytester.path / "finished.jsonl").read_text(encoding="utf-8").splitlines()
    finished = GateReport.model_validate_json(line)
    assert finished == report
    assert finished.error is not None and "no run named 'no-such-run'" in finished.error


# -- pytest_contexta_diagnostics -----------------------------------------------------------------------


def test_diagnostics_hook_adds_errors_the_helper_honours(pytester: pytest.Pytester) -> None:
    result, report = run_gate(
        pytester,
        """
        from pytest_contexta import Diagnostic

        def pytest_contexta_diagnostics(run):
            with open("asked.txt", "a") as handle:
                handle.write(run.ref + "\\n")
            return [
                Diagnostic(code="model_card_missing", severity="error", subject_ref=run.ref,
                           summary="no model card was registered"),
                {"code": "slow_training", "severity": "warning", "summary": "training took 9 h"},
            ]
    """,
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [f"*{GOOD} has 1 error diagnostic(s):", f"*model_card_missing ?{GOOD}?: no model card was registered"]
    )
    added = [(d.code, d.severity, d.subject_ref, d.source) for d in report.candidates[0].diagnostics][-2:]
    assert added == [("model_card_missing", "error", GOOD, "custom"), ("slow_training", "warning", None, "custom")]
    # every run the gate reads gets the hook's diagnostics: the candidate, the baseline and the history
    assert sorted((pytester.path / "asked.txt").read_text().splitlines()) == [OLD_PRODUCTION, PRODUCTION, GOOD]


@pytest.mark.parametrize("plugin_args", [[], ["-p", "xdist", "-n", "2"]], ids=["plain", "xdist"])
def test_gate_finished_sees_the_same_diagnostics_with_and_without_xdist(
    pytester: pytest.Pytester, plugin_args: list[str]
) -> None:
    """The report a hook gets carries no diagnostic details, plain or under xdist (found by the review: details
    reached the hook in a plain run only)."""
    result, _ = run_gate(
        pytester,
        """
        from pytest_contexta import Diagnostic

        def pytest_contexta_diagnostics(run):
            return [Diagnostic(code="rule-7", severity="warning", summary="odd", details={"why": "rule 7"})]

        def pytest_contexta_gate_finished(config, report):
            for diagnostic in report.candidates[0].diagnostics:
                if diagnostic.code == "rule-7":
                    print("HOOK-SAW", diagnostic.details)
    """,
        "-s",
        *plugin_args,
    )
    output = result.stdout.str()
    assert "HOOK-SAW {}" in output and "HOOK-SAW {'why'" not in output


def test_diagnostics_hook_may_return_a_single_diagnostic(pytester: pytest.Pytester) -> None:
    result, report = run_gate(
        pytester,
        """
        from pytest_contexta import Diagnostic

        def pytest_contexta_diagnostics(run):
            return Diagnostic(code="unsigned", severity="error", summary="not signed off")
    """,
    )
    result.assert_outcomes(passed=1, failed=1)
    assert report.candidates[0].diagnostics[-1].code == "unsigned"


def test_waived_hook_diagnostics_pass(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_waiver="""
        from pytest_contexta import assert_no_error_diagnostics

        def test_waived(contexta_run):
            assert_no_error_diagnostics(contexta_run, ignore=["unsigned"])
    """
    )
    result, _ = run_gate(
        pytester,
        """
        def pytest_contexta_diagnostics(run):
            return [{"code": "unsigned", "severity": "error", "summary": "not signed off"}]
    """,
        "-k",
        "waived",
    )
    result.assert_outcomes(passed=1, deselected=2)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            "[{'code': 'x', 'summary': 'y'}]",
            (
                f"pytest_contexta_diagnostics returned {{'code': 'x', 'summary': 'y'}} for {GOOD}, which is not a "
                f"Diagnostic: severity: Field required"
            ),
        ),
        ("42", f"pytest_contexta_diagnostics returned 42 for {GOOD}: return a list of Diagnostic objects, or None *"),
    ],
)
def test_diagnostics_hook_with_a_bad_answer_is_a_usage_error(
    pytester: pytest.Pytester, answer: str, message: str
) -> None:
    result, report = run_gate(
        pytester,
        f"""
        def pytest_contexta_diagnostics(run):
            return {answer}
    """,
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines([f"GATE FAILED for {GOOD}: *{message}*"])
    assert report.error is not None and report.error.startswith("pytest_contexta_diagnostics returned")


# -- the shipped example: example_gates/conftest.py ----------------------------------------------------


def test_example_conftest_keeps_the_case_study_outcomes(pytester: pytest.Pytester) -> None:
    for name in ("conftest.py", "test_deployment_gate.py", "pytest.ini", "waivers.toml"):
        shutil.copy(EXAMPLE_GATES / name, pytester.path / name)
    candidates = ["candidate-v2-good", "candidate-v6-faster", "april-wrong-dataset"]
    result = pytester.runpytest(
        f"--contexta-workspace={EXAMPLE_WORKSPACE}",
        *(f"--contexta-candidate={c}" for c in candidates),
        "--contexta-report=gate.json",
    )
    result.assert_outcomes(passed=29, failed=1)

    report = GateReport.model_validate_json((pytester.path / "gate.json").read_text(encoding="utf-8"))
    verdicts = {c.run_ref.split(".")[-1]: c.verdict for c in report.candidates}
    assert verdicts == {"candidate-v2-good": "pass", "candidate-v6-faster": "pass", "april-wrong-dataset": "fail"}
    for candidate in report.candidates:
        assert (candidate.baseline.run_ref, candidate.baseline.source) == (PRODUCTION, "hook")
        assert "the latest completed prod-* deployment of product-ranker" in candidate.baseline.reason
    april = report.candidates[2]
    assert [(d.code, d.severity) for d in april.diagnostics if d.source == "custom"] == [
        ("dataset_not_registered", "error")
    ]
    assert all(d.source != "custom" for c in report.candidates[:2] for d in c.diagnostics)


def test_example_baseline_rule_ignores_deployments_not_named_prod(pytester: pytest.Pytester) -> None:
    """In this workspace the newest completed deployment of another run is ``shadow-cand-b``; the team rule
    passes over it for ``prod-mar``."""
    shutil.copy(EXAMPLE_GATES / "conftest.py", pytester.path / "conftest.py")
    pytester.makepyfile(test_gate="def test_baseline(baseline_run):\n    assert baseline_run.name == 'r3'\n")
    result = pytester.runpytest(
        f"--contexta-workspace={DEPLOYMENTS_WORKSPACE}", "--contexta-candidate=run:ranker.cand-a"
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            (
                "baseline:  run:ranker.r3 — deployed as prod-mar (*), the latest completed "
                "prod-* deployment of ranker (example_gates/conftest.py)"
            )
        ]
    )
    default = pytester.runpytest(
        f"--contexta-workspace={DEPLOYMENTS_WORKSPACE}", "--contexta-candidate=run:ranker.cand-a", "--noconftest"
    )
    default.stdout.fnmatch_lines(["baseline:  run:ranker.cand-b — deployed as shadow-cand-b *"])


# -- when the gate hooks are asked -------------------------------------------------------------------

NESTED_CONFTEST = """
from pytest_contexta import BaselineChoice, Diagnostic

def pytest_contexta_select_baseline(candidate):
    return BaselineChoice(run_ref="baseline-v0", reason="the nested conftest chose it")

def pytest_contexta_diagnostics(run):
    return [Diagnostic(code="nested_conftest", severity="info", summary="added by gates/ranker/conftest.py")]
"""


@pytest.mark.parametrize("where", ["gates", "gates/ranker"])
@pytest.mark.parametrize(
    "args", [[], ["gates"], ["gates/ranker/test_gate.py"], ["-n", "2"]], ids=["testpaths", "folder", "file", "xdist"]
)
def test_hooks_in_a_conftest_loaded_during_collection_decide_alike_however_pytest_is_run(
    pytester: pytest.Pytester, args: list[str], where: str
) -> None:
    pytester.makeini("[pytest]\ntestpaths = gates\n")
    ranker = pytester.mkdir("gates") / "ranker"
    ranker.mkdir()
    (pytester.path / where / "conftest.py").write_text(NESTED_CONFTEST, encoding="utf-8")
    (ranker / "test_gate.py").write_text(GATE, encoding="utf-8")
    result = pytester.runpytest(
        f"--contexta-workspace={EXAMPLE_WORKSPACE}",
        f"--contexta-candidate={GOOD}",
        "--contexta-report=gate.json",
        *args,
    )
    report = GateReport.model_validate_json((pytester.path / "gate.json").read_text(encoding="utf-8"))
    result.assert_outcomes(passed=2)  # was: the hooks were asked at session start, before this conftest loaded
    (candidate,) = report.candidates
    assert candidate.baseline.model_dump() == {
        "run_ref": OLD_PRODUCTION,
        "reason": "the nested conftest chose it",
        "source": "hook",
    }
    assert accuracy_check(report).baseline_ref == OLD_PRODUCTION
    assert candidate.diagnostics[-1].code == "nested_conftest"


def test_a_gate_hook_registered_after_the_hooks_were_asked_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_late="""
        class LatePlugin:
            def pytest_contexta_diagnostics(self, run):
                return [{"code": "late", "severity": "error", "summary": "never seen"}]

        def test_first(contexta_run):
            pass

        def test_registers_late(request, contexta_run):
            request.config.pluginmanager.register(LatePlugin(), "late-plugin")
    """
    )
    result, report = run_gate(pytester, "")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(
        [
            f"GATE FAILED for {GOOD}: *pytest_contexta_diagnostics in *LatePlugin* was "
            f"registered after the gate had asked its hooks*"
        ]
    )
    assert report.verdict == "fail" and "registered after" in (report.error or "")


def test_a_raising_gate_finished_hook_is_a_clear_gate_error_and_the_files_say_fail(pytester: pytest.Pytester) -> None:
    result, report = run_gate(
        pytester,
        """
        def pytest_contexta_gate_finished(report):
            raise RuntimeError("chat server down")
    """,
        "--contexta-markdown=gate.md",
        "--junitxml=junit.xml",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # every check passed; the gate itself did not finish well
    result.assert_outcomes(passed=2)
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    message = "contexta: a pytest_contexta_gate_finished hook raised RuntimeError: chat server down*"
    result.stdout.fnmatch_lines([f"GATE FAILED for {GOOD}: {message}"])
    assert (report.verdict, report.exit_status) == ("fail", 1)
    assert "❌ fail" in (pytester.path / "gate.md").read_text(encoding="utf-8")
    assert '<property name="contexta.verdict" value="fail" />' in (pytester.path / "junit.xml").read_text()
