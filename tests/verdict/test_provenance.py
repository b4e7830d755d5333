"""Provenance in the JSON report, the same with and without xdist; report --explain; the schema command."""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path

import pytest

from conftest import EXAMPLE_WORKSPACE
from pytest_contexta.report import main
from pytest_contexta.verdict.waivers import today

pytestmark = pytest.mark.slow

REGRESSED = "run:product-ranker.candidate-v4-regressed"
GATE = """
import pytest
from pytest_contexta import assert_no_regression

@pytest.mark.contexta_advisory
@pytest.mark.parametrize("metric", ["accuracy", "latency-p95-ms"])
def test_regression(contexta_run, baseline_run, metric):
    assert_no_regression(contexta_run, baseline_run, metric, stage="evaluate")
"""
WAIVERS = (
    f'[[waiver]]\ncheck = "*[latency-p95-ms-*"\ncandidate = "*"\nreason = "kept for the audit"\nowner = "ml-platform"\n'
    f"expires = {(today() + timedelta(days=60)).isoformat()}\n"
)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_gate(pytester: pytest.Pytester) -> Path:
    gates = pytester.mkpydir("gates")
    gates.joinpath("test_gate.py").write_text(GATE, encoding="utf-8")
    gates.joinpath("conftest.py").write_text("# team hooks would live here\n", encoding="utf-8")
    pytester.makeini("[pytest]\ncontexta_higher_is_better = accuracy\n")
    pytester.path.joinpath("waivers.toml").write_text(WAIVERS, encoding="utf-8")
    return gates


def run_gate(pytester: pytest.Pytester, *args: str) -> dict:
    result = pytester.runpytest(
        "gates",
        f"--contexta-workspace={EXAMPLE_WORKSPACE}",
        f"--contexta-candidate={REGRESSED}",
        "--contexta-report=gate.json",
        "--contexta-waivers=waivers.toml",
        *args,
    )
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    return json.loads((pytester.path / "gate.json").read_text(encoding="utf-8"))


