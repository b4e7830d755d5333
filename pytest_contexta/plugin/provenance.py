"""Gathering a verdict's provenance on the deciding process: versions, settings with their sources, digests
of the gate files, the git commit and the ledger's identity.

Computed from node ids, so a plain run and an xdist run give the same record.
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ..verdict.provenance import FileDigest, LedgerIdentity, Provenance, SettingRecord
from .options import Settings

GIT_TIMEOUT = 2.0
_COMMIT_VARIABLES = ("GITHUB_SHA", "CI_COMMIT_SHA")


def collect(config: pytest.Config, settings: Settings, nodeids: Iterable[str]) -> Provenance:
    """The provenance of this session's verdict; ``nodeids`` are every gate check selected or left out."""
    from importlib.metadata import version

    root = config.rootpath
    commit, commit_source = _git_commit(root)
    return Provenance(
        plugin_version=version("pytest-contexta"),
        pytest_version=pytest.__version__,
        python_version=platform.python_version(),
        settings=_settings(config, settings),
        gate_files=[_digest(path, root) for path in _gate_files(config, nodeids)],
        waiver_file=_digest(settings.waivers, root) if settings.waivers else None,
        git_commit=commit,
        git_commit_source=commit_source,
        workspace=str(settings.workspace),
        ledger=_ledger(settings.workspace / "metadata" / "ledger.db"),
    )


def _settings(config: pytest.Config, settings: Settings) -> dict[str, SettingRecord]:
    records = {
        name: SettingRecord(value=setting.value, source=setting.source) for name, setting in settings.sources.items()
    }
    for name, path in (
        ("workspace", settings.workspace),
        ("report", settings.report),
        ("markdown", settings.markdown),
        ("waivers", settings.waivers),
    ):
        if path is not None:
            records[name] = SettingRecord(value=str(path), source=settings.sources[name].source)
    records["allow_partial"] = SettingRecord(
        value=str(settings.allow_partial).lower(), source="command line" if settings.allow_partial else "default"
    )
    for name in ("lower_is_better", "higher_is_better"):
        patterns = tuple(config.getini(f"contexta_{name}"))
        records[name] = SettingRecord(
            value=",".join(patterns) or None, source=f"ini contexta_{name}" if patterns else "default"
        )
    return dict(sorted(records.items()))


def _gate_files(config: pytest.Config, nodeids: Iterable[str]) -> list[Path]:
    """The modules of the gate checks, every conftest.py above them (up to the rootdir) and the ini file."""
    root = config.rootpath
    modules = {root / nodeid.split("::", 1)[0] for nodeid in nodeids}
    files = set(modules)
    for module in modules:
        for folder in module.parents:
            if (folder / "conftest.py").is_file():
                files.add(folder / "conftest.py")
            if folder == root or root not in folder.parents:
                break
    if config.inipath is not None:
        files.add(config.inipath)
    return sorted(files)


def _digest(path: Path, root: Path) -> FileDigest:
    shown = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    try:
        return FileDigest(path=shown, sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    except OSError as exc:
        return FileDigest(path=shown, sha256=None, error=exc.strerror or str(exc))


def _git_commit(root: Path) -> tuple[str | None, str]:
    """The gate repository's commit: from CI's variables, else ``git rev-parse HEAD`` with a short timeout."""
    for variable in _COMMIT_VARIABLES:
        value = os.environ.get(variable, "").strip()
        if value:
            return value, f"env {variable}"
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None, "none (git not available)"
    if done.returncode != 0:
        return None, "none (not a git repository)"
    return done.stdout.strip(), "git rev-parse HEAD"


def _ledger(path: Path) -> LedgerIdentity:
    try:
        status = path.stat()
    except OSError:
        return LedgerIdentity(path=str(path), size=None, modified=None)
    modified = datetime.fromtimestamp(status.st_mtime, UTC).isoformat().replace("+00:00", "Z")
    return LedgerIdentity(path=str(path), size=status.st_size, modified=modified)
