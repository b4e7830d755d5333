"""Bad input: one clear line (what is wrong, where, how to fix it), exit code 4, no traceback, nothing written."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import struct
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from conftest import snapshot_tree
from pytest_contexta.errors import RunLookupError, WorkspaceError
from pytest_contexta.reading.ledger import Ledger
from pytest_contexta.reading.refs import RunRef
from pytest_contexta.runs.workspace import Workspace

pytestmark = pytest.mark.slow

GATE = """
from pytest_contexta import assert_metrics_present

def test_gate(contexta_run, baseline_run):
    assert_metrics_present(contexta_run, "accuracy", stage="evaluate")
"""
#: DuckDB's main header: an 8-byte checksum of the rest of the 4 KiB block, "DUCK", the storage version.
DUCKDB_HEADER_SIZE = 4096
DUCKDB_MAGIC = slice(8, 12)
DUCKDB_STORAGE_VERSION = slice(12, 20)


class Case:
    """Gate runs on a workspace copy; each must leave everything under ``tmp_path`` as it was."""

    def __init__(self, pytester: pytest.Pytester, workspace: Path, tmp_path: Path) -> None:
        self.pytester = pytester
        self.workspace = workspace
        self.tmp_path = tmp_path
        pytester.makepyfile(test_gate=GATE)

    def run(self, *args: str, candidate: str = "run:svc.faster") -> pytest.RunResult:
        before = snapshot_tree(self.tmp_path)
        result = self.pytester.runpytest(
            f"--contexta-workspace={self.workspace}", f"--contexta-candidate={candidate}", *args
        )
        assert snapshot_tree(self.tmp_path) == before, "the gate wrote into the workspace folder"
        return result


@pytest.fixture
def case(pytester: pytest.Pytester, tmp_path: Path, workspace_copy: Callable[[str], Path]) -> Case:
    return Case(pytester, workspace_copy("latency"), tmp_path)


def assert_one_error_line(result: pytest.RunResult, *fragments: str) -> str:
    """The run stopped before any test (exit 4) with one ``ERROR:`` line holding every fragment."""
    __tracebackhide__ = True
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, output
    assert "Traceback" not in output and "INTERNALERROR" not in output, output
    lines = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert len(lines) == 1, output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# -- the workspace path ---------------------------------------------------------------------------


def test_missing_workspace_is_not_created(case: Case) -> None:
    case.workspace = case.tmp_path / "no-such-workspace"
    line = assert_one_error_line(case.run(), f"workspace {case.workspace} does not exist", "--contexta-workspace")
    assert not case.workspace.exists()
    assert line.startswith("ERROR: contexta: ")


def test_workspace_path_is_a_file(case: Case) -> None:
    case.workspace = case.workspace / "records" / "manifest.json"
    assert_one_error_line(
        case.run(),
        f"workspace {case.workspace} is a file, not a folder",
        "pass the folder that holds metadata/ and records/",
    )


def test_quickstart_layout_names_the_workspaces_one_level_down(case: Case) -> None:
    parent = case.tmp_path / ".contexta"
    parent.mkdir()
    for project in ("svc", "other-project"):
        shutil.copytree(case.workspace, parent / project)
    shutil.rmtree(case.workspace)
    case.workspace = parent
    assert_one_error_line(
        case.run(),
        f"{parent} is not a Contexta workspace",
        f"({parent / 'other-project'}, {parent / 'svc'})",
        "pass one of them with --contexta-workspace",
    )


@pytest.mark.parametrize("missing", ["metadata/ledger.db", "records/manifest.json"])
def test_ledger_or_manifest_missing(case: Case, missing: str) -> None:
    (case.workspace / missing).unlink()
    assert_one_error_line(
        case.run(), f"workspace {case.workspace} is incomplete: {missing} is missing", "copied only in part"
    )


def test_manifest_that_is_not_json(case: Case) -> None:
    (case.workspace / "records" / "manifest.json").write_text("{not json", encoding="utf-8")
    assert_one_error_line(
        case.run(),
        f"{case.workspace}/records/manifest.json is not a readable Contexta record manifest",
        "restore it from a backup",
    )


# -- versions -------------------------------------------------------------------------------------


def test_unknown_layout_version(case: Case) -> None:
    manifest = case.workspace / "records" / "manifest.json"
    manifest.write_text(
        json.dumps({**json.loads(manifest.read_text(encoding="utf-8")), "layout_version": "2"}), encoding="utf-8"
    )
    assert_one_error_line(
        case.run(), str(manifest), "version '2'", "reads 'jsonl_segments' version '1'", "upgrade pytest-contexta"
    )


def test_unknown_store_schema_version(case: Case) -> None:
    ledger = case.workspace / "metadata" / "ledger.db"
    connection = duckdb.connect(str(ledger))
    try:
        connection.execute("UPDATE schema_metadata SET store_schema_version = '2'")
    finally:
        connection.close()
    assert_one_error_line(
        case.run(), f"{ledger} has store_schema_version 2", "reads version 1", "upgrade pytest-contexta"
    )


def _duckdb_checksum(block: bytes) -> int:
    """DuckDB's block checksum: 5381 xor-ed with each little-endian u64 word times a constant."""
    checksum = 5381
    for (word,) in struct.iter_unpack("<Q", block):
        checksum ^= (word * 0xBF58476D1CE4E5B9) & 0xFFFF_FFFF_FFFF_FFFF
    return checksum


