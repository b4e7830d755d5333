"""--fixtures and --fixtures-per-test run nothing, like --collect-only: they decide nothing (found by a hostile
review: they printed 'GATE FAILED … never ran', exited 0, and overwrote the last real run's report)."""

from __future__ import annotations

import pytest

from conftest import WORKSPACES

pytestmark = pytest.mark.slow

LATENCY = WORKSPACES / "latency"


@pytest.mark.parametrize("option", ["--fixtures", "--fixtures-per-test", "--collect-only"])
def test_options_that_only_show_decide_nothing(pytester: pytest.Pytester, option: str) -> None:
    pytester.makepyfile(test_gate="def test_a(contexta_run):\n    pass\n")
    report = pytester.path / "gate.json"
    report.write_text('{"kept": true}', encoding="utf-8")
    result = pytester.runpytest(
        f"--contexta-workspace={LATENCY}", "--contexta-candidate=run:svc.faster", f"--contexta-report={report}", option
    )
    assert result.ret == pytest.ExitCode.OK
    assert "GATE" not in result.stdout.str()
    assert report.read_text(encoding="utf-8") == '{"kept": true}'
