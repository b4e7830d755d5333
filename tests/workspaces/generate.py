"""Generate the Contexta workspaces the tests read, and Contexta's own answers about them.

Run with the Python that has contexta 1.0.0 installed::

    python tests/workspaces/generate.py          # rewrite tests/workspaces/<name>/ and references/<name>.json
    python tests/workspaces/generate.py --check  # regenerate in a temp dir; exit 1 if anything committed differs
    python tests/workspaces/generate.py --check --out DIR  # the same, keeping the regenerated tree in DIR

``--out DIR`` (an empty or absent folder) receives ``<name>/`` workspaces and ``references/``, the
layout of ``tests/workspaces``: ``CONTEXTA_CONFORMANCE_DIR=DIR`` runs tests/reading/test_conformance.py on it.

Every workspace is written through Contexta's low-level stores with the ``ContextaWriter`` of
``example_gates/generate_workspace.py``; all timestamps are fixed. Workspaces:

``conformance``
    Projects ``shop-ranker`` and ``fraud-model``, both with a run ``baseline`` (ambiguous bare
    name). Completed, failed, open and cancelled runs, stages, batches and deployments; metric,
    event and degraded records (degraded severity warning and error, stage-level and run-level);
    run-level metrics (one key also logged in a stage); duplicate metrics with mixed whole/fractional-second
    ``observed_at``; a
    ``partial_failure`` metric; a record on a stage ref that has no stage row; tags, units,
    ``slice_ref`` (including a sliced metric that shares its key with the overall one); stages
    with a NULL and a tied ``order_index``; environment snapshots; a wrong-stage run, a run with
    stages but no records, and a run with neither.
``latency``
    Project ``svc``: a deployed ``baseline`` and candidates where lower-is-better metrics
    (``latency-p95-ms``, ``val-loss``) fall or rise, higher-is-better ``accuracy``, and
    ``error-count`` whose baseline value is exactly 0.
``deployments``
    Project ``ranker`` with many deployments for baseline selection (see ``build_deployments``),
    and project ``other`` with the newest completed deployment of the ledger.
``empty``
    A project and nothing else.
``restarted``, ``restarted-rebuilt``, ``unindexed``, ``steps``
    For the reader's own tests only (no reference answers): sequences restarted by a re-created
    manifest (the second also after ``rebuild_indexes()``), a degraded record written with
    indexes disabled, and per-step and per-seed metrics (see ``build_restarted``, ``build_unindexed``
    and ``build_steps``).

``references/<name>.json`` holds what Contexta answers on a copy of the workspace: ``list_runs()``,
``list_deployments()``, ``list_projects()``, bare-name lookups, and for every run
``get_run_snapshot``, ``diagnose_run`` and ``compare_runs(sibling, run)`` (sibling: the previous
run of the same project in ``list_runs`` order, or the next one for the first run), plus a few
extra comparisons per workspace. A call that raises is recorded as
``{"error": {"type", "code", "message"}}``.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import functools
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import duckdb
from contexta import Contexta
from contexta import __version__ as CONTEXTA_VERSION
from contexta.config import ComparisonPolicy, InterpretationConfig, UnifiedConfig, WorkspaceConfig
from contexta.contract import BatchExecution, EnvironmentSnapshot
from contexta.store.records import RecordStore, StoreConfig

HERE = Path(__file__).resolve().parent
REFERENCES = HERE / "references"
sys.dont_write_bytecode = True  # keep example_gates/ free of __pycache__
sys.path.insert(0, str(HERE.parents[1] / "example_gates"))
from generate_workspace import ContextaWriter, stage_ref  # noqa: E402

PRODUCER = "pytest-contexta.tests"
COMPARISON_POLICY = ComparisonPolicy(include_unchanged_metrics=True)
# Ledger columns that hold the wall-clock time of the write rather than data.
VOLATILE_LEDGER_COLUMNS = {"registered_at", "applied_at"}


class FixtureWriter(ContextaWriter):
    """``ContextaWriter`` plus the ledger rows only the test workspaces need."""

    def batch(
        self,
        run_ref: str,
        stage: str,
        name: str,
        order: int | None,
        started_at: str,
        ended_at: str | None,
        status: str = "completed",
    ) -> str:
        """Create a batch execution in stage ``stage`` (a name) of ``run_ref``; return its ref."""
        parent = stage_ref(run_ref, stage)
        ref = f"batch:{parent.removeprefix('stage:')}.{name}"
        self.store.batches.put_batch_execution(
            BatchExecution(
                batch_execution_ref=ref,
                run_ref=run_ref,
                stage_execution_ref=parent,
                batch_name=name,
                status=status,
                started_at=started_at,
                ended_at=ended_at,
                order_index=order,
            )
        )
        return ref

    def environment(self, run_ref: str, captured_at: str, packages: dict[str, str]) -> str:
        """Store an environment snapshot ``environment:<project>.<run>.snap``; return its ref."""
        ref = f"environment:{run_ref.removeprefix('run:')}.snap"
        self.store.environments.put_environment_snapshot(
            EnvironmentSnapshot(
                environment_snapshot_ref=ref,
                run_ref=run_ref,
                captured_at=captured_at,
                python_version="3.13.0",
                platform="linux",
                packages=packages,
                environment_variables={"CUDA_VISIBLE_DEVICES": "0"},
            )
        )
        return ref


def two_stage_run(
    w: FixtureWriter, project: str, name: str, day: str, train: dict[str, float], evaluate: dict[str, float]
) -> str:
    """A completed run on ``day``: ``train`` 09-10h and ``evaluate`` 10-11h, metrics at each stage's end."""
    run = w.run(project, name, f"{day}T09:00:00Z", f"{day}T11:00:00Z")
    w.stage(run, "train", 0, f"{day}T09:00:00Z", f"{day}T10:00:00Z")
    w.stage(run, "evaluate", 1, f"{day}T10:00:00Z", f"{day}T11:00:00Z")
    for key, value in train.items():
        w.metric(run, key, value, f"{day}T10:00:00Z", stage="train")
    for key, value in evaluate.items():
        unit = "ms" if key.endswith("-ms") else None
        w.metric(run, key, value, f"{day}T11:00:00Z", stage="evaluate", unit=unit)
    return run


