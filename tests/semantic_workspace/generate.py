"""Generate the workspace of tests/checks/test_guesses.py: runs a gate used to pass by guessing.

Run with the Python that has contexta 1.0.0 installed (it replaces ``tests/semantic_workspace/.contexta``)::

    python tests/semantic_workspace/generate.py

Separate from tests/workspaces/ (whose generator compares every run with Contexta's own answers).
Everything is written through Contexta's low-level stores; all timestamps are fixed.

Project ``churn`` (a churn model), stage ``evaluate`` in every run:

``baseline``
    Every metric of ``METRICS`` at its baseline value.
``worse``
    Every metric of ``METRICS`` worse by 37.5 % in its true direction; ``log-loss`` +12.6 %; an
    ``error`` event ("label column found among features") and a ``warning`` event.
``incomplete``
    ``accuracy`` marked ``partial``, ``roc-auc`` ``unknown``, ``f1`` degraded (``capture_gap``),
    ``pr-auc`` ``sampled``; ``log-loss`` complete.
``nightly``
    ``accuracy`` logged inside the single batch ``nightly`` of ``evaluate``.
``sharded``
    ``accuracy`` logged inside each of the batches ``shard-1`` (0.91), ``shard-2`` (0.62), ``shard-3`` (0.9).

Project ``support-chatbot-rag-eval`` mirrors Contexta's case study 09: run ``eval-run-v1`` logs
``relevance``, ``faithfulness`` and ``answer-length`` per prompt (20 sample observations
``prompt-01`` … ``prompt-20`` of ``evaluate``), with no overall value; prompts 07, 12 and 17 score
below 0.3 on relevance, and the latest prompt, ``prompt-20``, scores 0.92.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
from pathlib import Path

from contexta.contract import BatchExecution, MetricPayload, MetricRecord, SampleObservation

HERE = Path(__file__).resolve().parent
OUT = HERE / ".contexta"
sys.dont_write_bytecode = True
sys.path.insert(0, str(HERE.parents[1] / "example_gates"))
from generate_workspace import ContextaWriter, stage_ref  # noqa: E402

#: metric: (baseline value, direction that is truly better)
METRICS = {
    "cross-entropy": (0.40, "lower"),
    "val-nll": (0.40, "lower"),
    "nll": (0.40, "lower"),
    "kl-divergence": (0.40, "lower"),
    "psi": (0.40, "lower"),
    "model-size-mb": (40.0, "lower"),
    "gpu-hours": (4.0, "lower"),
    "throughput-bytes-per-second": (4000.0, "higher"),
    "requests-per-ms": (4.0, "higher"),
    "memory-bandwidth": (400.0, "higher"),
    "error-reduction": (0.4, "higher"),
    "cost-savings": (400.0, "higher"),
    "error-budget-left": (0.4, "higher"),
    "accuracy": (0.8, "higher"),
    "roc-auc": (0.8, "higher"),
    "latency-p95-ms": (40.0, "lower"),
}
LOG_LOSS = (0.40, 0.4504)  # +12.6 %
DAY = "2025-06-01"


class Writer(ContextaWriter):
    """``ContextaWriter`` plus metrics inside a batch or a sample observation."""

    def batch(self, run_ref: str, stage: str, name: str, order: int, at: str) -> str:
        ref = f"batch:{run_ref.removeprefix('run:')}.{stage}.{name}"
        self.store.batches.put_batch_execution(
            BatchExecution(
                batch_execution_ref=ref,
                run_ref=run_ref,
                stage_execution_ref=stage_ref(run_ref, stage),
                batch_name=name,
                status="completed",
                started_at=at,
                ended_at=at,
                order_index=order,
            )
        )
        return ref

    def sample(self, run_ref: str, stage: str, name: str, at: str) -> str:
        ref = f"sample:{stage_ref(run_ref, stage).removeprefix('stage:')}.{name}"
        self.store.samples.put_sample_observation(
            SampleObservation(
                sample_observation_ref=ref,
                run_ref=run_ref,
                stage_execution_ref=stage_ref(run_ref, stage),
                sample_name=name,
                observed_at=at,
            )
        )
        return ref

    def placed_metric(
        self,
        run_ref: str,
        key: str,
        value: float,
        at: str,
        stage: str,
        *,
        batch: str | None = None,
        sample: str | None = None,
    ) -> None:
        envelope = self._envelope(run_ref, "metric", at, stage, "complete", "none")
        envelope = dataclasses.replace(envelope, batch_execution_ref=batch, sample_observation_ref=sample)
        self._append(
            MetricRecord(
                envelope=envelope,
                payload=MetricPayload(metric_key=key, value=value, value_type="float64", aggregation_scope="stage"),
            )
        )


def evaluated_run(w: Writer, project: str, name: str, hour: int) -> str:
    at = f"{DAY}T{hour:02d}:00:00Z"
    run = w.run(project, name, at, f"{DAY}T{hour:02d}:50:00Z")
    w.stage(run, "evaluate", 0, at, f"{DAY}T{hour:02d}:40:00Z")
    return run


def worse(value: float, direction: str) -> float:
    return round(value * (0.625 if direction == "higher" else 1.375), 6)


def build_churn(w: Writer) -> None:
    w.project("churn", f"{DAY}T00:00:00Z")
    at = f"{DAY}T%02d:30:00Z"
    base = evaluated_run(w, "churn", "baseline", 1)
    for key, (value, _) in METRICS.items():
        w.metric(base, key, value, at % 1, stage="evaluate")
    w.metric(base, "log-loss", LOG_LOSS[0], at % 1, stage="evaluate")

    bad = evaluated_run(w, "churn", "worse", 2)
    for key, (value, direction) in METRICS.items():
        w.metric(bad, key, worse(value, direction), at % 2, stage="evaluate")
    w.metric(bad, "log-loss", LOG_LOSS[1], at % 2, stage="evaluate")
    w.event(
        bad,
        "features.leakage-check",
        "label column found among features: churned",
        at % 2,
        stage="evaluate",
        level="error",
        attributes={"column": "churned"},
    )
    w.event(bad, "features.drift-check", "3 features drifted beyond PSI 0.2", at % 2, stage="evaluate", level="warning")

    incomplete = evaluated_run(w, "churn", "incomplete", 3)
    w.metric(incomplete, "accuracy", 0.84, at % 3, stage="evaluate", completeness="partial")
    w.metric(incomplete, "roc-auc", 0.86, at % 3, stage="evaluate", completeness="unknown")
    w.metric(incomplete, "f1", 0.7, at % 3, stage="evaluate", degradation="capture_gap")
    w.metric(incomplete, "pr-auc", 0.66, at % 3, stage="evaluate", completeness="sampled")
    w.metric(incomplete, "log-loss", 0.39, at % 3, stage="evaluate")

    nightly = evaluated_run(w, "churn", "nightly", 4)
    batch = w.batch(nightly, "evaluate", "nightly", 0, at % 4)
    w.placed_metric(nightly, "accuracy", 0.83, at % 4, "evaluate", batch=batch)

    sharded = evaluated_run(w, "churn", "sharded", 5)
    for order, (name, value) in enumerate([("shard-1", 0.91), ("shard-2", 0.62), ("shard-3", 0.9)]):
        batch = w.batch(sharded, "evaluate", name, order, f"{DAY}T05:3{order}:00Z")
        w.placed_metric(sharded, "accuracy", value, f"{DAY}T05:3{order}:00Z", "evaluate", batch=batch)


def prompt_scores(index: int) -> tuple[float, float, float]:
    """Case study 09's (relevance, faithfulness, answer length) of prompt ``index`` (1-based)."""
    if index in (7, 12, 17):
        return round(0.05 + (index % 3) * 0.07, 3), round(0.12 + (index % 5) * 0.04, 3), 18.0 + (index % 4) * 3
    return (
        round(0.78 + (index % 7) * 0.02 + (index % 3) * 0.01, 3),
        round(0.81 + (index % 5) * 0.02, 3),
        45.0 + (index % 8) * 5,
    )


def build_chatbot(w: Writer) -> None:
    project = "support-chatbot-rag-eval"
    w.project(project, "2025-04-10T00:00:00Z")
    run = w.run(project, "eval-run-v1", "2025-04-10T10:00:00Z", "2025-04-10T10:30:00Z")
    w.stage(run, "evaluate", 0, "2025-04-10T10:00:00Z", "2025-04-10T10:30:00Z")
    for index in range(1, 21):
        at = f"2025-04-10T10:{index:02d}:00Z"
        sample = w.sample(run, "evaluate", f"prompt-{index:02d}", at)
        for key, value in zip(("relevance", "faithfulness", "answer-length"), prompt_scores(index), strict=True):
            w.placed_metric(run, key, value, at, "evaluate", sample=sample)


def main() -> int:
    if OUT.exists():
        shutil.rmtree(OUT)
    writer = Writer(OUT, project_name="churn", producer_ref="pytest-contexta.tests")
    try:
        build_churn(writer)
        build_chatbot(writer)
    finally:
        writer.close()
    print(f"Wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
