"""Generate the example Contexta workspace that the gates in example_gates/ read.

Run it with a Python that has ``contexta`` installed::

    python example_gates/generate_workspace.py            # writes example_gates/.contexta
    python example_gates/generate_workspace.py --out DIR  # writes DIR instead
    python example_gates/generate_workspace.py --force    # replace an existing workspace

Everything goes through Contexta's own low-level API (``ctx.metadata_store`` and
``ctx.record_store``), exactly as Contexta's case study 05 ("automated deployment
gate") does. Contexta's run/stage/metric facade is not used: it never reaches the
ledger or the record store, so the read API would not see its data.

All timestamps are fixed, so two runs of this script produce the same workspace
apart from the ``appended_at`` stamps in the record segment and the bytes of the
DuckDB ledger.

The workspace holds one project, ``product-ranker``:

==========================  =====================================================
run                         story
==========================  =====================================================
baseline-v0                 old model, deployed as ``prod-v0`` (2025-03-01)
baseline-v1                 current model, deployed as ``prod-v1`` (2025-04-28):
                            the baseline every candidate is compared with
candidate-v0-canary         slightly worse; its deployment ``prod-v1-canary-retry``
                            (2025-04-30) failed, so it must never be the baseline
candidate-v2-good           better on every metric: passes
candidate-v3-no-eval        only the run row, no stages and no records: fails
candidate-v4-regressed      accuracy -5.8 %: fails on regression
march-wrong-stage           good metrics, but logged in ``train``; ``evaluate`` is
                            empty: fails
april-wrong-dataset         trained on dataset v2025-03-31 instead of v2025-04-15,
                            flagged by a DegradedRecord: fails
may-eval-skipped            no ``evaluate`` stage at all: fails
candidate-v5-slower         quality slightly better, latency-p95-ms +31 %: fails
candidate-v6-faster         quality equal or better, latency-p95-ms -29 %: passes
                            (a gate that treats every metric as higher-is-better
                            would wrongly fail it)
==========================  =====================================================

and one project, ``search-ranker``, whose every run logs each evaluate metric once per training
seed (tag ``seed``, 5 seeds): the gate compares the seeds' means with a 95 % Welch interval. Its
five ``prod-*`` deployments (``prod-1`` … ``prod-5``, of runs ``release-1`` … ``release-5``) are the
history; ``release-5`` is the baseline:

==========================  =====================================================
run                         story
==========================  =====================================================
seeds-within-noise          accuracy -0.33 % with seed sd 0.004: the whole
                            interval is within 2 %: passes
seeds-regressed             accuracy -4.4 %: the whole interval is beyond 2 %:
                            fails
seeds-too-noisy             accuracy -1.7 % with seed sd 0.02: the interval
                            straddles the limit: inconclusive (fails closed)
seeds-last-fine             four seeds near 0.835, the last-logged seed 0.885
                            (-1.7 %, fine on its own): the mean is -6.1 %: fails
==========================  =====================================================

Besides the gated metrics, ``release-5`` and ``seeds-within-noise`` log ``ndcg`` with a standard
error (``ndcg.stderr``, ``ndcg.n``), ``recall`` per slice ``segment.*`` with each slice's example
count (``recall.n``), and ``ctr`` as two series told apart by the tag ``market``.
"""

from __future__ import annotations

import argparse
import shutil
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

PROJECT = "product-ranker"
REGISTERED_DATASET = "v2025-04-15"
DEFAULT_OUT = Path(__file__).resolve().parent / ".contexta"