def _claim_newer_storage_version(ledger: Path) -> None:
    """Make the file say it was written by a future DuckDB: raise the storage version, re-sign the header."""
    with ledger.open("r+b") as handle:
        header = bytearray(handle.read(DUCKDB_HEADER_SIZE))
        assert header[DUCKDB_MAGIC] == b"DUCK"
        # the simulation must understand the header it edits: the stored checksum is ours for the intact block
        assert struct.unpack("<Q", header[:8])[0] == _duckdb_checksum(bytes(header[8:]))
        header[DUCKDB_STORAGE_VERSION] = struct.pack("<Q", 1_000_000)
        header[:8] = struct.pack("<Q", _duckdb_checksum(bytes(header[8:])))
        handle.seek(0)
        handle.write(header)


def test_ledger_written_by_a_newer_duckdb(case: Case) -> None:
    ledger = case.workspace / "metadata" / "ledger.db"
    _claim_newer_storage_version(ledger)
    with pytest.raises(duckdb.Error, match="version number"):  # duckdb itself refuses it, as for a real newer file
        duckdb.connect(str(ledger), read_only=True)
    upgrade = "pip install -U duckdb" if sys.version_info >= (3, 11) else "Python 3.11 or newer"
    assert_one_error_line(
        case.run(),
        f"{ledger} was written by a newer DuckDB than the installed duckdb {duckdb.__version__}",
        upgrade,
        "1000000",
    )


def test_ledger_that_is_not_a_duckdb_file(case: Case) -> None:
    ledger = case.workspace / "metadata" / "ledger.db"
    ledger.write_bytes(b"not a database")
    assert_one_error_line(case.run(), f"{ledger} cannot be opened as a DuckDB ledger", "restore it from a backup")


def _alter(ledger: Path, statement: str) -> None:
    connection = duckdb.connect(str(ledger))
    try:
        connection.execute(statement)
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("change", "missing"),
    [
        ("DROP TABLE runs", "Table with name runs does not exist"),
        ("DROP TABLE deployment_executions", "Table with name deployment_executions does not exist"),
    ],
)
def test_ledger_without_a_table_or_column_contexta_writes(case: Case, change: str, missing: str) -> None:
    ledger = case.workspace / "metadata" / "ledger.db"
    _alter(ledger, change)
    assert_one_error_line(
        case.run(),
        f"{ledger} cannot be queried (",
        missing,
        "lacks a table or column Contexta 1.x writes",
        "restore it from a backup",
    )


