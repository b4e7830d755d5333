"""Team rules for the product-ranker gate, written as pytest-contexta hooks.

pytest-contexta works without this file. It shows the hooks a team writes when the plugin's
defaults do not fit (the hooks are documented in docs/hooks.md):

* only a deployment named ``prod-*`` counts as production, so a shadow or staging
  deployment never becomes the baseline, nor part of the history noise and trends come from;
* a run trained on a dataset other than the registered one is an error, even when nothing
  else flags it (the April incident, caught without relying on the DegradedRecord).
"""

from __future__ import annotations

from datetime import datetime
from fnmatch import fnmatchcase

from pytest_contexta import BaselineChoice, Diagnostic

#: Deployments whose names match this pattern are production; other deployments never set the baseline.
PRODUCTION = "prod-*"
#: The dataset version every deployable model must be trained on (a real team would ask its registry).
REGISTERED_DATASET = "v2025-04-15"
DATASET_EVENT = "training.dataset-registered"


def _started(deployment):
    return datetime.fromisoformat(deployment.started_at.replace("Z", "+00:00"))


def _production(candidate, workspace):
    """The completed ``prod-*`` deployments of the candidate's project that deployed another run."""
    return [
        deployment
        for deployment in workspace.list_deployments(candidate.project)
        if fnmatchcase(deployment.name, PRODUCTION)
        and deployment.status == "completed"
        and deployment.run_ref not in (None, candidate.ref)
    ]


def pytest_contexta_select_baseline(config, candidate, workspace):
    """The run behind the latest completed ``prod-*`` deployment of the candidate's project."""
    production = _production(candidate, workspace)
    if not production:
        return BaselineChoice(
            run_ref=None,
            reason=f"project {candidate.project} has no completed {PRODUCTION} deployment of another run "
            f"(example_gates/conftest.py); name one with --contexta-baseline=RUN",
        )
    latest = max(production, key=_started)
    return BaselineChoice(
        run_ref=latest.run_ref,
        reason=f"deployed as {latest.name} ({latest.started_at}), the latest completed {PRODUCTION} "
        f"deployment of {candidate.project} (example_gates/conftest.py)",
    )


def pytest_contexta_select_history(config, candidate, baseline, workspace, count):
    """The runs behind the last ``count`` completed ``prod-*`` deployments, newest first: the baseline's rule."""
    production = sorted(_production(candidate, workspace), key=_started, reverse=True)
    return list(dict.fromkeys(deployment.run_ref for deployment in production))[:count]


def pytest_contexta_diagnostics(run):
    """An error for every dataset registration that names a dataset other than the registered one."""
    found = []
    for event in run.events:
        version = event.attributes.get("dataset_version")
        if event.key == DATASET_EVENT and version != REGISTERED_DATASET:
            found.append(
                Diagnostic(
                    code="dataset_not_registered",
                    severity="error",
                    subject_ref=event.ref,
                    summary=f"trained on dataset {version}, but the registered dataset is {REGISTERED_DATASET}",
                    details={"dataset_version": version, "registered_dataset_version": REGISTERED_DATASET},
                )
            )
    return found
