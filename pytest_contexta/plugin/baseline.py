"""Choosing each candidate's baseline: ``--contexta-baseline``, a team's hook, or the built-in rule."""

from __future__ import annotations

import pytest

from ..errors import GateError, RunLookupError
from ..reading.refs import parse_run_ref
from ..reading.times import parse_time
from ..runs.models import BaselineChoice, ContextaRun
from ..runs.workspace import Workspace
from ..text import first_line
from .hookspecs import GateHookError
from .options import BASELINE_LATEST, BASELINE_NONE, Settings
from .session_runs import Latest, SessionRuns


def fixed_choice(settings: Settings, workspace: Workspace, candidates: list[str]) -> BaselineChoice | None:
    """The choice ``--contexta-baseline`` makes for every candidate (a run, or none); None for the default rule.

    Checked at start-up: an unknown run, or a candidate that would be its own baseline, is a usage error.
    """
    source = settings.sources["baseline"].source
    if settings.baseline == BASELINE_LATEST:
        return None
    if settings.baseline == BASELINE_NONE:
        return BaselineChoice(
            run_ref=None, source="none", reason=f"first deployment declared (--contexta-baseline=none, from {source})"
        )
    choice = BaselineChoice(
        run_ref=workspace.resolve_run(settings.baseline).text,
        source="option",
        reason=f"given by --contexta-baseline (from {source})",
    )
    if choice.run_ref in candidates:
        raise GateError(
            f"candidate {choice.run_ref} is also its own baseline ({choice.reason}): "
            f"choose another run with --contexta-baseline"
        )
    return choice


class BaselineChooser:
    """Asks the team's ``pytest_contexta_select_baseline`` hooks, then falls back to the built-in rule.

    Its lookups (deployments once per project, each run resolved once) are the session's, kept by ``runs``.
    """

    def __init__(self, config: pytest.Config, runs: SessionRuns) -> None:
        self._config = config
        self._runs = runs

    def look_up(self, candidates: list[str]) -> None:
        """Look the deployments up at start-up (ledger rows only): a damaged table stops the gate before any
        check, and xdist workers get the answers instead of asking the ledger again."""
        for ref in candidates:
            self._latest_completed(parse_run_ref(ref).project, ref)

    def likely(self, candidate: str) -> str | None:
        """The baseline run the built-in rule would most likely choose for ``candidate`` (no hook asked): worth reading
        together with the candidate."""
        deployment = self._latest_completed(parse_run_ref(candidate).project, candidate)[0]
        return None if deployment is None else deployment.run_ref

    def choose(self, candidate: ContextaRun) -> BaselineChoice:
        try:
            answer = self._config.hook.pytest_contexta_select_baseline(
                config=self._config, candidate=candidate, workspace=self._runs
            )
        except GateError:
            raise
        except Exception as exc:
            raise GateHookError(
                f"a pytest_contexta_select_baseline hook raised {type(exc).__name__} for "
                f"{candidate.ref}: {first_line(str(exc))}"
            ) from exc
        choice = self._hook_choice(answer, candidate.ref) if answer is not None else self.latest_deployment(candidate)
        if choice.run_ref == candidate.ref:
            raise GateError(
                f"candidate {candidate.ref} is also its own baseline ({choice.reason}): "
                f"choose another run with --contexta-baseline"
            )
        return choice

    def _hook_choice(self, answer: object, candidate: str) -> BaselineChoice:
        if isinstance(answer, BaselineChoice) and answer.run_ref is None:
            return answer
        text = answer if isinstance(answer, str) else answer.run_ref if isinstance(answer, BaselineChoice) else None
        if text is None:
            raise GateHookError(
                f"pytest_contexta_select_baseline returned {answer!r} for {candidate}: return a "
                f"BaselineChoice, a run ref, or None to leave the choice to the default rule"
            )
        try:
            ref = self._runs.resolve_run(text).text
        except RunLookupError as exc:
            raise GateHookError(
                f"pytest_contexta_select_baseline chose {answer!r} as the baseline of {candidate}, "
                f"which cannot be used: {exc}"
            ) from exc
        if isinstance(answer, BaselineChoice):
            return answer.model_copy(update={"run_ref": ref})
        return BaselineChoice(run_ref=ref, reason="chosen by a pytest_contexta_select_baseline hook", source="hook")

    def latest_deployment(self, candidate: ContextaRun) -> BaselineChoice:
        """The built-in rule: the run behind the project's latest completed deployment of another run.

        A deployment whose run is not in the workspace (deleted) is passed over with a note.
        """
        deployment, passed_over = self._latest_completed(candidate.project, candidate.ref)
        if deployment is not None and self._runs.known_ref(deployment.run_ref) is None:
            deployment, passed_over = self._latest_known(candidate.project, candidate.ref)
        skipped = f"; passed over newer {', '.join(passed_over)}" if passed_over else ""
        if deployment is None:
            return BaselineChoice(
                run_ref=None,
                source="latest-deployment",
                reason=f"project {candidate.project} has no completed deployment of another run{skipped}. "
                f"Choose one with --contexta-baseline=RUN, or --contexta-baseline=none for a "
                f"first deployment",
            )
        return BaselineChoice(
            run_ref=self._runs.known_ref(deployment.run_ref),
            source="latest-deployment",
            reason=f"deployed as {deployment.name} ({deployment.started_at}), the latest completed "
            f"deployment of {candidate.project}{skipped}",
        )

    def _latest_completed(self, project: str, candidate: str) -> Latest:
        """The newest completed deployment, looked up once per project; again only for a candidate that is it."""
        latest = self._runs.latest_completed_deployment(project, exclude_run="")
        if latest[0] is not None and latest[0].run_ref == candidate:
            return self._runs.latest_completed_deployment(project, exclude_run=candidate)
        return latest

    def _latest_known(self, project: str, candidate: str) -> Latest:
        """The slow path, taken only when a deployment's run is gone: walk every deployment, newest first."""
        passed_over: list[str] = []
        for deployment in sorted(
            self._runs.list_deployments(project),
            reverse=True,
            key=lambda d: (parse_time(d.started_at), d.order_index or 0, d.ref),
        ):
            problem = ("" if deployment.status == "completed" else deployment.status) or (
                "records no run"
                if deployment.run_ref is None
                else "deployed the candidate itself"
                if deployment.run_ref == candidate
                else f"its run {deployment.run_ref} is not in the workspace"
                if self._runs.known_ref(deployment.run_ref) is None
                else ""
            )
            if not problem:
                return deployment, passed_over
            passed_over.append(f"{deployment.name} ({problem})")
        return None, passed_over
