"""The gate of docs/recording-runs.md: it reads the workspace docs/recording/record_runs.py writes."""

import pytest

from pytest_contexta import assert_metric_threshold, assert_no_error_diagnostics, assert_no_regression


def test_no_error_diagnostics(contexta_run):
    assert_no_error_diagnostics(contexta_run)


@pytest.mark.parametrize("metric", ["accuracy", "latency-p95-ms"])
def test_no_regression(contexta_run, baseline_run, metric):
    assert_no_regression(contexta_run, baseline_run, metric, stage="evaluate", max_drop=0.02)


@pytest.mark.parametrize("seed", ["seed.s1", "seed.s2", "seed.s3"])
def test_every_seed_is_good_enough(contexta_run, seed):
    assert_metric_threshold(contexta_run, "accuracy", at_least=0.85, stage="evaluate", slice=seed)
