"""dev.py, the README's two commands: which pytest arguments each passes, and the Python it demands."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dev() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dev", ROOT / "dev.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_gates_the_good_candidate_by_default(dev: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONTEXTA_CANDIDATE", raising=False)
    assert dev.pytest_arguments("example", ["-q"]) == [
        "example_gates/",
        "--contexta-candidate=run:product-ranker.candidate-v2-good",
        "-q",
    ]


@pytest.mark.parametrize("given", [["--contexta-candidate=run:p.other"], ["--contexta-candidate", "run:p.other"]])
def test_a_candidate_in_the_arguments_replaces_the_default(
    dev: ModuleType, monkeypatch: pytest.MonkeyPatch, given: list[str]
) -> None:
    monkeypatch.delenv("CONTEXTA_CANDIDATE", raising=False)
    assert dev.pytest_arguments("example", given) == ["example_gates/", *given]


def test_a_candidate_in_the_environment_replaces_the_default(dev: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTEXTA_CANDIDATE", "run:p.other")
    assert dev.pytest_arguments("example", []) == ["example_gates/"]


def test_test_passes_the_arguments_unchanged(dev: ModuleType) -> None:
    assert dev.pytest_arguments("test", ["-n", "2", "-x"]) == ["-n", "2", "-x"]


def test_the_python_it_demands_is_requires_python(dev: ModuleType) -> None:
    requires = re.search(r'^requires-python = ">=(\d+)\.(\d+)"', (ROOT / "pyproject.toml").read_text(), re.M)
    assert requires
    assert dev.minimum_python() == (int(requires[1]), int(requires[2]))
