"""Waivers have bounds: an expiry at most contexta_waiver_max_days ahead, a whole candidate waived only with
blanket = true, and --contexta-strict-waivers failing the gate on a waiver that waived nothing (direct calls)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from pytest_contexta.verdict.decide import decide
from pytest_contexta.verdict.facts import CheckOutcome, GateFacts
from pytest_contexta.verdict.waivers import Waiver, load_waivers

ON = date(2026, 12, 7)
GOOD = "run:p.good"
A, B = f"t.py::a[{GOOD}]", f"t.py::b[{GOOD}]"
PASSED = {"setup": "passed", "call": "passed", "teardown": "passed"}
FAILED = {"setup": "passed", "call": "failed", "teardown": "passed"}


def waiver_file(tmp_path: Path, check: str = "t.py::b[*", expires: str = "2027-01-31", extra: str = "") -> Path:
    path = tmp_path / "waivers.toml"
    path.write_text(
        f'# accepted failures\n\n[[waiver]]\ncheck = "{check}"\ncandidate = "*"\nreason = "known"\n'
        f'owner = "ml"\nexpires = {expires}\n{extra}',
        encoding="utf-8",
    )
    return path


def load(path: Path, max_days: int = 90) -> tuple[Waiver, ...]:
    return load_waivers(path, "command line", ON, max_days).waivers


def usage_error(path: Path, max_days: int = 90) -> str:
    with pytest.raises(pytest.UsageError) as caught:
        load(path, max_days)
    prefix = f"contexta waiver file {path} (from command line) "
    assert str(caught.value).startswith(prefix)
    return str(caught.value).removeprefix(prefix)


@pytest.mark.parametrize("expires", ["9999-12-31", "2027-03-08", '"2099-12-31"'])
def test_an_expiry_beyond_the_bound_is_a_usage_error_naming_the_line_and_the_last_allowed_day(
    tmp_path: Path, expires: str
) -> None:
    message = usage_error(waiver_file(tmp_path, expires=expires))
    day = expires.strip('"')
    days = (date.fromisoformat(day) - ON).days
    assert message == (
        f"line 8: expires {day} is {days} days after today (2026-12-07); a waiver runs at most 90 days (ini "
        f"contexta_waiver_max_days): set expires to 2027-03-07 or earlier and renew it then"
    )


def test_an_expiry_on_the_last_allowed_day_holds_and_the_bound_is_configurable(tmp_path: Path) -> None:
    assert load(waiver_file(tmp_path, expires="2027-03-07"))[0].expires == "2027-03-07"
    assert usage_error(waiver_file(tmp_path, expires="2026-12-08"), max_days=0).startswith(
        "line 8: expires 2026-12-08 is 1 days after today (2026-12-07); a waiver runs at most 0 days"
    )
    assert load(waiver_file(tmp_path, expires="2027-12-31"), max_days=400)[0].expires == "2027-12-31"
    assert load(waiver_file(tmp_path, expires="2020-01-01"))[0].expired(ON)  # expired: loads, and no longer applies


@pytest.mark.parametrize("check", ["*", "**"])
def test_a_check_pattern_of_only_wildcards_needs_blanket_true(tmp_path: Path, check: str) -> None:
    assert usage_error(waiver_file(tmp_path, check=check)) == (
        f"line 4: check {check!r} matches every gate check of the candidates it covers; a waiver of a whole "
        f"candidate needs blanket = true: name the checks it accepts, or add blanket = true to the waiver"
    )
    (waiver,) = load(waiver_file(tmp_path, check=check, extra="blanket = true\n"))
    assert waiver.blanket


def test_blanket_must_be_a_boolean(tmp_path: Path) -> None:
    assert usage_error(waiver_file(tmp_path, extra='blanket = "yes"\n')) == (
        "line 9: blanket must be true or false, not 'yes'"
    )


def gate(*outcomes: CheckOutcome, waivers: list[Waiver], **changes: object) -> GateFacts:
    facts = GateFacts(
        workspace="/ws",
        created_at="2026-12-07T00:00:00Z",
        exit_status=0,
        candidates=[GOOD],
        selected={o.nodeid: GOOD for o in outcomes},
        outcomes={o.nodeid: o for o in outcomes},
        today=ON.isoformat(),
        waivers=waivers,
    )
    return replace(facts, **changes)


def waiver(check: str, blanket: bool = False, expires: str = "2027-01-31") -> Waiver:
    return Waiver(line=3, check=check, candidate="good", reason="known", owner="ml", expires=expires, blanket=blanket)


@pytest.mark.parametrize("check", ["t.py::*", "*[run:p.good]", "t.py::?[*"])
def test_a_waiver_matching_every_check_of_a_candidate_is_a_usage_error_unless_blanket(check: str) -> None:
    broad = waiver(check)
    facts = gate(
        CheckOutcome(A, GOOD, dict(FAILED), "AssertionError: a", waiver=broad),
        CheckOutcome(B, GOOD, dict(FAILED), "AssertionError: b", waiver=broad),
        waivers=[broad],
    )
    report = decide(facts)
    assert (report.verdict, report.exit_status) == ("fail", 4)
    assert report.error == (
        f"the waiver at line 3 (check {check!r}, candidate 'good', owner ml) matches every gate check of run:p.good "
        f"(2 of 2): a waiver of a whole candidate needs blanket = true; narrow its check pattern to the checks it "
        f"accepts, or add blanket = true to the waiver"
    )
    blanket = waiver(check, blanket=True)
    allowed = decide(
        gate(
            CheckOutcome(A, GOOD, dict(FAILED), "AssertionError: a", waiver=blanket),
            CheckOutcome(B, GOOD, dict(FAILED), "AssertionError: b", waiver=blanket),
            waivers=[blanket],
        )
    )
    assert (allowed.verdict, allowed.exit_status, allowed.waivers[0].blanket) == ("pass-with-warnings", 0, True)


def test_a_waiver_of_some_checks_needs_no_blanket() -> None:
    narrow = waiver("t.py::b[*")
    report = decide(
        gate(
            CheckOutcome(A, GOOD, dict(PASSED)),
            CheckOutcome(B, GOOD, dict(FAILED), "AssertionError: b", waiver=narrow),
            waivers=[narrow],
        )
    )
    assert (report.verdict, report.exit_status, report.error) == ("pass-with-warnings", 0, None)


@pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
def test_strict_waivers_fail_the_gate_on_a_waiver_that_waived_nothing(strict: bool) -> None:
    unused, expired = waiver("t.py::b[*"), replace(waiver("t.py::a[*", expires="2026-12-01"), line=9)
    facts = gate(
        CheckOutcome(A, GOOD, dict(PASSED)),
        CheckOutcome(B, GOOD, dict(PASSED)),
        waivers=[unused, expired],
        strict_waivers=strict,
        strict_waivers_source="ini contexta_strict_waivers",
    )
    report = decide(facts)
    if not strict:
        assert (report.verdict, report.exit_status, report.error) == ("pass", 0, None)
        return
    assert (report.verdict, report.exit_status) == ("fail", 4)
    assert report.error == (
        "the waiver at line 3 (check 't.py::b[*', candidate 'good', owner ml) waived nothing in this session (no "
        "failing gate check matched it) and strict waivers are on (--contexta-strict-waivers, from ini "
        "contexta_strict_waivers): remove the waiver, or turn strict waivers off; "
        "the waiver at line 9 (check 't.py::a[*', candidate 'good', owner ml) waived nothing in this session (it "
        "expired on 2026-12-01) and strict waivers are on (--contexta-strict-waivers, from ini "
        "contexta_strict_waivers): remove the waiver, or turn strict waivers off"
    )


def test_strict_waivers_pass_when_every_waiver_waived_a_failure() -> None:
    used = waiver("t.py::b[*")
    facts = gate(
        CheckOutcome(A, GOOD, dict(PASSED)),
        CheckOutcome(B, GOOD, dict(FAILED), "AssertionError: b", waiver=used),
        waivers=[used],
        strict_waivers=True,
    )
    report = decide(facts)
    assert (report.verdict, report.exit_status, report.error) == ("pass-with-warnings", 0, None)
