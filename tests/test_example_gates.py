"""The shipped example gate (example_gates/) on every candidate of its workspace.

Each candidate of the table in example_gates/generate_workspace.py must fail exactly through the
checks of Contexta's case study 05 ("automated deployment gate") and nothing else.
"""

from __future__ import annotations

import ast
import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from conftest import EXAMPLE_GATES
from pytest_contexta.verdict.waivers import today

METRICS = ("accuracy", "auc", "f1", "latency-p95-ms")
#: The shipped waiver (example_gates/waivers.toml) expired long ago, so the example reads the same on any day;
#: every test here runs with the clock years ahead (the ``frozen_today`` fixture, tests/frozen_clock.py).
SHIPPED_EXPIRY = "2025-06-30"
WAIVER_LINE = 11
pytestmark = pytest.mark.usefixtures("frozen_today")
#: Candidates whose p95 latency is over the advisory 50 ms budget (or unknown): test_latency_budget warns.
OVER_BUDGET = {"candidate-v3-no-eval", "march-wrong-stage", "may-eval-skipped", "candidate-v5-slower"}
CHECKS = 10
NOT_EVALUATED = {f"test_metric_evaluated[{m}]" for m in METRICS} | {f"test_no_regression[{m}]" for m in METRICS}

# candidate: (the checks that fail, a line of the failure output that says why)
CASES = {
    "candidate-v2-good": (set(), None),
    "candidate-v3-no-eval": (NOT_EVALUATED, "*accuracy: the run has no stage 'evaluate'"),
    # f1's waiver (example_gates/waivers.toml) has expired: it fails again, and the verdict says so
    "candidate-v4-regressed": (
        {"test_no_regression[accuracy]", "test_no_regression[auc]", "test_no_regression[f1]"},
        "*FAIL accuracy: 0.893 -> 0.841, change -0.052 (-5.82%), higher is better (built-in: name part 'accuracy')*",
    ),
    "march-wrong-stage": (NOT_EVALUATED, "*accuracy: not recorded in stage 'evaluate'; found in train"),
    "april-wrong-dataset": ({"test_no_error_diagnostics"}, "*degraded_record * data.dataset_version_mismatch*"),
    "may-eval-skipped": (NOT_EVALUATED, "*accuracy: the run has no stage 'evaluate'"),
    "candidate-v5-slower": (
        {"test_no_regression[latency-p95-ms]"},
        "*FAIL latency-p95-ms: 42 -> 55, change +13 (+30.95%), lower is better (built-in: name part 'latency')*",
    ),
    "candidate-v6-faster": (set(), None),
    # Its own deployment failed: an error diagnostic, and it is never the baseline of anything.
    "candidate-v0-canary": (
        {"test_no_error_diagnostics", "test_no_regression[latency-p95-ms]"},
        "*failed_deployment * deployment prod-v1-canary-retry failed*",
    ),
}


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of example_gates/ (gate, pytest.ini and its .contexta workspace), so runs leave no trace in it; its
    waiver file as shipped."""
    target = tmp_path_factory.mktemp("example") / "example_gates"
    shutil.copytree(EXAMPLE_GATES, target, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    assert (target / "waivers.toml").read_text(encoding="utf-8").count(f"expires = {SHIPPED_EXPIRY}") == 1
    return target


def renewed_waivers(example: Path, folder: Path, days: int = 30) -> Path:
    """The shipped waiver renewed as a team would (example_gates/README.md): the same entry, expiring ``days``
    after today."""
    renewed = folder / "renewed-waivers.toml"
    text = (example / "waivers.toml").read_text(encoding="utf-8")
    renewed.write_text(text.replace(SHIPPED_EXPIRY, (today() + timedelta(days=days)).isoformat()), encoding="utf-8")
    return renewed


def test_the_suite_runs_years_after_the_shipped_waiver_expired() -> None:
    assert today().year - date.fromisoformat(SHIPPED_EXPIRY).year >= 5


def test_every_candidate_of_the_workspace_is_covered(example: Path) -> None:
    doc = ast.get_docstring(ast.parse((example / "generate_workspace.py").read_text(encoding="utf-8"))) or ""
    rule = next(line for line in doc.splitlines() if line.startswith("===="))
    rows = doc.split(rule)[2]  # before, header, rows, after
    runs = {line.split()[0] for line in rows.splitlines() if line[:1].isalnum()}
    assert runs - {"baseline-v0", "baseline-v1"} == set(CASES)


@pytest.mark.slow
@pytest.mark.parametrize("candidate", list(CASES))
def test_example_gate(pytester: pytest.Pytester, example: Path, candidate: str) -> None:
    failing, why = CASES[candidate]
    ref = f"run:product-ranker.{candidate}"

    result = pytester.runpytest(str(example), f"--contexta-candidate={candidate}", "-p", "no:cacheprovider")

    reports = result.reprec.getreports("pytest_runtest_logreport")  # type: ignore[attr-defined]
    failed = {r.nodeid.split("::")[1].replace(f"-{ref}", "").replace(f"[{ref}]", "") for r in reports if r.failed}
    assert failed == failing
    assert len({r.nodeid for r in reports}) == CHECKS
    assert result.ret == (pytest.ExitCode.TESTS_FAILED if failing else pytest.ExitCode.OK)
    result.assert_outcomes(
        failed=len(failing),
        passed=CHECKS - len(failing) - (candidate in OVER_BUDGET),
        xfailed=candidate in OVER_BUDGET,
    )
    result.stdout.fnmatch_lines(
        [
            f"contexta workspace: {example / '.contexta'} (from ini contexta_workspace)",
            f"contexta baseline of {ref}: run:product-ranker.baseline-v1 (deployed as prod-v1 *",
        ]
    )
    verdict = (
        f"GATE FAILED for {ref}: {len(failing)} of {CHECKS} gate checks did not pass*"
        if failing
        else f"GATE PASSED for {ref}"
    )
    result.stdout.fnmatch_lines(["baseline:  run:product-ranker.baseline-v1 — *", verdict])
    if why:
        result.stdout.fnmatch_lines([why])


def test_all_candidates_in_one_session(pytester: pytest.Pytester, example: Path) -> None:
    """Gating several candidates at once gives each its own verdict, and the session fails if one does.

    Not marked slow: the quick run's one gate session end to end (tests/test_slow_marks.py allows it)."""
    result = pytester.runpytest(
        str(example),
        "--contexta-candidate=candidate-v2-good",
        "--contexta-candidate=candidate-v6-faster",
        "--contexta-candidate=candidate-v5-slower",
        "-p",
        "no:cacheprovider",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=28, failed=1, xfailed=1)
    result.stdout.fnmatch_lines(
        [
            "GATE PASSED for run:product-ranker.candidate-v2-good",
            "GATE PASSED for run:product-ranker.candidate-v6-faster",
            f"GATE FAILED for run:product-ranker.candidate-v5-slower: 1 of {CHECKS} *",
        ]
    )