def test_ledger_without_a_column_a_run_read_needs_fails_the_checks_with_one_reason(case: Case) -> None:
    ledger = case.workspace / "metadata" / "ledger.db"
    _alter(ledger, "ALTER TABLE stage_executions DROP COLUMN payload_json")
    result = case.run()  # stage rows are read with the run, when a check first needs it (after collection)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            f"GATE FAILED for run:svc.faster: the run could not be read: {ledger} cannot be "
            f'queried (*Referenced column "payload_json" not found*restore it from a backup*'
        ]
    )
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_both_tables_missing_names_the_first_one_the_gate_queries(case: Case) -> None:
    ledger = case.workspace / "metadata" / "ledger.db"
    connection = duckdb.connect(str(ledger))
    try:
        connection.execute("DROP TABLE runs")
        connection.execute("DROP TABLE deployment_executions")
    finally:
        connection.close()
    line = assert_one_error_line(
        case.run(),
        f"{ledger} cannot be queried (Catalog Error: Table with name runs does not exist!)",
        "restore it from a backup, or copy the whole workspace again",
    )
    assert "deployment_executions" not in line


@pytest.mark.parametrize("refused", ["workspace", "manifest", "segments"])
def test_permission_denied_names_the_user_the_gate_runs_as(
    workspace_copy: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch, refused: str
) -> None:
    """Permission bits do not stop root, so the refused call is simulated where the reader makes it."""
    workspace = workspace_copy("latency")
    if refused == "workspace":
        shutil.rmtree(workspace / "records")
        (workspace / "metadata" / "ledger.db").unlink()  # neither file: the check looks one level down
    path = {
        "workspace": workspace,
        "manifest": workspace / "records" / "manifest.json",
        "segments": workspace / "records" / "segments",
    }[refused]

    def refuse(self: Path, *args: object, **kwargs: object) -> object:
        raise PermissionError(13, "Permission denied", str(self))

    real_open, real_scandir = os.open, os.scandir
    monkeypatch.setattr(Path, "iterdir", lambda self: refuse(self) if self == path else Path.iterdir(self))
    monkeypatch.setattr(
        os, "open", lambda target, *args: refuse(Path(target)) if Path(target) == path else real_open(target, *args)
    )
    monkeypatch.setattr(
        os, "scandir", lambda target: refuse(Path(target)) if Path(target) == path else real_scandir(target)
    )
    with pytest.raises(WorkspaceError) as raised:
        Workspace(workspace, lock_timeout=0).load_run("run:svc.faster")
    user = f"user {getpass.getuser()!r} (uid {os.geteuid()})"
    assert str(raised.value).startswith(f"{path}")
    assert str(raised.value).endswith(
        f": permission denied for {user}, who runs the gate: give that user read "
        f"access to the workspace folder and its files"
    )


def test_damaged_deployment_row_the_baseline_rule_reads(case: Case) -> None:
    connection = duckdb.connect(str(case.workspace / "metadata" / "ledger.db"))
    try:
        ref, payload = connection.execute("SELECT ref, payload_json FROM deployment_executions").fetchone()
        connection.execute(
            "UPDATE deployment_executions SET payload_json = ? WHERE ref = ?",
            [json.dumps({**json.loads(payload), "started_at": "yesterday"}), ref],
        )
    finally:
        connection.close()
    assert_one_error_line(
        case.run(),
        f"{case.workspace}/metadata/ledger.db holds a Deployment row that cannot be read (started_at: ",
        "'yesterday'",
        "restore it from a backup",
    )


# -- run refs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("candidate", "problem"),
    [
        ("run:svc.Faster", "has an invalid part 'Faster'"),
        ("run:svc.fast er", "has an invalid part 'fast er'"),
        ("run:svc faster", "must have exactly two parts"),
        ("run:../../x", "must have exactly two parts"),
        ("run:svc..faster", "must have exactly two parts"),
        ("run:", "must have exactly two parts"),
        ("stage:a.b.c", "is a 'stage' ref, not a run ref"),
        ("RUN:a.b", "is a 'RUN' ref, not a run ref (use lowercase 'run:')"),
        ("svc.faster", "is neither a run ref nor a run name (did you mean run:svc.faster?)"),
        ("Faster", "is neither a run ref nor a run name"),
    ],
)
def test_malformed_candidate_ref(case: Case, candidate: str, problem: str) -> None:
    assert_one_error_line(case.run(candidate=candidate), "contexta: ", problem, "run:<project>.<run")


