"""Installed but not asked to gate, the plugin must cost an ordinary test run nothing noticeable:
its entry module imports neither pydantic, duckdb, tabulate nor scipy."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

HEAVY = ("pydantic", "duckdb", "tabulate", "scipy")


def test_importing_the_entry_module_pulls_in_nothing_heavy() -> None:
    probe = f"import sys, pytest_contexta.plugin; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == ""


def test_a_dormant_session_imports_nothing_heavy(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(f"""
        import sys

        def test_ordinary():
            assert [m for m in {HEAVY!r} if m in sys.modules] == []
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "contexta" not in result.stdout.str().replace("contexta-", "")  # no header lines, no summary
