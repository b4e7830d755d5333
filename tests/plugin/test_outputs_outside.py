"""Files pytest and common plugins write during a gating session never land in the gated workspace (issue 22.3).

Each is a usage error (exit 4) raised while pytest still parses its command line, so not even ``--debug``, which
opens its file as soon as parsing ends, writes a byte: the workspace stays byte-identical.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import snapshot_tree

pytestmark = pytest.mark.slow

GATE_CHECK = """
def test_gate(contexta_run, tmp_path):
    assert contexta_run.ref
"""
#: Stand-ins for pytest-html and pytest-reportlog (same options, same destinations), writing at configure time.
FAKE_PLUGINS = """
def pytest_addoption(parser):
    parser.addoption("--html", dest="htmlpath", default=None)
    parser.addoption("--report-log", dest="report_log", default=None)

def pytest_configure(config):
    for path in (config.option.htmlpath, config.option.report_log):
        if path:
            with open(path, "w") as file:
                file.write("written")
"""
OPTIONS = {
    "--junitxml": "metadata/j.xml",
    "--report-log": "records/log.jsonl",
    "--debug": "debug.log",
    "--basetemp": "tmp",
    "-o cache_dir": "cache",
    "--html": "report.html",
}


def _gate(pytester: pytest.Pytester, workspace: Path, option: str, path: Path) -> pytest.RunResult:
    pytester.makepyfile(GATE_CHECK)
    pytester.makepyfile(fakeplugins=FAKE_PLUGINS)
    pytester.syspathinsert()
    given = ["-o", f"cache_dir={path}"] if option == "-o cache_dir" else [f"{option}={path}"]
    return pytester.runpytest(
        "-p", "fakeplugins", f"--contexta-workspace={workspace}", "--contexta-candidate=run:svc.faster", *given
    )


@pytest.mark.parametrize("through_symlink", [False, True], ids=["direct", "symlink"])
@pytest.mark.parametrize("option", list(OPTIONS))
def test_a_pytest_file_inside_the_workspace_is_a_usage_error_and_nothing_is_written(
    pytester: pytest.Pytester, workspace_copy, tmp_path: Path, option: str, through_symlink: bool
) -> None:
    workspace = workspace_copy("latency")
    before = snapshot_tree(workspace)
    base = workspace
    if through_symlink:
        base = tmp_path / "looks-outside"
        base.symlink_to(workspace, target_is_directory=True)
    result = _gate(pytester, workspace, option, base / OPTIONS[option])
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    shown = "cache_dir (ini or -o cache_dir=)" if option == "-o cache_dir" else option
    where = workspace / OPTIONS[option]
    result.stderr.fnmatch_lines(
        [f"ERROR: contexta: {shown} would write {where}, inside the gated workspace {workspace};*"]
    )
    assert snapshot_tree(workspace) == before


@pytest.mark.parametrize("option", list(OPTIONS))
def test_the_same_files_outside_the_workspace_are_written(
    pytester: pytest.Pytester, workspace_copy, tmp_path: Path, option: str
) -> None:
    workspace = workspace_copy("latency")
    before = snapshot_tree(workspace)
    path = tmp_path / "outside" / OPTIONS[option].replace("/", "-")
    path.parent.mkdir()
    result = _gate(pytester, workspace, option, path)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    assert path.exists()
    assert snapshot_tree(workspace) == before


def test_a_basetemp_holding_the_workspace_is_refused_before_pytest_empties_it(
    pytester: pytest.Pytester, workspace_copy
) -> None:
    workspace = workspace_copy("latency")
    before = snapshot_tree(workspace)
    result = _gate(pytester, workspace, "--basetemp", workspace.parent)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: contexta: --basetemp {workspace.parent} holds the gated workspace*"])
    assert snapshot_tree(workspace) == before


def test_a_dormant_plugin_checks_nothing(pytester: pytest.Pytester, workspace_copy) -> None:
    workspace = workspace_copy("latency")
    pytester.makepyfile("def test_plain():\n    pass\n")
    result = pytester.runpytest(f"--contexta-workspace={workspace}", f"--junitxml={workspace.parent / 'j.xml'}")
    assert result.ret == pytest.ExitCode.OK