# -- workspaces -------------------------------------------------------------------------


def build_conformance(w: FixtureWriter) -> None:
    """Two projects covering every shape of data a reader must handle."""
    w.project("shop-ranker", "2025-01-01T00:00:00Z")
    w.project("fraud-model", "2025-01-02T00:00:00Z")
    packages = {"numpy": "2.0.0", "scikit-learn": "1.5.0"}

    # shop-ranker.baseline: stages written evaluate-first (order comes from order_index),
    # batches in both stages (listed by stage ref, so evaluate's first), repeated step losses,
    # tags, units, an int metric, a run-level metric.
    run = w.run("shop-ranker", "baseline", "2025-03-01T09:00:00Z", "2025-03-01T11:00:00Z")
    w.stage(run, "evaluate", 1, "2025-03-01T10:00:00Z", "2025-03-01T11:00:00Z")
    w.stage(run, "train", 0, "2025-03-01T09:00:00Z", "2025-03-01T10:00:00Z")
    w.batch(run, "train", "epoch-2", 1, "2025-03-01T09:30:00Z", "2025-03-01T10:00:00Z")
    w.batch(run, "train", "epoch-1", 0, "2025-03-01T09:00:00Z", "2025-03-01T09:30:00Z")
    w.batch(run, "evaluate", "holdout", 0, "2025-03-01T10:00:00Z", "2025-03-01T11:00:00Z")
    w.register_dataset(run, "v2025-02-28", "2025-03-01T09:00:00Z")
    w.metric(run, "loss", 0.52, "2025-03-01T09:30:00Z", stage="train", scope="step")
    w.metric(run, "loss", 0.41, "2025-03-01T10:00:00Z", stage="train", scope="step")
    w.metric(run, "accuracy", 0.9, "2025-03-01T11:00:00Z", stage="evaluate", unit="ratio", tags={"split": "test"})
    w.metric(run, "auc", 0.93, "2025-03-01T11:00:00Z", stage="evaluate")
    w.metric(run, "latency-p95-ms", 40.0, "2025-03-01T11:00:00Z", stage="evaluate", unit="ms")
    w.metric(run, "row-count", 120000, "2025-03-01T11:00:00Z", stage="evaluate", unit="rows")
    w.metric(run, "train-time-s", 3600, "2025-03-01T11:00:00Z", scope="run", unit="s")
    w.environment(run, "2025-03-01T09:00:00Z", packages)
    w.deployment("shop-ranker", "prod", "2025-03-01T12:00:00Z", "2025-03-01T12:10:00Z", run_ref=run)
    w.deployment(
        "shop-ranker",
        "prod-rollback",
        "2025-03-12T12:00:00Z",
        "2025-03-12T12:05:00Z",
        status="cancelled",
        run_ref=run,
    )

    # shop-ranker.candidate: duplicate metrics, a partial_failure metric, a record on a stage
    # ref without a stage row, a warning DegradedRecord, batches in all four statuses, a
    # stage-level event and a failed deployment.
    run = w.run("shop-ranker", "candidate", "2025-03-05T09:00:00Z", "2025-03-05T11:00:00Z")
    w.stage(run, "train", 0, "2025-03-05T09:00:00Z", "2025-03-05T10:00:00Z")
    w.stage(run, "evaluate", 1, "2025-03-05T10:00:00Z", "2025-03-05T11:00:00Z")
    for order, (name, status) in enumerate(
        [("shard-0", "completed"), ("shard-1", "failed"), ("shard-2", "cancelled"), ("shard-3", "open")]
    ):
        ended = None if status == "open" else "2025-03-05T10:20:00Z"
        w.batch(run, "evaluate", name, order, "2025-03-05T10:00:00Z", ended, status=status)
    w.register_dataset(run, "v2025-02-28", "2025-03-05T09:00:00Z")
    w.metric(run, "loss", 0.39, "2025-03-05T10:00:00Z", stage="train", scope="step")
    # Whole second appended first, then half a second later: Contexta keeps 0.91 (string order).
    w.metric(run, "accuracy", 0.91, "2025-03-05T10:00:00Z", stage="evaluate")
    w.metric(run, "accuracy", 0.93, "2025-03-05T10:00:00.500000Z", stage="evaluate")
    # Fractional second appended first: Contexta keeps 0.94 although 0.95 is the later one.
    w.metric(run, "auc", 0.95, "2025-03-05T10:00:00.500000Z", stage="evaluate")
    w.metric(run, "auc", 0.94, "2025-03-05T10:00:00Z", stage="evaluate")
    # Same observed_at twice: the later append wins.
    w.metric(run, "f1", 0.8, "2025-03-05T10:30:00Z", stage="evaluate")
    w.metric(run, "f1", 0.82, "2025-03-05T10:30:00Z", stage="evaluate")
    # Later observation appended first: it still wins.
    w.metric(run, "latency-p95-ms", 41.0, "2025-03-05T11:00:00Z", stage="evaluate", unit="ms")
    w.metric(run, "latency-p95-ms", 44.0, "2025-03-05T10:45:00Z", stage="evaluate", unit="ms")
    w.metric(
        run,
        "coverage",
        0.97,
        "2025-03-05T11:00:00Z",
        stage="evaluate",
        completeness="partial",
        degradation="partial_failure",
    )
    w.metric(run, "accuracy", 0.99, "2025-03-05T11:00:00Z", stage="evaluat")  # no such stage row
    w.event(
        run,
        "evaluate.threshold-selected",
        "Decision threshold 0.42",
        "2025-03-05T10:50:00Z",
        stage="evaluate",
        attributes={"threshold": 0.42},
    )
    w.degraded(
        run,
        "capture.sampled_eval_set",
        "Evaluation used a 10 % sample of the test set.",
        "2025-03-05T10:05:00Z",
        category="capture",
        severity="warning",
        stage="evaluate",
        completeness="sampled",
        attributes={"sample_rate": 0.1},
    )
    w.environment(run, "2025-03-05T09:00:00Z", {**packages, "numpy": "2.1.0"})
    w.deployment("shop-ranker", "canary", "2025-03-06T12:00:00Z", "2025-03-06T12:30:00Z", status="failed", run_ref=run)

    run = w.run("shop-ranker", "open-run", "2025-03-06T09:00:00Z", None, status="open")
    w.stage(run, "train", 0, "2025-03-06T09:00:00Z", None, status="open")
    w.metric(run, "loss", 0.6, "2025-03-06T09:10:00Z", stage="train", scope="step")

    # Failed run: evaluate failed; an error-severity DegradedRecord in train, a run-level warning one.
    run = w.run("shop-ranker", "failed-run", "2025-03-07T09:00:00Z", "2025-03-07T10:30:00Z", status="failed")
    w.stage(run, "train", 0, "2025-03-07T09:00:00Z", "2025-03-07T10:00:00Z")
    w.stage(run, "evaluate", 1, "2025-03-07T10:00:00Z", "2025-03-07T10:30:00Z", status="failed")
    w.metric(run, "loss", 0.45, "2025-03-07T10:00:00Z", stage="train")
    w.metric(run, "accuracy", 0.5, "2025-03-07T10:20:00Z", stage="evaluate")
    w.degraded(
        run,
        "data.schema_mismatch",
        "Column price arrived as string.",
        "2025-03-07T09:05:00Z",
        category="verification",
        severity="error",
        stage="train",
        attributes={"column": "price"},
    )
    w.degraded(
        run,
        "store.partial_flush",
        "Evaluation output was only partly flushed.",
        "2025-03-07T10:30:00Z",
        category="store",
        severity="warning",
        degradation="partial_failure",
    )

    # Cancelled run: a stage without order_index (sorted after the others, reported as order 0).
    run = w.run("shop-ranker", "cancelled-run", "2025-03-08T09:00:00Z", "2025-03-08T09:40:00Z", status="cancelled")
    w.stage(run, "prepare", None, "2025-03-08T08:00:00Z", "2025-03-08T09:00:00Z")
    w.stage(run, "train", 0, "2025-03-08T09:00:00Z", "2025-03-08T09:40:00Z", status="cancelled")
    w.metric(run, "loss", 0.7, "2025-03-08T09:30:00Z", stage="train", scope="step")

    two_stage_run(w, "shop-ranker", "train-only", "2025-03-09", {"loss": 0.4, "accuracy": 0.95, "auc": 0.96}, {})

    # Stages but no records; package and evaluate tie on order_index 1.
    run = w.run("shop-ranker", "no-records", "2025-03-10T09:00:00Z", "2025-03-10T12:00:00Z")
    w.stage(run, "package", 1, "2025-03-10T11:00:00Z", "2025-03-10T12:00:00Z")
    w.stage(run, "evaluate", 1, "2025-03-10T10:00:00Z", "2025-03-10T11:00:00Z")
    w.stage(run, "train", 0, "2025-03-10T09:00:00Z", "2025-03-10T10:00:00Z")

    w.run("shop-ranker", "no-stages", "2025-03-11T09:00:00Z", "2025-03-11T11:00:00Z")

    run = two_stage_run(w, "fraud-model", "baseline", "2025-03-02", {"loss": 0.33}, {"precision": 0.71, "recall": 0.8})
    w.deployment("fraud-model", "prod", "2025-03-03T12:00:00Z", "2025-03-03T12:10:00Z", run_ref=run)

    # fraud-model.retrain: a sliced recall shares the key of the overall one and is appended last.
    run = two_stage_run(w, "fraud-model", "retrain", "2025-03-12", {"loss": 0.31}, {"precision": 0.73})
    w.batch(run, "train", "fold-1", 0, "2025-03-12T09:00:00Z", "2025-03-12T10:00:00Z")
    w.metric(run, "recall", 0.81, "2025-03-12T11:00:00Z", stage="evaluate")
    w.metric(
        run,
        "recall",
        0.74,
        "2025-03-12T11:00:00Z",
        stage="evaluate",
        slice_ref="segment.card_present",
        tags={"segment": "card_present"},
    )
    w.environment(run, "2025-03-12T09:00:00Z", packages)
    # loss also at run level: compare_runs only sees train's 0.31, a lookup without a stage the run's 0.3.
    w.metric(run, "loss", 0.3, "2025-03-12T11:00:00Z", scope="run")


