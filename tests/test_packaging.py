"""One version, a changelog that knows it, and lower bounds that the oldest-dependencies run tests."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

from packaging.version import Version

import pytest_contexta
from pytest_contexta.report import REPORT_SCHEMA_VERSION

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
CHANGELOG = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


def test_version_is_the_installed_metadata_version() -> None:
    assert pytest_contexta.__version__ == version("pytest-contexta") == PROJECT["version"]


def test_changelog_has_a_section_for_the_current_version() -> None:
    headings = re.findall(r"^## (\S+)", CHANGELOG, re.MULTILINE)
    assert PROJECT["version"] in headings


def test_changelog_lists_the_current_report_schema_version() -> None:
    schema_section = CHANGELOG.split("## Report schema versions", 1)[1]
    assert re.search(rf"^\| {REPORT_SCHEMA_VERSION} \|", schema_section, re.MULTILINE)


def test_oldest_supported_pins_are_the_lower_bounds_of_the_dependencies() -> None:
    lower_bounds = {}
    for requirement in PROJECT["dependencies"]:
        found = re.match(r"([A-Za-z0-9_.-]+)\s*>=\s*([^,;\s]+)", requirement)
        assert found, f"{requirement!r} has no lower bound"
        lower_bounds[found[1].lower()] = Version(found[2])
    pin_lines = (ROOT / ".ci" / "oldest-supported.txt").read_text(encoding="utf-8").splitlines()
    pins = dict(line.split("==") for line in pin_lines if line and not line.startswith("#"))
    assert {name.lower(): Version(pinned) for name, pinned in pins.items()} == lower_bounds
