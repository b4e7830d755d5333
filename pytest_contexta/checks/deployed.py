"""A metric's history values with the run and the deployment each came from: the trend's points."""

from __future__ import annotations

from collections.abc import Sequence

from ..reading.rows import Deployment
from ..reading.times import parse_time
from ..runs.metrics import Selection, find_metric
from ..runs.models import ContextaRun
from .results import HistoryPoint


def _deployment(run: ContextaRun) -> Deployment | None:
    """The run's newest completed deployment (the one that made it a history run), or None."""
    completed = [d for d in run.deployments if d.status == "completed"]
    return max(completed, key=lambda d: (parse_time(d.started_at), d.order_index or 0, d.ref), default=None)


def metric_in_history(
    history: Sequence[ContextaRun], exclude: str, key: str, stage: str | None, slice: str | None, selection: Selection
) -> list[HistoryPoint]:
    """The metric's usable value in every history run but ``exclude`` (the candidate), in the history's order."""
    points = []
    for run in history:
        if run.ref == exclude:
            continue
        found = find_metric(run, key, stage, slice=slice, selection=selection)
        if found.value is not None and found.problem is None:
            deployment = _deployment(run)
            points.append(
                HistoryPoint(
                    value=found.value,
                    run_ref=run.ref,
                    deployment=deployment.name if deployment else None,
                    deployed_at=deployment.started_at if deployment else None,
                )
            )
    return points
