"""The xdist worker side, registered only on workers: start from the controller's answers, send facts back."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from ..errors import GateError
from .session import GateSession
from .tracking import CheckTracker

#: The key of the plugin's data in xdist's workerinput and workeroutput, and in a serialized gate check report.
SHARED_KEY = "contexta"


class WorkerPlugin:
    """A worker reads no ledger to start, decides its hooks after its own collection, and reports what it saw."""

    def __init__(self, session: GateSession, tracker: CheckTracker) -> None:
        self.session = session
        self.tracker = tracker

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        try:
            self.session.start(self.session.config.workerinput[SHARED_KEY])  # type: ignore[attr-defined]
        except GateError as exc:  # the controller started, so this is rare (the workspace went away)
            raise pytest.UsageError(f"contexta: {exc}") from None

    @pytest.hookimpl(wrapper=True)
    def pytest_report_to_serializable(
        self, report: pytest.TestReport | pytest.CollectReport
    ) -> Generator[None, dict[str, Any] | None, dict[str, Any] | None]:
        """A gate check's report goes to the controller with the gate's record of it, as one JSON field."""
        data = yield
        record = (
            self.tracker.records.get((report.nodeid, report.when)) if isinstance(report, pytest.TestReport) else None
        )
        if data is not None and record is not None:
            data[SHARED_KEY] = record.model_dump(mode="json")
        return data

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """JSON-safe facts for the controller: selection, the baselines chosen here, the runs read here."""
        runs = {}
        for ref in self.session.loaded_refs():
            facts = self.session.run_facts(ref)
            if facts is not None:
                runs[ref] = {  # in the report's shape: a diagnostic without details (run_facts empties them)
                    "diagnostics": [d.model_dump(mode="json", exclude={"details"}) for d in facts.diagnostics],
                    "notes": list(facts.notes),
                    "error": facts.error,
                }
        baselines = {ref: c.model_dump(mode="json") for ref, c in self.session.decided_baselines().items()}
        output = {
            **self.tracker.worker_output(),
            "baselines": baselines,
            "runs": runs,
            "usage_errors": self.session.usage_errors,
        }
        self.session.config.workeroutput[SHARED_KEY] = output  # type: ignore[attr-defined]
