"""Options: the --help group, command line > environment > ini > default, paths, and bad values."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import WORKSPACES

pytestmark = pytest.mark.slow

DEPLOYMENTS = WORKSPACES / "deployments"
GATE_CHECK = """
def test_gate(contexta_run):
    assert contexta_run.ref
"""


def _ini(pytester: pytest.Pytester, **values: str) -> None:
    lines = [f"{key} = {value}" for key, value in values.items()]
    pytester.makefile(".ini", pytest="\n".join(["[pytest]", *lines]))


def test_help_lists_the_contexta_group_with_every_option(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")  # the help text wraps as in an 80-column terminal
    result = pytester.runpytest("--help")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "deployment gates on Contexta runs:",
            "  --contexta-workspace=PATH",
            "*",
            "  --contexta-candidate=RUN",
            "*Repeat to gate several runs*",
            "*",
            "  --contexta-baseline=RUN|latest-deployment|none",
            "*",
            "  --contexta-report=PATH",
            "*",
            "  --contexta-markdown=PATH",
            "*",
            "  --contexta-lock-timeout=SECONDS",
        ]
    )
    for ini in (
        "workspace",
        "candidate",
        "baseline",
        "report",
        "markdown",
        "lock_timeout",
        "lower_is_better",
        "higher_is_better",
    ):
        result.stdout.fnmatch_lines([f"  contexta_{ini} (*):"])


# A different valid value per source for every setting; "default" is what applies when none is given.
SETTINGS = {
    "workspace": (
        "--contexta-workspace",
        "CONTEXTA_WORKSPACE",
        {"command line": "ws-cmd", "env": "ws-env", "ini": "ws-ini", "default": ".contexta"},
    ),
    "candidate": (
        "--contexta-candidate",
        "CONTEXTA_CANDIDATE",
        {"command line": "cand-b", "env": "cand-a", "ini": "r3"},
    ),
    "baseline": (
        "--contexta-baseline",
        "CONTEXTA_BASELINE",
        {
            "command line": "run:ranker.r1",
            "env": "run:ranker.r2",
            "ini": "run:ranker.cand-a",
            "default": "latest-deployment",
        },
    ),
    "report": (
        "--contexta-report",
        "CONTEXTA_REPORT",
        {"command line": "cmd.json", "env": "env.json", "ini": "ini.json"},
    ),
    "markdown": (
        "--contexta-markdown",
        "CONTEXTA_MARKDOWN",
        {"command line": "cmd.md", "env": "env.md", "ini": "ini.md"},
    ),
    "lock_timeout": (
        "--contexta-lock-timeout",
        "CONTEXTA_LOCK_TIMEOUT",
        {"command line": "1.5", "env": "2", "ini": "3", "default": "10"},
    ),
}
LEVELS = ("command line", "env", "ini", "default")
SOURCES = {"command line": "command line", "env": "env {variable}", "ini": "ini contexta_{name}", "default": "default"}
BASELINE_OF = {
    "command line": "run:ranker.r1",
    "env": "run:ranker.r2",
    "ini": "run:ranker.cand-a",
    "default": "run:ranker.r3",
}


@pytest.mark.parametrize("winner", LEVELS)
def test_command_line_beats_environment_beats_ini_beats_default(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, winner: str
) -> None:
    """Every setting is given at ``winner`` and at each level below it; the header names the winner."""
    given = LEVELS[LEVELS.index(winner) : -1]
    args, ini = ["-p", "no:cacheprovider"], {}
    for name, (option, variable, values) in SETTINGS.items():
        if "command line" in given:
            args.append(f"{option}={values['command line']}")
        if "env" in given:
            monkeypatch.setenv(variable, values["env"])
        if "ini" in given:
            ini[f"contexta_{name}"] = values["ini"]
    if winner == "default":
        args.append("--contexta-candidate=cand-b")  # without a candidate the plugin stays dormant
    _ini(pytester, **ini)
    shutil.copytree(DEPLOYMENTS, pytester.path / SETTINGS["workspace"][2][winner])
    pytester.makepyfile(GATE_CHECK)

    result = pytester.runpytest(*args)

    assert result.ret == pytest.ExitCode.OK, result.outlines
    for name, (_, variable, values) in SETTINGS.items():
        if winner == "default" and name == "candidate":
            continue
        if winner not in values:
            assert not [line for line in result.outlines if line.startswith(f"contexta {name}:")]
            continue
        shown = values[winner]
        if name in ("workspace", "report", "markdown"):
            shown = str(pytester.path / shown)
        source = SOURCES[winner].format(variable=variable, name=name)
        result.stdout.fnmatch_lines([f"contexta {name}: {shown} (from {source})"])
    candidate = "cand-b" if winner == "default" else SETTINGS["candidate"][2][winner]
    result.stdout.fnmatch_lines([f"contexta baseline of run:ranker.{candidate}: {BASELINE_OF[winner]} (*)"])
    for name, suffix in (("report", ".json"), ("markdown", ".md")):
        written = sorted(path.name for path in pytester.path.glob(f"*{suffix}"))
        assert written == ([] if winner == "default" else [SETTINGS[name][2][winner]])


def test_header_shows_every_setting_and_the_baseline_of_each_candidate(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(GATE_CHECK)
    result = pytester.runpytest(
        f"--contexta-workspace={DEPLOYMENTS}", "--contexta-candidate=cand-b", "--contexta-candidate=r3"
    )
    result.stdout.fnmatch_lines(
        [
            f"contexta workspace: {DEPLOYMENTS} (from command line)",
            "contexta candidate: cand-b,r3 (from command line)",
            "contexta baseline: latest-deployment (from default)",
            "contexta lock_timeout: 10 (from default)",
            "contexta baseline of run:ranker.cand-b: run:ranker.r3 (deployed as prod-mar *)",
            "contexta baseline of run:ranker.r3: run:ranker.cand-b (deployed as shadow-cand-b *)",
        ]
    )


def test_environment_candidates_may_be_comma_separated(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTEXTA_CANDIDATE", "cand-b, run:ranker.r3")
    pytester.makepyfile(GATE_CHECK)
    result = pytester.runpytest(f"--contexta-workspace={DEPLOYMENTS}", "-v")
    result.stdout.fnmatch_lines(["*test_gate?run:ranker.cand-b? PASSED*", "*test_gate?run:ranker.r3? PASSED*"])
    result.assert_outcomes(passed=2)


def test_ini_candidates_are_one_per_line(pytester: pytest.Pytester) -> None:
    _ini(pytester, contexta_workspace=str(DEPLOYMENTS), contexta_candidate="\n    cand-b\n    r3")
    pytester.makepyfile(GATE_CHECK)
    result = pytester.runpytest("-v")
    result.stdout.fnmatch_lines(["*test_gate?run:ranker.cand-b? PASSED*", "*test_gate?run:ranker.r3? PASSED*"])
    result.assert_outcomes(passed=2)


@pytest.fixture
def nested(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An ini in the project root naming relative paths, a test there, and ``sub/`` as the invocation dir."""
    _ini(pytester, contexta_workspace="ws", contexta_report="reports/gate.json")
    pytester.makepyfile(GATE_CHECK)
    invocation = pytester.mkdir("sub")
    monkeypatch.chdir(invocation)
    return invocation


