"""Waivers as data (--contexta-waivers): applied, expired, unused, near expiry, malformed; ignore= listed."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from pathlib import Path

import pytest

from conftest import EXAMPLE_WORKSPACE
from pytest_contexta.verdict.waivers import Waiver, WaiverFile, load_waivers, today

pytestmark = pytest.mark.slow

REGRESSED = "run:product-ranker.candidate-v4-regressed"
GOOD = "run:product-ranker.candidate-v2-good"

# candidate-v4-regressed fails accuracy, auc and f1 against baseline-v1; latency passes.
GATE = """
import pytest
from pytest_contexta import assert_no_regression

@pytest.mark.parametrize("metric", ["accuracy", "auc", "f1", "latency-p95-ms"])
def test_regression(contexta_run, baseline_run, metric):
    assert_no_regression(contexta_run, baseline_run, metric, stage="evaluate")
"""


def in_days(days: int) -> str:
    return (today() + timedelta(days=days)).isoformat()


def entry(
    check: str,
    expires: str,
    candidate: str = "candidate-v4-regressed",
    owner: str = "ranking-team",
    blanket: bool = False,
) -> str:
    return (
        f'[[waiver]]\ncheck = "{check}"\ncandidate = "{candidate}"\nreason = "accepted: {check}"\n'
        f'owner = "{owner}"\nexpires = {expires}\n{"blanket = true" if blanket else ""}\n'
    )


def run_gate(pytester: pytest.Pytester, candidate: str, *args: str) -> pytest.RunResult:
    return pytester.runpytest(
        f"--contexta-workspace={EXAMPLE_WORKSPACE}",
        f"--contexta-candidate={candidate}",
        "--contexta-report=gate.json",
        *args,
    )


def report_of(pytester: pytest.Pytester) -> dict:
    return json.loads((pytester.path / "gate.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["plain", "xdist"])
def test_applied_expired_unused_and_expiring_waivers(pytester: pytest.Pytester, xdist: list[str]) -> None:
    pytester.makepyfile(test_gate=GATE)
    pytester.path.joinpath("waivers.toml").write_text(
        entry("*test_regression[accuracy-*", in_days(60))
        + entry("*test_regression[auc-*", in_days(-1))
        + entry("*test_regression[f1-*", in_days(5), candidate="run:product-ranker.candidate-v4-*")
        + entry("*test_regression[latency-p95-ms-*", in_days(60)),
        encoding="utf-8",
    )
    result = run_gate(pytester, REGRESSED, "--contexta-waivers=waivers.toml", "--contexta-markdown=gate.md", *xdist)

    assert result.ret == pytest.ExitCode.TESTS_FAILED  # the expired waiver no longer covers auc
    result.assert_outcomes(passed=1, failed=1, xfailed=2)
    report = report_of(pytester)
    (candidate,) = report["candidates"]
    by_metric = {c["metric"]: c for c in candidate["checks"]}
    assert {m: c["outcome"] for m, c in by_metric.items()} == {
        "accuracy": "waived",
        "auc": "failed",
        "f1": "waived",
        "latency-p95-ms": "passed",
    }
    assert by_metric["accuracy"]["waiver"] == {
        "line": 1,
        "owner": "ranking-team",
        "reason": "accepted: *test_regression[accuracy-*",
        "expires": in_days(60),
        "expired": False,
    }
    assert by_metric["auc"]["waiver"]["expired"] is True
    assert candidate["reasons"] == [
        "1 of 4 gate checks did not pass",
        f"the waiver at line 8 for test_gate.py::test_regression[auc-{REGRESSED}] (owner ranking-team) expired on "
        f"{in_days(-1)}, so its failure counts",
    ]
    assert [(w["line"], w["status"], w["days_left"], w["expires_soon"]) for w in report["waivers"]] == [
        (1, "applied", 60, False),
        (8, "expired", -1, False),
        (15, "applied", 5, True),
        (22, "unused", 60, False),
    ]
    assert report["waivers"][0]["waived"] == [f"test_gate.py::test_regression[accuracy-{REGRESSED}]"]
    assert report["notes"] == [
        f"waiver at line 8 (check '*test_regression[auc-*', candidate 'candidate-v4-regressed', owner ranking-team) "
        f"expired on {in_days(-1)}; it no longer applies",
        f"waiver at line 15 (check '*test_regression[f1-*', candidate 'run:product-ranker.candidate-v4-*', owner "
        f"ranking-team) expires in 5 day(s), on {in_days(5)}",
        "waiver at line 22 (check '*test_regression[latency-p95-ms-*', candidate 'candidate-v4-regressed', "
        "owner ranking-team) matched no "
        f"failing check of {REGRESSED}: it waived nothing; remove it if it is stale",
    ]
    assert [w["gated"] for w in report["waivers"]] == [[REGRESSED]] * 4
    result.stdout.fnmatch_lines(
        [
            "test_regression?accuracy? * WAIVED * accuracy @evaluate *",
            "test_regression?auc? * FAIL * auc @evaluate *",
            f"warning:   WAIVED test_gate.py::test_regression?accuracy-{REGRESSED}?: owner ranking-team, expires "
            f"{in_days(60)} (waiver line 1): accepted: *",
            f"GATE FAILED for {REGRESSED}: 1 of 4 gate checks did not pass; the waiver at line 8 *expired on *",
            "note: waiver at line 22 * matched no failing check*",
        ]
    )
    markdown = (pytester.path / "gate.md").read_text(encoding="utf-8")
    assert "| WAIVED " in markdown and "**Warnings:** WAIVED test_gate.py::test_regression" in markdown
    assert "> note: waiver at line 8 " in markdown


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["plain", "xdist"])
def test_every_failure_waived_passes_with_warnings(pytester: pytest.Pytester, xdist: list[str]) -> None:
    pytester.makepyfile(test_gate=GATE)
    pytester.path.joinpath("waivers.toml").write_text(
        entry("*test_regression[accuracy-*", in_days(30))
        + entry("*[auc-*", in_days(30), owner="alice")
        + entry("*[f1-*", in_days(30)),
        encoding="utf-8",
    )
    result = run_gate(pytester, REGRESSED, "--contexta-waivers=waivers.toml", "--junitxml=gate.xml", *xdist)

    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1, xfailed=3)
    report = report_of(pytester)
    assert (report["verdict"], report["candidates"][0]["verdict"]) == ("pass-with-warnings", "pass-with-warnings")
    assert len(report["candidates"][0]["warnings"]) == 3
    result.stdout.fnmatch_lines([f"GATE PASSED WITH WARNINGS for {REGRESSED}: WAIVED *"])
    junit = ET.parse(pytester.path / "gate.xml").getroot()
    (auc,) = [case for case in junit.iter("testcase") if case.get("name", "").startswith("test_regression[auc-")]
    properties = [(p.get("name"), p.get("value")) for p in auc.iter("property")]
    assert {
        ("contexta.outcome", "waived"),
        ("contexta.waiver.owner", "alice"),
        ("contexta.waiver.reason", "accepted: *[auc-*"),
        ("contexta.waiver.expires", in_days(30)),
    } <= set(properties)
    assert "WAIVED by alice" in auc.find("skipped").get("message", "")


@pytest.mark.parametrize("source", ["env", "ini"])
def test_waiver_file_from_env_and_ini(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, source: str) -> None:
    pytester.makepyfile(test_gate=GATE)
    folder = pytester.mkdir("gate-config")
    folder.joinpath("waivers.toml").write_text(entry("*", in_days(3), blanket=True), encoding="utf-8")
    if source == "env":
        monkeypatch.setenv("CONTEXTA_WAIVERS", str(folder / "waivers.toml"))
        origin = "env CONTEXTA_WAIVERS"
    else:
        pytester.makeini("[pytest]\ncontexta_waivers = gate-config/waivers.toml\n")
        origin = "ini contexta_waivers"
    result = run_gate(pytester, REGRESSED)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines([f"contexta waivers: {folder / 'waivers.toml'} (from {origin})"])
    assert report_of(pytester)["waivers"][0]["status"] == "applied"


def test_a_waiver_for_another_candidate_does_not_apply(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_gate=GATE)
    pytester.path.joinpath("waivers.toml").write_text(
        entry("*", in_days(30), candidate="candidate-v2-*", blanket=True), encoding="utf-8"
    )
    result = run_gate(pytester, REGRESSED, "--contexta-waivers=waivers.toml")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, failed=3)
    report = report_of(pytester)
    assert [(w["status"], w["gated"]) for w in report["waivers"]] == [("unused", [])]
    assert report["notes"] == [
        "waiver at line 1 (check '*', candidate 'candidate-v2-*', owner ranking-team) covers "
        "none of the gated candidates, so it waived nothing in this session"
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[waiver]]\ncheck = "x"\ncandidate = "*"\nreason = "r"\nowner = \nexpires = 2027-01-01\n',
            "line 5: not valid TOML (Invalid value)",
        ),
        (
            '[[waiver]]\ncheck = "x"\ncandidate = "*"\nreason = "r"\nexpires = 2027-01-01\n',
            "line 1: the waiver has no 'owner' (a waiver needs check, candidate, reason, owner, expires)",
        ),
        (
            '[[waiver]]\ncheck = "x"\ncandidate = "*"\nreason = "r"\nowner = "o"\nexpires = 2027-01-01\n\n'
            '[[waiver]]\ncheck = "y"\ncandidate = "*"\nreason = "r"\nowner = "o"\nexpires = "next week"\n',
            "line 13: expires must be a date such as 2027-03-31, not 'next week'",
        ),
        (
            '[[waiver]]\ncheck = "x"\ncandidate = "*"\nreason = "r"\nowner = "o"\nexpires = 2027-01-01T10:00:00\n',
            "line 6: expires must be a date such as 2027-03-31, not datetime.datetime(2027, 1, 1, 10, 0)",
        ),
        (
            '[[waiver]]\ncheck = "x"\ncandidate = "*"\nreason = "r"\nowner = "o"\n'
            'expires = 2027-01-01\nticket = "T-1"\n',
            "line 7: unknown key 'ticket' (a waiver has check, candidate, reason, owner, expires and may have blanket)",
        ),
        (
            '[[waiver]]\ncheck = "x"\ncandidate = "*"\nreason = "  "\nowner = "o"\nexpires = 2027-01-01\n',
            "line 4: reason must be a non-empty string, not '  '",
        ),
        ('title = "waivers"\n', "line 1: unknown table or key 'title'; the file holds only [[waiver]] entries"),
        ('[waiver]\ncheck = "x"\n', "line 1: write each waiver as a [[waiver]] table"),
    ],
)
def test_a_malformed_waiver_file_names_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "waivers.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(pytest.UsageError) as caught:
        load_waivers(path, "command line")
    assert str(caught.value) == f"contexta waiver file {path} (from command line) {message}"


def test_a_malformed_or_missing_waiver_file_is_a_usage_error_of_the_session(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_gate=GATE)
    pytester.path.joinpath("waivers.toml").write_text('[[waiver]]\ncheck = "x"\n', encoding="utf-8")
    result = run_gate(pytester, REGRESSED, "--contexta-waivers=waivers.toml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: contexta waiver file */waivers.toml (from command line) line 1: the waiver has no 'candidate' *"]
    )
    assert "waiver file" in report_of(pytester)["error"]
    missing = run_gate(pytester, REGRESSED, "--contexta-waivers=nope.toml")
    assert missing.ret == pytest.ExitCode.USAGE_ERROR
    missing.stderr.fnmatch_lines(["ERROR: contexta waiver file */nope.toml (from command line) cannot be read: *"])


def test_matching_prefers_a_valid_waiver_and_reports_expired_ones() -> None:
    on = date(2027, 1, 10)
    expired = Waiver(line=1, check="*::test_x*", candidate="run:p.*", reason="r", owner="o", expires="2027-01-09")
    valid = Waiver(line=8, check="*::test_x*", candidate="r1", reason="r", owner="o", expires="2027-01-10")
    other = Waiver(line=15, check="*::test_y*", candidate="*", reason="r", owner="o", expires="2027-02-01")
    waivers = WaiverFile(Path("w.toml"), (expired, valid, other))
    assert waivers.applicable("g.py::test_x[run:p.r1]", "run:p.r1", on) == (valid, [expired])
    assert waivers.applicable("g.py::test_x[run:p.r2]", "run:p.r2", on) == (None, [expired])
    assert waivers.applicable("g.py::test_x[run:q.r1]", "run:q.r1", on) == (valid, [])  # r1 is the run name
    assert valid.days_left(on) == 0 and not valid.expired(on) and expired.expired(on)


@pytest.mark.parametrize(
    ("pattern", "matches"),
    [
        ("*::test_x[f1-*]", True),
        ("*::test_x[f[12]-*]", False),
        ("*test_x?f1-run:p.r?", True),
        ("test_x*", False),
        ("*::test_x[*-f1]", False),  # written for the old order, [run:p.r-f1]
    ],
)
def test_brackets_in_a_check_pattern_stand_for_themselves(pattern: str, matches: bool) -> None:
    """Node ids hold brackets, so only * and ? are wildcards (unlike fnmatch, where [..] is a set)."""
    waiver = Waiver(line=1, check=pattern, candidate="*", reason="r", owner="o", expires="2027-01-01")
    assert waiver.matches("gates/g.py::test_x[f1-run:p.r]", "run:p.r") is matches


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["plain", "xdist"])
def test_a_waiver_naming_no_collected_check_is_a_usage_error(pytester: pytest.Pytester, xdist: list[str]) -> None:
    """A pattern written for the old id order ([run:p.r-f1]) or mistyped would waive nothing, silently: it stops
    the gate (exit 4) and says what the ids look like now."""
    pytester.makepyfile(test_gate=GATE)
    pytester.path.joinpath("waivers.toml").write_text(
        entry("*::test_regression[*-f1]", in_days(30))
        + entry("*test_regression[auc-*", in_days(30))
        + entry("*test_gone*", in_days(30), candidate="candidate-v2-*"),
        encoding="utf-8",
    )
    result = run_gate(pytester, REGRESSED, "--contexta-waivers=waivers.toml", *xdist)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    report = report_of(pytester)
    assert report["verdict"] == "fail"
    assert report["error"] == (
        f"the waiver at line 1 (check '*::test_regression[*-f1]', candidate 'candidate-v4-regressed', owner "
        f"ranking-team) names no gate check of {REGRESSED} collected in this session; gate check ids name the "
        f"candidate last, e.g. test_gate.py::test_regression[accuracy-{REGRESSED}]: correct its check pattern or "
        f"remove the waiver"
    )  # line 8 matched a check; line 15 covers no gated candidate: only noted
    assert [w["status"] for w in report["waivers"]] == ["unused", "applied", "unused"]
    result.stdout.fnmatch_lines(
        [f"GATE FAILED for {REGRESSED}: 2 of 4 gate checks did not pass; the waiver at line 1 *names no gate check*"]
    )


def test_a_partial_run_notes_a_waiver_of_checks_it_did_not_collect(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_gate=GATE, test_other="def test_other(contexta_run):\n    pass\n")
    pytester.path.joinpath("waivers.toml").write_text(entry("*test_regression[f1-*", in_days(30)), encoding="utf-8")
    result = run_gate(
        pytester, REGRESSED, "--contexta-waivers=waivers.toml", "--contexta-allow-partial", "test_other.py"
    )
    assert result.ret == pytest.ExitCode.OK
    report = report_of(pytester)
    assert report["error"] is None
    assert any(note.startswith("the waiver at line 1 ") and "names no gate check" in note for note in report["notes"])


def test_ignore_in_code_is_listed_in_the_verdict(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_gate="""
        from pytest_contexta import assert_no_error_diagnostics

        def test_diagnostics(contexta_run):
            assert_no_error_diagnostics(contexta_run, ignore=["degraded_record"])
    """
    )
    candidate = "run:product-ranker.april-wrong-dataset"
    result = run_gate(pytester, candidate)
    assert result.ret == pytest.ExitCode.OK
    report = report_of(pytester)
    assert report["candidates"][0]["checks"][0]["ignored"] == ["degraded_record"]
    note = (
        f"{candidate}: test_gate.py::test_diagnostics[{candidate}] waives error diagnostics in code: "
        f"ignore=['degraded_record']"
    )
    assert note in report["notes"]
    result.stdout.fnmatch_lines([f"note: {note}"])


def test_waiver_bounds_are_usage_errors_of_the_session(pytester: pytest.Pytester) -> None:
    """An expiry beyond contexta_waiver_max_days stops the session before any test runs; under
    --contexta-strict-waivers (or its ini) a waiver that waived nothing fails the gate with exit 4."""
    pytester.makepyfile(test_gate=GATE)
    waivers = pytester.path / "waivers.toml"
    waivers.write_text(entry("*test_regression[f1-*", "9999-12-31"), encoding="utf-8")
    forever = run_gate(pytester, REGRESSED, "--contexta-waivers=waivers.toml")
    assert forever.ret == pytest.ExitCode.USAGE_ERROR
    forever.stderr.fnmatch_lines(
        [
            "ERROR: contexta waiver file */waivers.toml (from command line) line 6: expires 9999-12-31 is * days after "
            "today (*); a waiver runs at most 90 days (ini contexta_waiver_max_days): set expires to * or earlier*"
        ]
    )
    pytester.makeini("[pytest]\ncontexta_waiver_max_days = 20000000\ncontexta_strict_waivers = true\n")
    waivers.write_text(
        entry("*test_regression[f1-*", "9999-12-31") + entry("*test_regression[latency-p95-ms-*", in_days(30)),
        encoding="utf-8",
    )
    strict = run_gate(pytester, REGRESSED, "--contexta-waivers=waivers.toml")
    assert strict.ret == pytest.ExitCode.USAGE_ERROR
    report = report_of(pytester)
    assert report["verdict"] == "fail" and report["exit_status"] == 4
    assert (
        "waived nothing in this session (no failing gate check matched it) and strict waivers are on "
        "(--contexta-strict-waivers, from ini contexta_strict_waivers)" in report["error"]
    )
    assert report["provenance"]["settings"]["strict_waivers"] == {
        "value": "true",
        "source": "ini contexta_strict_waivers",
    }