class ContextaWriter:
    """Write projects, runs, stages, deployments and records into one workspace.

    A thin layer over Contexta's low-level stores that builds the refs
    (``run:<project>.<run>``, ``stage:<project>.<run>.<stage>``, ...) and numbers
    the records of each run ``r0001``, ``r0002``, ... Call :meth:`close` at the end:
    it releases the DuckDB lock. ``tests/workspaces/generate.py`` reuses this class, hence
    a few options (tags, slices, markers) that the example itself does not need.
    """

    def __init__(self, root: Path, *, project_name: str, producer_ref: str) -> None:
        self.root = root
        self.producer_ref = producer_ref
        self.ctx = Contexta(config=UnifiedConfig(project_name=project_name, workspace=WorkspaceConfig(root_path=root)))
        self.store = self.ctx.metadata_store
        self.records = self.ctx.record_store  # creates records/manifest.json even if nothing is appended
        self._record_counts: dict[str, int] = {}

    def close(self) -> None:
        """Close the ledger, then drop ``cache/`` if Contexta left nothing in it."""
        self.store.close()
        cache = self.root / "cache"
        if cache.is_dir() and not any(path.is_file() for path in cache.rglob("*")):
            shutil.rmtree(cache)

    # -- ledger rows -----------------------------------------------------------------

    def project(self, name: str, created_at: str) -> str:
        """Create a project; return its ref."""
        ref = f"project:{name}"
        self.store.projects.put_project(Project(project_ref=ref, name=name, created_at=created_at))
        return ref

    def run(self, project: str, name: str, started_at: str, ended_at: str | None, status: str = "completed") -> str:
        """Create a run (``ended_at`` must be None exactly when status is ``open``); return its ref."""
        ref = f"run:{project}.{name}"
        self.store.runs.put_run(
            Run(
                run_ref=ref,
                project_ref=f"project:{project}",
                name=name,
                status=status,
                started_at=started_at,
                ended_at=ended_at,
            )
        )
        return ref

    def stage(
        self,
        run_ref: str,
        name: str,
        order: int | None,
        started_at: str,
        ended_at: str | None,
        status: str = "completed",
    ) -> str:
        """Create a stage execution of ``run_ref``; return its ref."""
        ref = stage_ref(run_ref, name)
        self.store.stages.put_stage_execution(
            StageExecution(
                stage_execution_ref=ref,
                run_ref=run_ref,
                stage_name=name,
                status=status,
                started_at=started_at,
                ended_at=ended_at,
                order_index=order,
            )
        )
        return ref

    def deployment(
        self,
        project: str,
        name: str,
        started_at: str,
        ended_at: str | None,
        *,
        status: str = "completed",
        run_ref: str | None = None,
        order: int | None = None,
    ) -> str:
        """Create a deployment execution of ``project`` (optionally of one run); return its ref."""
        ref = f"deployment:{project}.{name}"
        self.store.deployments.put_deployment_execution(
            DeploymentExecution(
                deployment_execution_ref=ref,
                project_ref=f"project:{project}",
                deployment_name=name,
                status=status,
                started_at=started_at,
                ended_at=ended_at,
                order_index=order,
                run_ref=run_ref,
            )
        )
        return ref

    # -- records ----------------------------------------------------------------------

    def metric(
        self,
        run_ref: str,
        key: str,
        value: float,
        at: str,
        *,
        stage: str | None = None,
        unit: str | None = None,
        scope: str = "stage",
        tags: dict[str, str] | None = None,
        slice_ref: str | None = None,
        completeness: str = "complete",
        degradation: str = "none",
    ) -> None:
        """Append a metric; ``stage`` is a stage *name* of the run (None: run-level)."""
        self._append(
            MetricRecord(
                envelope=self._envelope(run_ref, "metric", at, stage, completeness, degradation),
                payload=MetricPayload(
                    metric_key=key,
                    value=value,
                    value_type="int64" if isinstance(value, int) else "float64",
                    unit=unit,
                    aggregation_scope=scope,
                    slice_ref=slice_ref,
                    tags=tags,
                ),
            )
        )

    def event(
        self,
        run_ref: str,
        key: str,
        message: str,
        at: str,
        *,
        stage: str | None = None,
        level: str = "info",
        attributes: dict[str, object] | None = None,
    ) -> None:
        """Append a structured event; ``stage`` is a stage name of the run (None: run-level)."""
        self._append(
            StructuredEventRecord(
                envelope=self._envelope(run_ref, "event", at, stage, "complete", "none"),
                payload=StructuredEventPayload(
                    event_key=key,
                    level=level,
                    message=message,
                    attributes=attributes,
                    origin_marker="explicit_capture",
                ),
            )
        )

    def register_dataset(self, run_ref: str, version: str, at: str) -> None:
        """Register the run's training dataset the way Contexta's case studies do: a run-level event."""
        self.event(
            run_ref,
            "training.dataset-registered",
            f"Training dataset version: {version}",
            at,
            attributes={"dataset_version": version},
        )

    def degraded(
        self,
        run_ref: str,
        issue_key: str,
        summary: str,
        at: str,
        *,
        category: str,
        severity: str,
        stage: str | None = None,
        attributes: dict[str, object] | None = None,
        completeness: str = "partial",
        degradation: str = "capture_gap",
    ) -> None:
        """Append a DegradedRecord (Contexta's way to flag bad or missing data)."""
        self._append(
            DegradedRecord(
                envelope=self._envelope(run_ref, "degraded", at, stage, completeness, degradation),
                payload=DegradedPayload(
                    issue_key=issue_key,
                    category=category,
                    severity=severity,
                    summary=summary,
                    attributes=attributes,
                    origin_marker="explicit_capture",
                ),
            )
        )

    def _envelope(
        self, run_ref: str, record_type: str, at: str, stage: str | None, completeness: str, degradation: str
    ) -> RecordEnvelope:
        run_value = run_ref.removeprefix("run:")
        self._record_counts[run_ref] = count = self._record_counts.get(run_ref, 0) + 1
        return RecordEnvelope(
            record_ref=f"record:{run_value}.r{count:04d}",
            record_type=record_type,
            recorded_at=at,
            observed_at=at,
            producer_ref=self.producer_ref,
            run_ref=run_ref,
            stage_execution_ref=None if stage is None else stage_ref(run_ref, stage),
            completeness_marker=completeness,
            degradation_marker=degradation,
        )

    def _append(self, record: object) -> None:
        result = self.records.append(record)
        if result.rejected:
            raise RuntimeError(f"Contexta rejected a record: {result.rejected}")


