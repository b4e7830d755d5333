"""Opening Contexta's DuckDB ledger read-only: a bounded wait for another process's lock, said once while it
lasts; the schema version checked; every refusal turned into a message that says what to do."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from ..errors import WorkspaceError, WorkspaceLockedError
from ..frozen import first_problem
from ..text import printable
from .files import regular_file_exists, running_user

SUPPORTED_SCHEMA_VERSION = "1"
_PID = re.compile(r"Conflicting lock is held in (.*) \(PID (\d+)\)")


def open_read_only(
    path: Path, lock_timeout: float, on_wait: Callable[[str], None] | None = None
) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the ledger at ``path`` whose schema this plugin reads; raises
    :class:`WorkspaceLockedError` after ``lock_timeout`` seconds of another process's lock (``on_wait`` is told
    once, when the wait begins), :class:`WorkspaceError` for anything else."""
    connection = _connect(path, lock_timeout, on_wait)
    try:
        _check_schema(path, connection)
    except BaseException:
        connection.close()
        raise
    return connection


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
