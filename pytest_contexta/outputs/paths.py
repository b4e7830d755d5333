"""Where the verdict's files go (kept free of heavy imports: the plugin resolves them at start-up)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class OutputPaths:
    """Where the verdict goes: the JSON report, the markdown files and the HTML page, each with its option."""

    workspace: Path
    report: Path | None
    markdown: dict[Path, str]
    html: Path | None = None

    def inside_workspace(self, path: Path) -> bool:
        return path.resolve().is_relative_to(self.workspace.resolve())
