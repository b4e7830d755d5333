"""Check a generated workspace against one the real Contexta library wrote with some of the same runs.

Used by ``build_workspace.py verify`` (on the Python that has ``contexta``): the same ledger rows,
segment lines and index pointers byte for byte (apart from write times and sequence numbers), a
consistent manifest, and -- the point of it all -- the same answers from Contexta's own
``get_run_snapshot`` and ``diagnose_run``.
"""

from __future__ import annotations

import json
from dataclasses import is_dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import scenario
from build_workspace import _close, _dumps, _index_name, open_contexta

LEDGER_TABLES = ("projects", "runs", "stage_executions", "deployment_executions", "structural_ref_registry")


def _plain(value: Any) -> Any:
    """Contexta's result objects as plain data, for comparison."""
    if is_dataclass(value) and not isinstance(value, type):
        return {name: _plain(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, (dict, MappingProxyType)):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if hasattr(value, "value") and type(value).__module__.startswith("contexta") and hasattr(value, "name"):
        return value.value
    return value


def _ledger_snapshot(path: Path, refs: set[str]) -> dict[str, list[tuple[Any, ...]]]:
    import duckdb

    connection = duckdb.connect(str(path), read_only=True)
    try:
        found = {}
        for table in LEDGER_TABLES:
            rows = connection.execute(f"SELECT * FROM {table} ORDER BY ref").fetchall()
            keep = [row for row in rows if row[0] in refs or table in ("projects", "deployment_executions")]
            if table == "structural_ref_registry":
                keep = [row[:3] for row in keep]
            found[table] = keep
        return found
    finally:
        connection.close()


def _masked_lines(records: Path, runs: list[str]) -> dict[str, list[str]]:
    """Each run's segment lines without write time and sequence."""
    needles = {f'"run_ref":"{run}"': run for run in runs}
    found: dict[str, list[str]] = {run: [] for run in runs}
    for path in sorted((records / "segments").glob("segment-*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                for needle, run in needles.items():
                    if needle in line:
                        found[run].append(_dumps(json.loads(line)["record"]))
    return found


def _check_pointers(records: Path, expected: dict[str, int], problems: list[str]) -> None:
    """Every run_ref pointer of the given runs names the sequence of the line at its offset."""
    wanted: dict[int, tuple[str, int]] = {}
    for run, count in expected.items():
        path = records / "indexes" / "run_ref" / _index_name(run)
        pointers = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        if len(pointers) != count:
            problems.append(f"{path.name}: {len(pointers)} pointers, the reference has {count}")
        wanted.update({pointer["offset"]: (path.name, pointer["sequence"]) for pointer in pointers})
    with (records / "segments" / "segment-000001.jsonl").open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if number in wanted:
                name, sequence = wanted.pop(number)
                if json.loads(line)["sequence"] != sequence:
                    problems.append(f"{name}: the pointer at offset {number} names another sequence")
    if wanted:
        problems.append(f"run_ref pointers at offsets {sorted(wanted)[:5]} are past the end of the segment")


def _check_manifest(records: Path, problems: list[str]) -> int:
    manifest = json.loads((records / "manifest.json").read_text(encoding="utf-8"))
    count, last = 0, 0
    with (records / "segments" / "segment-000001.jsonl").open("rb") as handle:
        for line in handle:
            count += 1
            sequence = int(line.rsplit(b'"sequence":', 1)[1].rstrip(b"}\n"))
            if sequence != last + 1:
                problems.append(f"segment line {count} has sequence {sequence} after {last}")
                break
            last = sequence
    expected = {
        "current_segment_id": 1,
        "current_segment_record_count": count,
        "last_committed_sequence": count,
        "next_sequence": count + 1,
    }
    for key, value in expected.items():
        if manifest.get(key) != value:
            problems.append(f"manifest {key} is {manifest.get(key)}, the segment says {value}")
    by_type = (records / "indexes" / "record_type" / "metric.jsonl").read_text(encoding="utf-8").splitlines()
    if len(by_type) != count or json.loads(by_type[-1])["sequence"] != count:
        problems.append(f"indexes/record_type/metric.jsonl has {len(by_type)} pointers for {count} records")
    return count


def verify(workspace: Path, reference: Path, records: int, runs: list[int]) -> dict[str, Any]:
    """Compare a generated workspace with a real-Contexta reference holding some of the same runs.

    With ``runs`` empty, Contexta's own read-back is left out (for workspaces too large for it to read).
    """
    problems: list[str] = []
    total = _check_manifest(workspace / "records", problems)
    if total != records:
        problems.append(f"{total} records, expected {records}")
    reference_ctx = open_contexta(reference)
    try:
        present = [run.run_id for run in reference_ctx.list_runs()]
    finally:
        _close(reference_ctx)
    refs = {f"project:{scenario.PROJECT}"}
    for run in present:
        refs.add(run)
        refs.update(f"stage:{run.removeprefix('run:')}.{stage}" for stage in ("train", "evaluate"))
    ours, theirs = (
        _ledger_snapshot(workspace / "metadata" / "ledger.db", refs),
        _ledger_snapshot(reference / "metadata" / "ledger.db", refs),
    )
    for table in LEDGER_TABLES:
        if ours[table] != theirs[table]:
            problems.append(f"ledger table {table} differs for the reference's runs")
    expected, generated = _masked_lines(reference / "records", present), _masked_lines(workspace / "records", present)
    for run in present:
        if generated[run] != expected[run] or not expected[run]:
            problems.append(f"segment lines of {run} differ from the reference's")
    _check_pointers(workspace / "records", {run: len(lines) for run, lines in expected.items()}, problems)
    answers: dict[str, list[dict[str, Any]]] = {}
    for label, root in (("generated", workspace), ("reference", reference)) if runs else ():
        ctx = open_contexta(root)
        try:
            found = []
            for position, index in enumerate(runs):
                ref = scenario.run_ref(index)
                entry = {"snapshot": _plain(ctx.get_run_snapshot(ref))}
                if position == 0:
                    entry["diagnostics"] = _plain(ctx.diagnose_run(ref))
                found.append(entry)
            answers[label] = found
        finally:
            _close(ctx)
    if answers.get("generated") != answers.get("reference"):
        problems.append(
            "Contexta's get_run_snapshot/diagnose_run answers differ between the generated workspace and the reference"
        )
    checked = [scenario.run_ref(index) for index in runs]
    return {
        "ok": not problems,
        "problems": problems,
        "records": total,
        "byte_checked_runs": len(present),
        "contexta_checked_runs": checked,
    }
