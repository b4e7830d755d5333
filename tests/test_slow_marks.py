"""Inner pytest runs are marked slow, so that ``-m "not slow"`` stays a quick run of direct calls.

A collected test starts an inner pytest when it uses the ``pytester`` fixture (directly or through another
fixture) or when its module's code starts ``sys.executable -m pytest``. Such a test is marked ``slow`` (itself,
its class or its module's ``pytestmark``) unless its file is one of the integration subjects below. This checks
the tests of the session it runs in; a pytest started another way (a shell running a documented command, as
tests/test_ci_recipes.py does) is not seen.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from conftest import TESTS

#: Files whose subject is the plugin as pytest runs it, whose unmarked tests give the quick run a gate session.
INTEGRATION_SUBJECTS = {"test_example_gates.py"}
_STARTS_PYTEST = re.compile(r'sys\.executable,\s*"-m",\s*"pytest"\s*[,\]]')


@cache
def _module_starts_pytest(path: Path) -> bool:
    return bool(_STARTS_PYTEST.search(path.read_text(encoding="utf-8")))


def starts_inner_pytest(item: pytest.Item) -> bool:
    return "pytester" in getattr(item, "fixturenames", ()) or _module_starts_pytest(item.path)


def test_tests_that_start_an_inner_pytest_are_marked_slow(request: pytest.FixtureRequest) -> None:
    unmarked = [
        item.nodeid
        for item in request.session.items
        if starts_inner_pytest(item)
        and item.get_closest_marker("slow") is None
        and item.path.relative_to(TESTS).as_posix() not in INTEGRATION_SUBJECTS
    ]
    assert unmarked == [], "mark these @pytest.mark.slow, or call the code directly"


def test_a_module_that_starts_pytest_processes_is_told_by_its_code(request: pytest.FixtureRequest) -> None:
    assert _module_starts_pytest(TESTS / "outputs" / "test_recorded_outputs.py")
    assert not _module_starts_pytest(Path(__file__))  # its pattern is not such code
    assert not starts_inner_pytest(request.node)
