"""The verdict in the terminal: a table that fits the terminal's width, and the diagnostics listed under it."""

from __future__ import annotations

import re
import shutil

import pytest

from conftest import EXAMPLE_GATES, RECORDED, example_report, recorded_report, unmatched
from pytest_contexta.checks.results import HistoryPoint
from pytest_contexta.outputs.layout import Column, shrunk_widths, table
from pytest_contexta.outputs.summary import result_word, terminal_lines, verdict_words
from pytest_contexta.outputs.trend import sparkline, trend_line
from pytest_contexta.report import GateReport
from pytest_contexta.runs.models import BaselineChoice, Diagnostic
from pytest_contexta.verdict.report import CandidateReport, ReportCheck

GOOD = "run:product-ranker.candidate-v2-good"
REGRESSED = "run:product-ranker.candidate-v4-regressed"


@pytest.mark.parametrize("columns", [80, 120])
def test_the_example_verdict_fits_the_terminal(columns: int) -> None:
    block = terminal_lines(example_report(REGRESSED, GOOD), columns)
    too_wide = [line for line in block if len(line) > columns]
    assert too_wide == []
    text = "\n".join(block)
    assert f"GATE PASSED for {GOOD}" in text
    assert f"GATE FAILED for {REGRESSED}:" in text and "did not pass" in text
    accuracy = next(i for i, line in enumerate(block) if line.startswith("test_no_regression[accuracy]"))
    assert block[accuracy].split()[1:] == ["FAIL", "0.841", "0.893", "-0.052", "(-5.82%)"] or block[accuracy].split()[
        1:
    ] == ["FAIL", "accuracy", "@evaluate", "0.841", "0.893", "-0.052", "(-5.82%)"]
    assert block[accuracy + 1].startswith("    ") and "higher is better" in "\n".join(
        block[accuracy + 1 : accuracy + 3]
    )
    assert "diagnostics:" in block
    assert any(line.startswith("  info missing_expected_stage") for line in block)


def test_a_wide_terminal_keeps_every_column_on_one_line() -> None:
    lines = terminal_lines(example_report(REGRESSED), 2000)
    assert not unmatched(
        lines,
        [
            "check * result * metric * candidate * baseline * change * limit * direction / detail",
            "test_no_regression[[]accuracy[]] * FAIL * accuracy @evaluate * 0.841 * 0.893 * "
            "-0.052 (-5.82%) * worse by at most 2.00% * higher is better*",
        ],
    ), lines


@pytest.mark.parametrize("session", sorted(path.stem for path in RECORDED.glob("*.json")))
def test_each_recorded_report_renders_to_its_recorded_verdict_block(session: str) -> None:
    """The example gate's recorded sessions (tests/outputs/test_recorded_outputs.py), rendered without a pytest
    run at the recorded 80 columns: byte for byte the block the plugin printed."""
    lines = (RECORDED / f"{session}.txt").read_text(encoding="utf-8").splitlines()
    block = lines[next(i for i, line in enumerate(lines) if re.fullmatch(r"=+ contexta gate =+", line)) + 1 :]
    assert terminal_lines(recorded_report(session), 80) == block