@pytest.mark.parametrize("candidate", ["", " ", " , "])
def test_empty_candidate(case: Case, candidate: str) -> None:
    assert_one_error_line(
        case.run(candidate=candidate),
        f"contexta candidate {candidate!r} (from command line) names no run",
        "give run:<project>.<run-name>",
    )


def test_malformed_baseline_ref(case: Case) -> None:
    assert_one_error_line(case.run("--contexta-baseline=run:svc/baseline"), "invalid run ref", "'run:svc/baseline'")


def test_unique_bare_name_is_resolved(case: Case) -> None:
    result = case.run(candidate="faster")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["GATE PASSED for run:svc.faster"])


def test_ambiguous_bare_name(pytester: pytest.Pytester, tmp_path: Path, workspace_copy: Callable[[str], Path]) -> None:
    case = Case(pytester, workspace_copy("conformance"), tmp_path)
    assert_one_error_line(
        case.run(candidate="baseline"),
        "run name 'baseline' is ambiguous",
        "run:fraud-model.baseline, run:shop-ranker.baseline",
        "pass the full ref",
    )


@pytest.mark.parametrize(
    ("candidate", "problem"),
    [
        ("run:svc.nope", "run run:svc.nope is not in workspace {ws} (project svc has 4 runs, latest: "),
        ("run:nope.faster", "run run:nope.faster is not in workspace {ws} (it has no project 'nope')"),
        ("nope", "no run named 'nope' in workspace {ws}"),
    ],
)
def test_unknown_run(case: Case, candidate: str, problem: str) -> None:
    assert_one_error_line(case.run(candidate=candidate), problem.format(ws=case.workspace))


def test_candidate_that_is_also_the_baseline(case: Case) -> None:
    assert_one_error_line(
        case.run("--contexta-baseline=faster"),
        "candidate run:svc.faster is also its own baseline",
        "choose another run with --contexta-baseline",
    )


# -- refs never become paths ----------------------------------------------------------------------

_OPENED: list[str] = []
_RECORDING: list[bool] = []


def _record_opens(event: str, args: tuple[object, ...]) -> None:
    if _RECORDING and event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        _OPENED.append(os.path.realpath(os.fsdecode(args[0])))


sys.addaudithook(_record_opens)  # audit hooks cannot be removed; this one records only inside files_opened()


@contextmanager
def files_opened() -> Iterator[list[str]]:
    """Every file this process opens inside the block (audit event ``open``)."""
    _OPENED.clear()
    _RECORDING.append(True)
    try:
        yield _OPENED
    finally:
        _RECORDING.clear()


def _add_run_row(workspace: Path, ref: str) -> None:
    """Write a run row with a ref no Contexta writes (a hand-edited or hostile ledger)."""
    connection = duckdb.connect(str(workspace / "metadata" / "ledger.db"))
    try:
        payload = {
            "run_ref": ref,
            "project_ref": "project:svc",
            "name": "x",
            "status": "completed",
            "started_at": "2025-05-09T09:00:00Z",
            "ended_at": "2025-05-09T10:00:00Z",
        }
        connection.execute(
            "INSERT INTO runs (ref, project_ref, name, started_at, status, payload_json) "
            "VALUES (?, 'project:svc', 'x', '2025-05-09T09:00:00Z', 'completed', ?)",
            [ref, json.dumps(payload)],
        )
    finally:
        connection.close()


HOSTILE_REF = "run:../../outside.x"
HOSTILE_INPUTS = [
    HOSTILE_REF,
    "x",
    "run:svc.faster/../../../outside",
    "run:svc.../x",
    "../../outside",
    "run:svc.faster\x00",
    "run:svc.%2e%2e",
    "run:/etc/passwd.x",
    "run:svc.faster.jsonl/../x",
]


