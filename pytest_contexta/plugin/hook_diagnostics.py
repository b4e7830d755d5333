"""The team's ``pytest_contexta_diagnostics`` hooks: their diagnostics added to a run, their answers checked."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from pydantic import ValidationError

from ..frozen import first_problem
from ..runs.models import ContextaRun, Diagnostic
from ..text import first_line
from .hookspecs import GateHookError


def with_hook_diagnostics(config: pytest.Config, run: ContextaRun) -> ContextaRun:
    """``run`` with the diagnostics the hooks return for it; raises :class:`GateHookError` when a hook raises or
    answers what is not a list of diagnostics."""
    try:
        answers = config.hook.pytest_contexta_diagnostics(run=run)
    except Exception as exc:
        raise GateHookError(
            f"a pytest_contexta_diagnostics hook raised {type(exc).__name__} for {run.ref}: {first_line(str(exc))}"
        ) from exc
    extra: list[Diagnostic] = []
    for answer in answers:
        if isinstance(answer, (Diagnostic, dict)):
            answer = [answer]
        if isinstance(answer, str) or not isinstance(answer, (Iterable, type(None))):
            raise GateHookError(
                f"pytest_contexta_diagnostics returned {answer!r} for {run.ref}: return a list "
                f"of Diagnostic objects, or None when there is nothing to add"
            )
        for item in answer or ():
            try:
                extra.append(item if isinstance(item, Diagnostic) else Diagnostic.model_validate(item))
            except ValidationError as exc:
                raise GateHookError(
                    f"pytest_contexta_diagnostics returned {item!r} for {run.ref}, which is not "
                    f"a Diagnostic: {first_problem(exc)}"
                ) from exc
    return run.model_copy(update={"diagnostics": run.diagnostics + tuple(extra)})
