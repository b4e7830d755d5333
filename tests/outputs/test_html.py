"""--contexta-html: one self-contained page per session, written like the other outputs, every string escaped.

The page is opened in a real browser by tests/outputs/test_browser.py, from the gates run here.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLE_WORKSPACE, TESTS, example_report, read_like_a_gate
from pytest_contexta.outputs.charts import allowed_band, charts_of, value_range
from pytest_contexta.outputs.html_report import html_page
from pytest_contexta.verdict.report import CandidateReport, GateReport, ReportCheck

MARKUP_WORKSPACE = TESTS / "html_workspace" / ".contexta"
GOOD = "run:product-ranker.candidate-v2-good"
REGRESSED = "run:product-ranker.candidate-v4-regressed"
MARKUP = "run:product-ranker.candidate-v7-markup"
GATE = """
import pytest
from pytest_contexta import assert_no_error_diagnostics, assert_no_regression

def test_diagnostics(contexta_run):
    assert_no_error_diagnostics(contexta_run)

@pytest.mark.parametrize("metric", ["accuracy", "auc", "latency-p95-ms"])
def test_no_regression(contexta_run, baseline_run, metric):
    assert_no_regression(contexta_run, baseline_run, metric, stage="evaluate", max_drop=0.02)
"""


def run_gate(
    pytester: pytest.Pytester,
    *args: str,
    workspace: Path = MARKUP_WORKSPACE,
    candidates: tuple[str, ...] = (GOOD, REGRESSED, MARKUP),
) -> pytest.RunResult:
    pytester.makepyfile(test_gate=GATE)
    return pytester.runpytest(
        f"--contexta-workspace={workspace}", *args, *(f"--contexta-candidate={c}" for c in candidates)
    )


def sections(page: str) -> dict[str, str]:
    """Each candidate's section of the page, by its run."""
    parts = re.findall(r'<section class="candidate".*?</section>', page, flags=re.S)
    return {re.search(r"<h2>Candidate <code>(.*?)</code>", part).group(1): part for part in parts}  # type: ignore[union-attr]


def markup_report() -> GateReport:
    """A verdict on the markup run of tests/html_workspace (its diagnostics carry a script and an img element)."""
    (run,) = read_like_a_gate(MARKUP_WORKSPACE, MARKUP)
    candidate = CandidateReport(
        run_ref=run.ref,
        verdict="pass",
        reasons=[],
        baseline=None,
        diagnostics=list(run.diagnostics),
        checks=[],
    )
    return GateReport(verdict="pass", exit_status=0, workspace="ws", created_at="t", candidates=[candidate])


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    """The page of the example gate on its good and regressed candidates, and the page of the markup run."""
    return {"example": html_page(example_report(GOOD, REGRESSED)), "markup": html_page(markup_report())}


def test_the_page_has_a_banner_checks_diagnostics_baseline_and_a_chart_per_metric(pages: dict[str, str]) -> None:
    page = pages["example"]
    assert page.startswith("<!DOCTYPE html>") and "<title>Contexta deployment gate: fail</title>" in page
    by_run = sections(page)
    assert list(by_run) == [GOOD, REGRESSED]
    assert f'<div class="banner pass" role="status">GATE PASSED for {GOOD}</div>' in by_run[GOOD]
    assert (
        f'<div class="banner fail" role="status">GATE FAILED for {REGRESSED}: 3 of 10 gate checks did not pass'
        in by_run[REGRESSED]
    )
    for run, section in by_run.items():
        assert section.count('<tr class="check ') == 10
        assert section.count("<svg") == 5, run  # the four regression checks and the latency budget
        assert "run:product-ranker.baseline-v1</code> — deployed as prod-v1" in section
    assert by_run[REGRESSED].count('data-outcome="failed"') == 3  # accuracy, auc, and f1 (its waiver expired)
    assert (
        '<td class="check" title="test_deployment_gate.py::test_no_regression[accuracy-run:product-ranker.'
        'candidate-v4-regressed]"><code>test_no_regression[accuracy]</code></td><td class="result">FAIL</td>'
        in by_run[REGRESSED]
    )
    assert '<li class="diagnostic info">info missing_expected_stage' in by_run[GOOD]


