"""How the history is chosen (issue 12 item 3): ``pytest_contexta_select_history``, the built-in rule, and the
message that says which one decided, when a team's baseline rule differs from the built-in one.

On ``tests/workspaces/deployments`` (written by the real Contexta; see ``build_deployments`` in generate.py)
project ``ranker``'s completed deployments with a run are, newest first: ``shadow-cand-b`` (cand-b),
``prod-mar`` (r3), ``prod-feb`` (r2), ``prod-jan`` (r1). The candidate is ``cand-a``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from conftest import WORKSPACES

pytestmark = pytest.mark.slow

WORKSPACE = WORKSPACES / "deployments"
CANDIDATE = "run:ranker.cand-a"

GATE = """
    from pytest_contexta import assert_no_regression, assert_within_history

    def test_history(contexta_run, history_runs):
        print("HISTORY", [run.name for run in history_runs])
        assert_within_history(contexta_run, history_runs, "accuracy", stage="evaluate", k=100)

    def test_regression(contexta_run, baseline_run):
        assert_no_regression(contexta_run, baseline_run, "accuracy", stage="evaluate", max_drop=0.5)
"""

PROD_BASELINE = """
    def pytest_contexta_select_baseline(candidate, workspace):
        production = [d for d in workspace.list_deployments(candidate.project)
                      if d.name.startswith("prod-") and d.status == "completed" and d.run_ref]
        return max(production, key=lambda d: d.started_at).run_ref
"""

PROD_HISTORY = """
    def pytest_contexta_select_history(candidate, baseline, workspace, count):
        production = [d for d in workspace.list_deployments(candidate.project)
                      if d.name.startswith("prod-") and d.status == "completed" and d.run_ref]
        return [d.run_ref for d in sorted(production, key=lambda d: d.started_at, reverse=True)][:count]
