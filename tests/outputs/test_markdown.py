"""The markdown verdict: appended to $GITHUB_STEP_SUMMARY when set, and to --contexta-markdown PATH."""

from __future__ import annotations

import pytest

from conftest import EXAMPLE_WORKSPACE, RECORDED, example_report, recorded_report
from pytest_contexta.outputs.summary import MARKDOWN_MARKER, markdown_table
from pytest_contexta.report import GateReport
from pytest_contexta.runs.models import BaselineChoice
from pytest_contexta.verdict.report import CandidateReport, ReportCheck

GOOD = "run:product-ranker.candidate-v2-good"
REGRESSED = "run:product-ranker.candidate-v4-regressed"
EARLIER_STEP = "## Unit tests\n\nAll green.\n\n"

GATE = """
from pytest_contexta import assert_no_regression

def test_accuracy(contexta_run, baseline_run):
    assert_no_regression(contexta_run, baseline_run, "accuracy", stage="evaluate", max_drop=0.02)
"""


def run_gate(pytester: pytest.Pytester, *candidates: str, args: tuple[str, ...] = ()) -> pytest.RunResult:
    pytester.makepyfile(test_gate=GATE)
    return pytester.runpytest(
        f"--contexta-workspace={EXAMPLE_WORKSPACE}", *(f"--contexta-candidate={c}" for c in candidates), *args
    )


def table_rows(markdown: str) -> list[list[str]]:
    """The body rows of the markdown tables in ``markdown``, as stripped cells."""
    lines = [line for line in markdown.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines if not line.startswith("| check")]


def test_one_table_per_candidate_with_its_baseline_and_why_it_failed() -> None:
    text = markdown_table(example_report(GOOD, REGRESSED))
    assert text.startswith(MARKDOWN_MARKER + "\n## Contexta deployment gate: ❌ fail\n")
    assert text.count("| check ") == 2
    good_part, regressed_part = text.split(f"### ✅ `{GOOD}`")[1].split(f"### ❌ `{REGRESSED}`")
    assert "**Baseline:** run:product-ranker.baseline-v1 — deployed as prod-v1" in good_part
    (accuracy,) = [row for row in table_rows(good_part) if row[0] == "test_no_regression[accuracy]"]
    assert accuracy == [
        "test_no_regression[accuracy]",
        "PASS",
        "accuracy @evaluate",
        "0.901",
        "0.893",
        "+0.008 (+0.90%)",
        "worse by at most 2.00%",
        "higher is better (built-in: name part 'accuracy') · trend "
        "0.871 (prod-v0) ▁▆ 0.893 (prod-v1) → █ 0.901 (candidate)",
    ]
    assert "**Why it failed:** 3 of 10 gate checks did not pass" in regressed_part
    (accuracy,) = [row for row in table_rows(regressed_part) if row[0] == "test_no_regression[accuracy]"]
    assert accuracy[:6] == [
        "test_no_regression[accuracy]",
        "FAIL",
        "accuracy @evaluate",
        "0.841",
        "0.893",
        "-0.052 (-5.82%)",
    ]


@pytest.mark.parametrize("session", sorted(path.stem for path in RECORDED.glob("*.json")))
def test_each_recorded_report_renders_to_its_recorded_markdown(session: str) -> None:
    """The example gate's recorded sessions (tests/outputs/test_recorded_outputs.py), rendered without a pytest
    run: byte for byte the markdown the plugin wrote."""
    assert markdown_table(recorded_report(session)) == (RECORDED / f"{session}.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_step_summary_gets_one_table_per_candidate(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = pytester.path / "step-summary.md"
    summary.write_text(EARLIER_STEP, encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    run_gate(pytester, "candidate-v2-good", "candidate-v4-regressed").assert_outcomes(passed=1, failed=1)

    text = summary.read_text(encoding="utf-8")
    assert text.startswith(EARLIER_STEP + MARKDOWN_MARKER + "\n## Contexta deployment gate: ❌ fail\n")
    assert text.count("| check ") == 2
    assert text.index(f"### ✅ `{GOOD}`") < text.index(f"### ❌ `{REGRESSED}`")
    assert "**Why it failed:** 1 of 1 gate checks did not pass" in text


@pytest.mark.slow
def test_markdown_option_appends_to_its_file(pytester: pytest.Pytester) -> None:
    target = pytester.path / "out" / "gate.md"
    target.parent.mkdir()
    target.write_text(EARLIER_STEP, encoding="utf-8")
    run_gate(pytester, "candidate-v2-good", args=(f"--contexta-markdown={target}",)).assert_outcomes(passed=1)

    text = target.read_text(encoding="utf-8")
    assert text.startswith(EARLIER_STEP + MARKDOWN_MARKER + "\n## Contexta deployment gate: ✅ pass\n")
    assert text.count(f"### ✅ `{GOOD}`") == 1


@pytest.mark.slow
def test_option_and_step_summary_naming_one_file_write_it_once(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = pytester.path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(target))
    run_gate(pytester, "candidate-v2-good", args=("--contexta-markdown=summary.md",)).assert_outcomes(passed=1)
    assert target.read_text(encoding="utf-8").count("## Contexta deployment gate") == 1


@pytest.mark.slow
def test_usage_error_says_the_gate_could_not_decide(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTEXTA_MARKDOWN", "gate.md")
    result = run_gate(pytester, "candidate-v2-good", args=("--contexta-baseline=no-such-run",))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    text = (pytester.path / "gate.md").read_text(encoding="utf-8")
    assert text.startswith(
        MARKDOWN_MARKER + "\n## Contexta deployment gate: ❌ fail\n\nThe gate could not decide: no run named "
        "'no-such-run'"
    )


def test_table_cells_keep_pipes_from_breaking_the_row() -> None:
    check = ReportCheck(
        nodeid="test_gate.py::test_flags[run:p.c]", outcome="failed", kind="custom", detail="assert (flags | 4) == 0"
    )
    candidate = CandidateReport(
        run_ref="run:p.c",
        verdict="fail",
        reasons=["1 of 1 gate checks did not pass"],
        baseline=BaselineChoice(run_ref=None, reason="first deployment", source="none"),
        diagnostics=[],
        checks=[check],
    )
    report = GateReport(
        verdict="fail", exit_status=1, workspace="ws", created_at="2025-01-01T00:00:00Z", candidates=[candidate]
    )
    row = next(line for line in markdown_table(report).splitlines() if line.startswith("| test_flags"))
    assert "assert (flags \\| 4) == 0" in row
    assert row.count(" | ") == 7
