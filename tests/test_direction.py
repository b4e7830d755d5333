"""Whether a metric is better higher or lower: argument, ini patterns, built-in names, default."""

from __future__ import annotations

import pytest
from conftest import WORKSPACES

from pytest_contexta import CheckArgumentError, resolve_direction
from pytest_contexta.direction import LOWER_IS_BETTER_PARTS, builtin_direction, check_direction_argument

#: The built-in lower-is-better name parts as README.md ("Direction: is higher or lower better?") documents them.
DOCUMENTED_LOWER_IS_BETTER_PARTS = [
    "loss", "error", "errors", "err", "latency", "duration", "time", "seconds", "secs", "ms", "mae",
    "mse", "rmse", "mape", "smape", "wer", "cer", "perplexity", "ppl", "fpr", "fnr", "brier",
    "logloss", "ece", "cost", "memory", "bytes",
]


@pytest.mark.parametrize(("key", "part"), [
    ("loss", "loss"), ("val-loss", "loss"), ("eval.loss", "loss"), ("latency-p95-ms", "latency"),
    ("p99-ms", "ms"), ("error-count", "error"), ("train-time-s", "time"), ("rmse", "rmse"),
    ("eval.wer", "wer"), ("serving.cost-usd", "cost"), ("peak-memory-mb", "memory"), ("fpr", "fpr"),
])
def test_builtin_names_are_lower_is_better_by_name_part(key: str, part: str) -> None:
    assert builtin_direction(key) == ("lower", f"built-in: name part {part!r}")


@pytest.mark.parametrize(("key", "pattern"), [
    ("false-positive-rate", "*false-positive*"), ("fraud.false-negatives", "*false-negative*"),
    ("miss-rate", "*miss-rate*"),
])
def test_builtin_patterns_are_lower_is_better(key: str, pattern: str) -> None:
    assert builtin_direction(key) == ("lower", f"built-in: pattern {pattern!r}")


@pytest.mark.parametrize("key", ["accuracy", "auc", "f1", "recall", "precision", "lossless-ratio", "timeliness",
                                 "throughput-rps", "tpr", "coverage"])
def test_other_names_have_no_builtin_direction_and_default_to_higher(key: str) -> None:
    assert builtin_direction(key) is None
    assert resolve_direction(key) == ("higher", "default")


def test_every_documented_part_is_recognised_alone_and_inside_a_key() -> None:
    for part in DOCUMENTED_LOWER_IS_BETTER_PARTS:
        assert resolve_direction(part) == ("lower", f"built-in: name part {part!r}")
        assert resolve_direction(f"eval.{part}-p50") == ("lower", f"built-in: name part {part!r}")
    assert LOWER_IS_BETTER_PARTS == set(DOCUMENTED_LOWER_IS_BETTER_PARTS), "document every built-in part in README.md"


@pytest.mark.parametrize("direction", ["higher", "lower"])
def test_argument_wins_over_everything(direction: str) -> None:
    resolved = resolve_direction("latency-p95-ms", direction, lower_patterns=["latency*"],  # type: ignore[arg-type]
                                 higher_patterns=["latency*"])
    assert resolved == (direction, "direction argument")
    assert str(resolved) == f"{direction} is better (direction argument)"


def test_mapping_argument_decides_only_the_metrics_it_names() -> None:
    mapping = {"accuracy": "lower"}
    assert resolve_direction("accuracy", mapping) == ("lower", "direction argument")  # type: ignore[arg-type]
    assert resolve_direction("latency-p95-ms", mapping) == ("lower", "built-in: name part 'latency'")  # type: ignore[arg-type]
    assert resolve_direction("auc", mapping) == ("higher", "default")  # type: ignore[arg-type]


def test_ini_higher_is_better_wins_over_ini_lower_and_the_builtin_list() -> None:
    resolved = resolve_direction("error-budget-left", lower_patterns=["error-*"], higher_patterns=["*-left"])
    assert resolved == ("higher", "ini contexta_higher_is_better '*-left'")
    assert str(resolved) == "higher is better (ini contexta_higher_is_better '*-left')"


def test_ini_lower_is_better_names_metrics_the_builtin_list_does_not() -> None:
    assert resolve_direction("serving-cost-eur") == ("lower", "built-in: name part 'cost'")
    assert resolve_direction("queue-depth") == ("higher", "default")
    assert resolve_direction("queue-depth", lower_patterns=["queue-*"]) == (
        "lower", "ini contexta_lower_is_better 'queue-*'")


def test_ini_patterns_are_case_sensitive_fnmatch() -> None:
    assert resolve_direction("queue-depth", lower_patterns=["QUEUE-*"]) == ("higher", "default")
    assert resolve_direction("queue-depth", lower_patterns=["queue-?epth"]).direction == "lower"


@pytest.mark.parametrize("bad", ["up", "Higher", 1, ["lower"], {"accuracy": "down"}])
def test_bad_direction_arguments_are_rejected(bad: object) -> None:
    with pytest.raises(CheckArgumentError, match="direction must be 'higher' or 'lower'"):
        check_direction_argument(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("good", [None, "higher", "lower", {}, {"accuracy": "lower", "auc": "higher"}])
def test_good_direction_arguments_are_accepted(good: object) -> None:
    check_direction_argument(good)  # type: ignore[arg-type]


def test_ini_direction_patterns_reach_the_regression_check(pytester: pytest.Pytester) -> None:
    """latency/svc.slower: accuracy 0.9 -> 0.91, latency-p95-ms 40 -> 52. The ini turns both around."""
    pytester.makefile(".ini", pytest="""
        [pytest]
        contexta_lower_is_better =
            accur*
        contexta_higher_is_better =
            latency-*
    """)
    pytester.makepyfile("""
        import pytest
        from pytest_contexta import assert_no_regression

        @pytest.mark.parametrize("metric", ["accuracy", "latency-p95-ms"])
        def test_no_regression(contexta_run, baseline_run, metric):
            assert_no_regression(contexta_run, baseline_run, metric, stage="evaluate", max_drop=0.001)
    """)
    result = pytester.runpytest(f"--contexta-workspace={WORKSPACES / 'latency'}", "--contexta-candidate=slower")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "E * FAIL accuracy: 0.9 -> 0.91, change +0.01 (+1.11%), lower is better "
        "(ini contexta_lower_is_better 'accur*'); allowed: worse by at most 0.10%",
    ])
    result.stdout.fnmatch_lines(["test_no_regression[[]latency-p95-ms[]] * PASS *"
                                 "higher is better (ini contexta_higher_is_better 'latency-*')"])
