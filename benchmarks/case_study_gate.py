"""The deployment gate of Contexta's case study 05, through the real Contexta facade, for one candidate.

The gate logic (``pre_deployment_gate``) is the case study's, unchanged apart from the list of
required metrics; only the wiring around it (workspace, candidate and baseline from the command
line, a JSON answer on stdout) is ours. Runs on the Python that has ``contexta``::

    python case_study_gate.py WORKSPACE CANDIDATE_REF BASELINE_REF
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from contexta import Contexta
from contexta.config import UnifiedConfig, WorkspaceConfig

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scenario  # noqa: E402

REQUIRED_METRICS = list(scenario.REQUIRED_METRICS)


@dataclass
class GateResult:
    passed: bool
    run_id: str
    checks: list[tuple[str, bool, str]]


def pre_deployment_gate(
    ctx: Contexta, candidate_run_id: str, previous_deploy_run_id: str | None, regression_threshold: float
) -> GateResult:
    checks: list[tuple[str, bool, str]] = []
    diag = ctx.diagnose_run(candidate_run_id)
    errors = [issue for issue in diag.issues if issue.severity == "error"]
    warnings = [issue for issue in diag.issues if issue.severity == "warning"]
    if errors:
        checks.append(("diagnostics", False, f"{len(errors)} error(s): {', '.join(issue.code for issue in errors)}"))
    else:
        checks.append(("diagnostics", True, f"clean ({len(warnings)} warning(s))"))
    snapshot = ctx.get_run_snapshot(candidate_run_id)
    metric_keys = {record.key for record in snapshot.records if record.record_type == "metric"}
    missing = [metric for metric in REQUIRED_METRICS if metric not in metric_keys]
    if missing:
        checks.append(("required_metrics", False, f"missing: {missing}"))
    else:
        values = {record.key: record.value for record in snapshot.records if record.record_type == "metric"}
        summary = ", ".join(f"{key}={values[key]:.4f}" for key in REQUIRED_METRICS)
        checks.append(("required_metrics", True, summary))
    comparison = ctx.compare_runs(previous_deploy_run_id, candidate_run_id)
    regressions: list[str] = []
    for stage in comparison.stage_comparisons:
        for delta in stage.metric_deltas:
            if delta.metric_key in REQUIRED_METRICS and delta.left_value is not None and delta.right_value is not None:
                change = (delta.right_value - delta.left_value) / max(abs(delta.left_value), 1e-9)
                if change < -regression_threshold:
                    regressions.append(
                        f"{delta.metric_key}: {delta.left_value:.4f}->{delta.right_value:.4f} ({change:+.1%})"
                    )
    if regressions:
        checks.append(("regression_check", False, f"regression detected: {'; '.join(regressions)}"))
    else:
        checks.append(
            (
                "regression_check",
                True,
                f"no significant regression vs previous deploy (threshold={regression_threshold:.0%})",
            )
        )
    return GateResult(passed=all(ok for _, ok, _ in checks), run_id=candidate_run_id, checks=checks)


def main(argv: list[str]) -> int:
    workspace, candidate, baseline = argv
    ctx = Contexta(
        config=UnifiedConfig(project_name=scenario.PROJECT, workspace=WorkspaceConfig(root_path=Path(workspace)))
    )
    store = ctx.metadata_store
    try:
        result = pre_deployment_gate(ctx, candidate, baseline, regression_threshold=scenario.REGRESSION_THRESHOLD)
    finally:
        store.close()
    print(json.dumps({"passed": result.passed, "run_id": result.run_id, "checks": result.checks}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
