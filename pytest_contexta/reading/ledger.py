"""Read-only access to Contexta's DuckDB metadata ledger (``metadata/ledger.db``)."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import duckdb
from pydantic import BaseModel

from ..errors import WorkspaceError, WorkspaceLockedError
from ..frozen import first_problem
from ..text import printable
from .files import regular_file_exists, running_user
from .rows import Batch, Deployment, EnvironmentSnapshot, Run, Stage

SUPPORTED_SCHEMA_VERSION = "1"
_PID = re.compile(r"Conflicting lock is held in (.*) \(PID (\d+)\)")

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
            connection = _connect(self.path, self.lock_timeout, self.on_wait)
            try:
                _check_schema(self.path, connection)
            except BaseException:
                connection.close()
                raise
            self._open_connection = connection
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


def _check_schema(path: Path, connection: duckdb.DuckDBPyConnection) -> None:
    try:
        rows = connection.execute("SELECT store_schema_version FROM schema_metadata").fetchall()
    except duckdb.CatalogException as exc:
        raise WorkspaceError(f"{path} is a DuckDB file but not a Contexta ledger (no schema_metadata table)") from exc
    except duckdb.Error as exc:
        raise WorkspaceError(
            f"{path} has an unreadable schema_metadata table ({first_problem(exc)}): it is damaged or was not "
            f"written by Contexta 1.x; restore it from a backup"
        ) from exc
    versions = {row[0] for row in rows}
    if versions != {SUPPORTED_SCHEMA_VERSION}:
        found = ", ".join(sorted(map(str, versions))) or "none"
        raise WorkspaceError(
            f"{path} has store_schema_version {found}; pytest-contexta reads version "
            f"{SUPPORTED_SCHEMA_VERSION} (Contexta 1.x): upgrade pytest-contexta to gate this workspace"
        )


def _connect(
    path: Path, lock_timeout: float, on_wait: Callable[[str], None] | None = None
) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + lock_timeout
    for file in (path, path.with_name(path.name + ".wal")):
        regular_file_exists(file)  # DuckDB would block on a FIFO there, holding the gate past any timeout
    delay = 0.05
    told = False
    while True:
        try:
            return duckdb.connect(str(path), read_only=True)
        except duckdb.Error as exc:
            message = str(exc)
            holder = _PID.search(message)
            if holder is None:
                raise _translate_open_error(path, message) from exc
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WorkspaceLockedError(
                    f"{path} is locked by another process (PID {holder.group(2)}, {holder.group(1)}), "
                    f"e.g. a training job or 'contexta serve http' still holding the ledger; waited "
                    f"{lock_timeout:g} s. Let it finish, or raise --contexta-lock-timeout"
                ) from exc
            if on_wait is not None and not told:
                told = True
                on_wait(
                    f"{path} is locked by another process (PID {holder.group(2)}, {holder.group(1)}); "
                    f"waiting up to {remaining:.3g} s for it (--contexta-lock-timeout)"
                )
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 1.0)


def _translate_open_error(path: Path, message: str) -> WorkspaceError:
    if "version number" in message or "storage version" in message.lower():
        upgrade = (
            "upgrade it (pip install -U duckdb)"
            if sys.version_info >= (3, 11)
            else "duckdb 2 needs Python 3.11 or newer, so run the gate on Python 3.11+"
        )
        return WorkspaceError(
            f"{path} was written by a newer DuckDB than the installed duckdb {duckdb.__version__}: "
            f"{upgrade}. DuckDB said: {message.splitlines()[0]}"
        )
    if "permission denied" in message.lower():
        return WorkspaceError(
            f"{path} cannot be opened: permission denied for {running_user()}, who runs the gate: "
            f"give that user read access to the ledger and its folder (DuckDB said: "
            f"{printable(message.splitlines()[0])})"
        )
    return WorkspaceError(
        f"{path} cannot be opened as a DuckDB ledger ({message.splitlines()[0]}): it is damaged "
        f"or not a ledger; restore it from a backup, or copy the whole workspace again"
    )
