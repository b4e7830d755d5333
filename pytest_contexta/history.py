"""The history: the runs behind the last N completed deployments of a candidate's project.

The same rule as the built-in baseline (completed deployments that record a run other than the
candidate, newest first), read once per session. It gives a run-to-run noise estimate to metrics
that have neither replicates nor a standard error, and the history for ``assert_within_history``.
"""

from __future__ import annotations

from .errors import RunLookupError
from .models import Deployment
from .refs import parse_run_ref
from .times import parse_time
from .workspace import Workspace


def _newest_first(deployment: Deployment) -> tuple[object, ...]:
    return (parse_time(deployment.started_at), deployment.order_index or 0, deployment.ref)


def history_refs(workspace: Workspace, candidate: str, count: int) -> list[str]:
    """The refs of the runs behind the last ``count`` completed deployments of the candidate's project,
    newest first, each run once; deployments of the candidate, or of a run no longer in the workspace,
    are passed over."""
    if count <= 0:
        return []
    refs: list[str] = []
    project = parse_run_ref(candidate).project
    for deployment in sorted(workspace.list_deployments(project), key=_newest_first, reverse=True):
        if deployment.status != "completed" or deployment.run_ref is None or deployment.run_ref == candidate:
            continue
        try:
            ref = workspace.resolve_run(deployment.run_ref).text
        except RunLookupError:
            continue
        if ref not in refs and ref != candidate:
            refs.append(ref)
        if len(refs) == count:
            break
    return refs
