"""INCONCLUSIVE as a verdict (issue 12 item 5) and the history (item 3) on the example workspace's search-ranker
project (written by the real Contexta): what the helper finds, then end to end through a gate session."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from conftest import EXAMPLE_WORKSPACE, read_like_a_gate
from pytest_contexta import GateCheckFailed, assert_no_regression
from pytest_contexta.checks.results import CheckContext, recording

NOISY = "run:search-ranker.seeds-too-noisy"
RELEASES = [f"run:search-ranker.release-{n}" for n in (5, 4, 3, 2, 1)]  # the deployed runs, newest first
GATE = """
    from pytest_contexta import assert_no_regression

    def test_accuracy(contexta_run, baseline_run):
        assert_no_regression(contexta_run, baseline_run, "accuracy", stage="evaluate")

    def test_auc(contexta_run, baseline_run):
        assert_no_regression(contexta_run, baseline_run, "auc", stage="evaluate")
"""


@pytest.mark.parametrize("inconclusive_fails", [True, False], ids=["fail", "pass"])
def test_an_interval_that_straddles_the_limit_is_inconclusive(inconclusive_fails: bool) -> None:
    noisy, baseline = read_like_a_gate(EXAMPLE_WORKSPACE, NOISY, RELEASES[0])
    with recording(CheckContext(inconclusive_fails=inconclusive_fails)) as context:
        if inconclusive_fails:
            with pytest.raises(GateCheckFailed, match="INCONCLUSIVE"):
                assert_no_regression(noisy, baseline, "accuracy", stage="evaluate")
        else:
            assert_no_regression(noisy, baseline, "accuracy", stage="evaluate")
        assert_no_regression(noisy, baseline, "auc", stage="evaluate")
    accuracy, auc = context.results
    assert [(r.metric, r.outcome) for r in context.results] == [("accuracy", "inconclusive"), ("auc", "passed")]
    assert accuracy.noise_source == "replicates (Welch)"
    assert accuracy.change_low is not None and accuracy.change_high is not None
    assert accuracy.change_low < -0.018 < accuracy.change_high


def test_a_regression_check_without_noise_of_its_own_uses_the_history() -> None:
    candidate, *history = read_like_a_gate(EXAMPLE_WORKSPACE, "run:search-ranker.seeds-within-noise", *RELEASES)
    with recording(CheckContext(history=tuple(history))) as context:
        assert_no_regression(candidate, history[0], "accuracy", stage="evaluate", tags={"seed": "1"})
    (check,) = context.results
    assert check.noise_source == "history spread of 5 runs (t, SE = √2·s)"
    assert check.history_values == [0.895869, 0.894869, 0.893869, 0.891869, 0.888869]  # the trend, newest first


def _gate(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, Any], dict[str, str]]:
    pytester.makepyfile(test_gate=GATE)
    result = pytester.runpytest(
        f"--contexta-workspace={EXAMPLE_WORKSPACE}",
        f"--contexta-candidate={NOISY}",
        "--contexta-report=gate.json",
        "--contexta-markdown=gate.md",
        "--junitxml=junit.xml",
        "-p",
        "no:cacheprovider",
        *args,
    )
    report = json.loads((pytester.path / "gate.json").read_text(encoding="utf-8"))
    cases = {
        case.get("name", ""): {p.get("name"): p.get("value") for p in case.iter("property")}
        for case in ET.parse(pytester.path / "junit.xml").getroot().iter("testcase")
    }
    accuracy = next(props for name, props in cases.items() if name.startswith("test_accuracy"))
    return result, report, accuracy


@pytest.mark.slow
@pytest.mark.parametrize("plugin_args", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_an_inconclusive_check_fails_closed_by_default(pytester: pytest.Pytester, plugin_args: list[str]) -> None:
    result, report, accuracy = _gate(pytester, *plugin_args)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    (candidate,) = report["candidates"]
    # one verdict word for the gate: the worst candidate verdict; the exit status tells the deploy decision
    assert (report["verdict"], report["exit_status"], report["inconclusive"]) == ("inconclusive", 1, "fail")
    assert candidate["verdict"] == "inconclusive"
    assert candidate["reasons"] == [
        "1 of 2 gate checks are inconclusive: the data cannot tell whether they hold "
        "(--contexta-inconclusive=fail, from default: the gate fails)"
    ]
    assert [(c["metric"], c["outcome"]) for c in candidate["checks"]] == [
        ("accuracy", "inconclusive"),
        ("auc", "passed"),
    ]
    check = candidate["checks"][0]
    assert check["noise_source"] == "replicates (Welch)" and check["change_low"] < -0.018 < check["change_high"]
    assert (accuracy["contexta.outcome"], accuracy["contexta.noise_source"]) == ("inconclusive", "replicates (Welch)")
    result.stdout.fnmatch_lines(
        [
            "test_accuracy * INCONCLUSIVE * accuracy @evaluate *",
            f"GATE INCONCLUSIVE for {NOISY}: 1 of 2 gate checks are inconclusive*",
        ]
    )
    assert f"### ❔ `{NOISY}`" in (pytester.path / "gate.md").read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("how", "source"),
    [
        (["--contexta-inconclusive=pass"], "command line"),
        (["env"], "env CONTEXTA_INCONCLUSIVE"),
        (["ini"], "ini contexta_inconclusive"),
    ],
)
def test_inconclusive_pass_lets_the_gate_pass_and_says_so(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, how: list[str], source: str
) -> None:
    if how == ["env"]:
        monkeypatch.setenv("CONTEXTA_INCONCLUSIVE", "pass")
    if how == ["ini"]:
        pytester.makeini("[pytest]\ncontexta_inconclusive = pass\n")
    result, report, _ = _gate(pytester, *[arg for arg in how if arg.startswith("--")])
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=2)
    (candidate,) = report["candidates"]
    # an accepted inconclusive candidate exits 0 but never reads as a pass: the gate's verdict is inconclusive
    assert (report["verdict"], report["inconclusive"], candidate["verdict"]) == (
        "inconclusive",
        "pass",
        "inconclusive",
    )
    assert candidate["reasons"][0].endswith(f"(--contexta-inconclusive=pass, from {source}: the gate passes)")


@pytest.mark.slow
def test_a_bad_inconclusive_choice_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_gate=GATE)
    result = pytester.runpytest(
        f"--contexta-workspace={EXAMPLE_WORKSPACE}", f"--contexta-candidate={NOISY}", "--contexta-inconclusive=warn"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: contexta inconclusive 'warn' (from command line) must be 'fail' *"])


HISTORY_GATE = """
    from pytest_contexta import assert_within_history

    def test_history(contexta_run, history_runs):
        print("HISTORY", [run.name for run in history_runs])
        assert_within_history(contexta_run, history_runs, "accuracy", stage="evaluate")
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("candidate", "args", "names", "passed"),
    [
        ("seeds-within-noise", [], ["release-5", "release-4", "release-3", "release-2", "release-1"], True),
        ("seeds-regressed", ["--contexta-history=3"], ["release-5", "release-4", "release-3"], False),
        ("release-5", [], ["release-4", "release-3", "release-2", "release-1"], True),  # never the candidate itself
        ("seeds-within-noise", ["--contexta-history=0"], [], False),  # no history: inconclusive, fails closed
    ],
)
def test_history_runs_are_the_last_n_deployed_runs_newest_first(
    pytester: pytest.Pytester, candidate: str, args: list[str], names: list[str], passed: bool
) -> None:
    pytester.makepyfile(test_history=HISTORY_GATE)
    result = pytester.runpytest(
        f"--contexta-workspace={EXAMPLE_WORKSPACE}",
        f"--contexta-candidate={candidate}",
        "-s",
        "-p",
        "no:cacheprovider",
        *args,
    )
    assert f"HISTORY {names!r}" in result.stdout.str()
    assert result.ret == (pytest.ExitCode.OK if passed else pytest.ExitCode.TESTS_FAILED)
    if not names:
        result.stdout.fnmatch_lines(["*INCONCLUSIVE, 0 usable values in 0 history runs; at least 3 are needed*"])


@pytest.mark.slow
def test_a_regression_check_without_noise_of_its_own_uses_the_session_history(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_gate="""
        from pytest_contexta import assert_no_regression

        def test_seed_one(contexta_run, baseline_run):
            assert_no_regression(contexta_run, baseline_run, "accuracy", stage="evaluate", tags={"seed": "1"})
    """
    )
    result = pytester.runpytest(
        f"--contexta-workspace={EXAMPLE_WORKSPACE}",
        "--contexta-candidate=seeds-within-noise",
        "--contexta-report=gate.json",
    )
    assert result.ret == pytest.ExitCode.OK
    check = json.loads((pytester.path / "gate.json").read_text(encoding="utf-8"))["candidates"][0]["checks"][0]
    assert check["noise_source"] == "history spread of 5 runs (t, SE = √2·s)"
    assert check["history_values"] == [0.895869, 0.894869, 0.893869, 0.891869, 0.888869]  # the trend, newest first


@pytest.mark.slow
def test_a_bad_history_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_history=HISTORY_GATE)
    result = pytester.runpytest(
        f"--contexta-workspace={EXAMPLE_WORKSPACE}", "--contexta-candidate=release-5", "--contexta-history=-1"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: contexta history '-1' (from command line) must be a whole number *"])
