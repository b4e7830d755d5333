"""Shared fixtures: the workspaces written by the real Contexta library (tests/workspaces/generate.py)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
WORKSPACES = TESTS / "workspaces"
REFERENCES = WORKSPACES / "references"
EXAMPLE_GATES = TESTS.parent / "example_gates"
EXAMPLE_WORKSPACE = EXAMPLE_GATES / ".contexta"


@pytest.fixture
def workspace_copy(tmp_path: Path) -> Callable[[str], Path]:
    """Copy a committed workspace (``conformance``, ``latency``, ``deployments``, ``empty`` or ``example``)
    into ``tmp_path`` so a test may damage it."""

    def copy(name: str) -> Path:
        source = EXAMPLE_WORKSPACE if name == "example" else WORKSPACES / name
        target = tmp_path / f"{name}-workspace"
        shutil.copytree(source, target)
        return target

    return copy
