"""The date the suite judges waivers on, moved years ahead, so that no test (the shipped example's above all)
passes only until some day.

The product has no setting for "today" (none could make an expired waiver hold again): the tests replace
``pytest_contexta.verdict.waivers._utc_now``. In the suite's own process the fixture ``frozen_today``
(tests/conftest.py) does it for a test, its in-process pytester runs included (every test of the shipped
example: tests/test_example_gates.py); a pytest subprocess gets it with ``-p frozen_clock``,
``CONTEXTA_TEST_TODAY=YYYY-MM-DD`` and tests/ on ``PYTHONPATH`` (tests/outputs/test_recorded_outputs.py).
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time

import pytest

from pytest_contexta.verdict import waivers

#: Years after the suite was written, and after every date the shipped example and the suite hold.
FUTURE_TODAY = date(2031, 7, 15)
ENVIRONMENT = "CONTEXTA_TEST_TODAY"


def freeze(on: date, monkeypatch: pytest.MonkeyPatch | None = None) -> None:
    """Judge waivers on ``on`` (noon UTC), through ``monkeypatch`` when given (undone after the test)."""

    def utc_now() -> datetime:
        return datetime.combine(on, time(12), UTC)

    if monkeypatch is None:
        waivers._utc_now = utc_now
    else:
        monkeypatch.setattr(waivers, "_utc_now", utc_now)


def pytest_configure(config: pytest.Config) -> None:
    """As a plugin of a pytest subprocess (``-p frozen_clock``): freeze on ``CONTEXTA_TEST_TODAY``."""
    value = os.environ.get(ENVIRONMENT, "").strip()
    if value:
        freeze(date.fromisoformat(value))
