"""The files pytest and common plugins write during a session, kept out of the gated workspace.

Checked in ``pytest_load_initial_conftests``, while pytest is still parsing its command line: ``--debug`` opens
its file as soon as parsing ends, the others later (``--report-log`` and pytest-html at configure time,
``--basetemp`` when the first temporary path is made, the cache and ``--junitxml`` at the end).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .options import gating, output_paths

#: (attribute of the parsed arguments, the option a user writes): files pytest or a common plugin writes.
PYTEST_FILES = (
    ("xmlpath", "--junitxml"),
    ("report_log", "--report-log"),  # pytest-reportlog
    ("debug", "--debug"),
    ("basetemp", "--basetemp"),
    ("htmlpath", "--html"),  # pytest-html
)


def pytest_paths(config: pytest.Config, namespace: object) -> list[tuple[Path, str]]:
    """Every file or folder pytest will write this session, resolved (symlinks followed), with its option."""
    base = config.invocation_params.dir
    paths = [
        ((base / os.path.expanduser(str(value))).resolve(), option)
        for dest, option in PYTEST_FILES
        if (value := getattr(namespace, dest, None))
    ]
    if not config.pluginmanager.is_blocked("cacheprovider"):
        cache_dir = os.path.expandvars(os.path.expanduser(str(config.getini("cache_dir"))))
        paths.append(((config.rootpath / cache_dir).resolve(), "cache_dir (ini or -o cache_dir=)"))
    return paths


def check_pytest_paths(config: pytest.Config, namespace: object) -> None:
    """A usage error when a gating session would have pytest write a file inside the workspace (or, for
    ``--basetemp``, which pytest empties first, a folder that holds the workspace)."""
    if any(getattr(namespace, flag, False) for flag in ("help", "version")) or not gating(config, namespace):
        return
    workspace = output_paths(config, namespace).workspace.resolve()
    for path, option in pytest_paths(config, namespace):
        if path.is_relative_to(workspace):
            raise pytest.UsageError(
                f"contexta: {option} would write {path}, inside the gated workspace {workspace}; the gate "
                f"never lets a file be written there: choose a path outside it"
            )
        if option == "--basetemp" and workspace.is_relative_to(path):
            raise pytest.UsageError(
                f"contexta: --basetemp {path} holds the gated workspace {workspace}, and pytest empties its "
                f"basetemp before the session: choose a --basetemp outside the workspace and its parents"
            )
