"""pytest's own selection options cannot shrink a gate unnoticed: left-out checks fail the gate unless a
partial rerun is asked for with --contexta-allow-partial; --collect-only decides nothing."""

from __future__ import annotations

import json

import pytest

from conftest import WORKSPACES

pytestmark = pytest.mark.slow

LATENCY = WORKSPACES / "latency"
CANDIDATE = "run:svc.faster"
#: test_b fails while FAIL_B is set: a first run fails it, the data is "fixed", a rerun selects by cache.
GATE = """
import os
from pytest_contexta import assert_metrics_present

def test_a(contexta_run):
    assert_metrics_present(contexta_run, "accuracy", stage="evaluate")

def test_b(contexta_run):
    assert not os.environ.get("FAIL_B"), "b failed"

def test_c(contexta_run, baseline_run):
    pass
"""
LEFT_OUT = "GATE FAILED for run:svc.faster: the selection left gate checks out (*--contexta-allow-partial*"


def _gate(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict]:
    result = pytester.runpytest(
        f"--contexta-workspace={LATENCY}", f"--contexta-candidate={CANDIDATE}", "--contexta-report=gate.json", *args
    )
    return result, json.loads((pytester.path / "gate.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("rerun", [["--lf"], ["--sw"]], ids=["last-failed", "stepwise"])
def test_a_rerun_of_what_failed_does_not_pass_the_gate(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, rerun: list[str]
) -> None:
    pytester.makepyfile(test_gate=GATE)

    def fail_then_rerun(*extra: str) -> tuple[pytest.RunResult, dict]:
        monkeypatch.setenv("FAIL_B", "1")
        first, _ = _gate(pytester, *rerun)
        assert first.ret in (pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.INTERRUPTED)  # --sw stops at test_b
        monkeypatch.delenv("FAIL_B")
        return _gate(pytester, *rerun, *extra)

    result, report = fail_then_rerun()
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # was 0: test_a never ran again
    result.stdout.fnmatch_lines([LEFT_OUT])
    assert report["verdict"] == "fail"
    allowed, report = fail_then_rerun("--contexta-allow-partial")
    assert allowed.ret == pytest.ExitCode.OK
    assert any(note.startswith("partial run (--contexta-allow-partial): ") for note in report["notes"])
    allowed.stdout.fnmatch_lines(["GATE PASSED for run:svc.faster", "note: partial run (--contexta-allow-partial)*"])


@pytest.mark.parametrize(
    "selection",
    [["-k", "not test_b"], ["-m", "not slow"], ["--deselect=test_gate.py::test_b"], ["--ignore=test_more.py"]],
    ids=["k", "m", "deselect", "ignore"],
)
def test_selection_options_leave_checks_out_only_when_allowed(pytester: pytest.Pytester, selection: list[str]) -> None:
    pytester.makepyfile(
        test_gate=GATE.replace("def test_b", "import pytest\n\n@pytest.mark.slow\ndef test_b"),
        test_more="def test_d(contexta_run):\n    pass\n",
    )
    pytester.makeini("[pytest]\nmarkers =\n    slow: a slow check\n")
    result, report = _gate(pytester, *selection)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([LEFT_OUT])
    assert report["candidates"][0]["verdict"] == "fail"
    allowed, report = _gate(pytester, *selection, "--contexta-allow-partial")
    assert allowed.ret == pytest.ExitCode.OK
    assert report["verdict"] == "pass" and report["notes"][-1].startswith("partial run")


def test_collect_only_exits_zero_and_leaves_the_outputs_alone(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_gate=GATE)
    previous = '{"written by": "the last real run"}'
    for name in ("gate.json", "gate.md"):
        (pytester.path / name).write_text(previous, encoding="utf-8")
    result = pytester.runpytest(
        f"--contexta-workspace={LATENCY}",
        f"--contexta-candidate={CANDIDATE}",
        "--contexta-report=gate.json",
        "--contexta-markdown=gate.md",
        "--collect-only",
    )
    assert result.ret == pytest.ExitCode.OK
    for name in ("gate.json", "gate.md"):
        assert (pytester.path / name).read_text(encoding="utf-8") == previous
    assert "GATE" not in result.stdout.str()


def test_continue_on_collection_errors_never_prints_gate_passed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_gate=GATE, test_broken="import no_such_module_for_the_gate\n")
    result, report = _gate(pytester, "--continue-on-collection-errors")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "GATE PASSED" not in result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            f"GATE FAILED for {CANDIDATE}: collection error in test_broken.py "
            f"(*no_such_module_for_the_gate*): gate checks in it were never collected*"
        ]
    )
    assert report["verdict"] == "fail"


def test_a_partial_run_that_ran_none_of_the_candidates_checks_fails_it_in_every_output(
    pytester: pytest.Pytester,
) -> None:
    """-k zzz with --contexta-allow-partial used to print GATE PASSED, exit 5 and say pass for the candidate."""
    pytester.makepyfile(test_gate=GATE)
    result, report = _gate(pytester, "--contexta-allow-partial", "-k", "zzz")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["GATE FAILED for run:svc.faster: none of its 3 gate checks ran*"])
    result.stdout.no_fnmatch_line("*GATE PASSED*")
    assert (report["verdict"], report["candidates"][0]["verdict"]) == ("fail", "fail")
