"""Issue 11: no verdict rests on a guess. Every candidate the issue lists as passing wrongly now fails.

Runs of tests/semantic_workspace (written by the real Contexta, see its generate.py):

* ``churn.baseline`` / ``churn.worse``: every metric 37.5 % worse in its true direction, log-loss +12.6 %,
  an error event and a warning event;
* ``churn.incomplete``: accuracy partial, roc-auc unknown, f1 degraded (capture_gap), pr-auc sampled;
* ``churn.nightly``: accuracy in the single batch of evaluate; ``churn.sharded``: in each of 3 batches;
* ``support-chatbot-rag-eval.eval-run-v1``: Contexta's case study 09, relevance per prompt only.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conftest import TESTS
from pytest_contexta import (
    CheckArgumentError,
    ContextaRun,
    GateCheckFailed,
    Workspace,
    assert_metric_threshold,
    assert_metrics_present,
    assert_no_error_diagnostics,
    assert_no_regression,
    find_metric,
)
from pytest_contexta.checks.results import CheckContext, CheckResult, recording
from pytest_contexta.reading.refs import suggest

WORKSPACE = TESTS / "semantic_workspace" / ".contexta"
CHATBOT = "run:support-chatbot-rag-eval.eval-run-v1"
#: Names the old rules called lower-is-better by one part, or higher-is-better by default: now decided lower.
DECIDED_LOWER = {
    "cross-entropy": "cross-entropy",
    "val-nll": "nll",
    "nll": "nll",
    "kl-divergence": "kl-divergence",
    "psi": "psi",
    "model-size-mb": "size",
    "gpu-hours": "hours",
}
#: Names no rule decides, or the vocabulary decides both ways: a check on them must not pass.
UNDECIDED = {
    "throughput-bytes-per-second": "built-in name parts disagree: 'throughput' says higher, 'bytes' says lower",
    "requests-per-ms": "no built-in name part decides it",
    "memory-bandwidth": "built-in name parts disagree: 'memory' says lower, 'bandwidth' says higher",
    "error-reduction": "built-in name parts disagree: 'error' says lower, 'reduction' says higher",
    "cost-savings": "built-in name parts disagree: 'cost' says lower, 'savings' says higher",
    "error-budget-left": "built-in name parts disagree: 'error' says lower, 'left' says higher",
}


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, ContextaRun]]:
    workspace = Workspace(WORKSPACE)
    try:
        loaded = {
            name: workspace.load_run(f"run:churn.{name}")
            for name in ("baseline", "worse", "incomplete", "nightly", "sharded")
        }
        loaded["chatbot"] = workspace.load_run(CHATBOT)
        yield loaded
    finally:
        workspace.close()


def _failure(check: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(GateCheckFailed) as raised:
        check(*args, **kwargs)  # type: ignore[operator]
    return str(raised.value)


# -- 1. direction is known or the check does not pass ------------------------------------------------


@pytest.mark.parametrize(("key", "entry"), DECIDED_LOWER.items())
def test_a_lower_is_better_metric_that_rose_fails(
    runs: dict[str, ContextaRun], results: list[CheckResult], key: str, entry: str
) -> None:
    message = _failure(assert_no_regression, runs["worse"], runs["baseline"], key, max_drop=0.2)
    assert f"FAIL {key}: " in message and "(+37.50%)" in message
    assert f"lower is better (built-in: name part {entry!r})" in message
    assert results[0].direction == f"lower is better (built-in: name part {entry!r})"


@pytest.mark.parametrize(("key", "why"), UNDECIDED.items())
def test_a_metric_of_unknown_direction_fails_and_says_how_to_declare_it(
    runs: dict[str, ContextaRun], results: list[CheckResult], key: str, why: str
) -> None:
    message = _failure(assert_no_regression, runs["worse"], runs["baseline"], key, max_drop=0.2)
    assert f"{key}: cannot compare (direction unknown ({why}); declare it" in message
    assert f"'contexta_lower_is_better = {key}' or 'contexta_higher_is_better = {key}'" in message
    (result,) = results
    assert (result.passed, result.direction) == (False, f"direction unknown ({why})")


@pytest.mark.parametrize("key", sorted(UNDECIDED))
def test_declared_in_the_ini_the_same_metric_is_compared(runs: dict[str, ContextaRun], key: str) -> None:
    """Declared the way the message says, each worsened metric fails as a regression, not for its direction."""
    with recording(CheckContext(higher_is_better=(key,))), pytest.raises(GateCheckFailed) as raised:
        assert_no_regression(runs["worse"], runs["baseline"], key, max_drop=0.2)
    assert f"FAIL {key}: " in str(raised.value)
    assert f"higher is better (ini contexta_higher_is_better {key!r})" in str(raised.value)
    with recording(CheckContext(higher_is_better=(key,))):
        assert_no_regression(runs["baseline"], runs["worse"], key, max_drop=0.2)  # the other way round it improved


def test_a_direction_typo_is_recorded_with_its_close_matches(
    runs: dict[str, ContextaRun], results: list[CheckResult]
) -> None:
    """The direction-typo of issue 11 (``latency-p95`` for ``latency-p95-ms``) no longer fails the call (issue 22
    item 7: a shared mapping names metrics a call does not check); the session notes it once, with close matches."""
    with pytest.raises(GateCheckFailed, match=r"lower is better \(built-in: name part 'latency'\)"):
        assert_no_regression(runs["worse"], runs["baseline"], "latency-p95-ms", direction={"latency-p95": "higher"})
    assert [r.direction_unknown for r in results] == [{"latency-p95": ["latency-p95-ms"]}]


# -- 2. limits that mean what users think ------------------------------------------------------------


@pytest.mark.parametrize("max_drop", [1, 2, 1.5, 20])
def test_max_drop_of_one_or_more_is_refused(runs: dict[str, ContextaRun], max_drop: float) -> None:
    with pytest.raises(CheckArgumentError) as raised:
        assert_no_regression(runs["worse"], runs["baseline"], "log-loss", max_drop=max_drop)
    assert str(raised.value) == (
        f"max_drop must be a fraction below 1, not {max_drop!r}: 0.02 means 2 %; use "
        f"max_abs_drop for larger changes (in the metric's units)"
    )


def test_log_loss_up_12_6_percent_fails_a_2_percent_limit_and_passes_an_absolute_one(
    runs: dict[str, ContextaRun],
) -> None:
    message = _failure(assert_no_regression, runs["worse"], runs["baseline"], "log-loss", max_drop=0.02)
    assert "FAIL log-loss: 0.4 -> 0.4504, change +0.0504 (+12.60%)" in message
    assert_no_regression(runs["worse"], runs["baseline"], "log-loss", max_drop=None, max_abs_drop=0.06)
    assert_no_regression(runs["worse"], runs["baseline"], "log-loss", max_drop=0.13)


# -- 3. events count ---------------------------------------------------------------------------------


def test_an_error_event_is_an_error_diagnostic(runs: dict[str, ContextaRun], results: list[CheckResult]) -> None:
    message = _failure(assert_no_error_diagnostics, runs["worse"])
    assert (
        "error_event [record:churn.worse.r0018]: error event features.leakage-check: label column found "
        "among features: churned"
    ) in message
    assert_no_error_diagnostics(runs["worse"], ignore=["error_event"])
    assert results[-1].detail == "no error diagnostics (1 warning, 1 info, 1 error(s) waived)"


def test_a_warning_event_is_a_warning_diagnostic(runs: dict[str, ContextaRun]) -> None:
    events = [
        (d.code, d.severity, d.contexta_severity, d.summary)
        for d in runs["worse"].diagnostics
        if d.code.endswith("_event")
    ]
    assert events == [
        (
            "error_event",
            "error",
            None,
            "error event features.leakage-check: label column found among features: churned",
        ),
        ("warning_event", "warning", None, "warning event features.drift-check: 3 features drifted beyond PSI 0.2"),
    ]
    assert not [d for d in runs["baseline"].diagnostics if d.code.endswith("_event")]


# -- 4. only complete values decide ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "marks"),
    [
        ("accuracy", "completeness 'partial'"),
        ("roc-auc", "completeness 'unknown'"),
        ("f1", "degradation 'capture_gap'"),
    ],
)
def test_an_incomplete_value_does_not_count(
    runs: dict[str, ContextaRun], results: list[CheckResult], key: str, marks: str
) -> None:
    message = _failure(assert_metrics_present, runs["incomplete"], key, stage="evaluate")
    assert f"{key}: its value " in message and f"is marked {marks}, so it is not a complete value" in message
    assert "record:churn.incomplete.r000" in message and "segment-000001.jsonl line" in message
    _failure(assert_metric_threshold, runs["incomplete"], key, at_least=0.1)
    assert "candidate: its value" in _failure(assert_no_regression, runs["incomplete"], runs["baseline"], key)
    assert [r.passed for r in results] == [False, False, False]


def test_an_older_complete_value_does_not_take_the_place_of_a_newer_incomplete_one(
    runs: dict[str, ContextaRun],
) -> None:
    run = runs["incomplete"]
    (partial,) = [m for m in run.metrics if m.key == "accuracy"]
    older = partial.model_copy(
        update={
            "ref": "record:churn.incomplete.r0000",
            "value": 0.9,
            "sequence": 0,
            "observed_at": "2025-06-01T03:00:00Z",
            "completeness_marker": "complete",
        }
    )
    found = find_metric(run.model_copy(update={"records": (older, *run.records)}), "accuracy", "evaluate")
    assert found.record is None and "its value 0.84 (record:churn.incomplete.r0001" in (found.problem or "")


def test_an_explicit_argument_accepts_an_incomplete_value_and_the_verdict_says_so(
    runs: dict[str, ContextaRun], results: list[CheckResult]
) -> None:
    assert_metric_threshold(runs["incomplete"], "accuracy", at_least=0.8, accept_incomplete=True)
    assert results[0].detail == "accuracy = 0.84 (evaluate, completeness 'partial' accepted); required >= 0.8"
    assert results[0].value_source == "evaluate, completeness 'partial' accepted"


def test_a_sampled_value_counts_and_is_shown_as_sampled(
    runs: dict[str, ContextaRun], results: list[CheckResult]
) -> None:
    assert_metrics_present(runs["incomplete"], "pr-auc", stage="evaluate")
    assert (results[0].detail, results[0].value_source) == ("pr-auc = 0.66 (evaluate, sampled)", "evaluate, sampled")


# -- 5. only overall values stand for the run --------------------------------------------------------


def test_case_study_09_a_prompt_never_stands_for_the_run(runs: dict[str, ContextaRun]) -> None:
    """The latest prompt scored 0.92; the old gate passed ``relevance >= 0.3`` on it."""
    message = _failure(assert_metric_threshold, runs["chatbot"], "relevance", at_least=0.3, stage="evaluate")
    assert "relevance: only recorded per sample (20 samples) in stage 'evaluate'" in message
    assert "relevance: only recorded per sample (20 samples)" in _failure(
        assert_metrics_present, runs["chatbot"], "relevance"
    )


def test_case_study_09_each_prompt_one_row_per_failing_prompt(
    runs: dict[str, ContextaRun], results: list[CheckResult]
) -> None:
    message = _failure(assert_metric_threshold, runs["chatbot"], "relevance", at_least=0.3, samples="*")
    failing = [r for r in results if r.sample is not None]
    assert [(r.sample, r.candidate_value, r.passed) for r in failing] == [
        ("prompt-07", 0.12, False),
        ("prompt-12", 0.05, False),
        ("prompt-17", 0.19, False),
    ]
    assert "relevance = 0.12 (evaluate, sample prompt-07); required >= 0.3" in message
    assert results[-1].detail == "relevance: 17 of 20 samples matching '*' meet >= 0.3"
    assert not results[-1].passed


def test_case_study_09_at_most_a_share_of_prompts_below_a_floor(runs: dict[str, ContextaRun]) -> None:
    message = _failure(
        assert_metric_threshold, runs["chatbot"], "relevance", at_least=0.3, samples="*", max_failing_share=0.05
    )
    assert (
        "relevance: 3 of 20 samples matching '*' (15.00%) break >= 0.3 (prompt-07, prompt-12, prompt-17); "
        "allowed at most 5.00%"
    ) in message
    assert_metric_threshold(runs["chatbot"], "relevance", at_least=0.3, samples="*", max_failing_share=0.15)


def test_case_study_09_mean_of_the_prompts(runs: dict[str, ContextaRun], results: list[CheckResult]) -> None:
    assert_metric_threshold(runs["chatbot"], "relevance", at_least=0.7, samples="prompt-*", aggregate="mean")
    (result,) = results
    assert result.candidate_value == pytest.approx(0.745)
    assert _failure(
        assert_metric_threshold, runs["chatbot"], "relevance", at_least=0.8, samples="*", aggregate="mean"
    ).endswith("relevance: mean of 20 samples matching '*' = 0.745; required >= 0.8")


def test_presence_per_sample(runs: dict[str, ContextaRun], results: list[CheckResult]) -> None:
    assert_metrics_present(runs["chatbot"], ["relevance", "faithfulness"], samples="prompt-1?")
    assert [r.detail for r in results] == [
        "relevance: usable values for 10 of 10 samples matching 'prompt-1?'",
        "faithfulness: usable values for 10 of 10 samples matching 'prompt-1?'",
    ]
    assert "accuracy: no samples matching '*' hold it" in _failure(
        assert_metrics_present, runs["baseline"], "accuracy", samples="*"
    )


def test_a_single_batch_stands_for_its_stage(runs: dict[str, ContextaRun], results: list[CheckResult]) -> None:
    assert_metric_threshold(runs["nightly"], "accuracy", at_least=0.8, stage="evaluate")
    assert results[0].detail == "accuracy = 0.83 (evaluate, batch nightly); required >= 0.8"


def test_one_of_several_batches_never_stands_for_its_stage(
    runs: dict[str, ContextaRun], results: list[CheckResult]
) -> None:
    message = _failure(assert_metric_threshold, runs["sharded"], "accuracy", at_least=0.6)
    assert "accuracy: recorded per batch (3 batches); a batch's value stands for its stage only" in message
    message = _failure(assert_metric_threshold, runs["sharded"], "accuracy", at_least=0.8, batches="*")
    assert [(r.batch, r.candidate_value) for r in results if r.batch] == [("shard-2", 0.62)]
    assert message.endswith("accuracy: 2 of 3 batches matching '*' meet >= 0.8")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"samples": "*", "batches": "*"}, "give samples= or batches=, not both"),
        ({"aggregate": "mean"}, "aggregate= and max_failing_share= need samples= or batches="),
        ({"samples": "*", "aggregate": "median"}, "aggregate must be 'each' or 'mean', not 'median'"),
        ({"samples": "*", "max_failing_share": 5}, "max_failing_share must be a fraction from 0 to below 1"),
        ({"samples": "Prompt-*"}, "samples='Prompt-\\*' cannot match a Contexta name; names are lowercase"),
        ({"samples": ""}, "samples must be a name pattern such as"),
    ],
)
def test_bad_sample_arguments(runs: dict[str, ContextaRun], kwargs: dict[str, object], error: str) -> None:
    with pytest.raises(CheckArgumentError, match=error):
        assert_metric_threshold(runs["chatbot"], "relevance", at_least=0.3, **kwargs)  # type: ignore[arg-type]


# -- 6. close-match help -----------------------------------------------------------------------------


def test_an_absent_key_gets_the_closest_keys_of_the_run(runs: dict[str, ContextaRun]) -> None:
    message = _failure(assert_metrics_present, runs["baseline"], "rocauc", stage="evaluate")
    assert "rocauc: not recorded in stage 'evaluate' (did you mean 'roc-auc'?)" in message


@pytest.mark.parametrize(
    ("metric", "hint"),
    [
        ("Accuracy", " (did you mean 'accuracy'?); names are lowercase, without spaces"),
        ("val loss", " (did you mean 'val-loss'?); names are lowercase, without spaces"),
    ],
)
def test_an_uppercase_or_spaced_name_says_names_are_lowercase(
    runs: dict[str, ContextaRun], metric: str, hint: str
) -> None:
    with pytest.raises(CheckArgumentError) as raised:
        assert_metrics_present(runs["baseline"], metric)
    assert str(raised.value).endswith(hint)
    with pytest.raises(CheckArgumentError, match="names are lowercase"):
        assert_metrics_present(runs["baseline"], "accuracy", stage="Evaluate")


@pytest.mark.parametrize(
    ("name", "choices", "expected"),
    [
        ("rocauc", ["roc-auc", "f1", "accuracy"], ["roc-auc"]),
        (
            "candidate-v2",
            ["baseline-v1", "candidate-v3-no-eval", "candidate-v2-good"],
            ["candidate-v2-good", "candidate-v3-no-eval"],
        ),
        ("Baseline", ["baseline", "baseline-v1"], ["baseline", "baseline-v1"]),
        ("qwerty", ["roc-auc", "f1"], []),
        ("f1", ["f1"], []),
    ],
)
def test_suggest(name: str, choices: list[str], expected: list[str]) -> None:
    assert suggest(name, choices) == expected


# -- every output --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_gate_on_case_study_09_fails_with_one_row_per_failing_prompt_in_every_output(
    pytester: pytest.Pytester,
) -> None:
    import json
    import xml.etree.ElementTree as ET

    pytester.makepyfile("""
        from pytest_contexta import assert_metric_threshold

        def test_relevance(contexta_run):
            assert_metric_threshold(contexta_run, "relevance", at_least=0.3, stage="evaluate", samples="*")
    """)
    result = pytester.runpytest(
        f"--contexta-workspace={WORKSPACE}",
        f"--contexta-candidate={CHATBOT}",
        "--contexta-baseline=none",
        "--contexta-report=report.json",
        "--junitxml=junit.xml",
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*relevance = 0.05 (evaluate, sample prompt-12); required >= 0.3*",
            f"GATE FAILED for {CHATBOT}: 1 of 1 gate checks did not pass",
        ]
    )
    report = json.loads((pytester.path / "report.json").read_text(encoding="utf-8"))
    checks = report["candidates"][0]["checks"]
    assert [(c["sample"], c["outcome"]) for c in checks] == [
        ("prompt-07", "failed"),
        ("prompt-12", "failed"),
        ("prompt-17", "failed"),
        (None, "failed"),
    ]
    properties = ET.parse(pytester.path / "junit.xml").getroot().iter("property")
    assert [p.get("value") for p in properties if p.get("name") == "contexta.sample"] == [
        "prompt-07",
        "prompt-12",
        "prompt-17",
    ]


@pytest.mark.slow
def test_a_gate_on_a_metric_of_unknown_direction_fails_and_says_so_in_every_output(pytester: pytest.Pytester) -> None:
    import json
    import xml.etree.ElementTree as ET

    pytester.makepyfile("""
        from pytest_contexta import assert_no_regression

        def test_throughput(contexta_run, baseline_run):
            assert_no_regression(contexta_run, baseline_run, "throughput-bytes-per-second", stage="evaluate")
    """)
    result = pytester.runpytest(
        f"--contexta-workspace={WORKSPACE}",
        "--contexta-candidate=worse",
        "--contexta-baseline=baseline",
        "--contexta-report=report.json",
        "--junitxml=junit.xml",
    )
    result.assert_outcomes(failed=1)
    why = "direction unknown (built-in name parts disagree: 'throughput' says higher, 'bytes' says lower)"
    result.stdout.fnmatch_lines(
        [
            f"*throughput-bytes-per-second: cannot compare ({why}; declare it under [[]pytest[]] "
            f"in the ini file with the line 'contexta_lower_is_better = "
            f"throughput-bytes-per-second' or *",
            "errors:    error_event (error event features.leakage-check: label column found *",
            "test_throughput * FAIL * throughput-bytes-per-second @evaluate * 2500 * 4000 *"
            "cannot compare (direction unknown*",
        ]
    )
    (check,) = json.loads((pytester.path / "report.json").read_text(encoding="utf-8"))["candidates"][0]["checks"]
    assert (check["outcome"], check["direction"]) == ("failed", why)
    junit = ET.parse(pytester.path / "junit.xml").getroot()
    properties = {p.get("name"): p.get("value") for p in junit.iter("property")}
    assert properties["contexta.direction"] == why

    pytester.makeini("""
        [pytest]
        contexta_higher_is_better = throughput-bytes-per-second
    """)
    declared = pytester.runpytest(
        f"--contexta-workspace={WORKSPACE}", "--contexta-candidate=worse", "--contexta-baseline=baseline"
    )
    declared.assert_outcomes(failed=1)
    declared.stdout.fnmatch_lines(
        [
            "*FAIL throughput-bytes-per-second: 4000 -> 2500, change -1500 (-37.50%), "
            "higher is better (ini contexta_higher_is_better 'throughput-bytes-per-second')*"
        ]
    )
