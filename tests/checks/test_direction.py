"""Whether a metric is better higher or lower: argument, ini patterns, built-in vocabulary, or no answer."""

from __future__ import annotations

import re

import pytest

from conftest import TESTS, WORKSPACES
from pytest_contexta import CheckArgumentError, resolve_direction
from pytest_contexta.checks.direction import (
    HIGHER_IS_BETTER,
    LOWER_IS_BETTER,
    builtin_direction,
    check_direction_argument,
    how_to_declare,
)

README = TESTS.parent / "docs" / "writing-gates.md"  # the direction section


def _readme_list(title: str) -> list[str]:
    """The backticked names of the README paragraph that starts with ``**<title>:**``."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Direction: is higher or lower better?") :]
    paragraph = section[section.index(f"**{title}:**") :].split("\n\n")[0]
    return re.findall(r"`([^`]+)`", paragraph)


def test_the_readme_lists_exactly_the_vocabulary_in_the_code() -> None:
    assert _readme_list("Higher is better") == list(HIGHER_IS_BETTER)
    assert _readme_list("Lower is better") == list(LOWER_IS_BETTER)


def test_the_docs_name_every_part_that_changes_a_metrics_meaning() -> None:
    from pytest_contexta.checks.direction import CHANGES_MEANING, RELATIVE

    named = set(_readme_list("Parts that change the meaning"))
    assert set(CHANGES_MEANING) | set(RELATIVE) <= named


def test_no_entry_is_in_both_lists_or_twice_in_one() -> None:
    assert not set(HIGHER_IS_BETTER) & set(LOWER_IS_BETTER)
    assert len(set(HIGHER_IS_BETTER)) == len(HIGHER_IS_BETTER)
    assert len(set(LOWER_IS_BETTER)) == len(LOWER_IS_BETTER)


@pytest.mark.parametrize(("entries", "direction"), [(HIGHER_IS_BETTER, "higher"), (LOWER_IS_BETTER, "lower")])
def test_every_entry_decides_alone_and_inside_a_key(entries: tuple[str, ...], direction: str) -> None:
    for entry in entries:
        assert builtin_direction(entry) == (direction, f"built-in: name part {entry!r}")
        assert builtin_direction(f"eval.{entry}-p50") == (direction, f"built-in: name part {entry!r}")


# The example names of issue 11: each used to default to higher-is-better, or be decided by one part.
@pytest.mark.parametrize(
    ("key", "entry"),
    [
        ("cross-entropy", "cross-entropy"),
        ("val-nll", "nll"),
        ("nll", "nll"),
        ("kl-divergence", "kl-divergence"),
        ("psi", "psi"),
        ("model-size-mb", "size"),
        ("gpu-hours", "hours"),
        ("val-log-loss", "log-loss"),
        ("latency-p95-ms", "latency"),
        ("errors-per-1k", "errors"),
        ("negative-log-likelihood", "negative-log-likelihood"),
        ("false-positive-rate", "false-positive"),
        ("serving.cost-usd", "cost"),
        ("train-time-s", "time"),
    ],
)
def test_lower_is_better_names(key: str, entry: str) -> None:
    assert builtin_direction(key) == ("lower", f"built-in: name part {entry!r}")


@pytest.mark.parametrize(
    ("key", "entry"),
    [
        ("accuracy", "accuracy"),
        ("top-1-accuracy", "accuracy"),
        ("eval.roc-auc", "roc-auc"),
        ("ndcg-at-10", "ndcg"),
        ("val-log-likelihood", "log-likelihood"),
        ("true-positive-rate", "true-positive-rate"),
        ("relevance", "relevance"),
    ],
)
def test_higher_is_better_names(key: str, entry: str) -> None:
    assert builtin_direction(key) == ("higher", f"built-in: name part {entry!r}")


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("throughput-bytes-per-second", "'throughput' says higher, 'bytes' says lower"),
        ("memory-bandwidth", "'memory' says lower, 'bandwidth' says higher"),
        ("error-reduction", "'error' says lower, 'reduction' says higher"),
        ("cost-savings", "'cost' says lower, 'savings' says higher"),
        ("error-budget-left", "'error' says lower, 'left' says higher"),
    ],
)
def test_names_the_vocabulary_decides_both_ways_are_undecided(key: str, why: str) -> None:
    resolved = resolve_direction(key)
    assert resolved == (None, f"built-in name parts disagree: {why}")
    assert str(resolved) == f"direction unknown (built-in name parts disagree: {why})"


@pytest.mark.parametrize("key", ["requests-per-ms", "queue-depth", "lossless-ratio", "timeliness", "answer-length"])
def test_names_no_entry_matches_are_undecided(key: str) -> None:
    """``requests-per-ms``: the ``ms`` after ``per`` is the rate's unit, so nothing decides it."""
    assert resolve_direction(key) == (None, "no built-in name part decides it")


