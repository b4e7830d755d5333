"""Issue 9: only regular files, bounded work. No hang, no INTERNALERROR, one clear message naming the path.

Every case damages a copy of ``latency`` (candidate svc.faster, segment lines 5-8).
"""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from conftest import WORKSPACES, read_like_a_gate, snapshot_tree
from pytest_contexta.errors import WorkspaceError
from pytest_contexta.runs.metrics import find_metric
from pytest_contexta.runs.models import ContextaRun
from pytest_contexta.runs.workspace import Workspace

CANDIDATE = "run:svc.faster"
SEGMENTS = Path("records") / "segments"
SEGMENT = SEGMENTS / "segment-000001.jsonl"
INDEX = Path("records") / "indexes" / "run_ref" / "run__svc.faster.jsonl"
GATE = """
def test_present(contexta_run):
    from pytest_contexta import assert_metrics_present
    assert_metrics_present(contexta_run, "accuracy", stage="evaluate")
"""


def _load(workspace: Path, ref: str = CANDIDATE) -> ContextaRun:
    opened = Workspace(workspace, lock_timeout=0)
    try:
        return opened.load_run(ref)
    finally:
        opened.close()


def _replace_with_fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _symlink(path: Path, target: str) -> None:
    path.unlink()
    path.symlink_to(target)


def _loop(path: Path) -> None:
    path.unlink()
    path.symlink_to(path.name)


HOSTILE: dict[str, tuple[Path, Callable[[Path], None], str]] = {
    "segment-fifo": (SEGMENT, _replace_with_fifo, "is a FIFO (named pipe), not a regular file"),
    "index-fifo": (INDEX, _replace_with_fifo, "is a FIFO (named pipe), not a regular file"),
    "index-to-dev-zero": (INDEX, lambda path: _symlink(path, "/dev/zero"), "is a character device, not a regular file"),
    "segment-symlink-loop": (SEGMENT, _loop, "is a symlink loop"),
    "segments-folder-is-a-file": (
        SEGMENTS,
        lambda path: (os.rename(path, path.with_name("moved")), path.write_bytes(b"")),
        "cannot be read (Not a directory)",
    ),
    "ledger-wal-fifo": (Path("metadata") / "ledger.db.wal", os.mkfifo, "is a FIFO (named pipe), not a regular file"),
}


@pytest.mark.parametrize(("relative", "damage", "message"), HOSTILE.values(), ids=HOSTILE.keys())
def test_a_file_that_is_not_regular_is_refused_by_name_and_nothing_changes(
    workspace_copy: Callable[[str], Path], relative: Path, damage: Callable[[Path], None], message: str
) -> None:
    workspace = workspace_copy("latency")
    damage(workspace / relative)
    before = snapshot_tree(workspace)
    with pytest.raises(WorkspaceError) as refused:  # nothing else: no hang, no other exception
        read_like_a_gate(workspace, CANDIDATE, "run:svc.baseline")
    assert fnmatch.fnmatch(str(refused.value), f"{workspace / relative}*{message}*"), str(refused.value)
    assert snapshot_tree(workspace) == before


@pytest.mark.slow
@pytest.mark.parametrize("name", ["segment-fifo", "ledger-wal-fifo"])
def test_a_gate_over_a_file_that_is_not_regular_says_so_without_a_traceback(
    pytester: pytest.Pytester, workspace_copy: Callable[[str], Path], name: str
) -> None:
    """End to end: the ledger is read at start-up (a usage error), the records after collection (the run's
    checks fail with the reason)."""
    relative, damage, message = HOSTILE[name]
    workspace = workspace_copy("latency")
    damage(workspace / relative)
    before = snapshot_tree(workspace)
    pytester.makepyfile(test_gate=GATE)
    result = pytester.runpytest(
        f"--contexta-workspace={workspace}", f"--contexta-candidate={CANDIDATE}", "--contexta-lock-timeout=1"
    )
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output and "INTERNALERROR" not in output
    if relative.parts[0] == "metadata":
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines([f"ERROR: contexta: {workspace / relative}*{message}*"])
    else:
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        result.stdout.fnmatch_lines(
            [f"GATE FAILED for {CANDIDATE}: the run could not be read: {workspace / relative}*{message}*"]
        )
    assert snapshot_tree(workspace) == before


def test_an_unreadable_segments_folder_is_never_read_as_empty(workspace_copy: Callable[[str], Path]) -> None:
    workspace = workspace_copy("latency")
    (workspace / SEGMENTS).rename(workspace / "records" / "elsewhere")
    with pytest.raises(WorkspaceError, match="records/segments is missing: .*copied only in part"):
        _load(workspace)


def _append(workspace: Path, data: bytes) -> None:
    with (workspace / SEGMENT).open("ab") as handle:
        handle.write(data)


def test_blank_lines_cost_nothing_and_lose_nothing(workspace_copy: Callable[[str], Path]) -> None:
    intact = _load(WORKSPACES / "latency")
    workspace = workspace_copy("latency")
    _append(workspace, b"\n" * 4 * 2**20 + b"  \n\t\n")
    run = _load(workspace)
    assert [(m.key, m.value, m.location.line) for m in run.metrics] == [
        (m.key, m.value, m.location.line) for m in intact.metrics
    ]
    assert (run.damaged, run.reader_notes) == ((), ())


