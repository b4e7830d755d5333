"""Record training runs so that pytest-contexta can gate them: Contexta's store-level API, step by step.

    python docs/recording/record_runs.py WORKSPACE

needs the ``contexta`` library (1.0) and writes a new workspace at WORKSPACE (it must not exist). Then:

    pytest docs/recording --contexta-workspace=WORKSPACE --contexta-candidate=run:churn-model.candidate

gates the candidate against the deployed baseline (exit 0), and
``--contexta-candidate=run:churn-model.candidate-leaky`` fails (exit 1). docs/recording-runs.md explains each step.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

from contexta import Contexta
from contexta.config import UnifiedConfig, WorkspaceConfig
from contexta.contract import (
    DegradedPayload,
    DegradedRecord,
    DeploymentExecution,
    MetricPayload,
    MetricRecord,
    Project,
    RecordEnvelope,
    Run,
    StageExecution,
    StructuredEventPayload,
    StructuredEventRecord,
)

PROJECT = "churn-model"
PRODUCER = "training.train-churn"  # who wrote the records: your training script


class Recorder:
    """One training run's records: refs built the way Contexta requires, records numbered r0001, r0002, …"""

    def __init__(self, ctx: Contexta, run_name: str) -> None:
        self.ctx = ctx
        self.run_ref = f"run:{PROJECT}.{run_name}"
        self.count = 0

    def stage_ref(self, stage: str) -> str:
        return f"stage:{PROJECT}.{self.run_ref.split('.', 1)[1]}.{stage}"

    def envelope(
        self, record_type: str, at: str, stage: str | None, *, completeness: str = "complete", degradation: str = "none"
    ) -> RecordEnvelope:
        self.count += 1
        return RecordEnvelope(
            record_ref=f"record:{self.run_ref.removeprefix('run:')}.r{self.count:04d}",
            record_type=record_type,
            recorded_at=at,
            observed_at=at,
            producer_ref=PRODUCER,
            run_ref=self.run_ref,
            stage_execution_ref=None if stage is None else self.stage_ref(stage),
            completeness_marker=completeness,
            degradation_marker=degradation,
        )

    def append(self, record: object) -> None:
        result = self.ctx.record_store.append(record)
        if result.rejected:  # Contexta says why; never ignore it, the gate would not see the record
            raise RuntimeError(f"Contexta rejected a record: {result.rejected}")

    def metric(self, key: str, value: float, at: str, stage: str, slice_ref: str | None = None) -> None:
        self.append(
            MetricRecord(
                envelope=self.envelope("metric", at, stage),
                payload=MetricPayload(
                    metric_key=key, value=value, value_type="float64", aggregation_scope="stage", slice_ref=slice_ref
                ),
            )
        )

    def event(self, key: str, message: str, at: str, stage: str, level: str = "info") -> None:
        self.append(
            StructuredEventRecord(
                envelope=self.envelope("event", at, stage),
                payload=StructuredEventPayload(
                    event_key=key, level=level, message=message, origin_marker="explicit_capture"
                ),
            )
        )

    def degraded(self, key: str, summary: str, at: str, stage: str) -> None:
        self.append(
            DegradedRecord(
                envelope=self.envelope("degraded", at, stage, completeness="partial", degradation="capture_gap"),
                payload=DegradedPayload(
                    issue_key=key,
                    category="capture",
                    severity="warning",
                    summary=summary,
                    origin_marker="explicit_capture",
                ),
            )
        )


def train(ctx: Contexta, name: str, day: str, accuracy_per_seed: list[float], *, leaky: bool = False) -> str:
    """One training run: a ``train`` and an ``evaluate`` stage, metrics per seed and overall, events."""
    run = Recorder(ctx, name)
    store = ctx.metadata_store
    # 1. the run row, then its stages (their refs are stage:<project>.<run>.<stage>)
    store.runs.put_run(
        Run(
            run_ref=run.run_ref,
            project_ref=f"project:{PROJECT}",
            name=name,
            status="completed",
            started_at=f"{day}T09:00:00Z",
            ended_at=f"{day}T11:00:00Z",
        )
    )
    for order, (stage, start, end) in enumerate([("train", "09", "10"), ("evaluate", "10", "11")]):
        store.stages.put_stage_execution(
            StageExecution(
                stage_execution_ref=run.stage_ref(stage),
                run_ref=run.run_ref,
                stage_name=stage,
                status="completed",
                started_at=f"{day}T{start}:00:00Z",
                ended_at=f"{day}T{end}:00:00Z",
                order_index=order,
            )
        )
    # 2. training metrics belong to train: a gate on evaluate never mistakes them for evaluation results
    run.metric("loss", 0.31, f"{day}T09:59:00Z", "train")
    # 3. evaluation: one value per seed (a slice each), and the overall value the gate compares
    for seed, accuracy in enumerate(accuracy_per_seed, 1):
        run.metric("accuracy", accuracy, f"{day}T10:5{seed}:00Z", "evaluate", slice_ref=f"seed.s{seed}")
    run.metric("accuracy", round(statistics.mean(accuracy_per_seed), 4), f"{day}T10:58:00Z", "evaluate")
    run.metric("latency-p95-ms", 41.0, f"{day}T10:58:00Z", "evaluate")
    # 4. events: warning and error events are gate diagnostics; an error fails assert_no_error_diagnostics
    run.event("evaluate.dataset", "evaluated on holdout v2025-06", f"{day}T10:00:00Z", "evaluate")
    if leaky:
        run.event(
            "features.leakage-check",
            "label column found among features: churned",
            f"{day}T10:01:00Z",
            "evaluate",
            level="error",
        )
    # 5. data you could not capture completely: a DegradedRecord says so (a warning the gate lists)
    run.degraded("evaluate.capture", "2 of 40 evaluation shards were not captured", f"{day}T10:59:00Z", "evaluate")
    return run.run_ref


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    root = Path(argv[0])
    if root.exists():
        print(f"{root} exists: give a new folder (Contexta would add to a workspace already there)", file=sys.stderr)
        return 2
    ctx = Contexta(config=UnifiedConfig(project_name=PROJECT, workspace=WorkspaceConfig(root_path=root)))
    try:
        ctx.metadata_store.projects.put_project(
            Project(project_ref=f"project:{PROJECT}", name=PROJECT, created_at="2025-06-01T00:00:00Z")
        )
        baseline = train(ctx, "baseline", "2025-06-02", [0.861, 0.866, 0.858])
        # 6. a deployment: the gate's default baseline is the run behind the latest completed one
        ctx.metadata_store.deployments.put_deployment_execution(
            DeploymentExecution(
                deployment_execution_ref=f"deployment:{PROJECT}.prod-2025-06-03",
                project_ref=f"project:{PROJECT}",
                deployment_name="prod-2025-06-03",
                status="completed",
                started_at="2025-06-03T12:00:00Z",
                ended_at="2025-06-03T12:05:00Z",
                run_ref=baseline,
                order_index=1,
            )
        )
        train(ctx, "candidate", "2025-06-10", [0.872, 0.869, 0.875])
        train(ctx, "candidate-leaky", "2025-06-11", [0.931, 0.929, 0.933], leaky=True)
    finally:
        ctx.metadata_store.close()  # releases the ledger's lock: until then no gate can read it
    print(f"Wrote {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
