"""The HTML report opened in a real browser (headless Chromium): it renders, and workspace markup stays text.

Chromium comes from Debian's ``chromium`` package (.ci/run installs it). Without it these tests are skipped
with the install line, except where ``CONTEXTA_BROWSER_TESTS=required`` (CI sets it): there its absence fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from test_html import GOOD, MARKUP, REGRESSED, run_gate, sections

from conftest import EXAMPLE_GATES, EXAMPLE_WORKSPACE

pytestmark = pytest.mark.slow  # a real browser opens pages written by gate sessions

_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1200,1600",
]


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        message = "headless Chromium is needed to test the HTML report: apt-get install chromium"
        if os.environ.get("CONTEXTA_BROWSER_TESTS") == "required":
            pytest.fail(message + " (CONTEXTA_BROWSER_TESTS=required)")
        pytest.skip(message)
    return found


def _browse(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chromium, *_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


@pytest.fixture
def rendered(pytester: pytest.Pytester, chromium: str, tmp_path: Path) -> tuple[str, Path, str]:
    """A report on a passing, a failing and a markup-carrying candidate: its source, a screenshot of it, and
    its DOM after Chromium loaded it."""
    target = pytester.path / "gate.html"
    run_gate(pytester, f"--contexta-html={target}").assert_outcomes(passed=10, failed=2)
    screenshot = tmp_path / "gate.png"
    _browse(chromium, tmp_path / "profile", f"--screenshot={screenshot}", target.as_uri())
    dom = _browse(chromium, tmp_path / "profile", "--dump-dom", target.as_uri()).stdout
    return target.read_text(encoding="utf-8"), screenshot, dom


def test_the_report_renders_in_chromium(rendered: tuple[str, Path, str]) -> None:
    _, screenshot, dom = rendered
    image = Image.open(screenshot).convert("RGB")
    assert image.size == (1200, 1600)
    colours = image.getcolors(maxcolors=1 << 20) or []
    white = sum(count for count, colour in colours if colour == (255, 255, 255))
    assert len(colours) > 50 and white < 0.95 * image.size[0] * image.size[1]  # text, banners and charts drawn
    reds = sum(count for count, (r, g, b) in colours if r > 180 and g < 60 and b < 70)
    greens = sum(count for count, (r, g, b) in colours if r < 60 and g > 100 and b < 80)
    assert reds > 1000 and greens > 1000  # the failing banner and the passing one are both on screen

    by_run = sections(dom)
    assert list(by_run) == [GOOD, REGRESSED, MARKUP]
    assert f"GATE PASSED for {GOOD}" in by_run[GOOD]
    assert f"GATE FAILED for {REGRESSED}: 2 of 4 gate checks did not pass" in by_run[REGRESSED]
    for section in by_run.values():
        assert len(re.findall(r'<tr class="check (?:passed|failed)"', section)) == 4
        assert section.count("<svg") == 3  # accuracy, auc, latency-p95-ms
        charts = re.findall(r'<figure class="chart" data-metric="([^"]*)">(.*?)</figure>', section, flags=re.S)
        assert [title for title, _ in charts] == ["accuracy @evaluate", "auc @evaluate", "latency-p95-ms @evaluate"]
        for _, chart in charts:  # the band, and each deployed value under its deployment and date
            assert ">allowed<" in chart and ">baseline<" in chart and ">candidate<" in chart
            assert ">prod-v0<" in chart and ">2025-03-01<" in chart and ">prod-v1<" in chart and ">2025-04-28<" in chart
            assert "back<" not in chart
    accuracy = re.search(
        r'<figure class="chart" data-metric="accuracy @evaluate">.*?</figure>', by_run[REGRESSED], flags=re.S
    ).group(0)  # type: ignore[union-attr]
    assert "the shaded band is what the check allows (at least 0.87514)" in accuracy
    assert "the line joins the last 2 deployed values, each under its deployment" in accuracy


def test_workspace_markup_shows_as_text_and_runs_nothing(rendered: tuple[str, Path, str]) -> None:
    _, _, dom = rendered
    assert "<title>Contexta deployment gate: fail</title>" in dom  # the records' scripts would set it to 'pwned'
    assert "pwned" not in re.search(r"<title>.*?</title>", dom, flags=re.S).group(0)  # type: ignore[union-attr]
    markup = sections(dom)[MARKUP]
    assert "<script" not in dom and "<img" not in dom
    assert "warning event evaluate.note: &lt;script&gt;document.title='pwned'&lt;/script&gt;" in markup
    assert "warning event evaluate.preview: &lt;img src=x onerror=\"document.title='pwned'\"&gt;" in markup


def test_a_single_passing_candidate_renders_too(pytester: pytest.Pytester, chromium: str, tmp_path: Path) -> None:
    target = pytester.path / "pass.html"
    run_gate(pytester, f"--contexta-html={target}", workspace=EXAMPLE_WORKSPACE, candidates=(GOOD,)).assert_outcomes(
        passed=4
    )
    dom = _browse(chromium, tmp_path / "profile", "--dump-dom", target.as_uri()).stdout
    assert "<title>Contexta deployment gate: pass</title>" in dom
    assert f'<div class="banner pass" role="status">GATE PASSED for {GOOD}</div>' in dom
    assert dom.count("<svg") == 3 and f"Workspace <code>{EXAMPLE_WORKSPACE}</code>" in dom


def test_an_interval_verdict_draws_the_candidates_interval(
    pytester: pytest.Pytester, chromium: str, tmp_path: Path
) -> None:
    """The seeded example candidate whose Welch interval straddles the limit: its chart shows that interval."""
    example = tmp_path / "example_gates"
    shutil.copytree(EXAMPLE_GATES, example, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    target = pytester.path / "noise.html"
    pytester.runpytest(
        str(example), "--contexta-candidate=seeds-too-noisy", f"--contexta-html={target}", "-p", "no:cacheprovider"
    )
    dom = _browse(chromium, tmp_path / "profile", "--dump-dom", target.as_uri()).stdout
    accuracy = re.search(r'<figure class="chart" data-metric="accuracy @evaluate">.*?</figure>', dom, flags=re.S).group(
        0
    )  # type: ignore[union-attr]
    assert ">95% interval<" in accuracy and ">allowed<" in accuracy
    assert "the bar on the candidate is its 95% interval [0.860397, 0.909603]" in accuracy  # 0.9 + [-0.0396, +0.0096]