GARBAGE = {
    "nul-bytes": (b"\0" * 2**20 + b"\n", "not valid JSON"),
    "deep-nesting": (b"[" * 200_000 + b"\n", "JSON nested too deeply"),
    "huge-line": (b"x" * (17 * 2**20) + b"\n", "longer than 16 MiB"),
    "huge-line-without-newline": (b'{"run_ref":"run:svc.faster"' + b" " * (17 * 2**20), "longer than 16 MiB"),
    "not-utf-8": (b'{"\xff":1}\n', "not valid JSON"),
}


@pytest.mark.parametrize(("garbage", "reason"), GARBAGE.values(), ids=GARBAGE.keys())
def test_garbage_is_one_damaged_line_that_may_be_any_runs(
    workspace_copy: Callable[[str], Path], garbage: bytes, reason: str
) -> None:
    workspace = workspace_copy("latency")
    _append(workspace, garbage)
    run = _load(workspace)
    assert [(str(line.location), line.run_ref) for line in run.damaged] == [
        ("records/segments/segment-000001.jsonl line 17", None if b"run_ref" not in garbage[:40] else CANDIDATE)
    ]
    assert reason in run.damaged[0].reason
    assert find_metric(run, "accuracy", "evaluate").value is None
    assert len(run.metrics) == 4


def _ledger(workspace: Path, sql: str, *params: object) -> None:
    connection = duckdb.connect(str(workspace / "metadata" / "ledger.db"))
    try:
        connection.execute(sql, list(params))
    finally:
        connection.close()


def test_deeply_nested_payload_json_in_the_ledger_is_a_clear_error(workspace_copy: Callable[[str], Path]) -> None:
    workspace = workspace_copy("latency")
    _ledger(workspace, "UPDATE stage_executions SET payload_json = ? WHERE run_ref = ?", "[" * 100_000, CANDIDATE)
    with pytest.raises(WorkspaceError, match=r"holds a Stage row that cannot be read \(.*\).*restore it from a backup"):
        _load(workspace)


STAGE_EDITS = {
    "payload-renamed": (
        "payload_json",
        lambda payload: json.dumps({**json.loads(payload), "stage_name": "evaluate"}),
        "name is 'evaluate' in payload_json but 'train' in its column",
    ),
    "column-renamed": (
        "stage_name",
        lambda _: "evaluate",
        "name is 'train' in payload_json but 'evaluate' in its column",
    ),
    "both-renamed": (None, None, "its names make the ref 'stage:svc.faster.evaluate'"),
}


@pytest.mark.parametrize(("column", "edit", "problem"), STAGE_EDITS.values(), ids=STAGE_EDITS.keys())
def test_a_stage_row_that_contradicts_itself_is_an_error_of_its_run(
    workspace_copy: Callable[[str], Path], column: str | None, edit: Callable[[str], str] | None, problem: str
) -> None:
    workspace = workspace_copy("latency")
    train = "stage:svc.faster.train"
    connection = duckdb.connect(str(workspace / "metadata" / "ledger.db"))
    try:
        (payload,) = connection.execute("SELECT payload_json FROM stage_executions WHERE ref = ?", [train]).fetchone()
        if column is None or edit is None:
            renamed = json.dumps({**json.loads(payload), "stage_name": "evaluate"})
            connection.execute(
                "UPDATE stage_executions SET stage_name = 'evaluate', payload_json = ? WHERE ref = ?", [renamed, train]
            )
        else:
            connection.execute(f"UPDATE stage_executions SET {column} = ? WHERE ref = ?", [edit(payload), train])
    finally:
        connection.close()
    with pytest.raises(WorkspaceError) as raised:
        _load(workspace)
    assert f"holds a Stage row 'stage:svc.faster.train' that contradicts itself ({problem}" in str(raised.value)
    assert _load(workspace, "run:svc.slower").stage("train") is not None  # the other runs are untouched


@pytest.mark.parametrize(
    "spelling", [b'"run_ref": "run:svc.faster"', b'"run\\u005fref":"run:svc.faster"'], ids=["spaced", "escaped-key"]
)
def test_a_record_of_the_run_in_non_canonical_json_is_still_found(
    workspace_copy: Callable[[str], Path], spelling: bytes
) -> None:
    """No byte search finds these lines; they hold no canonical run_ref field, so they are decoded anyway."""
    workspace = workspace_copy("latency")
    lines = (workspace / SEGMENT).read_bytes().splitlines(keepends=True)
    edited = lines[5].replace(b'"run_ref":"run:svc.faster"', spelling).replace(b'"value":0.9,', b'"value":0.5,')
    assert edited.count(b"0.5") == 1 and spelling in edited
    (workspace / SEGMENT).write_bytes(b"".join([*lines[:5], edited, *lines[6:]]))
    run = _load(workspace)
    assert find_metric(run, "accuracy", "evaluate").value == 0.5
    assert run.damaged == ()


def test_a_non_canonical_record_among_blank_lines_is_still_found(workspace_copy: Callable[[str], Path]) -> None:
    """Blank lines make the counts of a piece disagree by themselves: the piece is looked at line by line."""
    workspace = workspace_copy("latency")
    lines = (workspace / SEGMENT).read_bytes().splitlines(keepends=True)
    edited = (
        lines[5]
        .replace(b'"run_ref":"run:svc.faster"', b'"run\\u005fref":"run:svc.faster"')
        .replace(b'"value":0.9,', b'"value":0.5,')
    )
    (workspace / SEGMENT).write_bytes(b"".join([b"\n" * 3, *lines[:5], b"\n", edited, b"\n\n", *lines[6:]]))
    run = _load(workspace)
    assert find_metric(run, "accuracy", "evaluate").value == 0.5
    assert run.damaged == ()
