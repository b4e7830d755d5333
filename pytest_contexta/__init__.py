"""pytest-contexta: deployment gates on runs recorded with Contexta, written as ordinary pytest tests.

Public names are imported lazily so that installing the plugin costs ordinary test runs nothing;
``__version__`` too is looked up only when asked for (the one version is pyproject.toml's).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "assert_no_error_diagnostics": "checks.asserts",
    "assert_metrics_present": "checks.asserts",
    "assert_no_regression": "checks.asserts",
    "assert_metric_threshold": "checks.threshold",
    "assert_within_history": "checks.within_history",
    "GateCheckFailed": "checks.asserts",
    "CheckArgumentError": "errors",
    "GateError": "errors",
    "BaselineChoice": "runs.models",
    "ContextaRun": "runs.models",
    "Diagnostic": "runs.models",
    "MetricRecord": "reading.records",
    "EventRecord": "reading.records",
    "DegradedRecord": "reading.records",
    "GateReport": "verdict.report",
    "Workspace": "runs.workspace",
    "find_metric": "runs.metrics",
    "Selection": "runs.metrics",
    "resolve_direction": "checks.direction",
}
__all__ = [
    "BaselineChoice",
    "CheckArgumentError",
    "ContextaRun",
    "DegradedRecord",
    "Diagnostic",
    "EventRecord",
    "GateCheckFailed",
    "GateError",
    "GateReport",
    "MetricRecord",
    "Selection",
    "Workspace",
    "assert_metric_threshold",
    "assert_metrics_present",
    "assert_no_error_diagnostics",
    "assert_no_regression",
    "assert_within_history",
    "find_metric",
    "resolve_direction",
]

if TYPE_CHECKING:
    __version__: str
    from .checks.asserts import (
        GateCheckFailed,
        assert_metrics_present,
        assert_no_error_diagnostics,
        assert_no_regression,
    )
    from .checks.direction import resolve_direction
    from .checks.threshold import assert_metric_threshold
    from .checks.within_history import assert_within_history
    from .errors import CheckArgumentError, GateError
    from .reading.records import DegradedRecord, EventRecord, MetricRecord
    from .runs.metrics import Selection, find_metric
    from .runs.models import BaselineChoice, ContextaRun, Diagnostic
    from .runs.workspace import Workspace
    from .verdict.report import GateReport


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version

        return version("pytest-contexta")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_contexta' has no attribute {name!r}")
    return getattr(import_module(f".{module}", __name__), name)