def test_ini_paths_resolve_relative_to_the_ini_file(pytester: pytest.Pytester, nested: Path) -> None:
    shutil.copytree(DEPLOYMENTS, pytester.path / "ws")
    result = pytester.runpytest(str(pytester.path), "--contexta-candidate=cand-b")
    report = pytester.path / "reports" / "gate.json"
    result.stdout.fnmatch_lines(
        [
            f"contexta workspace: {pytester.path / 'ws'} (from ini contexta_workspace)",
            f"contexta report: {report} (from ini contexta_report)",
        ]
    )
    assert result.ret == pytest.ExitCode.OK
    assert (pytester.path / "reports" / "gate.json").is_file()
    assert not (nested / "reports").exists()


def test_command_line_paths_resolve_relative_to_the_invocation_dir(pytester: pytest.Pytester, nested: Path) -> None:
    shutil.copytree(DEPLOYMENTS, nested / "ws")  # only here: the ini's ws/ does not exist
    result = pytester.runpytest(
        str(pytester.path), "--contexta-candidate=cand-b", "--contexta-workspace=ws", "--contexta-report=gate.json"
    )
    result.stdout.fnmatch_lines([f"contexta workspace: {nested / 'ws'} (from command line)"])
    assert result.ret == pytest.ExitCode.OK
    assert (nested / "gate.json").is_file()
    assert not (pytester.path / "reports").exists()