def build_latency(w: FixtureWriter) -> None:
    """Lower-is-better metrics against a deployed baseline, including a baseline value of 0."""
    w.project("svc", "2025-01-01T00:00:00Z")
    runs = {
        "baseline": ("2025-05-01", 0.3, 0.9, 40.0, 0),
        "faster": ("2025-05-02", 0.27, 0.9, 30.0, 0),
        "slower": ("2025-05-03", 0.36, 0.91, 52.0, 3),
        "mixed": ("2025-05-04", 0.3, 0.85, 38.0, 0),
    }
    for name, (day, val_loss, accuracy, latency, errors) in runs.items():
        run = two_stage_run(
            w,
            "svc",
            name,
            day,
            {"val-loss": val_loss},
            {"accuracy": accuracy, "latency-p95-ms": latency, "error-count": errors},
        )
        if name == "baseline":
            w.deployment("svc", "prod", "2025-05-01T12:00:00Z", "2025-05-01T12:10:00Z", run_ref=run)


def build_deployments(w: FixtureWriter) -> None:
    """Deployments for baseline selection in ``ranker``; ``other`` has the newest completed one.

    For ranker the latest completed deployment with a run is ``prod-mar`` (r3), if deployments
    of the candidate itself (``shadow-cand-b``) are skipped. Newer ones that must not win:
    ``hotfix-no-run`` (no run_ref), ``prod-apr-failed``, ``prod-apr-cancelled``,
    ``rollout-open`` and ``other-prod`` of project ``other``. Rows are written out of
    chronological order on purpose.
    """
    w.project("ranker", "2025-01-01T00:00:00Z")
    w.project("other", "2025-01-01T00:00:00Z")
    runs = {}
    for name, day, accuracy in [
        ("r3", "2025-03-10", 0.84),
        ("r1", "2025-01-10", 0.8),
        ("r2", "2025-02-10", 0.82),
        ("cand-a", "2025-04-01", 0.85),
        ("cand-b", "2025-04-05", 0.86),
    ]:
        runs[name] = two_stage_run(w, "ranker", name, day, {"loss": round(1 - accuracy, 2)}, {"accuracy": accuracy})
    for name, start, end, status, run, order in [
        ("prod-mar", "2025-03-15T12:00:00Z", "2025-03-15T12:10:00Z", "completed", "r3", 2),
        ("prod-jan", "2025-01-15T12:00:00Z", "2025-01-15T12:10:00Z", "completed", "r1", 0),
        ("prod-feb", "2025-02-15T12:00:00Z", "2025-02-15T12:10:00Z", "completed", "r2", 1),
        ("hotfix-no-run", "2025-03-20T12:00:00Z", "2025-03-20T12:05:00Z", "completed", None, None),
        ("prod-apr-failed", "2025-04-02T12:00:00Z", "2025-04-02T12:30:00Z", "failed", "cand-a", 3),
        ("prod-apr-cancelled", "2025-04-03T12:00:00Z", "2025-04-03T12:01:00Z", "cancelled", "r2", 4),
        ("shadow-cand-b", "2025-04-06T12:00:00Z", "2025-04-06T12:10:00Z", "completed", "cand-b", 5),
        ("rollout-open", "2025-04-07T12:00:00Z", None, "open", "r3", None),
    ]:
        w.deployment("ranker", name, start, end, status=status, run_ref=None if run is None else runs[run], order=order)
    run = two_stage_run(w, "other", "o1", "2025-05-01", {"loss": 0.2}, {"accuracy": 0.8})
    w.deployment("other", "other-prod", "2025-05-02T12:00:00Z", "2025-05-02T12:10:00Z", run_ref=run, order=0)


