"""Write the benchmark workspaces described in ``scenario.py``. Runs on the Python that has ``contexta``.

Two writers produce the same content:

* ``real``: the real Contexta library, through its low-level stores, exactly as Contexta's case
  studies do (``put_run``/``put_stage_execution``/``put_deployment_execution`` and one
  ``record_store.append_many`` per run). Durability is ``flush`` (what Contexta's ``test`` profile
  uses) instead of ``fsync``: it changes how long writing takes, not what is written.
* ``generate``: for sizes where the real library is too slow to be practical. Contexta creates the
  workspace and writes the project and run 0 itself; every other run is written in bulk: ledger
  rows with DuckDB SQL, segment and index lines with ``json.dumps`` in Contexta's own settings.

``verify`` (``verify_workspace.py``) checks a generated workspace against a reference that the
real library wrote with the same runs (see ``--only``): the same ledger rows, segment lines and index
pointers byte for byte (apart from write times and sequence numbers), a consistent manifest, and --
the point of it all -- the same answers from Contexta's own ``get_run_snapshot`` and ``diagnose_run``.

Usage::

    python build_workspace.py real --size 200 --out DIR [--only 0,179,199]
    python build_workspace.py generate --size 20000 --out DIR
    python build_workspace.py real-steps --steps 300 --out DIR     # the per-step workspace (scenario.steps_runs)
    python build_workspace.py generate-steps --steps 1000000 --out DIR
    python build_workspace.py add-deployments --size 2000 --count 19994 --out DIR
    python build_workspace.py verify --records 400000 --workspace DIR --reference DIR --runs 19999,17999
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from contexta import Contexta
from contexta.config import RecordStoreConfig, UnifiedConfig, WorkspaceConfig
from contexta.contract import (
    DeploymentExecution,
    MetricPayload,
    MetricRecord,
    Project,
    RecordEnvelope,
    Run,
    StageExecution,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scenario  # noqa: E402


def open_contexta(root: Path) -> Contexta:
    return Contexta(
        config=UnifiedConfig(
            project_name=scenario.PROJECT,
            workspace=WorkspaceConfig(root_path=root),
            records=RecordStoreConfig(durability_mode="flush"),
        )
    )


def _close(ctx: Contexta) -> None:
    ctx.metadata_store.close()


# -- the real library ----------------------------------------------------------------------------------------


class RealWriter:
    """Writes scenario runs with Contexta's low-level stores."""

    def __init__(self, root: Path) -> None:
        self.ctx = open_contexta(root)
        self.store = self.ctx.metadata_store
        self.records = self.ctx.record_store

    def project(self) -> None:
        self.store.projects.put_project(
            Project(
                project_ref=f"project:{scenario.PROJECT}", name=scenario.PROJECT, created_at=scenario.PROJECT_CREATED_AT
            )
        )

    def run(self, spec: scenario.RunSpec) -> None:
        self.store.runs.put_run(
            Run(
                run_ref=spec.ref,
                project_ref=f"project:{scenario.PROJECT}",
                name=spec.name,
                status="completed",
                started_at=spec.started_at,
                ended_at=spec.ended_at,
            )
        )
        batch = []
        for stage in spec.stages:
            ref = scenario.stage_ref(spec.index, stage.name)
            self.store.stages.put_stage_execution(
                StageExecution(
                    stage_execution_ref=ref,
                    run_ref=spec.ref,
                    stage_name=stage.name,
                    status="completed",
                    started_at=stage.started_at,
                    ended_at=stage.ended_at,
                    order_index=stage.order,
                )
            )
            for metric in stage.metrics:
                batch.append(
                    MetricRecord(
                        envelope=RecordEnvelope(
                            record_ref=scenario.record_ref(spec.index, len(batch) + 1),
                            record_type="metric",
                            recorded_at=metric.observed_at,
                            observed_at=metric.observed_at,
                            producer_ref=scenario.PRODUCER,
                            run_ref=spec.ref,
                            stage_execution_ref=ref,
                        ),
                        payload=MetricPayload(
                            metric_key=metric.key,
                            value=metric.value,
                            value_type="float64",
                            aggregation_scope=metric.scope,
                            tags=dict(metric.tags),
                        ),
                    )
                )
        result = self.records.append_many(batch)
        if result.rejected:
            raise SystemExit(f"Contexta rejected records of {spec.ref}: {result.rejected}")

    def deployment(self, spec: scenario.DeploymentSpec) -> None:
        self.store.deployments.put_deployment_execution(
            DeploymentExecution(
                deployment_execution_ref=f"deployment:{scenario.PROJECT}.{spec.name}",
                project_ref=f"project:{scenario.PROJECT}",
                deployment_name=spec.name,
                status=spec.status,
                started_at=spec.started_at,
                ended_at=spec.ended_at,
                order_index=spec.order,
                run_ref=scenario.run_ref(spec.run_index),
            )
        )

    def close(self) -> None:
        _close(self.ctx)


