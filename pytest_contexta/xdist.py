"""pytest-xdist glue, registered only when xdist is installed: hand workers the controller's decisions."""

from __future__ import annotations

from typing import Any

from .gate import WORKER_INPUT_KEY, WORKER_OUTPUT_KEY, GateSession


class XdistGlue:
    """Sends every worker the controller's decisions and collects what only workers see (all JSON-safe)."""

    def __init__(self, gate: GateSession) -> None:
        self.gate = gate

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[WORKER_INPUT_KEY] = self.gate.worker_input()

    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        """Workers collect, the controller does not: report checks in the workers' collection order."""
        self.gate.record_collection_order(ids)

    def pytest_testnodedown(self, node: Any, error: object) -> None:
        """A worker finished: take the gate checks it collected and the modules it skipped at collection."""
        output = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY)
        if output is not None:
            self.gate.merge_worker_output(output)
