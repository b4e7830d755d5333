"""The shipped example gate on the search-ranker candidates logged per seed (issue 12, item 9): the same
gate file as for product-ranker, now deciding on the seeds' means with a 95 % Welch interval."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from conftest import EXAMPLE_GATES

ACCURACY = "test_no_regression[accuracy]"
# candidate: (the checks that do not pass, a line of the failure output that says why)
CASES = {
    "seeds-within-noise": (set(), None),
    "seeds-regressed": (
        {ACCURACY},
        "*FAIL accuracy: 0.9 -> 0.86, change -0.04 (-4.44%) [[]95% CI -0.0458335, "
        "-0.0341665]*n 5 vs 5, replicates (Welch), MDE 0.00808*",
    ),
    "seeds-too-noisy": (
        {ACCURACY},
        "*INCONCLUSIVE accuracy: 0.9 -> 0.885, change -0.015 (-1.67%) [[]95% CI -0.0396033, +0.0096033]*",
    ),
    "seeds-last-fine": ({ACCURACY}, "*FAIL accuracy: 0.9 -> 0.8448, *mean of 5 seeds, sd 0.023*"),
}


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("example") / "example_gates"
    shutil.copytree(EXAMPLE_GATES, target, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    return target


def test_every_seeded_candidate_of_the_workspace_is_covered(example: Path) -> None:
    doc = ast.get_docstring(ast.parse((example / "generate_workspace.py").read_text(encoding="utf-8"))) or ""
    rule = next(line for line in doc.splitlines() if line.startswith("===="))
    rows = doc.split(rule)[5]  # the second table's rows
    assert {line.split()[0] for line in rows.splitlines() if line[:1].isalnum()} == set(CASES)


@pytest.mark.slow
@pytest.mark.parametrize("candidate", list(CASES))
def test_seeded_candidate(pytester: pytest.Pytester, example: Path, candidate: str) -> None:
    failing, why = CASES[candidate]
    ref = f"run:search-ranker.{candidate}"

    result = pytester.runpytest(str(example), f"--contexta-candidate={candidate}", "-p", "no:cacheprovider")

    reports = result.reprec.getreports("pytest_runtest_logreport")  # type: ignore[attr-defined]
    failed = {r.nodeid.split("::")[1].replace(f"-{ref}", "").replace(f"[{ref}]", "") for r in reports if r.failed}
    assert failed == failing
    assert result.ret == (pytest.ExitCode.TESTS_FAILED if failing else pytest.ExitCode.OK)
    result.stdout.fnmatch_lines([f"contexta baseline of {ref}: run:search-ranker.release-5 (deployed as prod-5 *"])
    if why:
        result.stdout.fnmatch_lines([why])