def _recreate_manifest(w: FixtureWriter) -> None:
    """Delete records/manifest.json: Contexta's next append re-creates it with next_sequence 1."""
    (w.root / "records" / "manifest.json").unlink()


def build_restarted(w: FixtureWriter, *, rebuild: bool = False) -> None:
    """Sequences restarted by a re-created manifest (issue 9), written by Contexta itself.

    ``baseline`` is deployed. ``reused`` logs evaluate ``accuracy`` 0.91 (sequence 11); then the manifest is
    deleted and Contexta re-creates it, so the run's later, worse ``accuracy`` 0.5 reuses sequence 1, and a
    new ``other`` run's lines reuse 2-3. With ``rebuild``, Contexta's ``rebuild_indexes()`` runs at the end.
    """
    w.project("seq", "2025-01-01T00:00:00Z")
    run = two_stage_run(w, "seq", "baseline", "2025-05-01", {"val-loss": 0.3}, {"accuracy": 0.9})
    w.deployment("seq", "prod", "2025-05-01T12:00:00Z", "2025-05-01T12:10:00Z", run_ref=run)
    reused = two_stage_run(w, "seq", "reused", "2025-05-02", {"val-loss": 0.28}, {"accuracy": 0.91})
    _recreate_manifest(w)
    w.metric(reused, "accuracy", 0.5, "2025-05-02T11:00:00Z", stage="evaluate")
    two_stage_run(w, "seq", "other", "2025-05-03", {"val-loss": 0.29}, {"accuracy": 0.92})
    if rebuild:
        w.records.rebuild_indexes()


