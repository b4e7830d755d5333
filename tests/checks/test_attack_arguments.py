"""Helper arguments that crashed with a raw error or were silently misread (found by a hostile review)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from pytest_contexta.checks.arguments import bounds_text, check_limits, check_share, metric_keys
from pytest_contexta.errors import CheckArgumentError

HUGE = 10**400  # an int no float can hold: math.isfinite() raised OverflowError on it


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: check_limits(None, HUGE), f"max_abs_drop must be a finite number >= 0, not {HUGE}"),
        (lambda: check_limits(HUGE, None), f"max_drop must be a finite number >= 0, not {HUGE}"),
        (lambda: bounds_text(HUGE, None), f"at_least must be a finite number, not {HUGE}"),
        (lambda: bounds_text(None, -HUGE), f"at_most must be a finite number, not {-HUGE}"),
    ],
)
def test_an_int_too_large_for_a_float_is_an_argument_error(call, message):
    with pytest.raises(CheckArgumentError) as raised:
        call()
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("call", "shown"),
    [
        (
            lambda: check_limits(Fraction(1, 50), None),
            "max_drop must be a finite number >= 0, not Fraction Fraction(1, 50)",
        ),
        (lambda: bounds_text(Fraction(1, 2), None), "at_least must be a finite number, not Fraction Fraction(1, 2)"),
        (
            lambda: check_share("max_failing_share", Fraction(1, 20)),
            "max_failing_share must be a fraction from 0 to below 1 (0.05 means 5 %), not Fraction Fraction(1, 20)",
        ),
    ],
)
def test_a_number_of_another_type_is_named_by_its_type(call, shown):
    """numpy's float32(0.02) prints as 0.02: without its type the refusal read 'must be a number, not 0.02'."""
    with pytest.raises(CheckArgumentError) as raised:
        call()
    assert str(raised.value) == shown


@pytest.mark.parametrize("metrics", [{"accuracy": 0.05}, b"accuracy", bytearray(b"auc"), 42])
def test_metrics_that_are_no_key_list_are_refused(metrics):
    """A dict of per-metric limits was read as its keys (limits ignored); bytes as ints; an int raised TypeError."""
    with pytest.raises(CheckArgumentError, match=r"^metrics must be a metric key or a list of keys, not "):
        metric_keys(metrics)


def test_plain_limits_and_keys_still_pass():
    check_limits(0.02, 10**6)
    assert bounds_text(0, 10**6) == ">= 0 and <= 1e+06"
    assert metric_keys(("accuracy", "auc")) == ["accuracy", "auc"]
    assert metric_keys("accuracy") == ["accuracy"]


def test_ignore_none_is_an_argument_error_not_a_type_error():
    from conftest import WORKSPACES
    from pytest_contexta import Workspace, assert_no_error_diagnostics

    run = Workspace(WORKSPACES / "latency").load_run("run:svc.faster")
    with pytest.raises(CheckArgumentError, match="ignore must be a diagnostic code or a list of codes, not None"):
        assert_no_error_diagnostics(run, ignore=None)  # type: ignore[arg-type]


def test_a_negative_zero_limit_reads_as_zero():
    from pytest_contexta.checks.regression import limit_text

    assert limit_text(-0.0, -0.0) == "worse by at most 0.00% and worse by at most 0"
