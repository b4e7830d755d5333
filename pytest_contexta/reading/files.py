"""Open workspace files safely: regular files only, never blocking, size-bounded, with messages that say why not.

A FIFO, device or socket in a workspace (or a symlink to one, or a symlink loop) would block a read forever or
feed it endless bytes; the gate refuses it by name instead. Permission errors name the user the gate runs as.
"""

from __future__ import annotations

import errno
import getpass
import os
import stat
from pathlib import Path

from ..errors import WorkspaceError
from ..text import printable

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def running_user() -> str:
    """Who the gate runs as, e.g. ``user 'ci' (uid 1001)``."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError, ImportError):
        name = "?"
    uid = os.geteuid() if hasattr(os, "geteuid") else None
    return f"user {printable(name)!r}" + (f" (uid {uid})" if uid is not None else "")


def unreadable(path: Path, exc: OSError, what: str = "") -> WorkspaceError:
    """A clear error for an OSError met while reading ``path`` (permission denied names the gate's user)."""
    where = printable(str(path))
    if exc.errno in (errno.EACCES, errno.EPERM):
        return WorkspaceError(
            f"{where}{what}: permission denied for {running_user()}, who runs the gate: give that "
            f"user read access to the workspace folder and its files"
        )
    if exc.errno == errno.ELOOP:
        return WorkspaceError(
            f"{where}{what} is a symlink loop: point it at the real file, or copy the workspace again"
        )
    return WorkspaceError(
        f"{where}{what} cannot be read ({printable(exc.strerror or str(exc))}): check the file, or "
        f"copy the whole workspace again"
    )


def open_regular(path: Path) -> tuple[int, int]:
    """Open ``path`` read-only without blocking; return (descriptor, size). Anything but a regular file is refused."""
    _check_regular(path, _stat(path))
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise unreadable(path, exc) from exc
    try:
        status = os.fstat(descriptor)
        _check_regular(path, status)  # replaced between the stat and the open
        return descriptor, status.st_size
    except BaseException:
        os.close(descriptor)
        raise


def _stat(path: Path) -> os.stat_result:
    try:
        return os.stat(path)
    except OSError as exc:
        raise unreadable(path, exc) from exc


def _check_regular(path: Path, status: os.stat_result) -> None:
    if not stat.S_ISREG(status.st_mode):
        kind = next((name for test, name in _KINDS if test(status.st_mode)), "not a regular file")
        raise WorkspaceError(
            f"{printable(str(path))} is {kind}, not a regular file: Contexta writes only regular "
            f"files there; replace it with the real file, or copy the workspace again"
        )


def read_regular(path: Path, limit: int) -> bytearray:
    """The bytes of a regular file no larger than ``limit`` (a larger one is refused, never read)."""
    descriptor, size = open_regular(path)
    try:
        if size > limit:
            raise WorkspaceError(
                f"{printable(str(path))} is {size} bytes, more than the {limit} bytes such a file "
                f"can hold: it is damaged; restore it from a backup"
            )
        data = bytearray()  # grown in place: never the file twice in memory (a run_ref index can be 60 MB)
        remaining = limit + 1
        while remaining > 0:
            chunk = os.read(descriptor, min(remaining, 2**20))
            if not chunk:
                break
            data += chunk
            remaining -= len(chunk)
    except OSError as exc:
        raise unreadable(path, exc) from exc
    finally:
        os.close(descriptor)
    if len(data) > limit:
        raise WorkspaceError(
            f"{printable(str(path))} grew past {limit} bytes while being read: retry when the writer has finished"
        )
    return data


def regular_file_exists(path: Path) -> bool:
    """True when ``path`` exists (following symlinks); raise when it exists but is not a regular file."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise unreadable(path, exc) from exc
    _check_regular(path, status)
    return True