def gate_block(output: str) -> list[str]:
    """The lines of the ``contexta gate`` section of a pytest run's output."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if " contexta gate " in line)
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("====="))
    return lines[start:end]


@pytest.mark.slow
def test_the_session_lays_the_verdict_out_for_the_terminal_it_prints_to(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end: the example gate at 120 columns (the suite's inner runs are 2000 wide) wraps to 120."""
    monkeypatch.setenv("COLUMNS", "120")
    shutil.copytree(
        EXAMPLE_GATES, pytester.path / "example_gates", ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache")
    )
    result = pytester.runpytest(
        "example_gates", "-p", "no:cacheprovider", f"--contexta-candidate={REGRESSED}", f"--contexta-candidate={GOOD}"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    block = gate_block(result.stdout.str())
    assert block[0] == " contexta gate ".center(120, "=")
    assert [line for line in block if len(line) > 120] == []
    accuracy = next(i for i, line in enumerate(block) if line.startswith("test_no_regression[accuracy]"))
    assert block[accuracy + 1].startswith("    ")  # the detail moved under its row, as at 120 columns only
    assert f"GATE PASSED for {GOOD}" in block


def _report(checks: list[ReportCheck], diagnostics: list[Diagnostic]) -> GateReport:
    candidate = CandidateReport(
        run_ref="run:p.c",
        verdict="fail",
        reasons=["1 of 1 gate checks did not pass"],
        baseline=BaselineChoice(run_ref="run:p.b", reason="given"),
        diagnostics=diagnostics,
        checks=checks,
    )
    return GateReport(
        verdict="fail", exit_status=1, workspace="/w", created_at="2026-01-01T00:00:00Z", candidates=[candidate]
    )


@pytest.mark.parametrize("width", [40, 60, 80, 120])
def test_no_line_is_wider_than_the_terminal_even_with_long_workspace_strings(width: int) -> None:
    long_metric = "a-very-long-metric-name-recorded-by-a-team-that-likes-long-names"
    check = ReportCheck(
        nodeid=f"t.py::test_no_regression[run:p.c-{long_metric}]",
        outcome="failed",
        kind="regression",
        detail="x",
        metric=long_metric,
        stage="evaluate",
        candidate_value=0.5,
        baseline_value=0.75,
        change_abs=-0.25,
        change_rel=-1 / 3,
        limit="worse by at most 2.00%",
        direction="higher is better (ini contexta_higher_is_better: a-very-long-*)",
    )
    lines = terminal_lines(_report([check], []), width)
    assert [line for line in lines if len(line) > width] == []
    assert "FAIL" in "\n".join(lines)
    assert long_metric in "".join(line.strip() for line in lines)  # wrapped, never cut


def test_warning_and_info_diagnostics_are_listed_with_their_first_line_escaped() -> None:
    diagnostics = [
        Diagnostic(
            code="degraded_record",
            severity="warning",
            subject_ref="record:p.c.7",
            summary="sampled 10 % of the data\n\x1b[32mGATE PASSED",
            contexta_severity="warning",
            source="contexta",
        ),
        Diagnostic(
            code="skipped_stage",
            severity="info",
            subject_ref=None,
            summary="stage package skipped",
            contexta_severity="info",
            source="contexta",
        ),
    ]
    lines = terminal_lines(_report([], diagnostics), 120)
    assert "diagnostics:" in lines
    assert "  warning degraded_record (record:p.c.7): sampled 10 % of the data" in lines
    assert "  info skipped_stage: stage package skipped" in lines
    assert not any("GATE PASSED" in line for line in lines)


def test_outcome_and_verdict_words_this_version_does_not_know_are_shown_as_they_are() -> None:
    assert [result_word(word) for word in ("passed", "failed", "waived", "inconclusive", "new-word")] == [
        "PASS",
        "FAIL",
        "WAIVED",
        "INCONCLUSIVE",
        "NEW-WORD",
    ]
    assert [verdict_words(word) for word in ("pass", "fail", "pass-with-warnings", "inconclusive")] == [
        "GATE PASSED",
        "GATE FAILED",
        "GATE PASSED WITH WARNINGS",
        "GATE INCONCLUSIVE",
    ]


def test_a_table_that_cannot_fit_is_refused_and_columns_shrink_by_wrapping() -> None:
    columns = [Column("name", 6), Column("value")]
    rows = [["a-long-name-here", "12345"]]
    assert table(columns, rows, 12) is None
    header, row = table(columns, rows, 13) or []
    assert header == ["name    value", "------  -----"]
    assert row == ["a-      12345", "long-", "name-", "here"]


def test_columns_give_way_one_character_at_a_time_from_the_one_with_the_most_room() -> None:
    widths = [10, 20, 5]
    # 35 + two gaps of 2 = 39 > 30: nine characters go, all from the second column, which keeps the most room.
    assert shrunk_widths(widths, [8, 4, 5], 30) == [10, 11, 5]
    assert widths == [10, 20, 5]  # the caller's widths are left alone
    assert shrunk_widths([10, 12, 5], [4, 4, 5], 25) == [8, 8, 5]  # both give way once their room is equal
    assert shrunk_widths([9, 9], [3, 3], 15) == [6, 7]  # of equals, the first gives way first
    assert shrunk_widths([10, 20], [10, 20], 40) == [10, 20]  # already fits: nothing moves
    assert shrunk_widths([10, 20], [8, 18], 27) is None  # the floors and the gap alone take 28


def point(value: float, deployment: str | None, run: str = "run:p.r") -> HistoryPoint:
    return HistoryPoint(
        value=value,
        run_ref=run,
        deployment=deployment,
        deployed_at=None if deployment is None else "2025-04-28T12:00:00Z",
    )


def test_a_trend_is_a_sparkline_of_the_deployed_values_then_the_candidate() -> None:
    history = [point(0.80, "prod-v1"), point(0.86, "prod-v2"), point(0.88, "prod-v3")]
    assert sparkline([0.80, 0.86, 0.88]) == "▁▆█"
    assert sparkline([2.0, 2.0]) == "▅▅"
    assert sparkline([]) == ""
    # values near the float maximum: their difference overflows, the bars must not (found by the review)
    assert sparkline([1.7e308, -1.7e308, 0.0]) == "█▁▅"
    assert trend_line(history, 0.82) == "0.8 (prod-v1) ▁▆█ 0.88 (prod-v3) → ▃ 0.82 (candidate)"
    assert trend_line(history[:1], 0.82) == "0.8 (prod-v1) ▁ → █ 0.82 (candidate)"
    # a history run passed without a deployment is named by its run; a deployment name is escaped
    assert (
        trend_line([point(0.8, None, "run:p.nightly-3"), point(0.9, "prod\x1b[2J")], 0.85)
        == "0.8 (nightly-3) ▁█ 0.9 (prod\\x1b[2J) → ▄ 0.85 (candidate)"
    )
    assert trend_line([], 0.82) == ""


def test_a_regression_check_with_a_history_shows_its_trend_in_terminal_and_markdown() -> None:
    from pytest_contexta.outputs.charts import charts_of
    from pytest_contexta.outputs.summary import markdown_table

    check = ReportCheck(
        nodeid="t.py::test_no_regression[run:p.c-accuracy]",
        outcome="failed",
        kind="regression",
        detail="x",
        metric="accuracy",
        candidate_value=0.82,
        baseline_value=0.88,
        change_abs=-0.06,
        change_rel=-0.068,
        limit="worse by at most 2.00%",
        direction="higher is better",
        history_values=[0.88, 0.86, 0.80],  # newest first, as the report carries them
        history=[point(0.88, "prod-v3"), point(0.86, "prod-v2"), point(0.80, "prod-v1")],
        allowed_low=0.8624,
    )
    report = _report([check], [])
    trend = "trend 0.8 (prod-v1) ▁▆█ 0.88 (prod-v3) → ▃ 0.82 (candidate)"
    assert any(trend in line for line in terminal_lines(report, 200))
    assert trend in markdown_table(report)
    (chart,) = charts_of([check])
    assert chart.history == [
        ("prod-v1\n2025-04-28", 0.80),
        ("prod-v2\n2025-04-28", 0.86),
        ("prod-v3\n2025-04-28", 0.88),
    ]