@pytest.mark.parametrize("name", ["example", "markup"])
def test_the_page_is_self_contained_and_runs_nothing(pages: dict[str, str], name: str) -> None:
    page = pages[name]
    assert "<script" not in page.lower() and "<img" not in page.lower() and "<link" not in page.lower()
    references = re.findall(r'(?:href|src)="([^"]*)"', page)
    assert all(ref.startswith("#") for ref in references)  # the charts' own SVG references
    assert bool(references) == (name == "example")  # the markup run's page has no checks, so no chart
    assert "default-src 'none'" in page  # a browser would refuse anything that escaped the escaping


def test_workspace_markup_is_shown_as_text(pages: dict[str, str]) -> None:
    markup = sections(pages["markup"])[MARKUP]
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in markup
    assert "&lt;img src=x onerror=&quot;document.title=&#x27;pwned&#x27;&quot;&gt;" in markup


@pytest.mark.slow
@pytest.mark.parametrize("plugin_args", [[], ["-n", "2"]])
def test_written_once_also_under_xdist_and_when_the_gate_fails(
    pytester: pytest.Pytester, plugin_args: list[str]
) -> None:
    target = pytester.path / "gate.html"
    target.write_text("stale page from an earlier run", encoding="utf-8")
    result = run_gate(
        pytester, f"--contexta-html={target}", *plugin_args, workspace=EXAMPLE_WORKSPACE, candidates=(REGRESSED,)
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    page = target.read_text(encoding="utf-8")
    assert page.count("GATE FAILED for") == 1 and page.count("<svg") == 3
    assert [p.name for p in pytester.path.iterdir() if p.name.startswith(".gate.html")] == []  # no staged leftovers


@pytest.mark.slow
def test_ini_and_environment_twins(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makeini("[pytest]\ncontexta_html = from-ini.html\n")
    run_gate(pytester, workspace=EXAMPLE_WORKSPACE, candidates=(GOOD,)).assert_outcomes(passed=4)
    assert "GATE PASSED" in (pytester.path / "from-ini.html").read_text(encoding="utf-8")
    monkeypatch.setenv("CONTEXTA_HTML", str(pytester.path / "from-env.html"))
    result = run_gate(pytester, workspace=EXAMPLE_WORKSPACE, candidates=(GOOD,))
    result.stdout.fnmatch_lines([f"contexta html: {pytester.path / 'from-env.html'} (from env CONTEXTA_HTML)"])
    assert (pytester.path / "from-env.html").exists()


@pytest.mark.slow
def test_a_page_inside_the_workspace_is_refused(pytester: pytest.Pytester, workspace_copy) -> None:  # type: ignore[no-untyped-def]
    workspace = workspace_copy("example")
    result = run_gate(pytester, f"--contexta-html={workspace / 'gate.html'}", workspace=workspace, candidates=(GOOD,))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: contexta: --contexta-html points inside the gated workspace*"])
    assert not (workspace / "gate.html").exists()


@pytest.mark.slow
def test_without_matplotlib_the_option_says_what_to_install(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what find_spec reports when it is not installed
    result = run_gate(
        pytester, f"--contexta-html={pytester.path / 'gate.html'}", workspace=EXAMPLE_WORKSPACE, candidates=(GOOD,)
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: contexta: --contexta-html draws its charts with matplotlib, which is not "
            'installed: pip install "pytest-contexta[html]"'
        ]
    )


@pytest.mark.parametrize(
    ("low", "high", "band"),
    [
        (0.49, None, (0.49, float("inf"))),
        (None, 0.51, (float("-inf"), 0.51)),
        (0.3, 1.0, (0.3, 1.0)),
        (None, None, None),
    ],
)
def test_the_allowed_band_comes_from_the_check_fields(
    low: float | None, high: float | None, band: tuple[float, float] | None
) -> None:
    """The band is the check's allowed_low/allowed_high; the limit's words are never parsed."""
    check = ReportCheck(
        nodeid="t.py::t",
        outcome="passed",
        kind="regression",
        detail="",
        metric="m",
        candidate_value=0.5,
        baseline_value=0.5,
        limit="worse by at most 90.00%",
        direction="higher is better",
        allowed_low=low,
        allowed_high=high,
    )
    assert allowed_band(check) == band
    assert len(charts_of([check])) == (band is not None)


def test_a_gated_run_reports_its_band_interval_and_deployments() -> None:
    """The numbers behind the chart, as the helpers record them: the band from the limit, the interval of an
    interval verdict, and each history value with its run and deployment."""
    from pytest_contexta import Workspace, assert_metric_threshold, assert_no_regression
    from pytest_contexta.checks.results import CheckContext, recording

    workspace = Workspace(EXAMPLE_WORKSPACE)
    candidate, baseline = (
        workspace.load_run(f"run:product-ranker.{name}") for name in ("candidate-v2-good", "baseline-v1")
    )
    history = [workspace.load_run(f"run:product-ranker.{name}") for name in ("baseline-v1", "baseline-v0")]
    with recording(CheckContext()) as context:
        assert_no_regression(
            candidate,
            baseline,
            ["accuracy", "latency-p95-ms"],
            stage="evaluate",
            max_drop=0.02,
            history=history,
            confidence=None,
        )
        assert_metric_threshold(candidate, "latency-p95-ms", at_most=50, stage="evaluate")
    accuracy, latency, threshold = context.results
    assert accuracy.allowed_low == pytest.approx(0.893 * 0.98) and accuracy.allowed_high is None
    assert latency.allowed_high == pytest.approx(42 * 1.02) and latency.allowed_low is None
    assert (threshold.allowed_low, threshold.allowed_high) == (None, 50)
    assert [(p.deployment, p.run_ref, p.deployed_at, p.value) for p in accuracy.history or []] == [
        ("prod-v1", "run:product-ranker.baseline-v1", "2025-04-28T12:00:00Z", 0.893),
        ("prod-v0", "run:product-ranker.baseline-v0", "2025-03-01T12:00:00Z", 0.871),
    ]
    assert accuracy.history_values == [0.893, 0.871]


def test_the_value_axis_spans_the_values_and_the_bands_finite_edges_with_room_to_spare() -> None:
    inf = float("inf")
    assert value_range([0.5, 0.9], (0.8, inf)) == pytest.approx((0.38, 1.02))  # 30 % of the span 0.4 each side
    assert value_range([2.0, 3.0], (-inf, 6.0)) == pytest.approx((0.8, 7.2))  # the ceiling counts, -inf does not
    assert value_range([4.0, 4.0], (-inf, inf)) == pytest.approx((2.8, 5.2))  # one value: 30 % of it
    assert value_range([0.0], (0.0, inf)) == pytest.approx((-0.3, 0.3))  # all at 0: 30 % of 1


def test_a_chart_draws_the_deployed_history_when_it_is_known() -> None:
    from pytest_contexta.outputs.charts import MetricChart, svg

    chart = MetricChart(
        "accuracy @evaluate <b>$x$</b>",
        candidate=0.84,
        baseline=0.893,
        band=(0.875, float("inf")),
        passed=False,
        history=[("prod-v0", 0.87), ("prod-$1$", 0.893)],
    )
    drawn = svg(chart)
    assert drawn.startswith("<svg") and drawn.rstrip().endswith("</svg>")
    assert ">prod-v0<" in drawn and ">prod-$1$<" in drawn  # labels as text, never read as mathtext
    assert "&lt;b&gt;$x$&lt;/b&gt;" in drawn and "<b>" not in drawn
    assert ">deployed<" in drawn and ">candidate 0.84<" in drawn
    assert ">allowed<" in drawn and ">95% interval<" not in drawn


def test_a_chart_draws_the_candidates_interval_from_the_check() -> None:
    from pytest_contexta.outputs.charts import svg

    check = ReportCheck(
        nodeid="t.py::t",
        outcome="inconclusive",
        kind="regression",
        detail="",
        metric="accuracy",
        candidate_value=0.86,
        baseline_value=0.88,
        change_abs=-0.02,
        change_low=-0.05,
        change_high=0.01,
        confidence=0.95,
        allowed_low=0.8624,
    )
    (chart,) = charts_of([check])
    assert chart.interval == pytest.approx((0.83, 0.89)) and chart.band == (0.8624, float("inf"))
    assert ">95% interval<" in svg(chart)
