"""pytest-xdist: ``-n 2`` gives the same verdict, one summary, one report, and decides baselines once."""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from _pytest.reports import pytest_report_from_serializable as report_from_json
from _pytest.reports import pytest_report_to_serializable as report_to_json

from conftest import EXAMPLE_WORKSPACE
from pytest_contexta.checks.results import CheckResult, HistoryPoint
from pytest_contexta.plugin.tracking import CheckTracker, PhaseRecord
from pytest_contexta.plugin.worker import SHARED_KEY, WorkerPlugin
from pytest_contexta.plugin.xdist import XdistGlue
from pytest_contexta.verdict.waivers import Waiver

pytestmark = pytest.mark.slow

GOOD = "run:product-ranker.candidate-v2-good"
REGRESSED = "run:product-ranker.candidate-v4-regressed"

GATE = """
import pytest
from pytest_contexta import assert_metrics_present, assert_no_error_diagnostics, assert_no_regression

METRICS = ["accuracy", "auc", "f1", "latency-p95-ms"]

def test_diagnostics(contexta_run):
    assert_no_error_diagnostics(contexta_run)

@pytest.mark.parametrize("metric", METRICS)
def test_present(contexta_run, metric):
    assert_metrics_present(contexta_run, metric, stage="evaluate")

@pytest.mark.parametrize("metric", METRICS)
def test_regression(contexta_run, baseline_run, metric):
    assert_no_regression(contexta_run, baseline_run, metric, stage="evaluate", max_drop=0.02)
"""

#: Records, with the process id, every call of the hooks that must run once on the controller.
RECORDING_CONFTEST = """
import json
import os

import pytest

def _log(config, line):
    with open(config.rootpath / "calls.log", "a", encoding="utf-8") as handle:
        handle.write(f"{line} {os.getpid()}\\n")

def pytest_contexta_select_baseline(config, candidate):
    _log(config, f"select {candidate.ref}")

def pytest_contexta_gate_finished(config, report):
    _log(config, f"finished {report.verdict}")

@pytest.hookimpl(trylast=True)
def pytest_configure_node(node):
    shared = node.workerinput["contexta"]
    _log(node.config, "workerinput " + ("json-safe" if json.loads(json.dumps(shared)) == shared else "NOT json-safe"))
"""


@pytest.fixture(params=[[], ["-n", "2"]], ids=["in-process", "xdist"])
def plugin_args(request: pytest.FixtureRequest) -> list[str]:
    return request.param


