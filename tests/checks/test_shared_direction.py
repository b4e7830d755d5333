"""Issue 22 item 7: one ``direction`` mapping shared by every parametrized check.

``DIRECTION = {"loss": "lower", "latency-ms": "lower"}`` passed to the check of ``accuracy`` raised
``direction names 'loss', which is not among the checked metrics``, failing a good candidate. Names a call does
not check are fine; a name that no check of the session uses and that no run records is a note of the verdict,
once per session, with close matches. Runs: ``svc`` of tests/workspaces (``val-loss`` in train; ``accuracy``,
``latency-p95-ms``, ``error-count`` in evaluate), ``faster`` against the deployed ``baseline``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping

import pytest

from conftest import EXAMPLE_WORKSPACE, WORKSPACES, run_checks
from pytest_contexta import ContextaRun, Workspace, assert_no_regression, assert_within_history
from pytest_contexta.checks.direction_names import unknown_name_notes
from pytest_contexta.checks.results import CheckResult
from pytest_contexta.outputs.summary import markdown_table, terminal_lines
from pytest_contexta.verdict.decide import decide
from pytest_contexta.verdict.facts import CheckOutcome, GateFacts

STAGES = {"val-loss": "train", "accuracy": "evaluate", "latency-p95-ms": "evaluate", "error-count": "evaluate"}


@pytest.fixture(scope="module")
def svc() -> Iterator[dict[str, ContextaRun]]:
    workspace = Workspace(WORKSPACES / "latency")
    try:
        yield {name: workspace.load_run(f"run:svc.{name}") for name in ("baseline", "faster")}
    finally:
        workspace.close()


def _gate(svc: dict[str, ContextaRun], direction: Mapping[str, str], metrics: list[str]) -> GateFacts:
    """One parametrized gate check per metric, each passed the same mapping, as a session gathers them."""
    outcomes = {}
    for metric in metrics:

        def check(metric: str = metric) -> None:
            assert_no_regression(
                svc["faster"],
                svc["baseline"],
                [metric],
                stage=STAGES[metric],
                direction=direction,  # type: ignore[arg-type]
            )

        results, messages = run_checks([check])
        assert messages == []
        nodeid = f"gate.py::test_no_regression[{metric}-run:svc.faster]"
        passed = {"setup": "passed", "call": "passed", "teardown": "passed"}
        outcomes[nodeid] = CheckOutcome(nodeid, "run:svc.faster", passed, results=tuple(results))
    return GateFacts(
        workspace="/ws",
        created_at="2026-01-01T00:00:00Z",
        exit_status=0,
        candidates=["run:svc.faster"],
        selected={n: "run:svc.faster" for n in outcomes},
        outcomes=outcomes,
        today="2026-01-01",
    )


def test_a_shared_mapping_passes_a_good_candidate_with_no_note(svc: dict[str, ContextaRun]) -> None:
    """The issue's gate: each call checks one metric; the mapping names others, which the runs record."""
    report = decide(_gate(svc, {"val-loss": "lower", "latency-p95-ms": "lower"}, ["accuracy", "latency-p95-ms"]))
    assert (report.verdict, report.exit_status, report.notes) == ("pass", 0, [])
    latency = next(c for c in report.candidates[0].checks if c.metric == "latency-p95-ms")
    assert latency.direction == "lower is better (direction argument)"


def test_a_typo_in_a_shared_mapping_is_noted_once_with_close_matches(svc: dict[str, ContextaRun]) -> None:
    direction = {"val-loss": "lower", "latncy-p95-ms": "higher"}
    report = decide(_gate(svc, direction, ["accuracy", "latency-p95-ms", "error-count"]))
    note = (
        "direction names 'latncy-p95-ms' (passed by gate.py::test_no_regression[accuracy-run:svc.faster] and 2 "
        "other gate check(s)), but no gate check of this session checks it and no run they compared records it; "
        "did you mean 'latency-p95-ms'?"
    )
    assert (report.verdict, report.notes) == ("pass", [note])
    # the typo decided nothing: latency's direction came from the built-in vocabulary, as its row says
    latency = next(c for c in report.candidates[0].checks if c.metric == "latency-p95-ms")
    assert latency.direction == "lower is better (built-in: name part 'latency')"
    assert f"note: {note[:40]}" in "\n".join(terminal_lines(report, width=400))
    assert f"> note: {note}" in markdown_table(report)
    assert "direction_unknown" not in report.model_dump_json()  # not a field of the report's check entries