@pytest.mark.slow
def test_the_advisory_check_and_the_waiver_of_the_example(pytester: pytest.Pytester, example: Path) -> None:
    """v4's f1 regression is WAIVED with its owner once the waiver is renewed; v5's latency over budget is a
    warning next to its failure."""
    result = pytester.runpytest(
        str(example),
        "--contexta-candidate=candidate-v4-regressed",
        "--contexta-candidate=candidate-v5-slower",
        "--contexta-report=gate.json",
        f"--contexta-waivers={renewed_waivers(example, pytester.path)}",
        "-p",
        "no:cacheprovider",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = json.loads((pytester.path / "gate.json").read_text(encoding="utf-8"))
    regressed, slower = report["candidates"]
    (f1,) = [c for c in regressed["checks"] if c["metric"] == "f1" and c["kind"] == "regression"]
    assert (f1["outcome"], f1["waiver"]["owner"], f1["waiver"]["line"]) == (
        "waived",
        "ranking-team@example.com",
        WAIVER_LINE,
    )
    (budget,) = [c for c in slower["checks"] if c["nodeid"].split("::")[1].startswith("test_latency_budget")]
    assert (budget["outcome"], budget["advisory"], budget["candidate_value"]) == ("warning", True, 55.0)
    assert [(w["status"], w["days_left"], w["waived"]) for w in report["waivers"]] == [
        ("applied", 30, ["test_deployment_gate.py::test_no_regression[f1-run:product-ranker.candidate-v4-regressed]"])
    ]
    result.stdout.fnmatch_lines(
        [
            "test_no_regression?f1? * WAIVED * f1 @evaluate *",
            "test_latency_budget * WARN * latency-p95-ms @evaluate * 55 *",
        ]
    )


@pytest.mark.slow
def test_the_shipped_waiver_has_expired_and_the_verdict_says_so(pytester: pytest.Pytester, example: Path) -> None:
    """As shipped, on any day after 2025-06-30: v4's f1 regression fails again, naming the expired waiver."""
    result = pytester.runpytest(
        str(example), "--contexta-candidate=candidate-v4-regressed", "--contexta-report=gate.json"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = json.loads((pytester.path / "gate.json").read_text(encoding="utf-8"))
    (f1,) = [c for c in report["candidates"][0]["checks"] if c["metric"] == "f1" and c["kind"] == "regression"]
    assert (f1["outcome"], f1["waiver"]["expired"], f1["waiver"]["expires"]) == ("failed", True, SHIPPED_EXPIRY)
    assert [(w["status"], w["expires"]) for w in report["waivers"]] == [("expired", SHIPPED_EXPIRY)]
    assert any(
        f"(owner ranking-team@example.com) expired on {SHIPPED_EXPIRY}, so its failure counts" in reason
        for reason in report["candidates"][0]["reasons"]
    )
    result.stdout.fnmatch_lines([f"note: *expired on {SHIPPED_EXPIRY}; it no longer applies*"])
