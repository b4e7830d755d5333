"""The benchmark workspace, described as plain data: what run ``i`` of an ``n``-run workspace holds.

Both writers (real Contexta in ``build_workspace.py``, and the bulk generator used for the largest
size) and the timing script read this module, so every workspace of a given size has the same
content however it was written. Standard library only: it is imported by Python 3.11 and 3.13.

Per run: stages ``train`` and ``evaluate`` (both completed) and 20 metric records, 10 per stage,
all observed at the stage's end. Quality drifts up very slowly and latency stays flat, so every
late run passes a 2 % regression check against any recent deployment, for the case study's gate
and the plugin's alike. A few deployments spread over the workspace; the newest one failed, so
the baseline ("latest completed deployment") is the run deployed as ``prod-5``.

Two more layouts build on the same runs (see ``steps_runs`` and ``history_deployments``): a training
run that logs ``train-loss`` at every step, and a project with thousands of older deployments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

#: Bump when the content below changes: cached workspaces with another version are rebuilt.
SCENARIO_VERSION = "1"
PROJECT = "bench"
PRODUCER = "bench.generator"
PROJECT_CREATED_AT = "2024-12-01T00:00:00Z"
REQUIRED_METRICS = ("accuracy", "auc", "f1", "latency-p95-ms")
EVALUATION_STAGE = "evaluate"
REGRESSION_THRESHOLD = 0.02
TRAIN_KEYS = (
    "loss",
    "accuracy",
    "grad-norm",
    "learning-rate",
    "epoch-time-s",
    "train.metric-05",
    "train.metric-06",
    "train.metric-07",
    "train.metric-08",
    "train.metric-09",
)
EVALUATE_KEYS = REQUIRED_METRICS + (
    "precision",
    "recall",
    "log-loss",
    "evaluate.metric-07",
    "evaluate.metric-08",
    "evaluate.metric-09",
)
#: (name, position of the deployed run as a fraction of the workspace, status)
DEPLOYMENTS = (
    ("prod-1", 0.2, "completed"),
    ("prod-2", 0.4, "completed"),
    ("prod-3", 0.6, "completed"),
    ("prod-4", 0.8, "completed"),
    ("prod-5", 0.9, "completed"),
    ("prod-6-canary", 0.95, "failed"),
)
STEP_METRIC = "train-loss"
#: The per-step workspace: run 0 is the deployed baseline, run 1 the candidate with N per-step records,
#: run 2 a candidate with a few per-step records whose evaluation regressed by 5 % (the gate must fail it).
STEPS_BASELINE, STEPS_CANDIDATE, STEPS_REGRESSED = 0, 1, 2
STEPS_OF_REGRESSED = 50
REGRESSED_QUALITY = 0.95
_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
_RUN_SPACING = timedelta(minutes=10)


def iso(moment: datetime) -> str:
    """Contexta's timestamp text: whole seconds, UTC, ``Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def run_name(index: int) -> str:
    return f"run-{index:05d}"


def run_ref(index: int) -> str:
    return f"run:{PROJECT}.{run_name(index)}"


@dataclass(frozen=True)
class MetricSpec:
    key: str
    value: float
    scope: str
    observed_at: str
    tags: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class StageSpec:
    name: str
    order: int
    started_at: str
    ended_at: str
    metrics: tuple[MetricSpec, ...]


@dataclass(frozen=True)
class RunSpec:
    index: int
    name: str
    ref: str
    started_at: str
    ended_at: str
    stages: tuple[StageSpec, ...]


@dataclass(frozen=True)
class DeploymentSpec:
    name: str
    run_index: int
    order: int
    status: str
    started_at: str
    ended_at: str


def _jitter(index: int, salt: int) -> float:
    """A deterministic number in [-1, 1) that looks random across runs."""
    return ((index * 7919 + salt * 104729) % 2003) / 1001.5 - 1.0


def _metric_value(key: str, index: int, salt: int) -> float:
    trend = index / 20_000
    if key == "latency-p95-ms":
        return round(40.0 + 0.1 * _jitter(index, salt), 4)
    if key in ("loss", "log-loss"):
        return round(0.35 - 0.01 * trend + 0.002 * _jitter(index, salt), 6)
    return round(0.80 + 0.01 * trend + 0.002 * _jitter(index, salt), 6)