def test_refs_never_become_paths_outside_the_workspace(workspace_copy: Callable[[str], Path]) -> None:
    workspace = workspace_copy("latency")
    _add_run_row(workspace, HOSTILE_REF)  # "x" is the bare name of this row only
    opened_by: dict[str, list[str]] = {}
    candidate = Workspace(workspace, lock_timeout=0)
    try:
        candidate.load_run("run:svc.faster")  # first load: any lazy imports happen outside the recording
        for text in HOSTILE_INPUTS:
            with files_opened() as opened, pytest.raises(RunLookupError):
                candidate.load_run(text)
            opened_by[text] = list(opened)
        with files_opened() as opened:
            assert candidate.load_run("run:svc.faster").metric_keys() == {
                "val-loss",
                "accuracy",
                "latency-p95-ms",
                "error-count",
            }
        inside = list(opened)
    finally:
        candidate.close()
    assert opened_by == {text: [] for text in HOSTILE_INPUTS}
    root = os.path.realpath(workspace) + os.sep
    assert inside and all(path.startswith(root) for path in inside), inside


@pytest.mark.parametrize(
    "hand_built", [RunRef("../../outside", "x"), RunRef("svc", "faster/../../x"), RunRef("svc", "Faster")]
)
def test_a_hand_built_run_ref_is_checked_before_it_names_a_file(
    workspace_copy: Callable[[str], Path], hand_built: RunRef
) -> None:
    workspace = workspace_copy("latency")
    _add_run_row(workspace, hand_built.text)  # even a ledger row with that ref does not make it a path
    opened_workspace = Workspace(workspace, lock_timeout=0)
    try:
        opened_workspace.load_run("run:svc.faster")  # lazy imports and the ledger connection happen here
        with files_opened() as opened, pytest.raises(RunLookupError) as raised:
            opened_workspace.load_run(hand_built)
    finally:
        opened_workspace.close()
    assert opened == []
    assert str(raised.value).startswith("invalid run ref: ")
    assert str(raised.value).endswith("build RunRef values with parse_run_ref(), or pass the ref as text")


def test_load_run_reads_the_run_row_once_and_each_segment_once_never_the_record_type_index(
    monkeypatch: pytest.MonkeyPatch, workspace_copy: Callable[[str], Path]
) -> None:
    workspace = workspace_copy("latency")
    rows_read: list[str] = []
    read_row = Ledger.run

    def counted(self: Ledger, ref: str) -> object:
        rows_read.append(ref)
        return read_row(self, ref)

    monkeypatch.setattr(Ledger, "run", counted)
    record_type_index = os.path.realpath(workspace / "records" / "indexes" / "record_type") + os.sep
    segment = os.path.realpath(workspace / "records" / "segments" / "segment-000001.jsonl")
    opened_workspace = Workspace(workspace, lock_timeout=0)
    try:
        with files_opened() as opened:
            loaded = [opened_workspace.load_run(text) for text in ("run:svc.faster", "slower", "run:svc.mixed")]
            loaded.append(opened_workspace.load_run(RunRef("svc", "baseline")))
    finally:
        opened_workspace.close()
    assert [run.ref for run in loaded] == ["run:svc.faster", "run:svc.slower", "run:svc.mixed", "run:svc.baseline"]
    assert rows_read == [run.ref for run in loaded]
    assert not [path for path in opened if os.path.realpath(path).startswith(record_type_index)]
    assert [os.path.realpath(path) for path in opened].count(segment) == len(loaded)


def test_hostile_ledger_ref_stops_the_gate_with_a_clear_message(case: Case) -> None:
    _add_run_row(case.workspace, HOSTILE_REF)
    assert_one_error_line(
        case.run(candidate="x"),
        f"run name 'x' matches '{HOSTILE_REF}'",
        "which is not a valid run ref",
        "the ledger is damaged",
    )


