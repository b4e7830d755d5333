"""Trivial tests shaped like the gate suite (1 + 4 + 4 per candidate): what pytest costs with no work to do.

BENCH_FLOOR_CANDIDATES sets how many candidates to mimic (default 1).
"""

import os

import pytest

CANDIDATES = [f"candidate-{number}" for number in range(int(os.environ.get("BENCH_FLOOR_CANDIDATES", "1")))]
REQUIRED_METRICS = ["accuracy", "auc", "f1", "latency-p95-ms"]


@pytest.fixture(params=CANDIDATES)
def candidate(request):
    return request.param


def test_no_error_diagnostics(candidate):
    assert candidate


@pytest.mark.parametrize("metric", REQUIRED_METRICS)
def test_metric_evaluated(candidate, metric):
    assert metric


@pytest.mark.parametrize("metric", REQUIRED_METRICS)
def test_no_regression(candidate, metric):
    assert metric