def build_unindexed(w: FixtureWriter) -> None:
    """A degraded(error) record written with indexes disabled, then one normal append (issue 9).

    ``baseline`` is deployed; ``quiet`` has good metrics, then a DegradedRecord of severity error that
    only its segment holds (``RecordStoreConfig(enable_indexes=False)``), then an event indexed as usual.
    """
    w.project("quiet", "2025-01-01T00:00:00Z")
    run = two_stage_run(w, "quiet", "baseline", "2025-05-01", {"val-loss": 0.3}, {"accuracy": 0.9})
    w.deployment("quiet", "prod", "2025-05-01T12:00:00Z", "2025-05-01T12:10:00Z", run_ref=run)
    quiet = two_stage_run(w, "quiet", "quiet", "2025-05-02", {"val-loss": 0.28}, {"accuracy": 0.91})
    indexed = w.records
    w.records = RecordStore(StoreConfig(root_path=w.root / "records", enable_indexes=False))
    w.degraded(
        quiet,
        "eval.labels_missing",
        "half of the evaluation labels are missing",
        "2025-05-02T11:00:00Z",
        category="capture",
        severity="error",
        stage="evaluate",
    )
    w.records = indexed
    w.event(quiet, "training.finished", "done", "2025-05-02T11:00:00Z")