def stage_ref(run_ref: str, stage_name: str) -> str:
    """The ref Contexta requires for stage ``stage_name`` of ``run_ref``."""
    return f"stage:{run_ref.removeprefix('run:')}.{stage_name}"


# -- the product-ranker story ---------------------------------------------------------


def add_run(
    w: ContextaWriter,
    name: str,
    day: str,
    *,
    metrics: dict[str, float] | None,
    metrics_stage: str = "evaluate",
    stages: tuple[str, ...] = ("train", "evaluate"),
    dataset: str | None = REGISTERED_DATASET,
    loss: float | None = 0.31,
) -> str:
    """Write one completed run of ``product-ranker`` that ran on ``day`` (YYYY-MM-DD).

    The run lasts 09:00-11:00 UTC: ``train`` 09:00-10:00, ``evaluate`` 10:00-11:00.
    ``loss`` goes into ``train``; ``metrics`` (accuracy, auc, f1, latency-p95-ms) into
    ``metrics_stage``, each logged once at the end of that stage. ``dataset`` is
    registered by a run-level ``training.dataset-registered`` event.
    """
    times = {
        "train": (f"{day}T09:00:00Z", f"{day}T10:00:00Z"),
        "evaluate": (f"{day}T10:00:00Z", f"{day}T11:00:00Z"),
    }
    run_ref = w.run(PROJECT, name, started_at=f"{day}T09:00:00Z", ended_at=f"{day}T11:00:00Z")
    for order, stage in enumerate(stages):
        w.stage(run_ref, stage, order, *times[stage])
    if dataset is not None:
        w.register_dataset(run_ref, dataset, f"{day}T09:00:00Z")
    if loss is not None:
        w.metric(run_ref, "loss", loss, times["train"][1], stage="train")
    for key, value in (metrics or {}).items():
        unit = "ms" if key == "latency-p95-ms" else None
        w.metric(run_ref, key, value, times[metrics_stage][1], stage=metrics_stage, unit=unit)
    return run_ref


def quality(accuracy: float, auc: float, f1: float, latency_p95_ms: float) -> dict[str, float]:
    """The four gated metrics; latency-p95-ms is lower-is-better, in milliseconds."""
    return {"accuracy": accuracy, "auc": auc, "f1": f1, "latency-p95-ms": latency_p95_ms}