def test_environment_paths_resolve_relative_to_the_invocation_dir(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, nested: Path
) -> None:
    shutil.copytree(DEPLOYMENTS, nested / "ws")
    monkeypatch.setenv("CONTEXTA_WORKSPACE", "ws")
    result = pytester.runpytest(str(pytester.path), "--contexta-candidate=cand-b")
    result.stdout.fnmatch_lines([f"contexta workspace: {nested / 'ws'} (from env CONTEXTA_WORKSPACE)"])
    assert result.ret == pytest.ExitCode.OK


@pytest.mark.parametrize("value", ["abc", "-1", "nan", "inf", ""])
def test_bad_lock_timeout_is_a_usage_error(pytester: pytest.Pytester, value: str) -> None:
    pytester.makepyfile(GATE_CHECK)
    result = pytester.runpytest(
        f"--contexta-lock-timeout={value}", f"--contexta-workspace={DEPLOYMENTS}", "--contexta-candidate=cand-b"
    )
    if value == "":  # an empty option counts as not given
        assert result.ret == pytest.ExitCode.OK
        return
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: contexta lock timeout '{value}' (from command line) must be a number of seconds >= 0"]
    )
    assert "Traceback" not in result.stderr.str()


def test_bad_lock_timeout_names_its_source_and_leaves_dormant_runs_alone(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTEXTA_LOCK_TIMEOUT", "soon")
    pytester.makepyfile("def test_plain():\n    pass\n")
    assert pytester.runpytest().ret == pytest.ExitCode.OK  # no candidate: the plugin is dormant
    result = pytester.runpytest(f"--contexta-workspace={DEPLOYMENTS}", "--contexta-candidate=cand-b")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: contexta lock timeout 'soon' (from env CONTEXTA_LOCK_TIMEOUT) must be*"])


def test_bad_ini_lock_timeout_is_a_usage_error(pytester: pytest.Pytester) -> None:
    _ini(pytester, contexta_lock_timeout="ten")
    pytester.makepyfile("def test_plain():\n    pass\n")
    assert pytester.runpytest().ret == pytest.ExitCode.OK
    result = pytester.runpytest(f"--contexta-workspace={DEPLOYMENTS}", "--contexta-candidate=cand-b")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: contexta lock timeout 'ten' (from ini contexta_lock_timeout) must be*"])


@pytest.mark.parametrize(
    ("option", "where"),
    [
        ("--contexta-report", "metadata/gate.json"),
        ("--contexta-markdown", "records/manifest.json"),
        ("GITHUB_STEP_SUMMARY", "records/segments/segment-000001.jsonl"),
    ],
)
def test_an_output_inside_the_gated_workspace_is_a_usage_error_naming_the_option(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, workspace_copy, option: str, where: str
) -> None:
    from conftest import snapshot_tree

    workspace = workspace_copy("latency")
    before = snapshot_tree(workspace)
    pytester.makepyfile(GATE_CHECK)
    args = [f"--contexta-workspace={workspace}", "--contexta-candidate=run:svc.faster"]
    if option == "GITHUB_STEP_SUMMARY":
        monkeypatch.setenv(option, str(workspace / where))
    else:
        args.append(f"{option}={workspace / where}")
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: contexta: {option} points inside the gated workspace ({workspace / where} is in {workspace})*"]
    )
    assert snapshot_tree(workspace) == before
