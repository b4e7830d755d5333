"""While another process holds the ledger open, the gate waits the bounded lock timeout, then fails clearly.

The holder is a real second process that opens the ledger read-write with ``duckdb.connect``, as every
Contexta process does (and keeps it open until it exits).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

from conftest import snapshot_tree
from pytest_contexta.errors import WorkspaceLockedError
from pytest_contexta.runs.workspace import Workspace

pytestmark = pytest.mark.slow  # a second process holds the ledger; gate sessions wait for it

HOLDER = """
import sys
import duckdb

connection = duckdb.connect(sys.argv[1])
print("holding", flush=True)
sys.stdin.readline()  # hold the lock until the test says so
connection.close()
"""
GATE = """
def test_gate(contexta_run, baseline_run):
    assert contexta_run.ref == "run:svc.faster"
"""


class Holder:
    """A second process holding the ledger open read-write."""

    def __init__(self, ledger: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(ledger)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline() == "holding\n", "the holder could not open the ledger"

    @property
    def pid(self) -> int:
        return self.process.pid

    def release(self) -> None:
        """Let the holder close the ledger and exit (returns at once; the holder finishes on its own)."""
        assert self.process.stdin is not None
        if not self.process.stdin.closed:
            self.process.stdin.write("\n")
            self.process.stdin.close()

    def stop(self) -> None:
        self.release()
        self.process.wait(timeout=60)
        assert self.process.stdout is not None
        self.process.stdout.close()


@pytest.fixture
def holder(workspace_copy: Callable[[str], Path]) -> Iterator[tuple[Path, Holder]]:
    workspace = workspace_copy("latency")
    held = Holder(workspace / "metadata" / "ledger.db")
    try:
        yield workspace, held
    finally:
        held.stop()


def _gate_args(workspace: Path, timeout: str) -> list[str]:
    return [
        f"--contexta-workspace={workspace}",
        "--contexta-candidate=run:svc.faster",
        f"--contexta-lock-timeout={timeout}",
    ]


@pytest.mark.parametrize("timeout", ["0", "0.3"])
def test_gate_fails_naming_the_holder_and_writes_nothing(
    pytester: pytest.Pytester, holder: tuple[Path, Holder], timeout: str
) -> None:
    workspace, held = holder
    pytester.makepyfile(test_gate=GATE)
    before = snapshot_tree(workspace)  # taken while the holder has the ledger open: its own files are in it
    result = pytester.runpytest(*_gate_args(workspace, timeout))
    assert snapshot_tree(workspace) == before
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output
    result.stderr.fnmatch_lines(
        [
            (
                f"ERROR: contexta: {workspace}/metadata/ledger.db is locked by another process (PID {held.pid}, *), "
                f"e.g. a training job or 'contexta serve http' still holding the ledger; waited {timeout} s. Let it "
                f"finish, or raise --contexta-lock-timeout"
            ),
        ]
    )


def test_gate_proceeds_when_the_holder_exits_within_the_timeout(
    pytester: pytest.Pytester, holder: tuple[Path, Holder], monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace, held = holder
    refused: list[str] = []
    connect = duckdb.connect

    def connect_and_release_after_first_refusal(*args: object, **kwargs: object) -> duckdb.DuckDBPyConnection:
        """The gate's own first refused attempt tells the holder to exit, so the gate must wait and retry."""
        try:
            return connect(*args, **kwargs)
        except duckdb.Error as exc:
            refused.append(str(exc))
            held.release()
            raise

    monkeypatch.setattr(duckdb, "connect", connect_and_release_after_first_refusal)
    pytester.makepyfile(test_gate=GATE)
    result = pytester.runpytest(*_gate_args(workspace, "60"))
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.OK
    assert refused and all(f"(PID {held.pid})" in message for message in refused)
    waiting = [line for line in result.stdout.lines if "waiting up to" in line]
    assert len(waiting) == 1  # said once, before the wait
    assert waiting[0].startswith(
        f"contexta: {workspace}/metadata/ledger.db is locked by another process (PID {held.pid}, "
    )
    assert waiting[0].endswith(" s for it (--contexta-lock-timeout)")


WRITER = """
import sys
import duckdb

try:
    duckdb.connect(sys.argv[1]).close()
except duckdb.Error as exc:
    print(str(exc).splitlines()[0])
else:
    print("opened read-write")
"""


def _writer_opens(ledger: Path) -> str:
    """What a second process says when it tries to open the ledger read-write, as a training job would."""
    done = subprocess.run(
        [sys.executable, "-c", WRITER, str(ledger)], capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout.strip()


def test_each_read_releases_the_ledger_and_a_reading_block_holds_it(workspace_copy: Callable[[str], Path]) -> None:
    workspace = workspace_copy("latency")
    ledger = workspace / "metadata" / "ledger.db"
    opened = Workspace(workspace, lock_timeout=0)
    assert opened.load_run("run:svc.faster").metric_keys("evaluate") == {"accuracy", "latency-p95-ms", "error-count"}
    assert _writer_opens(ledger) == "opened read-write"  # a read outside a block lets go at once
    with opened.reading():
        assert opened.load_run("run:svc.slower").ref == "run:svc.slower"
        with opened.reading():
            opened.list_runs()
        assert "Conflicting lock is held" in _writer_opens(ledger)  # the outer block still holds it
    assert _writer_opens(ledger) == "opened read-write"


def test_reopening_after_release_waits_for_a_writer_with_the_same_bounded_wait(
    workspace_copy: Callable[[str], Path],
) -> None:
    workspace = workspace_copy("latency")
    opened = Workspace(workspace, lock_timeout=0)
    try:
        opened.load_run("run:svc.faster")
        held = Holder(workspace / "metadata" / "ledger.db")
        try:
            locked = rf"is locked by another process \(PID {held.pid}, .*waited 0 s"
            with pytest.raises(WorkspaceLockedError, match=locked):
                opened.load_run("run:svc.slower")
        finally:
            held.stop()
        assert opened.load_run("run:svc.slower").ref == "run:svc.slower"
    finally:
        opened.close()
