"""How a verdict was reached, as the report records it: versions, settings with their sources, the gate code
and data it used (``plugin.provenance`` gathers it).

Recorded in the JSON report so that a verdict audited later says which gate files, which settings and
which ledger produced it. Computed on the deciding process only, from node ids, so a plain run and an
xdist run give the same record.
"""

from __future__ import annotations

from ..frozen import FrozenModel


class SettingRecord(FrozenModel):
    """A resolved setting and where it came from (``command line``, ``env VAR``, ``ini …``, ``default``)."""

    value: str | None
    source: str


class FileDigest(FrozenModel):
    """A file the verdict depends on; ``sha256`` is None (and ``error`` says why) when it cannot be read."""

    path: str
    sha256: str | None
    error: str | None = None


class LedgerIdentity(FrozenModel):
    """The ledger as the gate found it: size and modification time (UTC), without reading it whole."""

    path: str
    size: int | None
    modified: str | None


class Provenance(FrozenModel):
    """Everything needed to tell later which code, settings and data gave a verdict."""

    plugin_version: str
    pytest_version: str
    python_version: str
    settings: dict[str, SettingRecord]
    gate_files: list[FileDigest]
    waiver_file: FileDigest | None
    git_commit: str | None
    git_commit_source: str
    workspace: str
    ledger: LedgerIdentity
