"""The product-ranker deployment gate: the three checks of Contexta's case study 05, done right.

Run it against a candidate run; exit code 0 means deploy::

    pytest example_gates/ --contexta-candidate=run:product-ranker.candidate-v2-good
"""

import pytest

from pytest_contexta import (
    assert_metric_threshold,
    assert_metrics_present,
    assert_no_error_diagnostics,
    assert_no_regression,
)

#: Metrics every deployable model must have been evaluated on.
REQUIRED_METRICS = ["accuracy", "auc", "f1", "latency-p95-ms"]
#: The stage whose metrics count: values logged while training do not (the March incident).
EVALUATION_STAGE = "evaluate"


def test_no_error_diagnostics(contexta_run):
    """No failed batches or deployments, no degraded data flagged as an error (the April incident)."""
    assert_no_error_diagnostics(contexta_run)


@pytest.mark.parametrize("metric", REQUIRED_METRICS)
def test_metric_evaluated(contexta_run, metric):
    """Each required metric was recorded by the evaluate stage (the March and May incidents)."""
    assert_metrics_present(contexta_run, metric, stage=EVALUATION_STAGE)


@pytest.mark.parametrize("metric", REQUIRED_METRICS)
def test_no_regression(contexta_run, baseline_run, metric):
    """No metric got more than 2 % worse than in production; latency is lower-is-better."""
    assert_no_regression(contexta_run, baseline_run, metric, stage=EVALUATION_STAGE, max_drop=0.02)


@pytest.mark.contexta_advisory
def test_latency_budget(contexta_run):
    """Advisory: p95 latency within the 50 ms serving budget. Over it, the candidate passes with a warning
    (exit 0) unless the gate runs with --contexta-fail-on=warning."""
    assert_metric_threshold(contexta_run, "latency-p95-ms", at_most=50, stage=EVALUATION_STAGE)