def write_real(root: Path, size: int, only: Iterable[int] | None = None) -> None:
    """All ``size`` runs (or just ``only``) and every deployment, in time order."""
    indexes = sorted(set(only)) if only is not None else range(size)
    _write_real(root, [scenario.run_spec(index) for index in indexes], scenario.deployment_specs(size))


def _write_real(root: Path, runs: list[scenario.RunSpec], deployments: list[scenario.DeploymentSpec]) -> None:
    """The project, then each run followed by its deployments, then the deployments of runs not written."""
    writer = RealWriter(root)
    written = {spec.index for spec in runs}
    try:
        writer.project()
        for spec in runs:
            writer.run(spec)
            for deployment in deployments:
                if deployment.run_index == spec.index:
                    writer.deployment(deployment)
        for deployment in deployments:
            if deployment.run_index not in written:
                writer.deployment(deployment)
    finally:
        writer.close()


def add_deployments(root: Path, deployments: list[scenario.DeploymentSpec]) -> None:
    """More deployments, written by Contexta into an existing workspace."""
    writer = RealWriter(root)
    try:
        for spec in deployments:
            writer.deployment(spec)
    finally:
        writer.close()


# -- the bulk generator --------------------------------------------------------------------------------------


def _dumps(document: dict[str, Any]) -> str:
    """Contexta's serialization of segment lines, index pointers and ledger payloads."""
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{time.time_ns() // 1000 % 1_000_000:06d}Z"


def _ledger_rows(spec: scenario.RunSpec) -> dict[str, list[dict[str, Any]]]:
    index = spec.index
    project_ref = f"project:{scenario.PROJECT}"
    run_payload = {
        "ended_at": spec.ended_at,
        "extensions": [],
        "name": spec.name,
        "project_ref": project_ref,
        "run_ref": spec.ref,
        "schema_version": "1.0.0",
        "started_at": spec.started_at,
        "status": "completed",
    }
    rows: dict[str, list[dict[str, Any]]] = {
        "runs": [
            {
                "ref": spec.ref,
                "project_ref": project_ref,
                "name": spec.name,
                "started_at": spec.started_at,
                "status": "completed",
                "payload_json": _dumps(run_payload),
            }
        ],
        "stage_executions": [],
        "structural_ref_registry": [{"ref": spec.ref, "ref_kind": "run", "owner_kind": "run", "registered_at": _now()}],
    }
    for stage in spec.stages:
        ref = scenario.stage_ref(index, stage.name)
        payload = {
            "ended_at": stage.ended_at,
            "extensions": [],
            "order_index": stage.order,
            "run_ref": spec.ref,
            "schema_version": "1.0.0",
            "stage_execution_ref": ref,
            "stage_name": stage.name,
            "started_at": stage.started_at,
            "status": "completed",
        }
        rows["stage_executions"].append(
            {
                "ref": ref,
                "run_ref": spec.ref,
                "stage_name": stage.name,
                "order_index": stage.order,
                "started_at": stage.started_at,
                "status": "completed",
                "payload_json": _dumps(payload),
            }
        )
        rows["structural_ref_registry"].append(
            {"ref": ref, "ref_kind": "stage", "owner_kind": "stage_execution", "registered_at": _now()}
        )
    return rows


def _segment_documents(spec: scenario.RunSpec) -> Iterator[tuple[str, dict[str, Any]]]:
    """(stage ref, record) for each record of a run, in append order."""
    number = 0
    for stage in spec.stages:
        ref = scenario.stage_ref(spec.index, stage.name)
        for metric in stage.metrics:
            number += 1
            envelope = {
                "completeness_marker": "complete",
                "correlation_refs": {},
                "degradation_marker": "none",
                "extensions": [],
                "observed_at": metric.observed_at,
                "producer_ref": scenario.PRODUCER,
                "record_ref": scenario.record_ref(spec.index, number),
                "record_type": "metric",
                "recorded_at": metric.observed_at,
                "run_ref": spec.ref,
                "schema_version": "1.0.0",
                "stage_execution_ref": ref,
            }
            payload = {
                "aggregation_scope": metric.scope,
                "metric_key": metric.key,
                "tags": dict(metric.tags),
                "value": metric.value,
                "value_type": "float64",
            }
            yield ref, {"envelope": envelope, "payload": payload}


def _index_name(key: str) -> str:
    """Contexta's index file name for a ref (valid refs need only the ``:`` replacement)."""
    return key.replace(":", "__") + ".jsonl"


def generate(root: Path, size: int) -> None:
    """Contexta writes the project and run 0; the other runs are appended in bulk; deployments by Contexta."""
    _write_real(root, [scenario.run_spec(0)], [])
    _bulk_append(root, (scenario.run_spec(index) for index in range(1, size)))
    add_deployments(root, scenario.deployment_specs(size))


def generate_steps(root: Path, steps: int) -> None:
    """Contexta writes the project, the baseline, the regressed candidate and the deployment; the candidate
    with its ``steps`` per-step records is appended in bulk."""
    runs = scenario.steps_runs(steps)
    _write_real(root, [spec for spec in runs if spec.index != scenario.STEPS_CANDIDATE], scenario.steps_deployments())
    _bulk_append(root, [spec for spec in runs if spec.index == scenario.STEPS_CANDIDATE])


def _bulk_append(root: Path, runs: Iterable[scenario.RunSpec]) -> None:
    """Append runs after what Contexta wrote: segment lines, index pointers, manifest, ledger rows."""
    records = root / "records"
    manifest = json.loads((records / "manifest.json").read_text(encoding="utf-8"))
    sequence = manifest["next_sequence"]
    segment_id = manifest["current_segment_id"]
    offset = manifest["current_segment_record_count"]
    indexes = records / "indexes"
    for family in ("run_ref", "stage_execution_ref", "record_type"):
        (indexes / family).mkdir(parents=True, exist_ok=True)
    segment_path = records / "segments" / f"segment-{segment_id:06d}.jsonl"
    with (
        tempfile.TemporaryDirectory() as folder,
        LedgerRows(Path(folder)) as ledger_rows,
        segment_path.open("a", encoding="utf-8", newline="\n") as segment,
        (indexes / "record_type" / "metric.jsonl").open("a", encoding="utf-8", newline="\n") as by_type,
    ):
        for spec in runs:
            ledger_rows.add(_ledger_rows(spec))
            pointers: dict[str, list[str]] = {}
            for stage, record in _segment_documents(spec):
                offset += 1
                segment.write(_dumps({"appended_at": _now(), "record": record, "sequence": sequence}) + "\n")
                pointer = _dumps({"offset": offset, "segment_id": segment_id, "sequence": sequence}) + "\n"
                by_type.write(pointer)
                for name in (f"run_ref/{_index_name(spec.ref)}", f"stage_execution_ref/{_index_name(stage)}"):
                    pointers.setdefault(name, []).append(pointer)
                sequence += 1
            for name, lines in pointers.items():
                with (indexes / name).open("a", encoding="utf-8", newline="\n") as handle:
                    handle.write("".join(lines))
        segment.close()
        manifest.update(
            next_sequence=sequence, last_committed_sequence=sequence - 1, current_segment_record_count=offset
        )
        (records / "manifest.json").write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        ledger_rows.insert_into(root / "metadata" / "ledger.db")


class LedgerRows:
    """Ledger rows collected in one JSONL file per table (not in memory), then inserted with DuckDB SQL."""

    TABLES = ("runs", "stage_executions", "structural_ref_registry")

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __enter__(self) -> LedgerRows:
        self.files = {table: (self.folder / f"{table}.jsonl").open("w", encoding="utf-8") for table in self.TABLES}
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self.files.values():
            handle.close()

    def add(self, rows: dict[str, list[dict[str, Any]]]) -> None:
        for table, table_rows in rows.items():
            self.files[table].write("".join(json.dumps(row) + "\n" for row in table_rows))

    def insert_into(self, path: Path) -> None:
        import duckdb

        for handle in self.files.values():
            handle.flush()
        connection = duckdb.connect(str(path))
        try:
            for table in self.TABLES:
                info = connection.execute(f"PRAGMA table_info('{table}')").fetchall()
                columns = [row[1] for row in info]
                spec = ", ".join(f"'{row[1]}': '{row[2]}'" for row in info)
                source = self.folder / f"{table}.jsonl"
                connection.execute(
                    f"INSERT INTO {table} SELECT {', '.join(columns)} FROM "
                    f"read_json('{source}', format='newline_delimited', columns={{{spec}}})"
                )
        finally:
            connection.close()


# -- entry point ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    real = commands.add_parser("real", help="write with the real Contexta library")
    real.add_argument("--size", type=int, required=True)
    real.add_argument("--out", type=Path, required=True)
    real.add_argument("--only", help="comma-separated run indexes to write (default: all)")
    bulk = commands.add_parser("generate", help="write in bulk in Contexta's format")
    bulk.add_argument("--size", type=int, required=True)
    bulk.add_argument("--out", type=Path, required=True)
    real_steps = commands.add_parser("real-steps", help="the per-step workspace, written by Contexta")
    real_steps.add_argument("--steps", type=int, required=True)
    real_steps.add_argument("--out", type=Path, required=True)
    bulk_steps = commands.add_parser("generate-steps", help="the per-step workspace, the candidate in bulk")
    bulk_steps.add_argument("--steps", type=int, required=True)
    bulk_steps.add_argument("--out", type=Path, required=True)
    more = commands.add_parser("add-deployments", help="Contexta writes older deployments into a workspace")
    more.add_argument("--size", type=int, required=True, help="the workspace's run count")
    more.add_argument("--count", type=int, required=True)
    more.add_argument("--out", type=Path, required=True)
    check = commands.add_parser("verify", help="compare a generated workspace with a real-Contexta reference")
    check.add_argument("--records", type=int, required=True, help="how many records the workspace must hold")
    check.add_argument("--workspace", type=Path, required=True)
    check.add_argument("--reference", type=Path, required=True)
    check.add_argument(
        "--runs", default="", help="comma-separated run indexes Contexta reads in both (none: byte comparison only)"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result: dict[str, Any] = {}
    if args.command == "real":
        only = [int(part) for part in args.only.split(",")] if args.only else None
        write_real(args.out, args.size, only)
    elif args.command == "generate":
        generate(args.out, args.size)
    elif args.command == "real-steps":
        _write_real(args.out, scenario.steps_runs(args.steps), scenario.steps_deployments())
    elif args.command == "generate-steps":
        generate_steps(args.out, args.steps)
    elif args.command == "add-deployments":
        add_deployments(args.out, scenario.history_deployments(args.size, args.count))
    else:
        from verify_workspace import verify

        result = verify(
            args.workspace, args.reference, args.records, [int(part) for part in args.runs.split(",") if part]
        )
    result["seconds"] = round(time.perf_counter() - started, 2)
    print(json.dumps(result))
    return 0 if result.get("ok", True) else 1


if __name__ == "__main__":
    sys.exit(main())
