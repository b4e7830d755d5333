"""One decided verdict per candidate and per session feeds every output: decide() and the renderers called directly
for every combination of candidate verdicts x --contexta-inconclusive x partial run (no pytest run)."""

from __future__ import annotations

import itertools
import json
import re

import pytest

from pytest_contexta.checks.results import CheckResult
from pytest_contexta.outputs.html_report import html_page
from pytest_contexta.outputs.summary import ICONS, markdown_table, terminal_lines, verdict_words
from pytest_contexta.outputs.writing import junit_properties
from pytest_contexta.verdict.decide import decide
from pytest_contexta.verdict.facts import CheckOutcome, GateFacts
from pytest_contexta.verdict.report import VERDICT_PRECEDENCE, GateReport

PASSED = {"setup": "passed", "call": "passed", "teardown": "passed"}
FAILED = {"setup": "passed", "call": "failed", "teardown": "passed"}
#: What each kind of candidate ran; "left-out": the selection left all its checks out (never a pass).
KINDS = ("pass", "pass-with-warnings", "inconclusive", "fail", "left-out")
EXPECTED = {"pass": "pass", "pass-with-warnings": "pass-with-warnings", "inconclusive": "inconclusive"}
COMBINATIONS = [kinds for size in (1, 2) for kinds in itertools.product(KINDS, repeat=size)]


def outcomes_of(kind: str, ref: str, policy: str) -> list[CheckOutcome]:
    nodeid = f"t.py::a[{ref}]"
    if kind == "pass":
        return [CheckOutcome(nodeid, ref, dict(PASSED))]
    if kind == "pass-with-warnings":
        return [CheckOutcome(nodeid, ref, dict(FAILED), "AssertionError: slow", advisory=True)]
    if kind == "inconclusive":  # the test ends as the policy makes it end
        result = CheckResult(kind="regression", detail="f1", run_ref=ref, outcome="inconclusive")
        phases = FAILED if policy == "fail" else PASSED
        return [CheckOutcome(nodeid, ref, dict(phases), "f1 inconclusive", results=(result,))]
    if kind == "fail":
        return [CheckOutcome(nodeid, ref, dict(FAILED), "AssertionError: f1")]
    return []


def facts_of(kinds: tuple[str, ...], policy: str, partial: bool) -> GateFacts:
    refs = [f"run:p.c{index}" for index in range(len(kinds))]
    outcomes = [o for kind, ref in zip(kinds, refs, strict=True) for o in outcomes_of(kind, ref, policy)]
    deselected = {f"t.py::z[{ref}]": ref for ref in refs if partial}
    deselected |= {f"t.py::a[{ref}]": ref for kind, ref in zip(kinds, refs, strict=True) if kind == "left-out"}
    pytest_failed = any(o.phases["call"] == "failed" and not o.advisory for o in outcomes)
    return GateFacts(
        workspace="/ws",
        created_at="2026-01-01T00:00:00Z",
        exit_status=1 if pytest_failed else 0 if outcomes else 5,
        candidates=refs,
        selected={o.nodeid: o.candidate for o in outcomes},
        deselected=deselected,
        outcomes={o.nodeid: o for o in outcomes},
        allow_partial=partial,
        inconclusive=policy,
        today="2026-01-01",
    )


class _JUnit:
    def __init__(self) -> None:
        self.properties: dict[str, str] = {}

    def add_global_property(self, name: str, value: str) -> None:
        self.properties[name] = value


class _Config:
    def __init__(self, xml: _JUnit) -> None:
        from _pytest.junitxml import xml_key

        self.stash = pytest.Stash()
        self.stash[xml_key] = xml  # type: ignore[assignment]


def junit_of(report: GateReport) -> dict[str, str]:
    xml = _JUnit()
    junit_properties(_Config(xml), report)  # type: ignore[arg-type]
    return xml.properties


@pytest.mark.parametrize("partial", [False, True], ids=["full", "partial"])
@pytest.mark.parametrize("policy", ["fail", "pass"])
@pytest.mark.parametrize("kinds", COMBINATIONS, ids=["+".join(k) for k in COMBINATIONS])
def test_every_output_shows_the_one_decided_verdict(kinds: tuple[str, ...], policy: str, partial: bool) -> None:
    report = decide(facts_of(kinds, policy, partial))
    # a candidate whose checks all were left out fails, with or without --contexta-allow-partial
    expected = ["fail" if kind in ("fail", "left-out") else EXPECTED[kind] for kind in kinds]
    verdicts = [c.verdict for c in report.candidates]
    assert verdicts == expected
    worst = next(v for v in VERDICT_PRECEDENCE if v in verdicts)
    deploy = "fail" not in verdicts and ("inconclusive" not in verdicts or policy == "pass")
    assert (report.verdict, report.exit_status == 0) == (worst, deploy)
    assert report.exit_status in ((0,) if deploy else (1,))

    lines = terminal_lines(report, 120)
    for candidate in report.candidates:
        said = [line for line in lines if line.startswith("GATE ") and f" for {candidate.run_ref}" in line]
        assert len(said) == 1 and said[0].startswith(f"{verdict_words(candidate.verdict)} for {candidate.run_ref}")
    assert not any(
        line.startswith(f"GATE PASSED for {c.run_ref}")
        for c in report.candidates
        if c.verdict != "pass"
        for line in lines
    )
    overall = [line for line in lines if " overall (exit status " in line]
    if len(kinds) > 1:
        assert overall == [
            f"{verdict_words(report.verdict)} overall (exit status {report.exit_status}): the worst of the 2 "
            f"candidate verdicts"
        ]
    else:
        assert overall == []

    markdown = markdown_table(report)
    assert f"## Contexta deployment gate: {ICONS[report.verdict]} {report.verdict}\n" in markdown
    assert re.findall(r"^### (\S+) `", markdown, re.MULTILINE) == [ICONS[v] for v in verdicts]

    assert json.loads(report.model_dump_json())["verdict"] == report.verdict
    assert [c["verdict"] for c in json.loads(report.model_dump_json())["candidates"]] == verdicts

    properties = junit_of(report)
    assert properties.pop("contexta.verdict") == report.verdict
    assert properties == {f"contexta.verdict.{c.run_ref}": c.verdict for c in report.candidates}

    page = html_page(report)
    assert f"<title>Contexta deployment gate: {report.verdict}</title>" in page
    assert re.findall(r'data-verdict="([^"]+)"', page) == verdicts


def test_a_session_that_fails_outside_its_candidates_says_so_in_the_terminal() -> None:
    """A test that is not a gate check failed: every candidate passed, the session did not."""
    facts = facts_of(("pass", "pass-with-warnings"), "fail", False)
    facts.exit_status = 1
    report = decide(facts)
    assert [c.verdict for c in report.candidates] == ["pass", "pass-with-warnings"]
    assert (report.verdict, report.exit_status) == ("fail", 1)
    lines = terminal_lines(report, 80)
    start = next(i for i, line in enumerate(lines) if " overall " in line)
    overall = [" ".join(line.strip() for line in lines[start : lines.index("", start)])]
    assert overall == [
        "GATE FAILED overall (exit status 1): the session failed outside the candidates' checks (pytest exit status "
        "1: a test that is not a gate check failed, the session was interrupted, or the gate could not finish)"
    ]