def run_gate(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest(
        f"--contexta-workspace={EXAMPLE_WORKSPACE}",
        f"--contexta-candidate={GOOD}",
        f"--contexta-candidate={REGRESSED}",
        *args,
    )


def test_controller_decides_and_reports_once(pytester: pytest.Pytester, plugin_args: list[str]) -> None:
    pytester.makepyfile(test_gate=GATE)
    pytester.makeconftest(RECORDING_CONFTEST)
    result = run_gate(pytester, "--contexta-report=gate.json", "--contexta-markdown=gate.md", *plugin_args)
    result.assert_outcomes(passed=15, failed=3)

    output = result.stdout.str()
    assert len(re.findall(r"^=+ contexta gate =+$", output, flags=re.MULTILINE)) == 1
    assert output.count(f"GATE PASSED for {GOOD}") == 1
    assert output.count(f"GATE FAILED for {REGRESSED}: 3 of 9 gate checks did not pass") == 1
    controller = os.getpid()
    calls = (pytester.path / "calls.log").read_text(encoding="utf-8").splitlines()
    workers = 2 if plugin_args else 0
    decided = [call.rsplit(" ", 1) for call in calls if call.startswith("select ")]
    # baselines are decided after collection, in the processes that collect (xdist workers never share a
    # collection with the controller): once per candidate and process, never on an xdist controller
    assert len(decided) == len(set(map(tuple, decided))), calls
    assert {line for line, _ in decided} == {f"select {GOOD}", f"select {REGRESSED}"}
    assert all((int(pid) == controller) == (not plugin_args) for _, pid in decided), calls
    assert sorted(c for c in calls if not c.startswith("select ")) == sorted(
        [f"finished fail {controller}", *[f"workerinput json-safe {controller}"] * workers]
    )
    assert (pytester.path / "gate.md").read_text(encoding="utf-8").count("## Contexta deployment gate") == 1
    report = json.loads((pytester.path / "gate.json").read_text(encoding="utf-8"))
    assert [(c["run_ref"], c["verdict"], len(c["checks"])) for c in report["candidates"]] == [
        (GOOD, "pass", 9),
        (REGRESSED, "fail", 9),
    ]


def _report_without_time(path: Path) -> dict:
    """The report, less its time and the two settings that name each run's own output files."""
    report = json.loads(path.read_text(encoding="utf-8"))
    del report["created_at"]
    settings = report["provenance"]["settings"]
    assert settings.pop("report")["value"].endswith(f"{path.stem}.json")
    assert settings.pop("markdown")["value"].endswith(f"{path.stem}.md")
    return report


def _junit_properties(path: Path) -> dict[str, list[tuple[str, str]]]:
    return {
        case.get("name"): [(p.get("name"), p.get("value")) for p in case.iter("property")]
        for case in ET.parse(path).getroot().iter("testcase")
    }


def test_same_verdict_report_junit_and_markdown_with_and_without_xdist(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_gate=GATE)
    outputs = {}
    for name, args in (("plain", []), ("xdist", ["-n", "2"])):
        result = run_gate(
            pytester,
            f"--contexta-report={name}.json",
            f"--junitxml={name}.xml",
            f"--contexta-markdown={name}.md",
            *args,
        )
        outputs[name] = (
            result.ret,
            result.parseoutcomes(),
            _report_without_time(pytester.path / f"{name}.json"),
            _junit_properties(pytester.path / f"{name}.xml"),
            (pytester.path / f"{name}.md").read_text(encoding="utf-8"),
        )

    assert outputs["plain"][1] == {"passed": 15, "failed": 3}
    kinds = {check["kind"] for candidate in outputs["plain"][2]["candidates"] for check in candidate["checks"]}
    assert kinds == {"diagnostics", "metrics_present", "regression"}
    assert outputs["xdist"] == outputs["plain"]


def test_a_worker_crash_names_the_worker_and_the_check(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_gate="""
        import os

        def test_fine(contexta_run):
            pass

        def test_crashes(contexta_run):
            os._exit(3)
    """
    )
    result = pytester.runpytest(
        f"--contexta-workspace={EXAMPLE_WORKSPACE}",
        f"--contexta-candidate={GOOD}",
        "--contexta-report=gate.json",
        "-n",
        "2",
        "--max-worker-restart=0",
    )
    assert result.ret != pytest.ExitCode.OK
    report = json.loads((pytester.path / "gate.json").read_text(encoding="utf-8"))
    (candidate,) = report["candidates"]
    crashed = f"test_gate.py::test_crashes[{GOOD}]"
    assert candidate["verdict"] == "fail"
    assert any(
        re.fullmatch(rf"xdist worker gw\d crashed while running {re.escape(crashed)}: .*", reason)
        for reason in candidate["reasons"]
    ), candidate["reasons"]
    assert not any("none was collected" in reason for reason in candidate["reasons"])
    result.stdout.fnmatch_lines([f"GATE FAILED for {GOOD}: *xdist worker gw? crashed while running {crashed}*"])


def test_under_xdist_each_run_is_read_once_per_worker_and_never_by_the_controller(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_gate=GATE)
    pytester.makeconftest("""
        import os

        def pytest_contexta_diagnostics(run):
            with open("reads.log", "a", encoding="utf-8") as handle:
                handle.write(f"{run.ref} {os.getpid()}\\n")
    """)
    result = run_gate(pytester, "-n", "2")
    result.assert_outcomes(passed=15, failed=3)
    reads = (pytester.path / "reads.log").read_text(encoding="utf-8").splitlines()
    assert len(reads) == len(set(reads)), reads  # at most once per run and process
    assert str(os.getpid()) not in {line.split()[1] for line in reads}  # the controller reads no run
    # the candidates, the baseline and the history (the run behind prod-v0; prod-v1 is the baseline's)
    assert {line.split()[0] for line in reads} == {
        GOOD,
        REGRESSED,
        "run:product-ranker.baseline-v1",
        "run:product-ranker.baseline-v0",
    }


def test_workers_that_choose_different_baselines_are_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_gate=GATE)
    pytester.makeconftest("""
        import os

        def pytest_contexta_select_baseline(candidate):
            return "baseline-v0" if os.environ.get("PYTEST_XDIST_WORKER") == "gw0" else "baseline-v1"
    """)
    result = run_gate(pytester, "--contexta-report=gate.json", "-n", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    report = json.loads((pytester.path / "gate.json").read_text(encoding="utf-8"))
    assert report["verdict"] == "fail"
    assert (
        f"xdist workers chose different baselines for {GOOD} (gw0: run:product-ranker.baseline-v0; gw1: "
        f"run:product-ranker.baseline-v1)" in report["error"]
    )


def _through(wrapper: Generator[None, Any, Any], inner: Any) -> Any:
    """What a hook wrapper returns when the hook's own implementation gave ``inner``."""
    next(wrapper)
    with pytest.raises(StopIteration) as stopped:
        wrapper.send(inner)
    return stopped.value.value


def test_a_gate_check_report_crosses_the_xdist_boundary_with_its_record_as_one_json_field() -> None:
    nodeid = f"t.py::test_x[{GOOD}]"
    waiver = Waiver(line=3, check="*", candidate="*", reason="known", owner="ml", expires="2099-01-01")
    expired = Waiver(line=9, check="*", candidate="*", reason="old", owner="ml", expires="2000-01-01")
    result = CheckResult(
        kind="regression",
        detail="f1 dropped",
        run_ref=GOOD,
        passed=False,
        history=[HistoryPoint(value=0.9, run_ref="run:p.r", deployment="deployment:p.d")],
    )
    record = PhaseRecord(
        candidate=GOOD, results=(result,), advisory=True, waiver=waiver, expired_waivers=(expired,), failure="boom"
    )
    report = pytest.TestReport(nodeid, ("t.py", 1, "test_x"), {}, "skipped", "E   boom", "call")
    worker_side, controller_side = CheckTracker(), CheckTracker()
    worker_side.records[report.nodeid, report.when] = record

    sent = _through(WorkerPlugin(None, worker_side).pytest_report_to_serializable(report), report_to_json(report))
    data = json.loads(json.dumps(sent))
    assert data[SHARED_KEY] == record.model_dump(mode="json")
    wrapper = XdistGlue(None, controller_side).pytest_report_from_serializable(data)
    next(wrapper)
    assert SHARED_KEY not in data  # taken out before pytest reads the report
    received = report_from_json(data)
    with pytest.raises(StopIteration) as stopped:
        wrapper.send(received)
    assert stopped.value.value is received
    assert controller_side.records[received.nodeid, received.when] == record
    assert not hasattr(received, "contexta")

    controller_side.test_report(received)
    outcome = controller_side.outcomes[nodeid]
    assert (outcome.phases, outcome.message, outcome.results) == ({"call": "failed"}, "boom", (result,))
    assert (outcome.advisory, outcome.waiver, outcome.expired_waivers) == (True, waiver, (expired,))


def test_reports_of_other_tests_cross_the_boundary_untouched() -> None:
    report = pytest.TestReport("t.py::test_y", ("t.py", 1, "test_y"), {}, "passed", None, "call")
    sent = _through(WorkerPlugin(None, CheckTracker()).pytest_report_to_serializable(report), report_to_json(report))
    assert sent == report_to_json(report)
    tracker = CheckTracker()
    tracker.test_report(report_from_json(sent))
    assert tracker.outcomes == {}


COPYING_CONFTEST = """
import pytest

@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    return pytest.TestReport._from_json(report._to_json())  # a plugin that hands pytest a copy
"""


def test_a_plugin_that_copies_reports_keeps_the_verdict(pytester: pytest.Pytester, plugin_args: list[str]) -> None:
    """The gate's record of a check is found by node id and phase, not by report object (found by the review: a
    copied report read as a check that never ran, and a healthy candidate failed)."""
    pytester.makepyfile(test_gate=GATE)
    pytester.makeconftest(COPYING_CONFTEST)
    result = run_gate(pytester, *plugin_args)
    output = result.stdout.str()
    assert f"GATE PASSED for {GOOD}" in output
    assert f"GATE FAILED for {REGRESSED}: 3 of 9 gate checks did not pass" in output