def test_how_to_declare_gives_the_exact_ini_line() -> None:
    text = how_to_declare("cross-entropy-v2")
    assert "'contexta_lower_is_better = cross-entropy-v2'" in text
    assert "'contexta_higher_is_better = cross-entropy-v2'" in text
    assert "direction={'cross-entropy-v2': 'lower'}" in text


@pytest.mark.parametrize("direction", ["higher", "lower"])
def test_argument_wins_over_everything(direction: str) -> None:
    resolved = resolve_direction(
        "latency-p95-ms",
        direction,
        lower_patterns=["latency*"],  # type: ignore[arg-type]
        higher_patterns=["latency*"],
    )
    assert resolved == (direction, "direction argument")
    assert str(resolved) == f"{direction} is better (direction argument)"


def test_mapping_argument_decides_only_the_metrics_it_names() -> None:
    mapping = {"accuracy": "lower"}
    assert resolve_direction("accuracy", mapping) == ("lower", "direction argument")  # type: ignore[arg-type]
    assert resolve_direction("latency-p95-ms", mapping) == ("lower", "built-in: name part 'latency'")  # type: ignore[arg-type]
    assert resolve_direction("queue-depth", mapping).direction is None  # type: ignore[arg-type]


def test_ini_higher_is_better_wins_over_ini_lower_and_the_builtin_list() -> None:
    resolved = resolve_direction("error-budget-left", lower_patterns=["error-*"], higher_patterns=["*-left"])
    assert resolved == ("higher", "ini contexta_higher_is_better '*-left'")
    assert str(resolved) == "higher is better (ini contexta_higher_is_better '*-left')"


def test_ini_lower_is_better_decides_metrics_the_vocabulary_does_not() -> None:
    assert resolve_direction("queue-depth", lower_patterns=["queue-*"]) == (
        "lower",
        "ini contexta_lower_is_better 'queue-*'",
    )


def test_ini_patterns_are_case_sensitive_fnmatch() -> None:
    assert resolve_direction("queue-depth", lower_patterns=["QUEUE-*"]).direction is None
    assert resolve_direction("queue-depth", lower_patterns=["queue-?epth"]).direction == "lower"


@pytest.mark.parametrize("bad", ["up", "Higher", 1, ["lower"], {"accuracy": "down"}])
def test_bad_direction_arguments_are_rejected(bad: object) -> None:
    with pytest.raises(CheckArgumentError, match="direction must be 'higher' or 'lower'"):
        check_direction_argument(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("good", [None, "higher", "lower", {}, {"accuracy": "lower", "auc": "higher"}])
def test_good_direction_arguments_are_accepted(good: object) -> None:
    check_direction_argument(good)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [{1: "lower"}, {("loss",): "lower"}, {None: "higher"}])
def test_a_mapping_key_that_is_no_metric_key_is_rejected(bad: object) -> None:
    with pytest.raises(CheckArgumentError, match=r"direction must map metric keys \(str\) to 'higher' or 'lower'"):
        check_direction_argument(bad)  # type: ignore[arg-type]


@pytest.mark.slow
def test_ini_direction_patterns_reach_the_regression_check(pytester: pytest.Pytester) -> None:
    """latency/svc.slower: accuracy 0.9 -> 0.91, latency-p95-ms 40 -> 52. The ini turns both around."""
    pytester.makefile(
        ".ini",
        pytest="""
        [pytest]
        contexta_lower_is_better =
            accur*
        contexta_higher_is_better =
            latency-*
    """,
    )
    pytester.makepyfile("""
        import pytest
        from pytest_contexta import assert_no_regression

        @pytest.mark.parametrize("metric", ["accuracy", "latency-p95-ms"])
        def test_no_regression(contexta_run, baseline_run, metric):
            assert_no_regression(contexta_run, baseline_run, metric, stage="evaluate", max_drop=0.001)
    """)
    result = pytester.runpytest(f"--contexta-workspace={WORKSPACES / 'latency'}", "--contexta-candidate=slower")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "E * FAIL accuracy: 0.9 -> 0.91, change +0.01 (+1.11%), lower is better "
            "(ini contexta_lower_is_better 'accur*'); allowed: worse by at most 0.10%; no noise estimate; the history "
            "has 1 usable value, 3 are needed; values from evaluate",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "test_no_regression[[]latency-p95-ms[]] * PASS *"
            "higher is better (ini contexta_higher_is_better 'latency-*') · trend *"
        ]
    )