# -- helper arguments -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            'assert_no_regression(contexta_run, baseline_run, "accuracy", max_drop=-0.1)',
            "max_drop must be a finite number >= 0, not -0.1",
        ),
        (
            'assert_no_regression(contexta_run, baseline_run, "accuracy", max_abs_drop=math.nan)',
            "max_abs_drop must be a finite number >= 0, not nan",
        ),
        (
            'assert_no_regression(contexta_run, baseline_run, "accuracy", max_drop=None)',
            "give max_drop, max_abs_drop or both",
        ),
        (
            'assert_no_regression(contexta_run, baseline_run, "accuracy", direction="up")',
            "direction must be 'higher' or 'lower', not 'up'",
        ),
        (
            'assert_no_regression(contexta_run, baseline_run, "accuracy", direction={"accuracy": "better"})',
            "direction must be 'higher' or 'lower', not 'better'",
        ),
        ("assert_metrics_present(contexta_run, [])", "the metric list is empty"),
        (
            'assert_metrics_present(contexta_run, "val_loss")',
            (
                "'val_loss' cannot be a Contexta metric key: keys are lowercase letters, digits, '-' and '.' "
                "(did you mean 'val-loss'?)"
            ),
        ),
        (
            'assert_metrics_present(contexta_run, "accuracy", stage="Evaluate")',
            "stage 'Evaluate' cannot be a Contexta stage name",
        ),
        (
            'assert_metric_threshold(contexta_run, "accuracy", at_least=math.inf)',
            "at_least must be a finite number, not inf",
        ),
        (
            'assert_metric_threshold(contexta_run, "accuracy", at_least=0.9, at_most=0.1)',
            "at_least (0.9) is above at_most (0.1)",
        ),
        (
            'assert_no_error_diagnostics("run:svc.faster")',
            "run must be a run from the contexta_run or baseline_run fixture, not str",
        ),
    ],
)
def test_invalid_helper_arguments_fail_at_the_helper_call(case: Case, call: str, message: str) -> None:
    case.pytester.makepyfile(
        test_gate=f"""
        import math
        from pytest_contexta import *

        def test_gate(contexta_run, baseline_run):
            {call}
    """
    )
    result = case.run()
    result.assert_outcomes(failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            f">       {call}",
            f"E       pytest_contexta.errors.CheckArgumentError: {message}*",
            "test_gate.py:*: CheckArgumentError",
        ]
    )
    assert "pytest_contexta/" not in result.stdout.str(), "the error should point at the call, not inside the plugin"


def test_a_ledger_denied_to_the_gate_says_permission_denied_not_damaged(
    workspace_copy: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Root is never denied, so DuckDB's refusal is simulated."""
    workspace = workspace_copy("latency")
    ledger = workspace / "metadata" / "ledger.db"

    def refuse(path: str, read_only: bool = False) -> object:
        raise duckdb.IOException(f'IO Error: Cannot open file "{path}": Permission denied')

    monkeypatch.setattr(duckdb, "connect", refuse)
    with pytest.raises(WorkspaceError) as raised:
        Workspace(workspace, lock_timeout=0).list_runs()
    message = str(raised.value)
    assert message.startswith(
        f"{ledger} cannot be opened: permission denied for user {getpass.getuser()!r} "
        f"(uid {os.geteuid()}), who runs the gate: give that user read access"
    )
    assert "damaged" not in message and "backup" not in message


def test_names_from_the_ledger_are_shown_with_control_characters_escaped(workspace_copy: Callable[[str], Path]) -> None:
    workspace = workspace_copy("latency")
    forged = "run:svc.x\x1b[2K\rGATE PASSED"
    _add_run_row(workspace, forged)
    opened = Workspace(workspace, lock_timeout=0)
    with pytest.raises(WorkspaceError) as raised:  # listing the project's runs meets the forged row
        opened.load_run("run:svc.nope")
    message = str(raised.value)
    assert "holds a Run row 'run:svc.x\\x1b[2K\\rGATE PASSED' that contradicts itself" in message
    assert "\x1b" not in message and "\r" not in message
