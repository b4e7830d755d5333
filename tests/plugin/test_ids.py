"""Test ids of gate checks: the test's own parameters first, then the candidate's ref, for one or several candidates;
selectable with -k, --deselect and --lf."""

from __future__ import annotations

import pytest

from conftest import EXAMPLE_WORKSPACE

pytestmark = pytest.mark.slow

GOOD = "run:product-ranker.candidate-v2-good"
REGRESSED = "run:product-ranker.candidate-v4-regressed"
SLOWER = "run:product-ranker.candidate-v5-slower"
GATE = """
import pytest
from pytest_contexta import assert_no_error_diagnostics, assert_no_regression

def test_diagnostics(contexta_run):
    assert_no_error_diagnostics(contexta_run, ignore=["failed_deployment"])

@pytest.mark.parametrize("metric", ["f1", "latency-p95-ms"])
def test_regression(contexta_run, baseline_run, metric):
    assert_no_regression(contexta_run, baseline_run, metric, stage="evaluate", confidence=None)
"""


def gate(pytester: pytest.Pytester, candidates: list[str], *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_gate=GATE)
    return pytester.runpytest(
        f"--contexta-workspace={EXAMPLE_WORKSPACE}", *(f"--contexta-candidate={c}" for c in candidates), *args
    )


def ran(result: pytest.RunResult) -> list[str]:
    reports = result.reprec.getreports("pytest_runtest_logreport")  # type: ignore[attr-defined]
    return list(dict.fromkeys(r.nodeid for r in reports))


def test_one_candidate_comes_after_the_parameters(pytester: pytest.Pytester) -> None:
    result = gate(pytester, [GOOD])
    assert ran(result) == [
        f"test_gate.py::test_diagnostics[{GOOD}]",
        f"test_gate.py::test_regression[f1-{GOOD}]",
        f"test_gate.py::test_regression[latency-p95-ms-{GOOD}]",
    ]
    assert result.ret == pytest.ExitCode.OK


def test_three_candidates_each_id_ends_with_its_ref(pytester: pytest.Pytester) -> None:
    result = gate(pytester, [GOOD, REGRESSED, SLOWER])
    ids = ran(result)
    assert len(ids) == 9
    for ref in (GOOD, REGRESSED, SLOWER):
        assert f"test_gate.py::test_regression[latency-p95-ms-{ref}]" in ids
    # everything after the last "-run:" is the run, whatever hyphens the parameter holds
    assert {nodeid.rsplit("-run:", 1)[-1].rstrip("]") for nodeid in ids if "[f1-" in nodeid or "[lat" in nodeid} == {
        ref.removeprefix("run:") for ref in (GOOD, REGRESSED, SLOWER)
    }
    result.stdout.fnmatch_lines(["test_regression?latency-p95-ms? * FAIL *"])  # the table drops the candidate


def test_k_selects_a_candidate_or_a_parameter(pytester: pytest.Pytester) -> None:
    """``]`` ends the candidate and ``[f1-`` starts a parameter, and -k accepts both."""
    by_run = gate(pytester, [GOOD, REGRESSED, SLOWER], "-k", "candidate-v4-regressed]", "--contexta-allow-partial")
    assert ran(by_run) == [
        f"test_gate.py::test_diagnostics[{REGRESSED}]",
        f"test_gate.py::test_regression[f1-{REGRESSED}]",
        f"test_gate.py::test_regression[latency-p95-ms-{REGRESSED}]",
    ]
    by_metric = gate(pytester, [GOOD, REGRESSED], "-k", "[f1- and not v4", "--contexta-allow-partial")
    assert ran(by_metric) == [f"test_gate.py::test_regression[f1-{GOOD}]"]
    # none of the regressed candidate's checks ran: it never passes on that, partial run or not
    assert by_metric.ret == pytest.ExitCode.TESTS_FAILED
    by_metric.stdout.fnmatch_lines(
        [f"GATE PASSED for {GOOD}", f"GATE FAILED for {REGRESSED}: none of its 3 gate checks ran*"]
    )


def test_deselect_and_last_failed_take_the_ids(pytester: pytest.Pytester) -> None:
    deselected = gate(
        pytester,
        [GOOD, REGRESSED],
        f"--deselect=test_gate.py::test_regression[f1-{REGRESSED}]",
        "--contexta-allow-partial",
    )
    assert f"test_gate.py::test_regression[f1-{REGRESSED}]" not in ran(deselected)
    assert len(ran(deselected)) == 5

    first = gate(pytester, [GOOD, REGRESSED])
    assert first.ret == pytest.ExitCode.TESTS_FAILED
    rerun = gate(pytester, [GOOD, REGRESSED], "--lf", "--contexta-allow-partial")
    assert ran(rerun) == [f"test_gate.py::test_regression[f1-{REGRESSED}]"]