def build_steps(w: FixtureWriter) -> None:
    """Per-step and per-seed metrics, as training loops log them (issue 15: lines held compact).

    ``baseline`` is deployed. ``candidate`` logs, per step of 120, ``train-loss`` (tags ``step``; values from
    2.5 down to ~1e-05, so some are written with exponents), ``lr`` (unit ``1/step``), ``tokens-seen`` (integers
    around 2**40), and every 10th step a ``grad-norm`` marked ``partial_failure``; an event midway; then in
    evaluate ``accuracy`` per seed (5), ``latency-p95-ms`` and ``recall`` per slice, some at fractional seconds.
    """
    w.project("steps", "2025-01-01T00:00:00Z")
    baseline = two_stage_run(
        w, "steps", "baseline", "2025-05-01", {"train-loss": 0.3}, {"accuracy": 0.9, "latency-p95-ms": 120.0}
    )
    w.deployment("steps", "prod", "2025-05-01T12:00:00Z", "2025-05-01T12:10:00Z", run_ref=baseline)
    run = w.run("steps", "candidate", "2025-05-02T09:00:00Z", "2025-05-02T11:00:00Z")
    w.stage(run, "train", 0, "2025-05-02T09:00:00Z", "2025-05-02T10:00:00Z")
    w.stage(run, "evaluate", 1, "2025-05-02T10:00:00Z", "2025-05-02T11:00:00Z")
    for step in range(120):
        at = f"2025-05-02T09:{step // 2:02d}:{(step % 2) * 30:02d}Z"
        tags = {"step": str(step)}
        w.metric(run, "train-loss", round(2.5 * 0.9**step, 8), at, stage="train", scope="step", tags=tags)
        w.metric(run, "lr", 0.001 * (1 - step / 120), at, stage="train", scope="step", unit="1/step", tags=tags)
        w.metric(run, "tokens-seen", 2**40 + step * 4096, at, stage="train", scope="step", tags=tags)
        if step % 10 == 0:
            w.metric(
                run,
                "grad-norm",
                1.0 + step / 100,
                at,
                stage="train",
                scope="step",
                tags=tags,
                degradation="partial_failure",
            )
        if step == 60:
            w.event(run, "training.checkpoint", "checkpoint written", at, stage="train")
    for seed in range(5):
        w.metric(
            run,
            "accuracy",
            0.9 + seed / 1000,
            f"2025-05-02T10:59:0{seed}.5Z",
            stage="evaluate",
            tags={"seed": str(seed)},
        )
    w.metric(run, "latency-p95-ms", 110.0, "2025-05-02T11:00:00Z", stage="evaluate", unit="ms")
    for part in ("a", "b", "c"):
        w.metric(run, "recall", 0.8, "2025-05-02T11:00:00Z", stage="evaluate", slice_ref=f"segment.{part}")


def build_empty(w: FixtureWriter) -> None:
    """A project without runs."""
    w.project("empty-project", "2025-01-01T00:00:00Z")


@dataclasses.dataclass(frozen=True)
class WorkspaceSpec:
    """One generated workspace and the extra questions its reference answers."""

    name: str
    project: str  # project_name of the Contexta config (does not filter anything)
    build: Callable[[FixtureWriter], None]
    bare_names: tuple[str, ...]
    extra_comparisons: tuple[tuple[str, str], ...] = ()
    #: False for workspaces only the reader's own tests use: no references/<name>.json, no conformance run.
    reference: bool = True


WORKSPACES = (
    WorkspaceSpec(
        "conformance",
        "shop-ranker",
        build_conformance,
        bare_names=("baseline", "candidate", " candidate ", "retrain", "shop-ranker.candidate", "nope"),
        extra_comparisons=(
            ("run:shop-ranker.baseline", "run:shop-ranker.candidate"),
            ("run:shop-ranker.baseline", "run:shop-ranker.train-only"),
            ("run:shop-ranker.baseline", "run:shop-ranker.no-stages"),
            ("run:shop-ranker.baseline", "run:fraud-model.baseline"),
            ("run:shop-ranker.baseline", "run:shop-ranker.baseline"),
            ("run:shop-ranker.baseline", "run:shop-ranker.missing"),
        ),
    ),
    WorkspaceSpec(
        "latency",
        "svc",
        build_latency,
        bare_names=("baseline", "faster"),
        extra_comparisons=tuple(("run:svc.baseline", f"run:svc.{name}") for name in ("slower", "mixed")),
    ),
    WorkspaceSpec(
        "deployments",
        "ranker",
        build_deployments,
        bare_names=("cand-a", "o1"),
        extra_comparisons=(("run:ranker.r3", "run:ranker.cand-a"), ("run:ranker.r3", "run:ranker.cand-b")),
    ),
    WorkspaceSpec("empty", "empty-project", build_empty, bare_names=("baseline",)),
    WorkspaceSpec("restarted", "seq", build_restarted, bare_names=(), reference=False),
    WorkspaceSpec(
        "restarted-rebuilt", "seq", functools.partial(build_restarted, rebuild=True), bare_names=(), reference=False
    ),
    WorkspaceSpec("unindexed", "quiet", build_unindexed, bare_names=(), reference=False),
    WorkspaceSpec("steps", "steps", build_steps, bare_names=(), reference=False),
)


def write_workspace(spec: WorkspaceSpec, root: Path) -> None:
    """Write workspace ``spec`` into the (absent) directory ``root``."""
    writer = FixtureWriter(root, project_name=spec.project, producer_ref=PRODUCER)
    try:
        spec.build(writer)
    finally:
        writer.close()


