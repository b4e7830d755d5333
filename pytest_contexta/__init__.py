"""pytest-contexta: deployment gates on runs recorded with Contexta, written as ordinary pytest tests.

Public names are imported lazily so that installing the plugin costs ordinary test runs nothing;
``__version__`` too is looked up only when asked for (the one version is pyproject.toml's).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "assert_no_error_diagnostics": "asserts",
    "assert_metrics_present": "asserts",
    "assert_no_regression": "asserts",
    "assert_metric_threshold": "asserts",
    "assert_within_history": "within_history",
    "GateCheckFailed": "asserts",
    "CheckArgumentError": "errors",
    "GateError": "errors",
    "BaselineChoice": "models",
    "ContextaRun": "models",
    "Diagnostic": "models",
    "MetricRecord": "records",
    "EventRecord": "records",
    "DegradedRecord": "records",
    "GateReport": "report",
    "Workspace": "workspace",
    "find_metric": "metrics",
    "Selection": "metrics",
    "resolve_direction": "direction",
}
__all__ = [
    "BaselineChoice", "CheckArgumentError", "ContextaRun", "DegradedRecord", "Diagnostic", "EventRecord",
    "GateCheckFailed", "GateError", "GateReport", "MetricRecord", "Selection", "Workspace", "assert_metric_threshold",
    "assert_metrics_present", "assert_no_error_diagnostics", "assert_no_regression", "assert_within_history",
    "find_metric", "resolve_direction",
]

if TYPE_CHECKING:
    __version__: str
    from .asserts import (
        GateCheckFailed,
        assert_metric_threshold,
        assert_metrics_present,
        assert_no_error_diagnostics,
        assert_no_regression,
    )
    from .direction import resolve_direction
    from .errors import CheckArgumentError, GateError
    from .metrics import Selection, find_metric
    from .models import BaselineChoice, ContextaRun, Diagnostic
    from .records import DegradedRecord, EventRecord, MetricRecord
    from .report import GateReport
    from .within_history import assert_within_history
    from .workspace import Workspace


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version

        return version("pytest-contexta")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_contexta' has no attribute {name!r}")
    return getattr(import_module(f".{module}", __name__), name)