def write_example(w: ContextaWriter) -> None:
    """Write the whole product-ranker story (see the module docstring)."""
    w.project(PROJECT, created_at="2025-01-01T00:00:00Z")

    # Production history: prod-v0, then prod-v1 (the baseline), then a failed canary.
    v0 = add_run(w, "baseline-v0", "2025-02-24", metrics=quality(0.871, 0.912, 0.862, 45.0), dataset="v2025-02-15")
    w.deployment(PROJECT, "prod-v0", "2025-03-01T12:00:00Z", "2025-03-01T12:10:00Z", run_ref=v0, order=0)
    v1 = add_run(w, "baseline-v1", "2025-04-28", metrics=quality(0.893, 0.927, 0.881, 42.0), loss=0.29)
    w.deployment(PROJECT, "prod-v1", "2025-04-28T12:00:00Z", "2025-04-28T12:10:00Z", run_ref=v1, order=1)
    canary = add_run(w, "candidate-v0-canary", "2025-04-29", metrics=quality(0.889, 0.924, 0.877, 43.0))
    w.deployment(
        PROJECT,
        "prod-v1-canary-retry",
        "2025-04-30T12:00:00Z",
        "2025-04-30T12:20:00Z",
        status="failed",
        run_ref=canary,
        order=2,
    )

    # Case study 05, scenarios B-D.
    add_run(w, "candidate-v2-good", "2025-05-05", metrics=quality(0.901, 0.933, 0.889, 41.0), loss=0.27)
    w.run(PROJECT, "candidate-v3-no-eval", "2025-05-06T09:00:00Z", "2025-05-06T11:00:00Z")  # run row only
    add_run(w, "candidate-v4-regressed", "2025-05-07", metrics=quality(0.841, 0.891, 0.859, 42.5), loss=0.36)

    # The three past failures of the manual checklist.
    add_run(w, "march-wrong-stage", "2025-05-12", metrics=quality(0.905, 0.936, 0.892, 40.0), metrics_stage="train")
    wrong = add_run(
        w, "april-wrong-dataset", "2025-05-14", metrics=quality(0.899, 0.931, 0.887, 41.5), dataset="v2025-03-31"
    )
    w.degraded(
        wrong,
        "data.dataset_version_mismatch",
        f"Training dataset v2025-03-31 does not match the registered dataset {REGISTERED_DATASET}.",
        "2025-05-14T09:05:00Z",
        category="verification",
        severity="error",
        stage="train",
        attributes={"training_dataset_version": "v2025-03-31", "registered_dataset_version": REGISTERED_DATASET},
    )
    add_run(w, "may-eval-skipped", "2025-05-19", metrics=None, stages=("train",))

    # Latency is lower-is-better: slower must fail, faster must pass.
    add_run(w, "candidate-v5-slower", "2025-05-26", metrics=quality(0.896, 0.929, 0.884, 55.0), loss=0.28)
    add_run(w, "candidate-v6-faster", "2025-05-30", metrics=quality(0.893, 0.930, 0.883, 30.0), loss=0.29)


SEEDED = "search-ranker"
#: A fixed pattern with mean 0 and sample standard deviation 1: seed values are mean + sd · z.
SEED_PATTERN = tuple(v / 15**0.5 for v in (-4.0, 3.0, -1.0, 5.0, -3.0))


def seeds(mean: float, sd: float) -> list[float]:
    """Five seed values whose mean is ``mean`` and whose sample standard deviation is ``sd``."""
    return [round(mean + sd * z, 6) for z in SEED_PATTERN]


def add_seeded_run(w: ContextaWriter, name: str, day: str, per_seed: dict[str, list[float]]) -> str:
    """A completed ``search-ranker`` run whose evaluate stage logs each metric once per seed, seed 1 first."""
    run_ref = w.run(SEEDED, name, started_at=f"{day}T09:00:00Z", ended_at=f"{day}T11:00:00Z")
    w.stage(run_ref, "train", 0, f"{day}T09:00:00Z", f"{day}T10:00:00Z")
    w.stage(run_ref, "evaluate", 1, f"{day}T10:00:00Z", f"{day}T11:00:00Z")
    w.register_dataset(run_ref, REGISTERED_DATASET, f"{day}T09:00:00Z")
    for seed in range(5):
        for key, values in per_seed.items():
            w.metric(
                run_ref,
                key,
                values[seed],
                f"{day}T10:{10 + seed:02d}:00Z",
                stage="evaluate",
                unit="ms" if key == "latency-p95-ms" else None,
                tags={"seed": str(seed + 1)},
            )
    return run_ref