# -- Contexta's answers -------------------------------------------------------------------


def plain(value: Any) -> Any:
    """Turn Contexta result objects (slotted dataclasses, MappingProxyType, tuples) into JSON data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def answer(convert: Callable[[Any], Any], call: Callable[..., Any], *args: str) -> Any:
    """``convert(call(*args))``, or the error Contexta raised instead."""
    try:
        result = call(*args)
    except Exception as exc:  # every Contexta failure is an answer worth recording
        return {"error": {"type": type(exc).__name__, "code": getattr(exc, "code", None), "message": str(exc)}}
    return convert(result)


def note_summaries(notes: Any) -> list[str]:
    """The summaries of a tuple of CompletenessNote."""
    return [note.summary for note in notes]


def snapshot_json(snapshot: Any) -> dict[str, Any]:
    """The parts of a RunSnapshot a reader must reproduce."""
    return {
        "run": plain(snapshot.run),
        "stages": plain(snapshot.stages),
        "deployments": plain(snapshot.deployments),
        "batches": plain(snapshot.batches),
        "records": plain(snapshot.records),
        "completeness_notes": list(snapshot.completeness_notes),
    }


def diagnostics_json(result: Any) -> dict[str, Any]:
    """Issues and completeness notes of a DiagnosticsResult."""
    return {
        "issues": [
            {
                "severity": issue.severity,
                "code": issue.code,
                "summary": issue.summary,
                "details": plain(issue.details),
                "subject_ref": issue.subject_ref,
            }
            for issue in result.issues
        ],
        "completeness_notes": [
            {"severity": note.severity, "summary": note.summary, "details": plain(note.details)}
            for note in result.completeness_notes
        ],
    }


def comparison_json(result: Any) -> dict[str, Any]:
    """Stage comparisons and metric deltas of a RunComparison."""
    return {
        "summary": result.summary,
        "completeness_notes": note_summaries(result.completeness_notes),
        "stage_comparisons": [
            {
                "stage_name": stage.stage_name,
                "left_stage_id": stage.left_stage_id,
                "right_stage_id": stage.right_stage_id,
                "left_status": stage.left_status,
                "right_status": stage.right_status,
                "completeness_notes": note_summaries(stage.completeness_notes),
                "metric_deltas": [
                    {
                        "metric_key": delta.metric_key,
                        "left_value": delta.left_value,
                        "right_value": delta.right_value,
                        "delta": delta.delta,
                        "change_ratio": delta.change_ratio,
                    }
                    for delta in stage.metric_deltas
                ],
            }
            for stage in result.stage_comparisons
        ],
    }


def contexta_answers(spec: WorkspaceSpec, root: Path) -> dict[str, Any]:
    """Ask Contexta about workspace ``root`` (which it may modify: pass a copy)."""
    ctx = Contexta(
        config=UnifiedConfig(
            project_name=spec.project,
            workspace=WorkspaceConfig(root_path=root),
            interpretation=InterpretationConfig(comparison=COMPARISON_POLICY),
        )
    )
    try:
        runs = ctx.list_runs()
        by_project: dict[str, list[str]] = {}
        for run in runs:
            by_project.setdefault(run.project_name, []).append(run.run_id)

        per_run = {}
        for run in runs:
            siblings = by_project[run.project_name]
            entry = {
                "snapshot": answer(snapshot_json, ctx.get_run_snapshot, run.run_id),
                "diagnose": answer(diagnostics_json, ctx.diagnose_run, run.run_id),
            }
            if len(siblings) > 1:
                position = siblings.index(run.run_id)
                left = siblings[position - 1] if position else siblings[1]
                entry["compare"] = {
                    "left": left,
                    "result": answer(comparison_json, ctx.compare_runs, left, run.run_id),
                }
            per_run[run.run_id] = entry

        return {
            "generator": {
                "contexta_version": CONTEXTA_VERSION,
                "comparison_policy": plain(COMPARISON_POLICY),
            },
            "projects": list(ctx.list_projects()),
            "list_runs": [run.run_id for run in runs],
            "list_deployments": [deployment.deployment_id for deployment in ctx.list_deployments()],
            "bare_names": {
                name: answer(lambda snapshot: {"run_id": snapshot.run.run_id}, ctx.get_run_snapshot, name)
                for name in spec.bare_names
            },
            "runs": per_run,
            "extra_comparisons": [
                {"left": left, "right": right, "result": answer(comparison_json, ctx.compare_runs, left, right)}
                for left, right in spec.extra_comparisons
            ],
        }
    finally:
        ctx.metadata_store.close()


def dump_json(data: Any) -> str:
    """The committed JSON form: sorted keys, indent 1, trailing newline."""
    return json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def generate(workspaces_dir: Path, references_dir: Path, scratch: Path) -> None:
    """Write every workspace under ``workspaces_dir`` and its reference JSON under ``references_dir``."""
    references_dir.mkdir(parents=True, exist_ok=True)
    for spec in WORKSPACES:
        root = workspaces_dir / spec.name
        if root.exists():
            shutil.rmtree(root)
        write_workspace(spec, root)
        if not spec.reference:
            continue
        copy = scratch / spec.name
        shutil.copytree(root, copy)
        (references_dir / f"{spec.name}.json").write_text(dump_json(contexta_answers(spec, copy)), encoding="utf-8")


# -- --check --------------------------------------------------------------------------------


def ledger_text(db: Path) -> str:
    """Every ledger table as sorted JSON rows, one per line, without the write-time columns."""
    connection = duckdb.connect(str(db), read_only=True)
    try:
        tables = connection.execute("SELECT table_name FROM information_schema.tables ORDER BY table_name").fetchall()
        lines = []
        for (table,) in tables:
            columns = [
                name
                for (name,) in connection.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
                    [table],
                ).fetchall()
                if name not in VOLATILE_LEDGER_COLUMNS
            ]
            select = ", ".join(f'"{column}"' for column in columns)
            lines.append(f"{table} {json.dumps(columns)}")
            rows = connection.execute(f'SELECT {select} FROM "{table}" ORDER BY ALL').fetchall()
            lines += [f"{table} {json.dumps(list(row))}" for row in rows]
        return "\n".join(lines)
    finally:
        connection.close()


def workspace_content(root: Path) -> dict[str, str]:
    """What each file of a workspace means, as text: ledger rows, segment records minus ``appended_at``."""
    content = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if relative == "metadata/ledger.db":
            content[relative] = ledger_text(path)
        elif relative.startswith("records/segments/"):
            records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
            content[relative] = "\n".join(
                json.dumps({key: value for key, value in record.items() if key != "appended_at"}, sort_keys=True)
                for record in records
            )
        else:
            content[relative] = path.read_text(encoding="utf-8")
    return content


def text_diff(expected: str, actual: str, label: str, limit: int = 40) -> list[str]:
    """The first ``limit`` lines of a unified diff, committed (-) against regenerated (+)."""
    lines = list(
        difflib.unified_diff(
            expected.splitlines(), actual.splitlines(), f"committed/{label}", f"regenerated/{label}", lineterm="", n=1
        )
    )
    return lines[:limit] + ([f"... {len(lines) - limit} more diff lines"] if len(lines) > limit else [])


def check(out: Path, scratch: Path) -> list[str]:
    """Regenerate into ``out`` and describe every difference from the committed tree."""
    problems: list[str] = []
    generate(out, out / "references", scratch / "read")
    for spec in WORKSPACES:
        name = f"{spec.name}.json"
        committed = REFERENCES / name
        if spec.reference:
            fresh = (out / "references" / name).read_text(encoding="utf-8")
            if not committed.exists():
                problems.append(f"references/{name}: missing")
            elif committed.read_text(encoding="utf-8") != fresh:
                problems += text_diff(committed.read_text(encoding="utf-8"), fresh, name)

        if not (HERE / spec.name).is_dir():
            problems.append(f"{spec.name}/: missing")
            continue
        expected, actual = workspace_content(HERE / spec.name), workspace_content(out / spec.name)
        for relative in sorted(set(expected) | set(actual)):
            label = f"{spec.name}/{relative}"
            if relative not in actual:
                problems.append(f"{label}: not produced any more")
            elif relative not in expected:
                problems.append(f"{label}: missing from the committed tree")
            elif expected[relative] != actual[relative]:
                problems += text_diff(expected[relative], actual[relative], label)
    return problems


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="regenerate in a temporary directory and exit 1 if the committed files differ",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="write the workspaces and references/ into DIR (empty or absent) instead of tests/workspaces; "
        "with --check, keep the regenerated tree there",
    )
    args = parser.parse_args(argv)
    if args.out is not None and args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())):
        parser.error(f"--out {args.out} must be an empty or absent folder (it is not, and would be overwritten)")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="contexta-workspaces-") as scratch:
        if not args.check:
            out = args.out or HERE
            generate(out, out / "references", Path(scratch))
            print(f"Wrote {len(WORKSPACES)} workspaces and references to {out} in {time.monotonic() - started:.1f} s")
            return 0
        problems = check(args.out or Path(scratch) / "generated", Path(scratch))
    if problems:
        print("\n".join(problems))
        print(
            f"\nFAILED: the committed workspaces or references differ from a fresh generation "
            f"(run {Path(__file__).name} without --check to rewrite them)"
        )
        return 1
    print(f"OK: {len(WORKSPACES)} workspaces and references match ({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
