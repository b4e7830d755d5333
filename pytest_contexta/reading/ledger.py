"""Contexta's DuckDB metadata ledger (``metadata/ledger.db``), read-only: its rows, decoded and checked."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import duckdb
from pydantic import BaseModel

from ..errors import WorkspaceError
from ..frozen import first_problem
from ..text import printable
from .ledger_connection import open_read_only
from .rows import Batch, Deployment, EnvironmentSnapshot, Run, Stage

_RUN_FIELDS = {
    "run_ref": "ref",
    "project_ref": "project_ref",
    "name": "name",
    "status": "status",
    "started_at": "started_at",
    "ended_at": "ended_at",
    "description": "description",
}
_STAGE_FIELDS = {
    "stage_execution_ref": "ref",
    "run_ref": "run_ref",
    "stage_name": "name",
    "status": "status",
    "order_index": "order_index",
    "started_at": "started_at",
    "ended_at": "ended_at",
}
_BATCH_FIELDS = {
    "batch_execution_ref": "ref",
    "run_ref": "run_ref",
    "stage_execution_ref": "stage_ref",
    "batch_name": "name",
    "status": "status",
    "order_index": "order_index",
    "started_at": "started_at",
    "ended_at": "ended_at",
}
_DEPLOYMENT_FIELDS = {
    "deployment_execution_ref": "ref",
    "project_ref": "project_ref",
    "deployment_name": "name",
    "status": "status",
    "run_ref": "run_ref",
    "order_index": "order_index",
    "started_at": "started_at",
    "ended_at": "ended_at",
    "artifact_ref": "artifact_ref",
    "environment_snapshot_ref": "environment_snapshot_ref",
}
_ENVIRONMENT_FIELDS = {
    "environment_snapshot_ref": "ref",
    "run_ref": "run_ref",
    "captured_at": "captured_at",
    "python_version": "python_version",
    "platform": "platform",
    "packages": "packages",
    "environment_variables": "environment_variables",
}


_Row = TypeVar("_Row", bound=BaseModel)
_DEPLOYMENT_COLUMNS = "ref, project_ref, deployment_name, status, run_ref, payload_json"
#: The tables read per run: table -> (columns, the column naming the run, Contexta's order within one run).
_PER_RUN = {
    "runs": ("ref, project_ref, name, payload_json", "ref", "ref"),
    "stage_executions": ("ref, run_ref, stage_name, payload_json", "run_ref", "order_index, started_at, ref"),
    "batch_executions": (
        "ref, run_ref, stage_ref, batch_name, payload_json",
        "run_ref",
        "stage_ref, order_index, started_at, ref",
    ),
    "deployment_executions": (_DEPLOYMENT_COLUMNS, "run_ref", "order_index, started_at, ref"),
    "environment_snapshots": ("payload_json", "run_ref", "captured_at, ref"),
}


class DeploymentRow(NamedTuple):
    """A deployment as the ledger's columns tell it, for ordering and passing over without decoding it."""

    ref: str
    name: str
    status: str
    run_ref: str | None
    start_unreadable: bool


def _pick(payload_json: str, fields: dict[str, str]) -> dict[str, Any]:
    payload = json.loads(payload_json)
    return {ours: payload[theirs] for theirs, ours in fields.items() if theirs in payload}