def test_a_name_another_check_of_the_session_checks_is_no_typo() -> None:
    """``p99-ms`` is absent from the first check's runs, but the session's second check checks it."""

    def result(metric: str, unknown: dict[str, list[str]] | None = None) -> CheckResult:
        return CheckResult(kind="regression", run_ref="run:p.c", passed=True, detail="", metric=metric,
                           direction_unknown=unknown)  # fmt: skip

    checks = [
        ("a.py::test_a", [result("accuracy", {"p99-ms": [], "p99-mz": ["p99-ms"]})]),
        ("b.py::test_b", [result("p99-ms")]),
        ("c.py::test_c", [result("auc", {"p99-mz": []})]),
    ]
    assert unknown_name_notes(checks) == [
        "direction names 'p99-mz' (passed by a.py::test_a and 1 other gate check(s)), but no gate check of this "
        "session checks it and no run they compared records it; did you mean 'p99-ms'?"
    ]


def test_a_name_with_no_close_match_says_to_remove_it(svc: dict[str, ContextaRun]) -> None:
    report = decide(_gate(svc, {"queue-depth": "lower"}, ["accuracy"]))
    assert report.notes == [
        "direction names 'queue-depth' (passed by gate.py::test_no_regression[accuracy-run:svc.faster]), but no "
        "gate check of this session checks it and no run they compared records it; remove it if it is stale"
    ]


@pytest.fixture(scope="module")
def releases() -> Iterator[list[ContextaRun]]:
    workspace = Workspace(EXAMPLE_WORKSPACE)
    try:
        yield [workspace.load_run(f"run:search-ranker.release-{n}") for n in (5, 4, 3, 2, 1)]
    finally:
        workspace.close()


def test_assert_within_history_takes_the_shared_mapping_too(releases: list[ContextaRun]) -> None:
    candidate, history = releases[0], releases[1:]
    check: Callable[[], None] = lambda: assert_within_history(  # noqa: E731
        candidate, history, "accuracy", stage="evaluate", tags={"seed": "1"}, direction={"latncy-ms": "lower"}
    )
    results, _ = run_checks([check])
    assert [r.direction_unknown for r in results] == [{"latncy-ms": ["latency-p95-ms"]}]


GATE = """
import pytest
from pytest_contexta import assert_no_regression

DIRECTION = {"loss": "lower", "latency-p95-ms": "lower", "acuracy": "higher"}  # the runs record loss (train)


@pytest.mark.parametrize("metric", ["accuracy", "auc", "latency-p95-ms"])
def test_no_regression(contexta_run, baseline_run, metric):
    assert_no_regression(contexta_run, baseline_run, [metric], stage="evaluate", direction=DIRECTION)
"""


@pytest.mark.slow
@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["plain", "xdist"])
def test_a_gate_sharing_one_mapping_passes_and_notes_each_unknown_name_once(
    pytester: pytest.Pytester, xdist: list[str]
) -> None:
    pytester.makepyfile(test_gate=GATE)
    result = pytester.runpytest(
        f"--contexta-workspace={EXAMPLE_WORKSPACE}",
        "--contexta-candidate=run:product-ranker.candidate-v6-faster",
        "--contexta-report=gate.json",
        *xdist,
    )
    assert result.ret == 0, result.stdout.str()
    report = json.loads((pytester.path / "gate.json").read_text(encoding="utf-8"))
    notes = [n for n in report["notes"] if n.startswith("direction names")]
    assert [n.split(" (passed by")[0] for n in notes] == ["direction names 'acuracy'"]
    assert "[accuracy-run:product-ranker.candidate-v6-faster] and 2 other gate check(s)" in notes[0]
    assert "did you mean 'accuracy'" in notes[0]
    out = result.stdout.str()
    assert out.count("note: direction names 'acuracy'") == 1 and "CheckArgumentError" not in out
