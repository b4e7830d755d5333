"""Nothing the plugin prints is wider than the terminal, and lines break at spaces or separators, never inside a
word (issue 22.9): the verdict block at several widths, the layout's wrap, and a whole pytest run's lines."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from conftest import EXAMPLE_GATES, recorded_report
from pytest_contexta.outputs.layout import BREAKS, FINER_BREAKS, display_width, wrap
from pytest_contexta.outputs.summary import _HEADERS, detail_text, terminal_lines

WIDTHS = (40, 50, 60, 72, 80, 100, 120)
SESSIONS = (
    "product-ranker.candidate-v4-regressed",
    "product-ranker.candidate-v3-no-eval",
    "product-ranker.april-wrong-dataset",
    "search-ranker.seeds-last-fine",
    "search-ranker.seeds-within-noise",
    "three-candidates",
)


def _breaks(word: str, room: int) -> set[int]:
    breaks = BREAKS if len(word) <= room else re.compile(f"{BREAKS.pattern}|{FINER_BREAKS.pattern}")
    return {0, len(word)} | {match.start() for match in breaks.finditer(word)}


def split_words(lines: list[str], vocabulary: set[str], width: int) -> list[str]:
    """The tokens of ``lines`` that are neither a whole word of ``vocabulary`` nor a run of a word's pieces cut at
    its separators (a word split in the middle); a word wider than a line may break after a dot or underscore."""
    room = width - 11  # the widest indent
    bad = []
    for token in (token for line in lines for token in line.split()):
        if token in vocabulary:
            continue
        if not any(
            start in _breaks(word, room) and start + len(token) in _breaks(word, room)
            for word in vocabulary
            for start in (match.start() for match in re.finditer(re.escape(token), word))
        ):
            bad.append(token)
    return bad


@pytest.mark.parametrize("session", SESSIONS)
@pytest.mark.parametrize("width", WIDTHS)
def test_every_line_of_the_verdict_fits_and_no_word_is_split(session: str, width: int) -> None:
    report = recorded_report(session)
    lines = terminal_lines(report, width)
    assert [line for line in lines if display_width(line) > width] == []
    wide = terminal_lines(report, 10_000)
    details = [detail_text(check) for candidate in report.candidates for check in candidate.checks]
    vocabulary = {word for line in wide + details + _HEADERS for word in line.split()} | {"·"}
    assert split_words(lines, vocabulary, width) == []


def test_ambiguous_width_characters_count_as_two_columns() -> None:
    assert display_width("0.9 ▁▂█ → 1 · x") == len("0.9 ▁▂█ → 1 · x") + 5
    assert all(display_width(line) <= 30 for line in wrap("trend 0.871 (prod-v0) ▁▇▇▇ 0.893 (prod-v1) → █ 0.899", 30))


@pytest.mark.parametrize(
    ("text", "width", "lines"),
    [
        ("test_no_regression[latency-p95-ms] FAIL", 22, ["test_no_regression", "[latency-p95-ms] FAIL"]),
        ("run:product-ranker.candidate-v4-regressed", 24, ["run:product-", "ranker.candidate-v4-", "regressed"]),
        ("a/b/c::test_x[f1-run:p.r]", 12, ["a/b/c::", "test_x[f1-", "run:p.r]"]),
        ("baseline:  two  spaces kept", 80, ["baseline:  two  spaces kept"]),
        ("", 20, [""]),
    ],
)
def test_wrap_breaks_at_spaces_then_after_separators(text: str, width: int, lines: list[str]) -> None:
    assert wrap(text, width) == lines


def test_a_word_without_separators_wider_than_the_line_is_the_only_thing_cut() -> None:
    assert wrap("(for data.dataset_version_mismatch)", 16) == ["(for", "data.dataset_", "version_", "mismatch)"]
    assert wrap("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


@pytest.mark.slow
@pytest.mark.parametrize("columns", [50, 80])
def test_every_line_a_gate_session_prints_fits_the_terminal(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, columns: int
) -> None:
    """The header lines (settings, baselines) and the verdict block of the example gate, in a real session."""
    example = tmp_path / "example_gates"
    shutil.copytree(EXAMPLE_GATES, example, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    monkeypatch.setenv("COLUMNS", str(columns))
    result = pytester.runpytest(
        str(example), "--contexta-candidate=candidate-v4-regressed", "--contexta-candidate=candidate-v3-no-eval"
    )
    lines = result.stdout.lines
    start = next(i for i, line in enumerate(lines) if " contexta gate " in line)
    tests_end = next(i for i in range(1, len(lines)) if lines[i].startswith("===="))  # FAILURES, before the tracebacks
    header = [line for line in lines[:tests_end] if line.startswith(("contexta ", "    "))]
    block = lines[start : next(i for i in range(start + 1, len(lines)) if lines[i].startswith("===="))]
    assert any(line.startswith("contexta baseline of") for line in header)
    assert len(header) > len([line for line in header if line.startswith("contexta ")])  # some were wrapped
    assert [line for line in header + block if display_width(line) > columns] == []