"""


def _gate(pytester: pytest.Pytester, conftest: str, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    pytester.makepyfile(test_gate=GATE)
    pytester.makeconftest(conftest)
    result = pytester.runpytest(
        f"--contexta-workspace={WORKSPACE}",
        f"--contexta-candidate={CANDIDATE}",
        "--contexta-report=gate.json",
        "-s",
        "-p",
        "no:cacheprovider",
        *args,
    )
    report = json.loads((pytester.path / "gate.json").read_text(encoding="utf-8"))
    return result, report


def _checks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["kind"]: check for check in report["candidates"][0]["checks"]}


XDIST = pytest.mark.parametrize("plugin_args", [[], ["-n", "2"]], ids=["serial", "xdist"])


@XDIST
def test_the_built_in_rule_names_its_deployments(pytester: pytest.Pytester, plugin_args: list[str]) -> None:
    result, report = _gate(pytester, "", *plugin_args)
    assert result.ret == pytest.ExitCode.OK
    assert plugin_args or "HISTORY ['cand-b', 'r3', 'r2', 'r1']" in result.stdout.str()  # workers print nowhere
    detail = _checks(report)["history"]["detail"]
    assert detail.endswith(
        "; history: the built-in rule: the runs behind the last 5 completed deployments "
        "(shadow-cand-b, prod-mar, prod-feb, prod-jan)"
    )
    regression = _checks(report)["regression"]
    assert regression["history_values"] == [0.86, 0.84, 0.82, 0.8]  # the trend, newest first
    assert regression["noise_source"] == "history spread of 4 runs (t, SE = √2·s)"  # the interval from the history
    assert (
        "; history: the built-in rule: the runs behind the last 5 completed deployments (shadow-cand-b, prod-mar, "
        "prod-feb, prod-jan);"
    ) in regression["detail"]


@XDIST
def test_a_baseline_hook_without_a_history_hook_is_said_plainly(
    pytester: pytest.Pytester, plugin_args: list[str]
) -> None:
    result, report = _gate(pytester, PROD_BASELINE, *plugin_args)
    assert result.ret == pytest.ExitCode.OK
    assert report["candidates"][0]["baseline"]["run_ref"] == "run:ranker.r3"
    assert _checks(report)["regression"]["history_values"] == [0.86, 0.84, 0.82, 0.8]  # built-in: shadow-cand-b too
    assert _checks(report)["history"]["detail"].endswith(
        "; history: the built-in rule: the runs behind the last 5 completed deployments (shadow-cand-b, prod-mar, "
        "prod-feb, prod-jan); the baseline was chosen by another rule (chosen by a pytest_contexta_select_baseline "
        "hook): implement pytest_contexta_select_history to choose the history by the same rule, or pass "
        "--contexta-history=0"
    )


@XDIST
def test_a_history_hook_chooses_the_history_by_the_baseline_rule(
    pytester: pytest.Pytester, plugin_args: list[str]
) -> None:
    result, report = _gate(pytester, PROD_BASELINE + PROD_HISTORY, *plugin_args)
    assert result.ret == pytest.ExitCode.OK
    assert plugin_args or "HISTORY ['r3', 'r2', 'r1']" in result.stdout.str()
    checks = _checks(report)
    assert checks["history"]["detail"].endswith("; history: chosen by a pytest_contexta_select_history hook")
    assert "history median 0.82 of 3 runs" in checks["history"]["detail"]
    assert checks["regression"]["history_values"] == [0.84, 0.82, 0.8]
    assert checks["regression"]["noise_source"] == "history spread of 3 runs (t, SE = √2·s)"
    assert "; history: chosen by a pytest_contexta_select_history hook;" in checks["regression"]["detail"]


def test_the_history_hook_gets_the_baseline_and_the_count(pytester: pytest.Pytester) -> None:
    result, _ = _gate(
        pytester,
        PROD_BASELINE
        + """
    def pytest_contexta_select_history(config, candidate, baseline, workspace, count):
        print("ASKED", candidate.ref, baseline.run_ref, baseline.source, count)
        return None  # the built-in rule
    """,
        "--contexta-history=2",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # 2 history runs: assert_within_history is inconclusive
    result.stdout.fnmatch_lines(["ASKED run:ranker.cand-a run:ranker.r3 hook 2"])
    assert "HISTORY ['cand-b', 'r3']" in result.stdout.str()


def test_the_history_hook_is_not_asked_without_a_history(pytester: pytest.Pytester) -> None:
    result, report = _gate(
        pytester, "def pytest_contexta_select_history(candidate):\n    raise RuntimeError\n", "--contexta-history=0"
    )
    assert "HISTORY []" in result.stdout.str()
    assert _checks(report)["history"]["detail"].endswith("; history: --contexta-history=0: no history")
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # no history: assert_within_history is inconclusive


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("'r3'", "pytest_contexta_select_history returned 'r3' for run:ranker.cand-a: return a list of runs *"),
        (
            "['no-such-run']",
            "pytest_contexta_select_history chose 'no-such-run' for the history of run:ranker.cand-a, "
            "which cannot be used: *",
        ),
        ("['cand-a']", "pytest_contexta_select_history chose the candidate run:ranker.cand-a for its own history*"),
        (
            "['r1', 'r2', 'r3']",
            "pytest_contexta_select_history returned 3 runs for run:ranker.cand-a, more than --contexta-history=2*",
        ),
        ("1 / 0", "a pytest_contexta_select_history hook raised ZeroDivisionError for run:ranker.cand-a: *"),
    ],
)
@XDIST
def test_an_unusable_history_answer_is_a_usage_error(
    pytester: pytest.Pytester, answer: str, message: str, plugin_args: list[str]
) -> None:
    result, report = _gate(
        pytester,
        f"def pytest_contexta_select_history(candidate):\n    return {answer}\n",
        "--contexta-history=2",
        *plugin_args,
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines([f"GATE FAILED for {CANDIDATE}: *{message}"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert report["error"].startswith(message.split("*")[0])


def test_the_built_in_history_is_read_in_the_same_pass_as_the_candidate_and_baseline(
    pytester: pytest.Pytester, reader_passes: list[list[str]]
) -> None:

    pytester.makepyfile(test_gate="def test_history(history_runs):\n    assert len(history_runs) == 4\n")
    result = pytester.runpytest_inprocess(f"--contexta-workspace={WORKSPACE}", f"--contexta-candidate={CANDIDATE}")
    assert result.ret == pytest.ExitCode.OK
    assert [sorted(runs) for runs in reader_passes] == [
        ["run:ranker.cand-a", "run:ranker.cand-b", "run:ranker.r1", "run:ranker.r2", "run:ranker.r3"]
    ]


def test_a_baseline_given_by_option_is_said_plainly_too(pytester: pytest.Pytester) -> None:
    result, report = _gate(pytester, "", "--contexta-baseline=run:ranker.r2")
    assert result.ret == pytest.ExitCode.OK
    assert _checks(report)["history"]["detail"].endswith(
        "(shadow-cand-b, prod-mar, prod-feb, prod-jan); the baseline was chosen by another rule (given by "
        "--contexta-baseline (from command line)): implement pytest_contexta_select_history to choose the history "
        "by the same rule, or pass --contexta-history=0"
    )
