"""pytest-xdist glue on the controller, registered only when xdist is installed and this is not a worker."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from .controller import GateController
from .tracking import CheckTracker, PhaseRecord
from .worker import SHARED_KEY


class XdistGlue:
    """Sends every worker the start-up answers, takes back what workers saw, and notes crashed workers."""

    def __init__(self, controller: GateController, tracker: CheckTracker) -> None:
        self.controller = controller
        self.tracker = tracker

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[SHARED_KEY] = self.controller.session.shared()

    @pytest.hookimpl(wrapper=True)
    def pytest_report_from_serializable(self, data: dict[str, Any]) -> Generator[None, object, object]:
        """The gate's record a worker sent with a gate check's report (taken out before pytest reads the report)."""
        shipped = data.pop(SHARED_KEY, None)
        report = yield
        if shipped is not None and isinstance(report, pytest.TestReport):
            self.tracker.records[report.nodeid, report.when] = PhaseRecord.model_validate(shipped)
        return report

    def pytest_testnodedown(self, node: Any, error: object) -> None:
        """A worker finished (or died: ``error`` says how); take the facts it sent, if it got that far."""
        worker = str(node.gateway.id)
        if error is not None:
            self.tracker.crashed(worker, None, str(error).strip() or "the worker process died")
        output = getattr(node, "workeroutput", {}).get(SHARED_KEY)
        if output is not None:
            self.controller.merge_worker(worker, output)

    def pytest_handlecrashitem(self, crashitem: str, report: pytest.TestReport, sched: object) -> None:
        """xdist knows which check a crashed worker was running: that check is where the gate failed."""
        node = getattr(report, "node", None)
        worker = str(node.gateway.id) if node is not None else "?"
        self.tracker.crashed(worker, crashitem, str(report.longrepr))
