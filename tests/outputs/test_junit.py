"""JUnit XML: every gate check carries its numbers as <property> elements (through user_properties)."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import EXAMPLE_WORKSPACE
from pytest_contexta.report import GateReport

pytestmark = pytest.mark.slow  # the JUnit file of a gate session: pytest's junitxml integration

GOOD = "run:product-ranker.candidate-v2-good"
REGRESSED = "run:product-ranker.candidate-v4-regressed"
PRODUCTION = "run:product-ranker.baseline-v1"

GATE = """
import pytest
from pytest_contexta import assert_metric_threshold, assert_no_regression

@pytest.mark.parametrize("metric", ["accuracy", "latency-p95-ms"])
def test_regression(contexta_run, baseline_run, metric):
    assert_no_regression(contexta_run, baseline_run, metric, stage="evaluate", max_drop=0.02)

def test_threshold(contexta_run):
    assert_metric_threshold(contexta_run, "auc", at_least=0.85, stage="evaluate")

def test_named(contexta_run):
    assert contexta_run.name.startswith("candidate-")
"""


def properties(xml: Path) -> dict[str, dict[str, str]]:
    """The properties of each test case, by test name."""
    found = {}
    for case in ET.parse(xml).getroot().iter("testcase"):
        found[case.get("name")] = {p.get("name"): p.get("value") for p in case.iter("property")}
    return found


@pytest.fixture
def junit(pytester: pytest.Pytester) -> tuple[dict[str, dict[str, str]], GateReport]:
    pytester.makepyfile(test_gate=GATE)
    result = pytester.runpytest(
        f"--contexta-workspace={EXAMPLE_WORKSPACE}",
        f"--contexta-candidate={GOOD}",
        f"--contexta-candidate={REGRESSED}",
        "--junitxml=junit.xml",
        "--contexta-report=gate.json",
    )
    result.assert_outcomes(passed=7, failed=1)
    report = GateReport.model_validate_json((pytester.path / "gate.json").read_text(encoding="utf-8"))
    return properties(pytester.path / "junit.xml"), report


def test_regression_checks_carry_candidate_and_baseline_values(junit) -> None:
    cases, _ = junit
    accuracy = dict(cases[f"test_regression[accuracy-{REGRESSED}]"])
    assert math.isclose(float(accuracy.pop("contexta.change_abs")), 0.841 - 0.893)
    assert math.isclose(float(accuracy.pop("contexta.change_rel")), (0.841 - 0.893) / 0.893)
    assert math.isclose(float(accuracy.pop("contexta.allowed_low")), 0.893 * 0.98)  # the band, higher is better
    assert accuracy == {
        "contexta.kind": "regression",
        "contexta.run_ref": REGRESSED,
        "contexta.passed": "False",
        "contexta.detail": "accuracy: 0.893 -> 0.841, change -0.052 (-5.82%), higher is better (built-in: name part "
        "'accuracy'); allowed: worse by at most 2.00%; no noise estimate; the history has 2 "
        "usable values, 3 are needed; values from evaluate",
        "contexta.metric": "accuracy",
        "contexta.stage": "evaluate",
        "contexta.candidate_value": "0.841",
        "contexta.baseline_value": "0.893",
        "contexta.baseline_ref": PRODUCTION,
        "contexta.limit": "worse by at most 2.00%",
        "contexta.direction": "higher is better (built-in: name part 'accuracy')",
        "contexta.value_source": "evaluate",
        "contexta.outcome": "failed",
        "contexta.confidence": "0.95",
        "contexta.noise_source": "no noise estimate; the history has 2 usable values, 3 are needed",
        "contexta.history_values": "[0.893, 0.871]",  # the trend: baseline-v1 (prod-v1), baseline-v0 (prod-v0)
    }
    latency = cases[f"test_regression[latency-p95-ms-{GOOD}]"]
    assert (
        latency["contexta.passed"],
        latency["contexta.candidate_value"],
        latency["contexta.baseline_value"],
        latency["contexta.change_abs"],
    ) == ("True", "41.0", "42.0", "-1.0")
    assert latency["contexta.direction"] == "lower is better (built-in: name part 'latency')"


def test_property_numbers_match_the_report(junit) -> None:
    cases, report = junit
    compared = 0
    for candidate in report.candidates:
        for check in candidate.checks:
            if check.kind != "regression":
                continue
            numbers = cases[check.nodeid.split("::")[-1]]
            assert float(numbers["contexta.candidate_value"]) == check.candidate_value
            assert float(numbers["contexta.baseline_value"]) == check.baseline_value
            assert float(numbers["contexta.change_abs"]) == check.change_abs
            assert float(numbers["contexta.change_rel"]) == check.change_rel
            compared += 1
    assert compared == 4


def test_threshold_checks_carry_their_limit_and_custom_tests_carry_none(junit) -> None:
    cases, _ = junit
    threshold = cases[f"test_threshold[{GOOD}]"]
    assert (threshold["contexta.kind"], threshold["contexta.candidate_value"], threshold["contexta.limit"]) == (
        "threshold",
        "0.933",
        ">= 0.85",
    )
    assert "contexta.baseline_value" not in threshold
    assert cases[f"test_named[{GOOD}]"] == {}