class Ledger:
    """Read-only access to one ledger.

    The DuckDB connection is opened on the first query, with a bounded wait for other processes' locks,
    and held only until :meth:`close`: while it is open, no Contexta process can open the ledger to write.
    """

    def __init__(self, path: Path, *, lock_timeout: float, on_wait: Callable[[str], None] | None = None) -> None:
        self.path = path
        self.lock_timeout = lock_timeout
        self.on_wait = on_wait  # told once per wait who holds the lock and how long the gate will wait
        self._open_connection: duckdb.DuckDBPyConnection | None = None
        self._prefetched: dict[str, dict[str, list[tuple[Any, ...]]]] = {}  # table -> run ref -> its rows

    def close(self) -> None:
        """Release the connection (and DuckDB's lock on the file); the next query opens it again."""
        self._prefetched.clear()  # rows read through this connection; a new one may see a newer ledger
        if self._open_connection is not None:
            connection, self._open_connection = self._open_connection, None
            connection.close()

    def prefetch(self, run_refs: list[str], tables: tuple[str, ...] = tuple(_PER_RUN)) -> None:
        """Read the rows of many runs with one query per table, for the per-run reads until :meth:`close`.

        A query costs ~1-3 ms of CPU whatever it returns, and a run takes five: 200 runs read one by one
        cost a second. Rows are only fetched here; each is decoded and checked when its run is read.
        """
        for table in tables:
            known = self._prefetched.get(table, {})
            wanted = [ref for ref in dict.fromkeys(run_refs) if ref not in known]
            if not wanted:
                continue
            columns, key, order = _PER_RUN[table]
            by_run: dict[str, list[tuple[Any, ...]]] = {ref: [] for ref in wanted}
            for row in self._rows(
                f"SELECT {key}, {columns} FROM {table} WHERE list_contains(?, {key}) ORDER BY {key}, {order}", wanted
            ):
                by_run[row[0]].append(row[1:])
            self._prefetched.setdefault(table, {}).update(by_run)

    def _run_rows(self, table: str, run_ref: str) -> list[tuple[Any, ...]]:
        """The rows of one run in ``table``, in Contexta's order: prefetched, or one query."""
        prefetched = self._prefetched.get(table, {}).get(run_ref)
        if prefetched is not None:
            return prefetched
        columns, key, order = _PER_RUN[table]
        return self._rows(f"SELECT {columns} FROM {table} WHERE {key} = ? ORDER BY {order}", run_ref)

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._open_connection is None:
            self._open_connection = open_read_only(self.path, self.lock_timeout, self.on_wait)
        return self._open_connection

    def _rows(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        connection = self._connection()
        try:
            return connection.execute(sql, list(params)).fetchall()
        except duckdb.Error as exc:
            lacks = (
                " lacks a table or column Contexta 1.x writes, so it"
                if isinstance(exc, (duckdb.CatalogException, duckdb.BinderException))
                else ""
            )
            raise WorkspaceError(
                f"{self.path} cannot be queried ({first_problem(exc)}): it{lacks} is damaged or was not written by "
                f"Contexta 1.x; restore it from a backup, or copy the whole workspace again"
            ) from exc

    def _decode(self, model: type[_Row], payload_json: str, fields: dict[str, str]) -> _Row:
        """Build ``model`` from a row's ``payload_json``, or raise :class:`WorkspaceError` naming the damaged row."""
        try:
            return model(**_pick(payload_json, fields))
        except (ValueError, TypeError, RecursionError) as exc:  # invalid or too deeply nested JSON, a failed validation
            reason = printable(first_problem(exc))
            raise WorkspaceError(
                f"{self.path} holds a {model.__name__} row that cannot be read ({reason}): {payload_json[:120]!r}. "
                f"The ledger is damaged or was not written by Contexta 1.x: restore it from a backup"
            ) from exc

    def _checked(self, row: _Row, columns: dict[str, object], expected_ref: str) -> _Row:
        """``row`` unless its payload contradicts its own columns, or its ref is not the one its names make."""
        problems = [
            f"{field} is {getattr(row, field)!r} in payload_json but {value!r} in its column"
            for field, value in columns.items()
            if getattr(row, field) != value
        ]
        if getattr(row, "ref") != expected_ref:
            problems.append(f"its names make the ref {expected_ref!r}")
        if problems:
            shown = printable(str(columns.get("ref")))
            raise WorkspaceError(
                f"{self.path} holds a {type(row).__name__} row '{shown}' that contradicts "
                f"itself ({printable('; '.join(problems))}): the ledger was edited or is damaged; restore it from a "
                f"backup"
            )
        return row

    def _run(self, ref: str, project_ref: str, name: str, payload_json: str) -> Run:
        run = self._decode(Run, payload_json, _RUN_FIELDS)
        return self._checked(
            run, {"ref": ref, "project_ref": project_ref, "name": name}, f"run:{project_ref.partition(':')[2]}.{name}"
        )

    def run(self, ref: str) -> Run | None:
        rows = self._run_rows("runs", ref)
        return self._run(*rows[0]) if rows else None

    def runs(self, project_ref: str | None = None) -> list[Run]:
        """All runs, or one project's, in Contexta's order (project, start time, ref)."""
        where, params = ("WHERE project_ref = ?", [project_ref]) if project_ref else ("", [])
        rows = self._rows(
            f"SELECT ref, project_ref, name, payload_json FROM runs {where} ORDER BY project_ref, started_at, ref",
            *params,
        )
        return [self._run(*row) for row in rows]

    def run_refs_named(self, name: str) -> list[str]:
        """Refs of every run whose ref ends with ``.<name>`` (how Contexta resolves bare names)."""
        return [row[0] for row in self._rows("SELECT ref FROM runs WHERE suffix(ref, ?) ORDER BY ref", "." + name)]

    def stages(self, run_ref: str) -> list[Stage]:
        rows = self._run_rows("stage_executions", run_ref)
        run_value = run_ref.partition(":")[2]
        return [
            self._checked(
                self._decode(Stage, payload, _STAGE_FIELDS),
                {"ref": ref, "run_ref": run, "name": name},
                f"stage:{run_value}.{name}",
            )
            for ref, run, name, payload in rows
        ]

    def batches(self, run_ref: str) -> list[Batch]:
        """A run's batches in Contexta's order: grouped by stage ref, then order, start time and ref."""
        rows = self._run_rows("batch_executions", run_ref)
        run_value = run_ref.partition(":")[2]
        return [
            self._checked(
                self._decode(Batch, payload, _BATCH_FIELDS),
                {"ref": ref, "run_ref": run, "stage_ref": stage, "name": name},
                f"batch:{stage.partition(':')[2]}.{name}"
                if stage.startswith(f"stage:{run_value}.")
                else f"batch:<a stage of {run_ref}>.{name}",
            )
            for ref, run, stage, name, payload in rows
        ]

    def deployments(self, *, run_ref: str | None = None, project_ref: str | None = None) -> list[Deployment]:
        """Deployments of a run (Contexta's snapshot order) or of a project."""
        if run_ref is not None:
            return [self._deployment(*row) for row in self._run_rows("deployment_executions", run_ref)]
        if project_ref is not None:
            sql = "WHERE project_ref = ? ORDER BY deployment_name, order_index, started_at, ref"
            key: str | None = project_ref
        else:
            sql, key = "ORDER BY project_ref, deployment_name, order_index, started_at, ref", None
        params = [] if key is None else [key]
        rows = self._rows(f"SELECT {_DEPLOYMENT_COLUMNS} FROM deployment_executions {sql}", *params)
        return [self._deployment(*row) for row in rows]

    def _deployment(
        self, ref: str, project_ref: str, name: str, status: str, run_ref: str | None, payload_json: str
    ) -> Deployment:
        deployment = self._decode(Deployment, payload_json, _DEPLOYMENT_FIELDS)
        return self._checked(
            deployment,
            {"ref": ref, "project_ref": project_ref, "name": name, "status": status, "run_ref": run_ref},
            f"deployment:{project_ref.partition(':')[2]}.{name}",
        )

    def deployments_newest_first(self, project_ref: str) -> list[DeploymentRow]:
        """A project's deployments ordered newest first by real start time in SQL, without decoding payloads.

        A row whose start time cannot be read sorts first, so the caller passes over it rather than skip it silently.
        """
        rows = self._rows(
            "SELECT ref, deployment_name, status, run_ref, TRY_CAST(started_at AS TIMESTAMPTZ) IS NULL "
            "FROM deployment_executions WHERE project_ref = ? "
            "ORDER BY TRY_CAST(started_at AS TIMESTAMPTZ) DESC NULLS FIRST, COALESCE(order_index, 0) DESC, ref DESC",
            project_ref,
        )
        return [DeploymentRow(*row) for row in rows]

    def deployment(self, ref: str) -> Deployment | None:
        rows = self._rows(f"SELECT {_DEPLOYMENT_COLUMNS} FROM deployment_executions WHERE ref = ?", ref)
        return self._deployment(*rows[0]) if rows else None

    def environments(self, run_ref: str) -> list[EnvironmentSnapshot]:
        rows = self._run_rows("environment_snapshots", run_ref)
        return [self._decode(EnvironmentSnapshot, row[0], _ENVIRONMENT_FIELDS) for row in rows]
