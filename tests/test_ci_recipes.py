"""docs/ci-recipes.md: the gate step runs as written, and both CI recipes run that same command."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLE_GATES, LEAN_INNER_RUNS, TESTS
from pytest_contexta.outputs.summary import MARKDOWN_MARKER
from pytest_contexta.report import GateReport

RECIPES = TESTS.parent / "docs" / "ci-recipes.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", RECIPES.read_text(encoding="utf-8"), flags=re.S | re.M)


def _words(text: str) -> list[str]:
    """A command's words, whatever the line continuation (shell backslashes or YAML folding)."""
    return text.replace("\\\n", " ").split()


def test_both_recipes_run_the_documented_gate_command() -> None:
    gate_step = blocks("sh")[0]
    command = _words(gate_step.split("\n", 1)[1])
    recipes = blocks("yaml")
    assert len(recipes) == 2
    for recipe in recipes:
        start = recipe.index("python -m pytest gates/")
        end = recipe.index("--junitxml=gate/junit.xml") + len("--junitxml=gate/junit.xml")
        assert _words(recipe[start:end]) == command
        assert "gate/junit.xml" in recipe and "gate/report.html" in recipe
    assert MARKDOWN_MARKER in blocks("sh")[1]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("candidate", "status", "verdict"),
    [
        ("run:product-ranker.candidate-v2-good", 0, "pass"),
        ("run:product-ranker.candidate-v4-regressed", 1, "fail"),
    ],
)
def test_the_gate_step_runs_as_written(tmp_path: Path, candidate: str, status: int, verdict: str) -> None:
    shutil.copytree(EXAMPLE_GATES, tmp_path / "gates", ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    gate_step, marker_check = blocks("sh")[:2]
    environment = {
        **os.environ,
        "CANDIDATE": candidate,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "PYTEST_ADDOPTS": f"{LEAN_INNER_RUNS} -p no:cacheprovider",
    }
    run = subprocess.run(
        ["bash", "-e", "-c", gate_step], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == status, run.stdout[-2000:] + run.stderr[-2000:]
    gate = tmp_path / "gate"
    assert sorted(p.name for p in gate.iterdir()) == ["junit.xml", "report.html", "report.json", "summary.md"]
    report = GateReport.model_validate_json((gate / "report.json").read_text(encoding="utf-8"))
    assert report.verdict == verdict
    assert f'<property name="contexta.verdict" value="{verdict}" />' in (gate / "junit.xml").read_text("utf-8")
    gated = [c for c in report.candidates[0].checks if c.kind in ("regression", "threshold") and c.candidate_value]
    assert len(gated) >= 4 and (gate / "report.html").read_text(encoding="utf-8").count("<svg") == len(gated)
    assert subprocess.run(["bash", "-e", "-c", marker_check], cwd=tmp_path).returncode == 0