def test_provenance_fields_and_the_same_record_under_xdist(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    gates = make_gate(pytester)
    monkeypatch.setenv("CONTEXTA_FAIL_ON", "failure")
    monkeypatch.delenv("GITHUB_SHA", raising=False)
    monkeypatch.setenv("CI_COMMIT_SHA", "0123abcd" * 5)
    plain = run_gate(pytester)["provenance"]
    xdist = run_gate(pytester, "-n", "2")["provenance"]

    assert xdist == plain
    ledger = EXAMPLE_WORKSPACE / "metadata" / "ledger.db"
    modified = datetime.fromtimestamp(ledger.stat().st_mtime, UTC).isoformat().replace("+00:00", "Z")
    assert {
        name: plain[name]
        for name in (
            "plugin_version",
            "pytest_version",
            "python_version",
            "git_commit",
            "git_commit_source",
            "workspace",
            "ledger",
        )
    } == {
        "plugin_version": version("pytest-contexta"),
        "pytest_version": pytest.__version__,
        "python_version": platform.python_version(),
        "git_commit": "0123abcd" * 5,
        "git_commit_source": "env CI_COMMIT_SHA",
        "workspace": str(EXAMPLE_WORKSPACE),
        "ledger": {"path": str(ledger), "size": ledger.stat().st_size, "modified": modified},
    }
    assert plain["gate_files"] == [
        {"path": "gates/conftest.py", "sha256": sha256(gates / "conftest.py"), "error": None},
        {"path": "gates/test_gate.py", "sha256": sha256(gates / "test_gate.py"), "error": None},
        {"path": "tox.ini", "sha256": sha256(pytester.path / "tox.ini"), "error": None},
    ]
    assert plain["waiver_file"] == {
        "path": "waivers.toml",
        "sha256": sha256(pytester.path / "waivers.toml"),
        "error": None,
    }
    settings = plain["settings"]
    assert settings["fail_on"] == {"value": "failure", "source": "env CONTEXTA_FAIL_ON"}
    assert settings["candidate"] == {"value": REGRESSED, "source": "command line"}
    assert settings["baseline"] == {"value": "latest-deployment", "source": "default"}
    assert settings["higher_is_better"] == {"value": "accuracy", "source": "ini contexta_higher_is_better"}
    assert settings["waivers"] == {"value": str(pytester.path / "waivers.toml"), "source": "command line"}


def test_git_commit_from_github_then_from_git_rev_parse(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_gate(pytester)
    monkeypatch.delenv("CI_COMMIT_SHA", raising=False)
    monkeypatch.setenv("GITHUB_SHA", "feedface" * 5)
    assert run_gate(pytester)["provenance"]["git_commit_source"] == "env GITHUB_SHA"
    monkeypatch.delenv("GITHUB_SHA")
    provenance = run_gate(pytester)["provenance"]
    assert (provenance["git_commit"], provenance["git_commit_source"]) == (None, "none (not a git repository)")
    if shutil.which("git") is None:
        return
    git = ["git", "-C", str(pytester.path), "-c", "user.name=gate", "-c", "user.email=gate@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "gate"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    provenance = run_gate(pytester)["provenance"]
    assert (provenance["git_commit"], provenance["git_commit_source"]) == (head, "git rev-parse HEAD")


def test_explain_tells_a_stored_report_for_people(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    make_gate(pytester)
    run_gate(pytester)
    assert main(["--explain", str(pytester.path / "gate.json")]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = [
        "verdict: pass-with-warnings (exit status 0), decided *",
        f"candidate {REGRESSED}: pass-with-warnings",
        "  baseline: run:product-ranker.baseline-v1 (latest-deployment): deployed as prod-v1 *",
        "  warning: 1 advisory gate check(s) did not pass: gates/test_gate.py::test_regression*accuracy*",
        "  checks: 1 warning, 1 passed",
        "  WARNING gates/test_gate.py::test_regression*accuracy*: accuracy: 0.893 -> 0.841*",
        "waivers:",
        "  line 1: unused, owner ml-platform, expires * (60 days left): kept for the audit",
        f"provenance: pytest-contexta {version('pytest-contexta')}, pytest {pytest.__version__}, Python *",
        "  gate file: gates/test_gate.py sha256 *",
        "  setting candidate: run:product-ranker.candidate-v4-regressed (from command line)",
    ]
    pytest.LineMatcher(lines).fnmatch_lines(expected)


def test_explain_refuses_what_is_not_a_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "gate.json"
    path.write_text('{"schema_version": 1}', encoding="utf-8")
    assert main(["--explain", str(path)]) == 1
    assert capsys.readouterr().err == (
        f"{path}: not a valid pytest-contexta report; see python -m pytest_contexta.report --validate {path}\n"
    )
    assert main(["--explain", str(tmp_path / "missing.json")]) == 1


def test_schema_describes_the_new_verdicts_and_provenance(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["properties"]["schema_version"]["const"] == 2
    assert {"pass", "pass-with-warnings", "fail"} <= set(json.dumps(schema["properties"]["verdict"]).split('"'))
    assert {"Provenance", "ReportWaiver", "WaiverUse"} <= set(schema["$defs"])
    assert {"warning", "waived"} <= set(schema["$defs"]["ReportCheck"]["properties"]["outcome"]["enum"])


def test_schema_describes_a_diagnostic_as_the_report_writes_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    items = schema["$defs"]["CandidateReport"]["properties"]["diagnostics"]["items"]
    assert items == {"$ref": "#/$defs/ReportDiagnostic"}
    diagnostic = schema["$defs"]["ReportDiagnostic"]
    fields = ["code", "severity", "subject_ref", "summary", "contexta_severity", "source"]
    assert (list(diagnostic["properties"]), diagnostic["required"]) == (fields, fields)
    assert diagnostic["additionalProperties"] is False