def _step_metrics(index: int, start: datetime, steps: int) -> list[MetricSpec]:
    """``steps`` step-scoped ``train-loss`` records spread over the 3-minute train stage, the loss decaying."""
    return [
        MetricSpec(
            STEP_METRIC,
            round(0.05 + 2.5 * 0.5 ** (8 * step / steps) + 0.01 * _jitter(index + step, 7), 6),
            "step",
            iso(start + timedelta(seconds=step * 180 // steps)),
            (("step", str(step)),),
        )
        for step in range(steps)
    ]


def _quality(key: str, value: float, quality: float) -> float:
    if quality == 1.0 or key in ("latency-p95-ms", "loss", "log-loss"):
        return value
    return round(value * quality, 6)


def run_spec(index: int, steps: int = 0, quality: float = 1.0) -> RunSpec:
    """Run ``index``: ``steps`` per-step records first in its train stage; evaluation quality scaled by ``quality``."""
    start = _EPOCH + index * _RUN_SPACING
    train_end = start + timedelta(minutes=3)
    end = start + timedelta(minutes=5)
    train = StageSpec(
        "train",
        0,
        iso(start),
        iso(train_end),
        tuple(
            _step_metrics(index, start, steps)
            + [
                MetricSpec(key, _metric_value(key, index, salt), "stage", iso(train_end))
                for salt, key in enumerate(TRAIN_KEYS)
            ]
        ),
    )
    evaluate = StageSpec(
        "evaluate",
        1,
        iso(train_end),
        iso(end),
        tuple(
            MetricSpec(key, _quality(key, _metric_value(key, index, 10 + salt), quality), "stage", iso(end))
            for salt, key in enumerate(EVALUATE_KEYS)
        ),
    )
    return RunSpec(index, run_name(index), run_ref(index), iso(start), iso(end), (train, evaluate))


def steps_runs(steps: int) -> list[RunSpec]:
    """The per-step workspace's runs, in write order (baseline, candidate, regressed candidate)."""
    return [
        run_spec(STEPS_BASELINE),
        run_spec(STEPS_CANDIDATE, steps),
        run_spec(STEPS_REGRESSED, STEPS_OF_REGRESSED, REGRESSED_QUALITY),
    ]


def steps_deployments() -> list[DeploymentSpec]:
    start = _EPOCH + STEPS_BASELINE * _RUN_SPACING + timedelta(minutes=30)
    return [DeploymentSpec("prod-1", STEPS_BASELINE, 0, "completed", iso(start), iso(start + timedelta(minutes=10)))]


def history_deployments(size: int, count: int) -> list[DeploymentSpec]:
    """``count`` completed deployments of the ``size``-run workspace's early runs, all older than ``prod-1``.

    They make the project's deployment list long without changing the baseline (still ``prod-5``).
    """
    first = deployment_specs(size)[0].run_index
    specs = []
    for number in range(count):
        index = number % first
        start = _EPOCH + index * _RUN_SPACING + timedelta(minutes=30, seconds=number // first)
        specs.append(
            DeploymentSpec(
                f"history-{number:05d}",
                index,
                len(DEPLOYMENTS) + number,
                "completed",
                iso(start),
                iso(start + timedelta(minutes=5)),
            )
        )
    return specs


def deployment_specs(size: int) -> list[DeploymentSpec]:
    specs = []
    for order, (name, position, status) in enumerate(DEPLOYMENTS):
        index = max(int(size * position) - 1, 0)
        start = _EPOCH + index * _RUN_SPACING + timedelta(minutes=30)
        specs.append(DeploymentSpec(name, index, order, status, iso(start), iso(start + timedelta(minutes=10))))
    return specs


def candidate_indexes(size: int, count: int = 1) -> list[int]:
    """The newest ``count`` runs that were never deployed, oldest first: what a gate checks after training."""
    deployed = {spec.run_index for spec in deployment_specs(size)}
    return [index for index in range(size - 1, -1, -1) if index not in deployed][:count][::-1]


def baseline_index(size: int) -> int:
    """The run the plugin's default rule picks: the newest *completed* deployment's run."""
    completed = [spec for spec in deployment_specs(size) if spec.status == "completed"]
    return max(completed, key=lambda spec: spec.started_at).run_index


def record_ref(index: int, number: int) -> str:
    """Refs of a run's records, numbered from 1 in append order."""
    return f"record:{PROJECT}.{run_name(index)}.r{number:04d}"


def stage_ref(index: int, stage: str) -> str:
    return f"stage:{PROJECT}.{run_name(index)}.{stage}"