def seeded_quality(accuracy: list[float]) -> dict[str, list[float]]:
    """``accuracy`` as given; auc, f1 and latency as in production, each with a little seed noise."""
    return {
        "accuracy": accuracy,
        "auc": seeds(0.930, 0.003),
        "f1": seeds(0.885, 0.003),
        "latency-p95-ms": seeds(40.0, 0.5),
    }


def add_extras(
    w: ContextaWriter, run_ref: str, day: str, ndcg: float, recall: dict[str, tuple[float, int]], ctr: dict[str, float]
) -> None:
    """The metrics the example gate does not check, for the other ways of giving noise and series."""
    at = f"{day}T10:30:00Z"
    w.metric(run_ref, "ndcg", ndcg, at, stage="evaluate")
    w.metric(run_ref, "ndcg.stderr", 0.002, at, stage="evaluate")
    w.metric(run_ref, "ndcg.n", 5000, at, stage="evaluate")
    for segment, (value, count) in recall.items():
        w.metric(run_ref, "recall", value, at, stage="evaluate", slice_ref=f"segment.{segment}", scope="slice")
        w.metric(run_ref, "recall.n", count, at, stage="evaluate", slice_ref=f"segment.{segment}", scope="slice")
    for market, value in ctr.items():
        w.metric(run_ref, "ctr", value, at, stage="evaluate", tags={"market": market})


def write_seeded(w: ContextaWriter) -> None:
    """The search-ranker project: five seeded production releases, then four seeded candidates."""
    w.project(SEEDED, created_at="2025-01-01T00:00:00Z")
    for release, (day, accuracy) in enumerate(
        [
            ("2025-03-03", 0.893),
            ("2025-03-17", 0.896),
            ("2025-03-31", 0.898),
            ("2025-04-14", 0.899),
            ("2025-04-28", 0.900),
        ],
        start=1,
    ):
        run_ref = add_seeded_run(w, f"release-{release}", day, seeded_quality(seeds(accuracy, 0.004)))
        w.deployment(SEEDED, f"prod-{release}", f"{day}T12:00:00Z", f"{day}T12:10:00Z", run_ref=run_ref, order=release)
        if release == 5:
            add_extras(
                w,
                run_ref,
                day,
                0.712,
                {"card_present": (0.81, 4000), "online": (0.78, 3000), "rare": (0.70, 12)},
                {"eu": 0.031, "us": 0.034},
            )
    good = add_seeded_run(w, "seeds-within-noise", "2025-05-05", seeded_quality(seeds(0.897, 0.004)))
    add_extras(
        w,
        good,
        "2025-05-05",
        0.709,
        {"card_present": (0.80, 4100), "online": (0.79, 2900), "rare": (0.55, 11)},
        {"eu": 0.031, "us": 0.033},
    )
    add_seeded_run(w, "seeds-regressed", "2025-05-06", seeded_quality(seeds(0.860, 0.004)))
    add_seeded_run(w, "seeds-too-noisy", "2025-05-07", seeded_quality(seeds(0.885, 0.02)))
    add_seeded_run(w, "seeds-last-fine", "2025-05-08", seeded_quality([0.835, 0.832, 0.838, 0.834, 0.885]))


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="workspace root (default: .contexta next to this script)"
    )
    parser.add_argument("--force", action="store_true", help="delete and recreate an existing workspace")
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()

    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if not (args.force and out.is_dir()):
            print(f"error: {out} exists and is not an empty directory (--force replaces a directory)", file=sys.stderr)
            return 1
        shutil.rmtree(out)

    writer = ContextaWriter(out, project_name=PROJECT, producer_ref="example-gates.generate")
    try:
        write_example(writer)
        write_seeded(writer)
    finally:
        writer.close()
    print(f"Wrote the {PROJECT} and {SEEDED} example workspace to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
