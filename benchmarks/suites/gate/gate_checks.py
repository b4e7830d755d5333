"""The case study's gate as a pytest suite: diagnostics, 4 required metrics, 4 regression checks."""

import pytest

from pytest_contexta import assert_metrics_present, assert_no_error_diagnostics, assert_no_regression

REQUIRED_METRICS = ["accuracy", "auc", "f1", "latency-p95-ms"]


def test_no_error_diagnostics(contexta_run):
    assert_no_error_diagnostics(contexta_run)


@pytest.mark.parametrize("metric", REQUIRED_METRICS)
def test_metric_evaluated(contexta_run, metric):
    assert_metrics_present(contexta_run, metric, stage="evaluate")


@pytest.mark.parametrize("metric", REQUIRED_METRICS)
def test_no_regression(contexta_run, baseline_run, metric):
    assert_no_regression(contexta_run, baseline_run, metric, stage="evaluate", max_drop=0.02)
