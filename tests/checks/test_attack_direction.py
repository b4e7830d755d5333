"""Metric names whose built-in direction was the opposite of what they measure (found by a hostile review).

Each of these keys was decided by one entry while another part of the name turns that entry's meaning
around, so a regression passed: ``accuracy-drop`` 0.01 -> 0.09 counted as better, scikit-learn's
``neg-log-loss`` -0.3 -> -0.5 counted as better, ``time-saved`` 40 -> 10 counted as better.
"""

from __future__ import annotations

import pytest

from pytest_contexta.checks.direction import (
    CHANGES_MEANING,
    HIGHER_IS_BETTER,
    LOWER_IS_BETTER,
    RELATIVE,
    builtin_direction,
)


@pytest.mark.parametrize(
    ("key", "part", "entries", "was"),
    [
        ("accuracy-drop", "drop", "'accuracy'", "higher"),
        ("recall-drop", "drop", "'recall'", "higher"),
        ("auc-delta", "delta", "'auc'", "higher"),
        ("f1-degradation", "degradation", "'f1'", "higher"),
        ("accuracy-std", "std", "'accuracy'", "higher"),
        ("auc-variance", "variance", "'auc'", "higher"),
        ("auc-ci-width", "ci", "'auc'", "higher"),
        ("neg-log-loss", "neg", "'log-loss'", "lower"),
        ("neg-mean-squared-error", "neg", "'error'", "lower"),
        ("inverse-latency", "inverse", "'latency'", "lower"),
        ("latency-improvement", "improvement", "'latency'", "lower"),
        ("time-saved", "saved", "'time'", "lower"),
        ("latency-saved-ms", "saved", "'latency', 'ms'", "lower"),
        ("memory-free-mb", "free", "'memory', 'mb'", "lower"),
        ("error-free", "free", "'error'", "lower"),
        ("errors-fixed", "fixed", "'errors'", "lower"),
        ("accuracy-reduction", "reduction", "'accuracy'", "higher"),
        ("accuracy-gain", "gain", "'accuracy'", "higher"),
    ],
)
def test_a_part_that_changes_what_an_entry_measures_leaves_the_key_undecided(key, part, entries, was):
    assert builtin_direction(key) == (
        None,
        f"built-in name part {part!r} changes what {entries} measures, so its direction ({was} is better) "
        f"does not carry over",
    )


@pytest.mark.parametrize(
    ("key", "direction"),
    [
        ("negative-log-likelihood", "lower"),
        ("explained-variance", "higher"),
        ("val-explained-variance", "higher"),
        ("speedup", "higher"),
        ("savings", "higher"),
        ("error-budget-left", None),
        ("cost-savings", None),
    ],
)
def test_entries_that_hold_such_a_part_still_decide(key, direction):
    """A longer entry wins over the parts inside it; a relative entry alone still decides."""
    assert builtin_direction(key).direction == direction


def test_the_parts_that_change_meaning_are_no_entries():
    entries = set(HIGHER_IS_BETTER) | set(LOWER_IS_BETTER)
    assert not set(CHANGES_MEANING) & entries
    assert set(RELATIVE) <= set(HIGHER_IS_BETTER)
